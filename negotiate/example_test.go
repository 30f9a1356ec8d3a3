package negotiate_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// serverCredentials acquires a Negotiate server's credentials: here NTLM with an account
// store; a keytab under Credentials["Kerberos"] would add Kerberos.
func serverCredentials() *sspi.Credentials {
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		log.Fatal(err)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", negotiate.PackageName, sspi.CredInbound, nil, &negotiate.Config{
		// The server goes by web.example.com. A client in the same process answers its NTLM
		// challenge only when the client's target names it: see the ntlm package on reflection.
		Credentials: map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: store, NetBIOSComputer: "WEB", DNSDomain: "example.com"}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return cred
}

// A client and a server negotiate: Kerberos is not available here, so they settle on NTLM
// and protect the choice with mechListMICs. Afterwards the context is NTLM's.
func Example() {
	ccred, _, err := sspi.AcquireCredentialsHandle("", negotiate.PackageName, sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/web.example.com"})
	server := sspi.NewServerContext(serverCredentials(), sspi.ServerOptions{})

	tok, err := client.Step(nil) // the NegTokenInit, with NTLM's NEGOTIATE inside
	for err == nil && len(tok) > 0 {
		if tok, err = server.Step(tok); err != nil || len(tok) == 0 {
			break
		}
		tok, err = client.Step(tok)
	}
	if err != nil {
		log.Fatal(err)
	}
	id, _ := server.Identity()
	fmt.Println(client.Established(), server.Established(), server.Package(), id.Principal)

	sealed, _ := client.Wrap([]byte("hello"))
	msg, _ := server.Unwrap(sealed)
	fmt.Println(string(msg))
	// Output:
	// true true NTLM EXAMPLE\alice
	// hello
}

// A server that speaks first (an SMB-style protocol) calls Step with no token and sends
// Microsoft's NegTokenInit2; the client starts from it.
func Example_serverFirst() {
	server := sspi.NewServerContext(serverCredentials(), sspi.ServerOptions{})
	hints, err := server.Step(nil)
	if err != nil {
		log.Fatal(err)
	}
	ccred, _, err := sspi.AcquireCredentialsHandle("", negotiate.PackageName, sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "HTTP/web.example.com"})
	tok, err := client.Step(hints)
	for err == nil && len(tok) > 0 {
		if tok, err = server.Step(tok); err != nil || len(tok) == 0 {
			break
		}
		tok, err = client.Step(tok)
	}
	if err != nil {
		log.Fatal(err)
	}
	var ni sspi.NegotiationInfo
	sspi.QueryContextAttributes(server.Handle(), sspi.AttrNegotiationInfo, &ni)
	fmt.Println(ni.PackageInfo.Name, ni.State == sspi.NegotiationComplete)
	// Output: NTLM true
}
