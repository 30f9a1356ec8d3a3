package httpauth

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// testConnKey carries a per-connection id through http.Server.ConnContext.
type testConnKey struct{}

// testAuthServer is a real HTTP server in-process whose handler runs our own acceptor
// (NTLM, or Negotiate over it, or Kerberos with a keytab): connection-bound like IIS, so
// that a leg arriving on another connection fails. Its knobs produce the faults a real
// server will not (a missing or altered final token, a closed connection mid-handshake).
type testAuthServer struct {
	*httptest.Server
	// Offer is the WWW-Authenticate challenges of the first 401, in order.
	Offer []string
	// Scheme is the scheme the server accepts tokens under.
	Scheme string
	// Cred is the acceptor's credentials.
	Cred *sspi.Credentials
	// FinalToken, if set, rewrites the final token sent on the 200 (nil drops it).
	FinalToken func([]byte) []byte
	// CloseAfterChallenge makes the server close the connection after its first token.
	CloseAfterChallenge bool
	// Bindings, if set, are the channel bindings the acceptor checks.
	Bindings func(r *http.Request) []byte
	// Proxy makes the server a proxy: 407 and Proxy-* headers.
	Proxy bool

	mu     sync.Mutex
	state  map[int64]*sspi.ServerContext // by connection
	legs   []int64                       // the connection of every request
	users  []string                      // identities that got through
	bodies []string                      // the body of every request
	nextID atomic.Int64
}

func newTestAuthServer(t *testing.T, s *testAuthServer, tlsOn bool) *testAuthServer {
	t.Helper()
	s.state = map[int64]*sspi.ServerContext{}
	s.Server = httptest.NewUnstartedServer(s)
	s.Server.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, testConnKey{}, s.nextID.Add(1))
	}
	if tlsOn {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *testAuthServer) headers() (challenge, authz string, status int) {
	if s.Proxy {
		return "Proxy-Authenticate", "Proxy-Authorization", http.StatusProxyAuthRequired
	}
	return "WWW-Authenticate", "Authorization", http.StatusUnauthorized
}

func (s *testAuthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	challenge, authz, status := s.headers()
	id := r.Context().Value(testConnKey{}).(int64)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.legs = append(s.legs, id)
	s.bodies = append(s.bodies, string(body))
	sc := s.state[id]
	s.mu.Unlock()

	h := r.Header.Get(authz)
	if h == "" {
		for _, c := range s.Offer {
			w.Header().Add(challenge, c)
		}
		w.WriteHeader(status)
		return
	}
	scheme, tok, err := ParseAuthorization(h)
	if err != nil || !strings.EqualFold(scheme, s.Scheme) {
		http.Error(w, "bad header", http.StatusBadRequest)
		return
	}
	if sc == nil {
		opts := sspi.ServerOptions{}
		if s.Bindings != nil {
			opts.ChannelBindings = s.Bindings(r)
		}
		sc = sspi.NewServerContext(s.Cred, opts)
		s.mu.Lock()
		s.state[id] = sc
		s.mu.Unlock()
	}
	out, err := sc.Step(tok)
	if err != nil {
		s.mu.Lock()
		delete(s.state, id)
		s.mu.Unlock()
		w.Header().Set(challenge, s.Scheme)
		w.WriteHeader(status)
		return
	}
	if !sc.Established() {
		w.Header().Set(challenge, s.Scheme+" "+base64.StdEncoding.EncodeToString(out))
		if s.CloseAfterChallenge {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(status)
		return
	}
	if s.FinalToken != nil {
		out = s.FinalToken(out)
	}
	if len(out) > 0 {
		w.Header().Set(challenge, s.Scheme+" "+base64.StdEncoding.EncodeToString(out))
	}
	idn, _ := sc.Identity()
	s.mu.Lock()
	s.users = append(s.users, idn.Principal)
	s.mu.Unlock()
	w.Write([]byte("hello " + idn.Principal))
}

func (s *testAuthServer) connections() map[int64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[int64]bool{}
	for _, id := range s.legs {
		m[id] = true
	}
	return m
}

// ntlmAcceptor returns NTLM acceptor credentials knowing testUser.
func ntlmAcceptor(t *testing.T) *sspi.Credentials {
	t.Helper()
	store := &ntlm.FileAccountStore{}
	if err := store.Add(ntlm.AccountFromPassword(testDomain, testUser, testPassword)); err != nil {
		t.Fatal(err)
	}
	c, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredInbound, nil, &ntlm.ServerConfig{Accounts: store, NetBIOSDomain: testDomain}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// negotiateNTLMAcceptor is an IIS without a keytab: Negotiate with NTLM inside.
func negotiateNTLMAcceptor(t *testing.T) *sspi.Credentials {
	t.Helper()
	store := &ntlm.FileAccountStore{}
	if err := store.Add(ntlm.AccountFromPassword(testDomain, testUser, testPassword)); err != nil {
		t.Fatal(err)
	}
	c, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
		Mechanisms:  []string{"NTLM"},
		Credentials: map[string]any{"NTLM": &ntlm.ServerConfig{Accounts: store, NetBIOSDomain: testDomain}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func testIdentity() *sspi.AuthIdentity {
	return &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: testPassword}
}
