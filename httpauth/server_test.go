package httpauth

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

func TestServerOurClients(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	tests := []struct {
		name, scheme string
		creds        func(t testing.TB) *sspi.Credentials
	}{
		{"NTLM", SchemeNTLM, func(t testing.TB) *sspi.Credentials { return clientCreds(t, "NTLM", ntlmClientConfig()) }},
		{"Negotiate with NTLM", SchemeNegotiate, negotiateNTLMClient},
		{"raw NTLM under Negotiate", SchemeNegotiate, func(t testing.TB) *sspi.Credentials { return clientCreds(t, "NTLM", ntlmClientConfig()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pinnedClient(ts)
			r := runHandshake(t, c, ts.URL, tt.scheme, sspi.NewClientContext(tt.creds(t), sspi.ClientOptions{Target: "HTTP/localhost"}))
			if r.status != http.StatusOK || r.body != `hello EXAMPLE\alice` {
				t.Fatalf("status %d body %q", r.status, r.body)
			}
			// MS-NTHT: the connection stays authenticated (IIS answers a request
			// without a header on it as the user).
			r = do(t, c, http.MethodGet, ts.URL, HeaderAuthorization, "", nil)
			if r.status != http.StatusOK || r.body != `hello EXAMPLE\alice` {
				t.Fatalf("second request on the connection: status %d body %q", r.status, r.body)
			}
			// Never across connections.
			r = do(t, ts.Client(), http.MethodGet, ts.URL, HeaderAuthorization, "", nil)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("request on another connection: status %d", r.status)
			}
		})
	}
	if !strings.Contains(ts.log.String(), `msg="httpauth: authenticated"`) || !strings.Contains(ts.log.String(), `principal=EXAMPLE\alice`) {
		t.Errorf("log lacks the success line:\n%s", ts.log)
	}
}

func TestServerChallenges(t *testing.T) {
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	r := do(t, ts.Client(), http.MethodGet, ts.URL, "", "", nil)
	got := r.resp.Header.Values(HeaderWWWAuthenticate)
	if r.status != http.StatusUnauthorized || len(got) != 2 || got[0] != "Negotiate" || got[1] != "NTLM" {
		t.Fatalf("status %d challenges %q", r.status, got)
	}
}

// TestServerNotInstalled: without ConnContext the middleware cannot keep NTLM's state,
// and says so in the log rather than failing handshakes mysteriously.
func TestServerNotInstalled(t *testing.T) {
	log := &syncBuffer{}
	a, err := NewServer(Config{NTLM: testNTLMConfig(t), Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler(whoami))
	defer ts.Close()
	r := do(t, ts.Client(), http.MethodGet, ts.URL, "", "", nil)
	if r.status != http.StatusInternalServerError || !strings.Contains(log.String(), "ConnContext is not installed") {
		t.Fatalf("status %d log %s", r.status, log)
	}
}

func TestNewServerConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Schemes: []string{"NTLM"}},
		{Schemes: []string{"Kerberos"}, NTLM: &ntlm.ServerConfig{}},
		{Schemes: []string{"Basic"}, NTLM: &ntlm.ServerConfig{}},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) succeeded", cfg)
		}
	}
	a, err := NewServer(Config{NTLM: testNTLMConfig(t), Schemes: []string{"ntlm", "negotiate", "NTLM"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if strings.Join(a.schemes, ",") != "NTLM,Negotiate" {
		t.Fatalf("schemes %q", a.schemes)
	}
}
