package mssql_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/mssql"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/microsoft/go-mssqldb/integratedauth"
	"github.com/microsoft/go-mssqldb/msdsn"
)

// A program logs in to SQL Server with Windows authentication by importing the package
// and naming it in the connection string:
//
//	db, err := sql.Open("sqlserver", "sqlserver://sql.example.com?authenticator=gosspi&user+id=EXAMPLE%5Calice&password=...")
//
// Here the driver's side of that login runs against gosspi's own Negotiate acceptor in
// SQL Server's place.
func Example() {
	cfg, err := msdsn.Parse(`sqlserver://sql.example.com?authenticator=gosspi&user+id=EXAMPLE%5Calice&password=Passw0rd!`)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := integratedauth.GetIntegratedAuthenticator(cfg) // what go-mssqldb's login calls
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Free()

	server := sqlServer()
	tok, err := auth.InitialBytes() // sent in LOGIN7
	for err == nil && len(tok) > 0 {
		if tok, err = server.Step(tok); err != nil || len(tok) == 0 {
			break
		}
		tok, err = auth.NextBytes(tok) // each SSPI token the server answers
	}
	if err != nil {
		log.Fatal(err)
	}
	id, _ := server.Identity()
	fmt.Println(auth.(*mssql.Authenticator).Package(), id.Principal)
	// Output: NTLM EXAMPLE\alice
}

// sqlServer stands in for SQL Server's acceptor: Negotiate with an NTLM account. It goes by
// sql.example.com, the name the client targets (MSSQLSvc/sql.example.com:1433).
func sqlServer() *sspi.ServerContext {
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		log.Fatal(err)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", negotiate.PackageName, sspi.CredInbound, nil,
		&negotiate.Config{Credentials: map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: store, NetBIOSComputer: "SQL", DNSDomain: "example.com"}}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	return sspi.NewServerContext(cred, sspi.ServerOptions{})
}
