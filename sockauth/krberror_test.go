package sockauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
)

// skewedServerCreds are the KDC keytab's acceptor credentials on a clock an hour ahead,
// for Kerberos or Negotiate: every authenticator is too old (KRB_AP_ERR_SKEW).
func skewedServerCreds(t *testing.T, k *testpeers.KDC, pkg string) *sspi.Credentials {
	t.Helper()
	var authData any = &kerberos.ServerConfig{Keytab: k.Keytab, Time: func() time.Time { return time.Now().Add(time.Hour) }}
	if pkg == "Negotiate" {
		authData = &negotiate.Config{Credentials: map[string]any{"Kerberos": authData}}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredInbound, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// TestKerberosKRBErrorToGSSClient (issue 14): our acceptor refusing MIT's gss-client for
// clock skew sends the KRB-ERROR token with the refusal (inside SPNEGO's reject through
// Negotiate), so gss-client reports "Clock skew too great" (before, it read a closed
// connection: "0 bytes read"), and the server logs SEC_E_TIME_SKEW.
func TestKerberosKRBErrorToGSSClient(t *testing.T) {
	testpeers.RequireGSSSample(t)
	k := startKDC(t)
	cc := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	for _, tc := range []struct {
		pkg    string
		spnego bool
	}{{"Kerberos", false}, {"Negotiate", true}} {
		t.Run(tc.pkg, func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: skewedServerCreds(t, k, tc.pkg), Framing: FramingGSS})
			res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{
				SPNEGO: tc.spnego, Message: "hello", Env: append(k.Env(), "KRB5CCNAME=FILE:"+cc),
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := waitRecords(t, srv.Log, 1)[0]
			if rec["status"] != "SEC_E_TIME_SKEW" {
				t.Errorf("server log %v", rec)
			}
			if res.ExitCode == 0 || !strings.Contains(res.Output, "Clock skew too great") {
				t.Errorf("gss-client exit %d, output:\n%s", res.ExitCode, res.Output)
			}
		})
	}
}

// TestKerberosKRBErrorToClient: our client, refused the same way in either framing, with
// Kerberos or through Negotiate, fails with SEC_E_TIME_SKEW and the server's KRB-ERROR in
// the cause, not with a closed connection.
func TestKerberosKRBErrorToClient(t *testing.T) {
	k := startKDC(t)
	for _, tc := range []struct {
		pkg string
		f   Framing
	}{{"Kerberos", FramingSSPI}, {"Kerberos", FramingGSS}, {"Negotiate", FramingSSPI}, {"Negotiate", FramingGSS}} {
		t.Run(tc.pkg+"/"+tc.f.String(), func(t *testing.T) {
			ccred := krbClientCreds(t, k, tc.pkg, testpeers.KDCUser, testpeers.KDCPassword)
			f := tc.f
			srv := startServer(t, &Server{Credentials: skewedServerCreds(t, k, tc.pkg), Framing: f})
			c, err := (&Client{Credentials: ccred, Framing: f, Target: testpeers.KDCService}).Dial(testCtx(t), srv.Addr)
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, sspi.ErrTimeSkew) || !strings.Contains(err.Error(), "KRB_AP_ERR_SKEW") {
				t.Errorf("refused for skew: %v", err)
			}
		})
	}
}
