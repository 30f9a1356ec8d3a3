package httpauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// startApacheKDC starts a KDC with HTTP/localhost and Apache with mod_auth_gssapi over
// it, Kerberos and NTLM (gss-ntlmssp, accounts in NTLM_USER_FILE) both allowed.
func startApacheKDC(t *testing.T, tlsCert *testpeers.TLSCert) (*testpeers.KDC, *testpeers.Apache) {
	t.Helper()
	testpeers.RequireApache(t)
	testpeers.RequireGSSNTLMSSP(t)
	k := testpeers.StartKDC(t, testpeers.KDCOptions{Services: []string{"HTTP/localhost"}})
	env := append(k.ServerEnv(), testpeers.NTLMEnv{
		Users:      []testpeers.NTLMUser{{Domain: testDomain, User: testUser, Password: testPassword}},
		DomainName: testDomain,
	}.Environ(t, t.TempDir())...)
	a := testpeers.StartApache(t, testpeers.ApacheOptions{Env: env, TLS: tlsCert})
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+t.TempDir()+"/none")
	return k, a
}

// TestTransportApache authenticates to Apache httpd with mod_auth_gssapi, a real
// Negotiate server: Kerberos against the MIT KDC (its final AP-REP verified, as the
// default MutualWhenSupported requires) and NTLM through gss-ntlmssp, which needs all
// legs on one connection (GssapiConnectionBound On).
func TestTransportApache(t *testing.T) {
	k, a := startApacheKDC(t, nil)
	for _, tc := range []struct {
		name     string
		id       *sspi.AuthIdentity
		mutual   MutualAuthPolicy
		wantUser string
		wantErr  string
	}{
		{"Kerberos", &sspi.AuthIdentity{User: testpeers.KDCUser, Domain: k.Realm, Password: testpeers.KDCPassword}, MutualRequired, "alice@" + k.Realm, ""},
		{"NTLM inside Negotiate", &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: testPassword, PackageList: "NTLM"}, MutualWhenSupported, testUser, ""},
		{"NTLM with mutual authentication required", &sspi.AuthIdentity{User: testUser, Domain: testDomain, Password: testPassword, PackageList: "NTLM"}, MutualRequired, "", "SEC_E_MUTUAL_AUTH_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Transport{Identity: tc.id, MutualAuth: tc.mutual}
			defer tr.CloseIdleConnections()
			for _, method := range []string{"GET", "POST"} {
				var body *strings.Reader
				if method == "POST" {
					body = strings.NewReader("some data")
				}
				req, _ := http.NewRequest(method, a.URL, nil)
				if body != nil {
					req, _ = http.NewRequest(method, a.URL, body)
				}
				resp, err := tr.RoundTrip(req)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %s", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", method, err, a.Log())
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 405 {
					t.Fatalf("%s: status %d\n%s", method, resp.StatusCode, a.Log())
				}
				if u := resp.Header.Get("X-Remote-User"); !strings.Contains(strings.ToLower(u), strings.ToLower(tc.wantUser)) {
					t.Fatalf("%s: Apache saw user %q, want %q", method, u, tc.wantUser)
				}
			}
		})
	}
}
