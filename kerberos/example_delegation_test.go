package kerberos_test

import (
	"log"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
)

// A front service whose client delegated its TGT (ISC_REQ_DELEGATE) reaches a back
// service as that user. (It needs a KDC, so it is compiled, not run.)
func ExampleDelegatedCredentials() {
	var accepted *sspi.ServerContext // established, with ASCRetDelegate
	if !accepted.Attributes().Has(sspi.ASCRetDelegate) {
		return // the client did not delegate: act as the service, or refuse
	}
	user, err := kerberos.DelegatedCredentials(accepted.Handle(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(user)
	back := sspi.NewClientContext(user, sspi.ClientOptions{Target: "cifs/files.example.com"})
	defer back.Close()
	token, err := back.Step(nil)
	_, _ = token, err // send token to the back service, and so on
}

// A front service with its own keytab acts for a user who signed in with a web form
// (protocol transition, then constrained delegation); the realm must allow it to delegate
// to the back service. (It needs a KDC, so it is compiled, not run.)
func ExampleImpersonateUser() {
	service, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: "HTTP/web.example.com", Keytab: "/etc/web.keytab"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(service)
	user, err := kerberos.ImpersonateUser(service, "alice@EXAMPLE.COM", nil)
	if err != nil {
		log.Fatal(err) // sspi.ErrDelegationPolicy: the realm does not allow it
	}
	defer sspi.FreeCredentialsHandle(user)
	back := sspi.NewClientContext(user, sspi.ClientOptions{Target: "MSSQLSvc/db.example.com:1433"})
	defer back.Close()
	token, err := back.Step(nil)
	_, _ = token, err
}
