package httpauth

import (
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestServerHostileHeaders: each hostile header gets its status, and never reaches next.
func TestServerHostileHeaders(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	tests := []struct {
		name   string
		values []string
		status int
	}{
		{"wrong base64", []string{"NTLM TlRM*TVNTUAAB"}, http.StatusBadRequest},
		{"two tokens", []string{"NTLM TlRM TlRM"}, http.StatusBadRequest},
		{"two headers", []string{"NTLM TlRM", "NTLM TlRM"}, http.StatusBadRequest},
		{"huge", []string{"Negotiate " + strings.Repeat("A", MaxHeaderLength)}, http.StatusRequestHeaderFieldsTooLarge},
		{"huger than the http.Server's cap", []string{"Negotiate " + strings.Repeat("A", 2<<20)}, http.StatusRequestHeaderFieldsTooLarge},
		{"wrong scheme", []string{"Basic YWxpY2U6UGFzc3cwcmQh"}, http.StatusUnauthorized},
		{"scheme without token", []string{"NTLM"}, http.StatusUnauthorized},
		{"garbage token", []string{"Negotiate AAAAAAAA"}, http.StatusUnauthorized},
		{"NTLM AUTHENTICATE out of the blue", []string{"NTLM TlRMTVNTUAADAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
			for _, v := range tt.values {
				req.Header.Add(HeaderAuthorization, v)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusUnauthorized && len(resp.Header.Values(HeaderWWWAuthenticate)) != 2 {
				t.Fatalf("401 without fresh challenges: %q", resp.Header.Values(HeaderWWWAuthenticate))
			}
		})
	}
}

// TestServerTokenForAnotherConnection: NTLM is connection-bound, so an AUTHENTICATE
// computed for one connection's CHALLENGE fails on another (and the first connection's
// handshake can still finish).
func TestServerTokenForAnotherConnection(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	a := pinnedClient(ts)
	cctx := sspi.NewClientContext(clientCreds(t, "NTLM", ntlmClientConfig()), sspi.ClientOptions{Target: "HTTP/localhost"})
	neg, _ := cctx.Step(nil)
	r := do(t, a, http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, neg)
	if r.status != http.StatusUnauthorized || r.final == nil {
		t.Fatalf("no challenge: %d", r.status)
	}
	auth, err := cctx.Step(r.final)
	if err != nil {
		t.Fatal(err)
	}
	b := pinnedClient(ts)
	if r := do(t, b, http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, auth); r.status != http.StatusUnauthorized {
		t.Fatalf("AUTHENTICATE on another connection: status %d", r.status)
	}
	if r := do(t, a, http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, auth); r.status != http.StatusOK {
		t.Fatalf("AUTHENTICATE on its connection: status %d", r.status)
	}
}

// TestServerHandshakeFlood: half-finished NTLM handshakes are capped at MaxHandshakes
// (503 beyond), and closing their connections releases every byte of their state.
func TestServerHandshakeFlood(t *testing.T) {
	const max = 8
	ts := startServer(t, Config{NTLM: testNTLMConfig(t), MaxHandshakes: max}, nil)
	creds := clientCreds(t, "NTLM", ntlmClientConfig())
	var clients []*http.Client
	for i := 0; i < max+4; i++ {
		c := pinnedClient(ts)
		clients = append(clients, c)
		neg, _ := sspi.NewClientContext(creds, sspi.ClientOptions{Target: "HTTP/localhost"}).Step(nil)
		r := do(t, c, http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, neg)
		want := http.StatusUnauthorized
		if i >= max {
			want = http.StatusServiceUnavailable
		}
		if r.status != want {
			t.Fatalf("handshake %d: status %d, want %d", i, r.status, want)
		}
	}
	if n := pendingCount(ts.auth); n != max {
		t.Fatalf("%d handshakes pending, want %d", n, max)
	}
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	deadline := time.Now().Add(10 * time.Second)
	for pendingCount(ts.auth) != 0 || connCount(ts.auth) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("state not released: %d pending, %d connections", pendingCount(ts.auth), connCount(ts.auth))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(ts.log.String(), "abandoned: connection closed during the handshake") {
		t.Errorf("no log line for the abandoned handshakes:\n%s", ts.log)
	}
	// Slots are free again.
	c := pinnedClient(ts)
	r := runHandshake(t, c, ts.URL, SchemeNTLM, sspi.NewClientContext(creds, sspi.ClientOptions{Target: "HTTP/localhost"}))
	if r.status != http.StatusOK {
		t.Fatalf("after the flood: status %d", r.status)
	}
}

// TestServerHandshakeExpiry: an expired handshake's slot is reclaimed for a new one.
func TestServerHandshakeExpiry(t *testing.T) {
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	ts := startServer(t, Config{NTLM: testNTLMConfig(t), MaxHandshakes: 1, HandshakeTimeout: time.Minute, Time: clock}, nil)
	creds := clientCreds(t, "NTLM", ntlmClientConfig())
	neg, _ := sspi.NewClientContext(creds, sspi.ClientOptions{Target: "HTTP/localhost"}).Step(nil)
	if r := do(t, pinnedClient(ts), http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, neg); r.status != http.StatusUnauthorized {
		t.Fatal(r.status)
	}
	if r := do(t, pinnedClient(ts), http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, neg); r.status != http.StatusServiceUnavailable {
		t.Fatalf("second handshake within the timeout: %d", r.status)
	}
	now = now.Add(2 * time.Minute)
	if r := do(t, pinnedClient(ts), http.MethodGet, ts.URL, HeaderAuthorization, SchemeNTLM, neg); r.status != http.StatusUnauthorized {
		t.Fatalf("handshake after the first expired: %d", r.status)
	}
}

func pendingCount(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func connCount(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func TestServerPersistence(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t), SingleRequest: true}, nil)
	c := pinnedClient(ts)
	r := runHandshake(t, c, ts.URL, SchemeNTLM, sspi.NewClientContext(clientCreds(t, "NTLM", ntlmClientConfig()), sspi.ClientOptions{Target: "HTTP/localhost"}))
	if r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	if r := do(t, c, http.MethodGet, ts.URL, HeaderAuthorization, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("SingleRequest: second request on the connection: %d", r.status)
	}
}

func TestServerProxy(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t), Proxy: true}, nil)
	r := do(t, ts.Client(), http.MethodGet, ts.URL, "", "", nil)
	if r.status != http.StatusProxyAuthRequired || len(r.resp.Header.Values(HeaderProxyAuthenticate)) != 2 || r.resp.Header.Get(HeaderWWWAuthenticate) != "" {
		t.Fatalf("status %d headers %v", r.status, r.resp.Header)
	}
	c := pinnedClient(ts)
	r = handshakeHeader(t, c, ts.URL, HeaderProxyAuthorization, SchemeNTLM, sspi.NewClientContext(clientCreds(t, "NTLM", ntlmClientConfig()), sspi.ClientOptions{Target: "HTTP/localhost"}))
	if r.status != http.StatusOK || r.body != `hello EXAMPLE\alice` {
		t.Fatalf("status %d body %q", r.status, r.body)
	}
}

