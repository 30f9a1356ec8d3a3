package winrm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/httpauth"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/schannel"
)

// credSSPServer is the endpoint's CredSSP configuration: a self-signed TLS key (CredSSP's
// public-key binding, not a CA, authenticates it) and NTLM inside.
func credSSPServer(t *testing.T) *credssp.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &credssp.Config{
		TLS:       &schannel.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: ntlmServerConfig(t)}},
	}
}

// TestCredSSP: masterzen/winrm through Transport with CredSSP (NTLM inside, the user's
// password delegated to WSMAN/localhost by an explicit policy) runs commands on the
// endpoint over plain HTTP, every message sealed in the CredSSP TLS channel; with
// Windows' default delegation policy the client refuses to hand its password over.
func TestCredSSP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy []string
		want   error
	}{
		{name: "delegation allowed for WSMAN/*", policy: []string{"WSMAN/*"}},
		{name: "default policy", want: sspi.ErrPolicyNLTMOnly},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts, h := startEndpoint(t, httpauth.Config{Schemes: []string{httpauth.SchemeCredSSP}, CredSSP: credSSPServer(t)}, false)
			cred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredOutbound, nil, &credssp.Config{
				Negotiate:          &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: password},
				DelegateToNTLMOnly: tt.policy,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(cred)
			tr := &Transport{Package: credssp.PackageName, Credentials: cred}
			c := client(t, ts.URL, tr)
			if tt.want != nil {
				_, _, _, err := c.RunWithString("whoami", "")
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				return
			}
			runCommands(t, c, `EXAMPLE\alice`)
			checkSealed(t, h, true)
		})
	}
}
