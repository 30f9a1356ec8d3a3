// Package sshgss plugs gosspi's Kerberos package into golang.org/x/crypto/ssh's
// "gssapi-with-mic" user authentication (RFC 4462): Client satisfies ssh.GSSAPIClient
// and Server satisfies ssh.GSSAPIServer, both on the SSPI calls of package sspi over
// the "Kerberos" package (github.com/gosspi/sspi/kerberos), so a Go SSH client logs in
// to OpenSSH's sshd with a Kerberos ticket, and a Go SSH server accepts OpenSSH's
// `ssh -K` (or any GSSAPI-enabled client) with a keytab.
//
// # What it needs
//
// A client needs Kerberos credentials (a password, a keytab or a credential cache:
// kerberos.ClientConfig, or nil for the environment's KRB5CCNAME) and a KDC that
// issues a ticket for host/<server>. x/crypto/ssh passes the target as
// "host@<host>", the GSS host-based form, which the Kerberos package reads as the
// service principal host/<host>; ClientConfig.Target names another principal.
//
// A server needs a keytab holding the key of host/<its name> (kerberos.ServerConfig,
// or nil for KRB5_KTNAME). The name the client authenticated as
// ("alice@EXAMPLE.COM") is the srcName x/crypto hands to
// GSSAPIWithMICConfig.AllowLogin, which decides which local account, if any, that
// principal may use: GSSAPI proves who the user is, not what they may log in as.
//
// x/crypto/ssh offers only the Kerberos V5 mechanism (1.2.840.113554.1.2.2), so the
// credentials must be the "Kerberos" package's: NewClient and NewServer refuse
// Negotiate's or NTLM's, whose tokens an SSH peer would not understand.
//
// # One context at a time
//
// x/crypto/ssh keeps one GSSAPIServer in a ServerConfig and calls it without saying
// which connection a call is for, so a Server holds one security context: give every
// connection its own Server (a copy of the ssh.ServerConfig whose
// GSSAPIWithMICConfig.Server is a fresh NewServer; credentials are shared, so this is
// cheap), as the Example does. A Server that is already in a handshake refuses a second
// one with SEC_E_INVALID_HANDLE instead of mixing two connections' contexts.
//
// # Delegation
//
// x/crypto/ssh's client always passes isGSSDelegCreds=false, so ClientConfig.Delegate
// is how a caller asks to forward its TGT (OpenSSH's GSSAPIDelegateCredentials): the
// client then asks for ISC_REQ_DELEGATE, and the Kerberos package decides, by its own
// policy (a forwardable TGT, a service the realm marks OK-AS-DELEGATE), whether to
// forward it; Client.Attributes says whether it did (sspi.ISCRetDelegate). sshd then
// stores the TGT in a ccache named by the session's KRB5CCNAME. On a Server,
// AllowLogin sees what the client delegated through Server.Context (its Attributes
// carry sspi.ASCRetDelegate), which the Kerberos package's delegation functions take.
// A Kerberos package without delegation accepts the flag without granting it, and the
// login goes on without a forwarded TGT.
//
// # How it is tested
//
// Against the real peers, with a throw-away MIT KDC (internal/testpeers), started once
// for the package's tests: our Client logs in to OpenSSH's sshd (started by the test
// on a loopback port with a private sshd_config, GSSAPIAuthentication yes, a host
// keytab from that KDC and a private host key) and runs a command; OpenSSH's `ssh -K`
// with MIT's libraries and a ccache from MIT's kinit logs in to an x/crypto/ssh server
// using our Server and runs a command, both with and without delegation (checked strictly
// when the Kerberos package has SECPKG_FLAG_DELEGATION); and our Client against our Server through
// x/crypto/ssh, with the failures (wrong service key, tampered MIC, shared Server)
// checked. The tests skip without openssh-server, openssh-client or the MIT KDC, and
// fail instead under SSPI_INTEROP=require.
package sshgss
