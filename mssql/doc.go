// Package mssql is a github.com/microsoft/go-mssqldb integrated-authentication provider
// over gosspi's Negotiate, Kerberos and NTLM packages, so that Go programs on any platform
// log in to SQL Server with Windows authentication the way Windows' own SSPI provider does:
//
//	import _ "github.com/gosspi/sspi/mssql"
//
//	db, err := sql.Open("sqlserver",
//		"sqlserver://sql.example.com?authenticator=gosspi&user+id=EXAMPLE%5Calice&password=...")
//
// Importing the package registers the provider under ProviderName ("gosspi") with
// go-mssqldb's integratedauth registry; Register adds one under another name with fixed
// credentials or another package.
//
// # Parameters
//
// The connection string's parameters choose the credentials and the package:
//
//   - user id and password: "DOMAIN\user" or "user@REALM" and its password. Without a
//     user id the environment's default credentials are used, as gosspi's packages find
//     them: KRB5CCNAME (a ticket cache) for Kerberos, NTLM_USER_FILE and NTLMUSER for NTLM.
//   - gosspi-package: "Negotiate" (the default: Kerberos when a ticket can be had, else
//     NTLM, as SQL Server's clients on Windows do), "Kerberos" or "NTLM".
//   - ServerSPN: the target name; go-mssqldb fills in "MSSQLSvc/host:port" when it is not
//     given, and so does this package when the driver has not.
//
// With encrypt=true (or strict) and EPA enabled in go-mssqldb, the driver hands the TLS
// channel bindings to SetChannelBinding; they go into the NTLM AUTHENTICATE message and
// the Kerberos authenticator, as SQL Server's Extended Protection checks them.
//
// # Tests
//
// No SQL Server runs where gosspi is tested. The tests drive the provider through
// go-mssqldb's own interfaces (msdsn.Parse, integratedauth.GetIntegratedAuthenticator,
// InitialBytes, NextBytes, SetChannelBinding, Free), exactly as the driver's login does,
// against gosspi's Negotiate acceptor: with NTLM and an account file, and with Kerberos
// tickets from a throw-away MIT KDC (skipped, or failed under SSPI_INTEROP=require, when
// MIT's KDC is not installed). And go-mssqldb's own login code (Connector.Connect:
// PRELOGIN, LOGIN7 carrying the first token, SSPI messages, LOGINACK) runs against a
// minimal TDS login endpoint in the tests, with NTLM and with Kerberos, and reports the
// endpoint's "Login failed" for a wrong password. That endpoint does not speak TLS, so
// Extended Protection is tested at the interface (SetChannelBinding) only.
//
// This package lives in its own module (github.com/gosspi/sspi/mssql), so that programs
// that do not use it do not download go-mssqldb.
package mssql
