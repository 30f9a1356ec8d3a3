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

// TestServerKerberos: our own Kerberos client under Negotiate, as a raw token under
// Negotiate and under the Kerberos scheme, against the keytab of HTTP/localhost from the
// package's KDC; the final token (AP-REP) comes back on the 200 and the client
// verifies it. Kerberos is not persisted unless PersistNonNTLM.
func TestServerKerberos(t *testing.T) {
	for _, persist := range []bool{false, true} {
		k, ts := ownKDCServer(t, Config{PersistNonNTLM: persist})
		krb := &kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf}
		tests := []struct {
			name, scheme string
			creds        *sspi.Credentials
		}{
			{"Negotiate", SchemeNegotiate, clientCreds(t, negotiate.PackageName, &negotiate.Config{
				Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: krb}})},
			{"raw Kerberos under Negotiate", SchemeNegotiate, clientCreds(t, kerberos.PackageName, krb)},
			{"Kerberos scheme", SchemeKerberos, clientCreds(t, kerberos.PackageName, krb)},
		}
		for _, tt := range tests {
			c := pinnedClient(ts)
			cctx := sspi.NewClientContext(tt.creds, sspi.ClientOptions{Target: httpService, Req: sspi.ISCReqMutualAuth})
			r := runHandshake(t, c, localURL(ts), tt.scheme, cctx)
			if want := "hello " + k.Principal(testpeers.KDCUser); r.status != http.StatusOK || r.body != want {
				t.Fatalf("%s: %d %q\n%s", tt.name, r.status, r.body, ts.log)
			}
			if r.final == nil || !cctx.Established() || cctx.Attributes()&sspi.ISCRetMutualAuth == 0 {
				t.Fatalf("%s: no verified final token (%d bytes, established %v, attrs %v)", tt.name, len(r.final), cctx.Established(), cctx.Attributes())
			}
			want := http.StatusUnauthorized
			if persist {
				want = http.StatusOK
			}
			if r := do(t, c, http.MethodGet, localURL(ts), HeaderAuthorization, "", nil); r.status != want {
				t.Fatalf("%s, PersistNonNTLM %v: request without a header on the connection: %d", tt.name, persist, r.status)
			}
		}
	}
}

// TestServerKerberosExtendedProtection: a Kerberos authenticator bound to another TLS
// channel is refused; one bound to ours is accepted.
func TestServerKerberosExtendedProtection(t *testing.T) {
	k := ownKDC(t)
	pki := testpeers.NewPKI(t)
	cert := pki.Server.Cert
	ts := startServer(t, Config{Kerberos: &kerberos.ServerConfig{Keytab: k.Keytab}}, &cert)
	krb := &kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf}
	creds := clientCreds(t, negotiate.PackageName, &negotiate.Config{
		Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: krb}})
	for _, tt := range []struct {
		name   string
		cert   []byte
		status int
	}{
		{"own channel", cert.Certificate[0], http.StatusOK},
		{"relayed", pki.Untrusted.Cert.Certificate[0], http.StatusUnauthorized},
	} {
		c := pinnedClient(ts)
		c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pki.Roots
		cctx := sspi.NewClientContext(creds, sspi.ClientOptions{Target: httpService, ChannelBindings: bindingsOfDER(t, tt.cert)})
		if r := runHandshakeTolerant(t, c, localURL(ts), SchemeNegotiate, cctx); r.status != tt.status {
			t.Fatalf("%s: %d\n%s", tt.name, r.status, ts.log)
		}
	}
	if !strings.Contains(ts.log.String(), "SEC_E_BAD_BINDINGS") {
		t.Fatalf("log:\n%s", ts.log)
	}
}
