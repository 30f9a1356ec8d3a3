package sspi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// NTLM bound to a TLS connection (Extended Protection for Authentication): both
// sides compute the connection's tls-server-end-point bindings, the client from
// the certificate it was shown, the server from its own. A relay that terminates
// TLS with another certificate cannot reuse the client's authentication.
func ExampleTLSServerEndPoint() {
	cert := serverCertificate()
	c, s := net.Pipe()
	client := tls.Client(c, &tls.Config{ServerName: "server.example.com", RootCAs: poolOf(cert.Leaf)})
	server := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	go server.Handshake()
	if err := client.Handshake(); err != nil {
		log.Fatal(err)
	}

	// The client binds to the certificate the server presented ...
	clientCB, err := sspi.TLSServerEndPointFromState(client.ConnectionState())
	if err != nil {
		log.Fatal(err)
	}
	// ... and the server to its own, which its ConnectionState does not hold.
	serverCB, err := sspi.TLSServerEndPoint(cert.Leaf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s...\n", clientCB.ApplicationData[:21])

	accounts, _ := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	scred, _, _ := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredInbound, nil,
		&ntlm.ServerConfig{Accounts: accounts, ChannelBindings: ntlm.BindingsRequired,
			NetBIOSDomain: "EXAMPLE", NetBIOSComputer: "SERVER", DNSDomain: "example.com"}, nil)
	ccred, _, _ := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, nil)

	// The SSPI-shaped call takes the SEC_CHANNEL_BINDINGS structure in a
	// BufferChannelBindings input buffer, next to the token.
	var ctx *sspi.Context
	var toClient []byte
	srv := sspi.NewServerContext(scred, sspi.ServerOptions{ChannelBindings: serverCB.Marshal()})
	for {
		in := []sspi.Buffer{
			{Type: sspi.BufferToken, Data: toClient},
			{Type: sspi.BufferChannelBindings, Data: clientCB.Marshal()},
		}
		out := []sspi.Buffer{{Type: sspi.BufferToken}}
		var status sspi.Status
		ctx, status, err = sspi.InitializeSecurityContext(ccred, ctx, "HTTP/server.example.com",
			sspi.ISCReqAllocateMemory|sspi.ISCReqConfidentiality, sspi.NativeDataRep, in, out)
		if err != nil {
			log.Fatal(err)
		}
		if toClient, err = srv.Step(out[0].Data); err != nil {
			fmt.Println("server:", sspi.StatusOf(err))
			return
		}
		if status == sspi.OK || srv.Established() {
			break
		}
	}
	id, _ := srv.Identity()
	fmt.Println("bound logon of", id.Principal)
	// Output:
	// tls-server-end-point:...
	// bound logon of EXAMPLE\alice
}

// serverCertificate makes a self-signed certificate for server.example.com.
func serverCertificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "server.example.com"},
		DNSNames:     []string{"server.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func poolOf(cert *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}
