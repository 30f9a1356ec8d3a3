package kdctest_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// A Kerberos client and service authenticate each other with tickets from a KDC that runs
// inside the test, and exchange a sealed message: nothing installed, no network.
func ExampleNewKDC() {
	kdc := kdctest.NewKDC("EXAMPLE.TEST")
	defer kdc.Close()
	if err := kdc.AddUser("alice", "s3cret"); err != nil {
		log.Fatal(err)
	}
	keytab, err := kdc.AddService("host/localhost")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "kdctest")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "krb5.conf")
	if err := kdc.WriteConfig(conf); err != nil {
		log.Fatal(err)
	}

	// The client logs on with alice's password through the KDC that krb5.conf names; the
	// service reads its keys from the keytab the KDC made.
	cc, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: "alice@EXAMPLE.TEST", Password: "s3cret", Config: conf}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cc)
	sc, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredInbound, nil,
		&kerberos.ServerConfig{KeytabData: keytab}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)

	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "host/localhost"})
	defer cli.Close()
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv.Close()
	var tok []byte
	for !cli.Established() {
		if tok, err = cli.Step(tok); err != nil {
			log.Fatal(err)
		}
		if len(tok) == 0 {
			break
		}
		if tok, err = srv.Step(tok); err != nil {
			log.Fatal(err)
		}
	}
	id, err := srv.Identity()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the service authenticated", id.Principal)
	fmt.Println("mutual authentication:", cli.Attributes().Has(sspi.ISCRetMutualAuth))

	sealed, err := cli.Wrap([]byte("hello over Kerberos"))
	if err != nil {
		log.Fatal(err)
	}
	msg, err := srv.Unwrap(sealed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	// Output:
	// the service authenticated alice@EXAMPLE.TEST
	// mutual authentication: true
	// hello over Kerberos
}
