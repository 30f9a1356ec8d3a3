package httpauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/schannel"
)

// TestCredSSPScheme: the CredSSP scheme (WinRM's) runs its TLS-record legs through the
// middleware, is offered only when listed, and delegation refused by the client's policy
// never reaches the handler.
func TestCredSSPScheme(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &credssp.Config{
		TLS:       &schannel.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: testNTLMConfig(t)}},
	}
	if _, err := NewServer(Config{Schemes: []string{SchemeCredSSP}}); err == nil {
		t.Fatal("the CredSSP scheme without Config.CredSSP was accepted")
	}
	ts := startServer(t, Config{Schemes: []string{SchemeNegotiate, SchemeCredSSP}, NTLM: testNTLMConfig(t), CredSSP: cfg}, nil)
	if r := do(t, pinnedClient(ts), http.MethodGet, ts.URL, "", "", nil); len(r.resp.Header.Values(HeaderWWWAuthenticate)) != 2 ||
		r.resp.Header.Values(HeaderWWWAuthenticate)[1] != SchemeCredSSP {
		t.Fatalf("offered %q", r.resp.Header.Values(HeaderWWWAuthenticate))
	}
	for _, tt := range []struct {
		name   string
		policy []string
		status int
	}{
		{name: "delegation allowed", policy: []string{"HTTP/*"}, status: http.StatusOK},
		{name: "delegation refused by the client", policy: nil, status: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccred := clientCreds(t, credssp.PackageName, &credssp.Config{
				Negotiate:          &sspi.AuthIdentity{User: testDomain + `\` + testUser, Password: testPassword},
				DelegateToNTLMOnly: tt.policy,
			})
			cctx := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/localhost",
				Req: sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqStream})
			defer cctx.Close()
			c := pinnedClient(ts)
			var in []byte
			var r result
			for leg := 0; leg < 8; leg++ {
				out, err := cctx.Step(in)
				if err != nil {
					if tt.status == http.StatusOK {
						t.Fatalf("client step %d: %v", leg, err)
					}
					r.status = http.StatusUnauthorized // the client gave up: nothing reaches the handler
					break
				}
				if r = do(t, c, http.MethodGet, ts.URL, HeaderAuthorization, SchemeCredSSP, out); r.status != http.StatusUnauthorized {
					break
				}
				in = r.final
			}
			if r.status != tt.status {
				t.Fatalf("status %d (%q), want %d", r.status, r.body, tt.status)
			}
			if tt.status == http.StatusOK && r.body != "hello "+testDomain+`\`+testUser {
				t.Fatalf("handler said %q", r.body)
			}
		})
	}
}
