package credssp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/schannel"
)

// A CredSSP client delegates alice's password to a server, which reads it once the
// handshake is done. Both run in process here; on a network, each token goes to the
// other side as it is.
func Example() {
	// The server: a TLS certificate and an NTLM account store.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rdp.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	accounts, _ := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	serverCred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredInbound, nil, &credssp.Config{
		TLS:       &schannel.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: accounts, DNSComputer: "rdp.example.com"}}},
	}, nil)
	if err != nil {
		panic(err)
	}
	defer sspi.FreeCredentialsHandle(serverCred)

	// The client: alice's password, which NTLM-only delegation to TERMSRV/* may send.
	clientCred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredOutbound, nil, &credssp.Config{
		Negotiate:          &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"},
		DelegateToNTLMOnly: []string{"TERMSRV/*"},
	}, nil)
	if err != nil {
		panic(err)
	}
	defer sspi.FreeCredentialsHandle(clientCred)

	client := sspi.NewClientContext(clientCred, sspi.ClientOptions{Target: "TERMSRV/rdp.example.com",
		Req: sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqStream | sspi.ISCReqExtendedError})
	server := sspi.NewServerContext(serverCred, sspi.ServerOptions{Req: sspi.ASCReqConnection | sspi.ASCReqStream})
	tok, err := client.Step(nil)
	for err == nil && len(tok) > 0 {
		if tok, err = server.Step(tok); err != nil || len(tok) == 0 {
			break
		}
		tok, err = client.Step(tok)
	}
	if err != nil {
		panic(err)
	}
	id, _ := server.Identity()
	d, _ := credssp.DelegatedCredentials(server.Handle())
	pw := d.(*credssp.PasswordCredentials)
	fmt.Println("authenticated:", id.Principal)
	fmt.Println("delegated:", pw, "with a password of", len(pw.Password), "characters")
	// Output:
	// authenticated: EXAMPLE\alice
	// delegated: EXAMPLE\alice with a password of 9 characters
}
