package httpauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
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
