package httpauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
)

// dropToken and flipToken are the man in the middle's edits of the server's final token.
func dropToken([]byte) []byte { return nil }

func flipToken(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 0x01
	return c
}

// TestTransportMutualAuth rewrites the server's final token (Kerberos's AP-REP, bare or
// inside SPNEGO; SPNEGO's accept-completed after NTLM) between our own acceptor and our
// Transport, under each MutualAuthPolicy.
func TestTransportMutualAuth(t *testing.T) {
	k := ownKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+t.TempDir()+"/none")
	krbAcceptor := func(t *testing.T) *sspi.Credentials {
		return clientCredsInbound(t, kerberos.PackageName, &kerberos.ServerConfig{Keytab: k.Keytab})
	}
	negKrbAcceptor := func(t *testing.T) *sspi.Credentials {
		return clientCredsInbound(t, negotiate.PackageName, &negotiate.Config{
			Mechanisms:  []string{negotiate.Kerberos},
			Credentials: map[string]any{negotiate.Kerberos: &kerberos.ServerConfig{Keytab: k.Keytab}},
		})
	}
	krbID := &sspi.AuthIdentity{User: testpeers.KDCUser, Domain: k.Realm, Password: testpeers.KDCPassword}
	ntlmID := testIdentity()
	ntlmID.PackageList = "NTLM"
	const ok = ""
	for _, tc := range []struct {
		name    string
		scheme  string
		acc     func(*testing.T) *sspi.Credentials
		id      *sspi.AuthIdentity
		final   func([]byte) []byte
		policy  MutualAuthPolicy
		wantErr string
	}{
		{"Negotiate/Kerberos, untouched, required", "Negotiate", negKrbAcceptor, krbID, nil, MutualRequired, ok},
		{"Negotiate/Kerberos, stripped, when supported", "Negotiate", negKrbAcceptor, krbID, dropToken, MutualWhenSupported, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/Kerberos, stripped, required", "Negotiate", negKrbAcceptor, krbID, dropToken, MutualRequired, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/Kerberos, stripped, optional", "Negotiate", negKrbAcceptor, krbID, dropToken, MutualOptional, ok},
		{"Negotiate/Kerberos, altered, when supported", "Negotiate", negKrbAcceptor, krbID, flipToken, MutualWhenSupported, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/Kerberos, altered, required", "Negotiate", negKrbAcceptor, krbID, flipToken, MutualRequired, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/Kerberos, altered, optional", "Negotiate", negKrbAcceptor, krbID, flipToken, MutualOptional, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Kerberos, stripped, when supported", "Kerberos", krbAcceptor, krbID, dropToken, MutualWhenSupported, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Kerberos, altered, required", "Kerberos", krbAcceptor, krbID, flipToken, MutualRequired, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"NTLM, when supported", "NTLM", ntlmAcceptorT, ntlmID, nil, MutualWhenSupported, ok},
		{"NTLM, required", "NTLM", ntlmAcceptorT, ntlmID, nil, MutualRequired, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/NTLM, untouched, required", "Negotiate", negotiateNTLMAcceptorT, ntlmID, nil, MutualRequired, "SEC_E_MUTUAL_AUTH_FAILED"},
		{"Negotiate/NTLM, untouched, when supported", "Negotiate", negotiateNTLMAcceptorT, ntlmID, nil, MutualWhenSupported, ok},
		{"Negotiate/NTLM, stripped, when supported", "Negotiate", negotiateNTLMAcceptorT, ntlmID, dropToken, MutualWhenSupported, ok},
		// The mechListMIC of SPNEGO's accept-completed fails: the package's status.
		{"Negotiate/NTLM, altered, when supported", "Negotiate", negotiateNTLMAcceptorT, ntlmID, flipToken, MutualWhenSupported, "SEC_E_MESSAGE_ALTERED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestAuthServer(t, &testAuthServer{Offer: []string{tc.scheme}, Scheme: tc.scheme, Cred: tc.acc(t), FinalToken: tc.final}, false)
			tr := &Transport{Identity: tc.id, MutualAuth: tc.policy, SPN: httpService}
			defer tr.CloseIdleConnections()
			resp, body, err := get(t, tr, "GET", s.URL, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(strings.TrimPrefix(err.Error(), `Get "`+s.URL+`": `), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "hello ") {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
		})
	}
}

func clientCredsInbound(t testing.TB, pkg string, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredInbound, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func ntlmAcceptorT(t *testing.T) *sspi.Credentials          { return ntlmAcceptor(t) }
func negotiateNTLMAcceptorT(t *testing.T) *sspi.Credentials { return negotiateNTLMAcceptor(t) }
