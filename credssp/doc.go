// Package credssp is MS-CSSP, the Credential Security Support Provider ("CredSSP"):
// an inner authentication (SPNEGO: Kerberos, or NTLM) run inside a TLS channel, bound to
// the TLS server's public key, and followed by the delegation of the user's credentials
// to the server. It is what Remote Desktop's Network Level Authentication and WinRM's
// CredSSP authentication speak.
//
// The wire formats are MS-CSSP 2.2.1: TSRequest (versions 2 to 6), TSCredentials with
// TSPasswordCreds, TSSmartCardCreds and TSRemoteGuardCreds, all strict DER, bounded.
package credssp
