package ldapsasl_test

import (
	"log"
	"net"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/ldapsasl"
)

// gssapiClient is go-ldap v3's GSSAPIClient interface, spelled out here so that this
// example compiles without go-ldap; *ldapsasl.Client satisfies it.
type gssapiClient interface {
	InitSecContext(target string, token []byte) ([]byte, bool, error)
	InitSecContextWithOptions(target string, token []byte, options []int) ([]byte, bool, error)
	NegotiateSaslAuth(token []byte, authzid string) ([]byte, error)
	DeleteSecContext() error
}

// A GSSAPI bind with a confidentiality layer to an Active Directory domain controller,
// whose default policy refuses binds without signing. With go-ldap:
//
//	l := ldap.NewConn(conn, false)
//	l.Start()
//	if err := l.GSSAPIBind(conn.Client(), "ldap/dc.example.com", ""); err != nil { ... }
//	res, err := l.Search(ldap.NewSearchRequest("dc=example,dc=com", ...)) // sealed both ways
func ExampleNewConn() {
	cred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: "alice@EXAMPLE.COM", Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := net.Dial("tcp", "dc.example.com:389")
	if err != nil {
		log.Fatal(err)
	}
	conn := ldapsasl.NewConn(raw, ldapsasl.Config{Credentials: cred, Layers: ldapsasl.LayerConfidentiality})
	defer conn.Close()
	var bind gssapiClient = conn.Client() // what (*ldap.Conn).GSSAPIBind takes
	_ = bind
}