// TestServerExtendedProtection relays an NTLM or Negotiate client between TLS channels:
// the client computes its bindings for the certificate of the channel it thinks it is on
// (a man in the middle's), and the server, bound to its own certificate, refuses it.
func TestServerExtendedProtection(t *testing.T) {
	pki := testpeers.NewPKI(t)
	own := bindingsOfDER(t, pki.Server.Cert.Certificate[0])
	relayed := bindingsOfDER(t, pki.Untrusted.Cert.Certificate[0])
	tests := []struct {
		name     string
		policy   sspi.ChannelBindingPolicy
		scheme   string
		bindings []byte
		status   int
		logs     string
	}{
		{"own channel", sspi.BindingsWhenPresent, SchemeNTLM, own, http.StatusOK, ""},
		{"own channel, Negotiate", sspi.BindingsRequired, SchemeNegotiate, own, http.StatusOK, ""},
		{"relayed", sspi.BindingsWhenPresent, SchemeNTLM, relayed, http.StatusUnauthorized, "SEC_E_BAD_BINDINGS"},
		{"relayed, Negotiate", sspi.BindingsWhenPresent, SchemeNegotiate, relayed, http.StatusUnauthorized, "SEC_E_BAD_BINDINGS"},
		{"relayed, policy off", sspi.BindingsOff, SchemeNTLM, relayed, http.StatusOK, ""},
		{"no bindings, required", sspi.BindingsRequired, SchemeNTLM, nil, http.StatusUnauthorized, "SEC_E_BAD_BINDINGS"},
		{"no bindings, when present", sspi.BindingsWhenPresent, SchemeNTLM, nil, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert := pki.Server.Cert
			ts := startServer(t, Config{NTLM: testNTLMConfig(t), ChannelBindings: tt.policy}, &cert)
			c := pinnedClient(ts)
			c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pki.Roots
			var creds *sspi.Credentials
			if tt.scheme == SchemeNTLM {
				creds = clientCreds(t, "NTLM", ntlmClientConfig())
			} else {
				creds = negotiateNTLMClient(t)
			}
			url := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
			r := runHandshakeTolerant(t, c, url, tt.scheme, sspi.NewClientContext(creds, sspi.ClientOptions{Target: "HTTP/localhost", ChannelBindings: tt.bindings}))
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tt.status, ts.log)
			}
			if tt.logs != "" && !strings.Contains(ts.log.String(), tt.logs) {
				t.Fatalf("log lacks %s:\n%s", tt.logs, ts.log)
			}
			if strings.Contains(r.body, "SEC_E") {
				t.Fatalf("the cause leaked into the body: %q", r.body)
			}
		})
	}
	t.Run("required over plain HTTP", func(t *testing.T) {
		ts := startServer(t, Config{NTLM: testNTLMConfig(t), ChannelBindings: sspi.BindingsRequired}, nil)
		r := runHandshakeTolerant(t, pinnedClient(ts), ts.URL, SchemeNTLM, sspi.NewClientContext(clientCreds(t, "NTLM", ntlmClientConfig()), sspi.ClientOptions{Target: "HTTP/localhost"}))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("status %d", r.status)
		}
	})
}

// runHandshakeTolerant is runHandshake for a handshake the server may refuse: it stops
// at the first 401 without a token.
func runHandshakeTolerant(t testing.TB, c *http.Client, url, scheme string, cctx *sspi.ClientContext) result {
	t.Helper()
	var in []byte
	for leg := 0; leg < 6; leg++ {
		out, err := cctx.Step(in)
		if err != nil {
			t.Fatalf("client step %d: %v", leg, err)
		}
		r := do(t, c, http.MethodGet, url, HeaderAuthorization, scheme, out)
		if r.status != http.StatusUnauthorized || r.final == nil {
			return r
		}
		in = r.final
	}
	t.Fatal("no end in 6 legs")
	return result{}
}

// bindingsOfDER returns the tls-server-end-point SEC_CHANNEL_BINDINGS of a certificate.
func bindingsOfDER(t testing.TB, der []byte) []byte {
	t.Helper()
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := sspi.TLSServerEndPoint(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return cb.Marshal()
}
