package httpauth

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

const (
	testUser     = "alice"
	testDomain   = "EXAMPLE"
	testPassword = "Passw0rd!"
)

func testAccounts(t testing.TB) ntlm.AccountStore {
	t.Helper()
	s, err := ntlm.ParseAccounts(strings.NewReader(testDomain + ":" + testUser + ":" + testPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testNTLMConfig(t testing.TB) *ntlm.ServerConfig {
	return &ntlm.ServerConfig{Accounts: testAccounts(t), NetBIOSComputer: "SERVER", NetBIOSDomain: testDomain}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// whoami answers the authenticated principal.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := IdentityFromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "hello %s", id.Principal)
})

type testServer struct {
	*httptest.Server
	auth *Server
	log  *syncBuffer
}

// startServer starts an httptest server (TLS when tlsCert is not nil) with the middleware.
func startServer(t testing.TB, cfg Config, tlsCert *tls.Certificate) *testServer {
	t.Helper()
	log := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	if tlsCert != nil && cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
	}
	a, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &testServer{httptestServer(t, a.Handler(whoami), a), a, log}
}

// httptestServer serves h with a's connection hooks, over TLS when a has a TLSConfig.
func httptestServer(t testing.TB, h http.Handler, a *Server) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	a.Install(ts.Config)
	if a.cfg.TLSConfig != nil {
		ts.TLS = a.cfg.TLSConfig.Clone()
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

// pinnedClient is an HTTP client that keeps one connection, as NTLM needs.
func pinnedClient(ts *testServer) *http.Client {
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.MaxConnsPerHost = 1
	tr.MaxIdleConnsPerHost = 1
	return &http.Client{Transport: tr}
}

func clientCreds(t testing.TB, pkg string, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func ntlmClientConfig() *ntlm.ClientConfig {
	return &ntlm.ClientConfig{User: testDomain + `\` + testUser, Password: testPassword, Workstation: "WS"}
}

// negotiateNTLMClient is a Negotiate client with only NTLM (no Kerberos configured).
func negotiateNTLMClient(t testing.TB) *sspi.Credentials {
	return clientCreds(t, negotiate.PackageName, &negotiate.Config{
		Mechanisms:  []string{negotiate.NTLM},
		Credentials: map[string]any{negotiate.NTLM: ntlmClientConfig()},
	})
}

type result struct {
	status int
	body   string
	final  []byte // the token on the last response, if any
	resp   *http.Response
}

func do(t testing.TB, c *http.Client, method, url, header, scheme string, token []byte) result {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if scheme != "" {
		req.Header.Set(header, FormatHeader(scheme, token))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := result{status: resp.StatusCode, body: string(body), resp: resp}
	chName := HeaderWWWAuthenticate
	if header == HeaderProxyAuthorization {
		chName = HeaderProxyAuthenticate
	}
	if chs, err := ParseChallenges(resp.Header, chName); err == nil {
		for _, ch := range chs {
			if ch.Is(scheme) && ch.Token68 != "" {
				r.final, err = ch.Token()
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return r
}

// runHandshake drives cctx against url with scheme, one request per leg on c, and returns
// the last response.
func runHandshake(t testing.TB, c *http.Client, url, scheme string, cctx *sspi.ClientContext) result {
	t.Helper()
	return handshakeHeader(t, c, url, HeaderAuthorization, scheme, cctx)
}

func handshakeHeader(t testing.TB, c *http.Client, url, header, scheme string, cctx *sspi.ClientContext) result {
	t.Helper()
	var in []byte
	for leg := 0; leg < 6; leg++ {
		out, err := cctx.Step(in)
		if err != nil {
			t.Fatalf("client step %d: %v", leg, err)
		}
		r := do(t, c, http.MethodGet, url, header, scheme, out)
		if r.status != http.StatusUnauthorized && r.status != http.StatusProxyAuthRequired || r.final == nil {
			if r.final != nil && !cctx.Established() {
				if _, err := cctx.Step(r.final); err != nil {
					t.Fatalf("client final step: %v", err)
				}
			}
			return r
		}
		in = r.final
	}
	t.Fatal("handshake did not finish in 6 legs")
	return result{}
}
