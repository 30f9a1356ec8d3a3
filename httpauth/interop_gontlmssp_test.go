package httpauth

import (
	"io"
	"net/http"
	"strings"
	"testing"

	gontlmssp "github.com/Azure/go-ntlmssp"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// goNTLMSSPGet makes one request with Azure/go-ntlmssp's Negotiator on a new connection
// (keep-alive carries its NTLM legs on that one), so that no connection a previous call
// authenticated serves it (IIS's persistence, which the server copies).
func goNTLMSSPGet(t *testing.T, ts *testServer, user, password string) (int, string) {
	t.Helper()
	base := ts.Client().Transport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: gontlmssp.Negotiator{RoundTripper: base}}
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestInteropGoNTLMSSP: Azure/go-ntlmssp's Negotiator, the NTLM client most Go programs
// use (WinRM and LDAP clients among them), against the middleware offering Negotiate and
// NTLM. It sends `user@DOMAIN` as a UserName with no DomainName, which the server resolves
// (issue 9 item 2), and DOMAIN\user; a wrong password is a 401 with the cause in the log.
// Over HTTPS it sends no channel bindings: served when bindings are taken when present,
// refused (SEC_E_BAD_BINDINGS) when they are required.
func TestInteropGoNTLMSSP(t *testing.T) {
	cfg := Config{NTLM: testNTLMConfig(t), Schemes: []string{SchemeNegotiate, SchemeNTLM}}
	ts := startServer(t, cfg, nil)
	for _, user := range []string{`EXAMPLE\alice`, "alice@EXAMPLE"} {
		if code, body := goNTLMSSPGet(t, ts, user, testPassword); code != http.StatusOK || body != `hello EXAMPLE\alice` {
			t.Errorf("%s: %d %q\n%s", user, code, body, ts.log)
		}
	}
	if code, _ := goNTLMSSPGet(t, ts, `EXAMPLE\alice`, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if !strings.Contains(ts.log.String(), "SEC_E_LOGON_DENIED") {
		t.Errorf("the refusal is not in the log:\n%s", ts.log)
	}

	cert := testpeers.NewPKI(t).Server.Cert
	for _, tt := range []struct {
		policy sspi.ChannelBindingPolicy
		want   int
	}{
		{sspi.BindingsWhenPresent, http.StatusOK},
		{sspi.BindingsRequired, http.StatusUnauthorized},
	} {
		cfg.ChannelBindings = tt.policy
		ts := startServer(t, cfg, &cert)
		if code, _ := goNTLMSSPGet(t, ts, `EXAMPLE\alice`, testPassword); code != tt.want {
			t.Errorf("HTTPS, policy %v: %d, want %d\n%s", tt.policy, code, tt.want, ts.log)
		}
		if tt.want != http.StatusOK && !strings.Contains(ts.log.String(), "SEC_E_BAD_BINDINGS") {
			t.Errorf("HTTPS, policy %v: no SEC_E_BAD_BINDINGS in the log:\n%s", tt.policy, ts.log)
		}
	}
}
