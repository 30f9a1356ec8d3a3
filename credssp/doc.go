// Package credssp is MS-CSSP, the Credential Security Support Provider, registered as
// "CredSSP": an inner authentication (Negotiate: Kerberos, or NTLM) run inside a TLS
// channel (Schannel), bound to the TLS server's public key, and followed by the
// delegation of the user's credentials to the server. It is what Remote Desktop's Network
// Level Authentication and WinRM's CredSSP authentication speak. Import it for its
// side effect, or use its Config:
//
//	import "github.com/gosspi/sspi/credssp"
//
// As on Windows, CredSSP is composed through the registry: AcquireCredentialsHandle
// acquires Schannel's credentials (Config.TLS) and Negotiate's (Config.Negotiate), and a
// context drives a Schannel context and a Negotiate context. Tokens are TLS records:
// send what InitializeSecurityContext or AcceptSecurityContext returns as it is, and
// pass the bytes received back in. Once established, EncryptMessage and DecryptMessage
// protect the application's data with the TLS channel (Remote Desktop goes on over it).
//
// # The exchange (MS-CSSP 3.1.5)
//
// After the TLS handshake, TSRequests travel inside TLS: the inner tokens, then the
// client's pubKeyAuth (the server's SubjectPublicKey, or from version 5 on its SHA-256
// hash with the "CredSSP Client-To-Server Binding Hash" magic and a 32-byte client
// nonce, sealed with the inner context), the server's answer (the key with its first
// byte plus one, or the "Server-To-Client" hash), and last the client's authInfo: its
// TSCredentials, sealed. The binding is what authenticates the TLS server: CredSSP asks
// Schannel for no certificate validation (ISC_REQ_MANUAL_CRED_VALIDATION) and instead
// proves that the inner authentication ran over this very TLS key. A man in the middle
// with another certificate makes the server refuse the binding (SEC_E_BAD_BINDINGS).
//
// # Versions
//
// TSRequest versions 2 to 6 are spoken and the lower of the two peers' is used. By
// default versions below 5, which lack the CVE-2018-0886 fix, are refused with
// SEC_E_DOWNGRADE_DETECTED (Windows' "Encryption Oracle Remediation" at its default,
// "Mitigated"); Config.MinVersion = 2 talks to unpatched peers. A peer's version is fixed
// by its first message: a change later means someone rewrote it (SEC_E_DOWNGRADE_DETECTED).
// The hashed binding does not cover the version, but a version lowered for only one side
// makes the sides compute different bindings and fail; lowered for both, only MinVersion
// stops it, which is why the default refuses versions 2 to 4.
//
// errorCode (versions 3, 4 and 6) carries an NTSTATUS both ways: a server that fails the
// inner authentication (STATUS_LOGON_FAILURE for a wrong password) sends it, and a
// client maps it back (SEC_E_LOGON_DENIED); a client that gives up sends its own. The
// token carrying it comes out of InitializeSecurityContext or AcceptSecurityContext
// together with the error when the call asked for ISC_REQ_EXTENDED_ERROR or
// ASC_REQ_EXTENDED_ERROR: send it before closing.
//
// # Flags and statuses
//
// A client accepts ISC_REQ_ALLOCATE_MEMORY, CONNECTION, EXTENDED_ERROR,
// MANUAL_CRED_VALIDATION (CredSSP always applies it to Schannel), SEQUENCE_DETECT,
// STREAM, USE_SUPPLIED_CREDS, DELEGATE, MUTUAL_AUTH and the protections TLS gives
// (REPLAY_DETECT, CONFIDENTIALITY, INTEGRITY); any other flag is SEC_E_UNSUPPORTED_FUNCTION.
//
//   - ISC_REQ_DELEGATE delegates the user's credentials; without it the empty
//     TSPasswordCreds is sent (what Windows' restricted admin mode sends).
//   - ISC_REQ_USE_SUPPLIED_CREDS delegates what a SECBUFFER_PKG_PARAMS input buffer holds
//     (MarshalCredentials) instead of the credentials handle's; without such a buffer a
//     delegating context fails with SEC_E_NO_CREDENTIALS, as it does when the handle has
//     no password to delegate (a Kerberos ccache, an NT hash).
//   - ISC_REQ_MUTUAL_AUTH requires the inner package to authenticate the server: NTLM
//     cannot, so it fails with SEC_E_MUTUAL_AUTH_FAILED.
//   - SEC_E_WRONG_PRINCIPAL: the inner package proved a server name (Kerberos' mutual
//     authentication) other than the target. SEC_E_TARGET_UNKNOWN: no target name, or the
//     KDC does not know it.
//   - SEC_I_INCOMPLETE_CREDENTIALS comes from Schannel when the TLS server asks for a
//     client certificate: acquire CredSSP credentials whose Config.TLS has one and call
//     InitializeSecurityContext again with them and the same context.
//   - SEC_E_INCOMPLETE_MESSAGE (with a SECBUFFER_MISSING count) means the input ends
//     inside a TLS record; a TSRequest spread over more records than one call brought
//     gives SEC_I_CONTINUE_NEEDED with no output: call again with the next bytes.
//   - SEC_I_COMPLETE_NEEDED and SEC_I_COMPLETE_AND_CONTINUE are the inner package's,
//     passed through; CompleteAuthToken on the CredSSP context reaches it. (CredSSP
//     completes the inner token itself before it seals with it.)
//   - Calling InitializeSecurityContext again after SEC_E_OK starts a new exchange
//     (re-authentication); the target name also keys Schannel's session cache.
//
// # Delegation policy
//
// A client delegates fresh credentials only where its policy allows, modelled on
// Windows' "Allow delegating fresh credentials" (Config.DelegateTo, SPN patterns; the
// default is TERMSRV/*, Windows' default) and "… with NTLM-only server authentication"
// (Config.DelegateToNTLMOnly; empty by default, as on Windows). When the inner package
// authenticated the server (Kerberos), the first list applies and a target outside it
// fails with SEC_E_DELEGATION_POLICY; when only NTLM ran, which proves nothing about the
// server, the second applies and a target outside it fails with SEC_E_POLICY_NLTM_ONLY.
// The checks run when the inner authentication ends, before anything is sealed for the
// server.
//
// # The server
//
// AcceptSecurityContext returns, once established, the client's identity from the inner
// package (QueryContextAttributes(AttrNames), Identity in the Go layer) and the delegated
// credentials (DelegatedCredentials): for a password, a *PasswordCredentials whose
// AuthIdentity authenticates onward as that user; the empty TSPasswordCreds when the
// client did not delegate. By default a TSPasswordCreds naming another user than the one
// the inner package authenticated is refused (SEC_E_LOGON_DENIED). Windows accepts it:
// its Remote Desktop server logs on with the delegated credentials, which must therefore
// be valid on their own; a Go server that trusts the identity and uses the credentials
// would act as two people, so it takes Config.AllowDelegatedUserMismatch to agree.
// Config.Authorize can refuse an authenticated user; with Config.EarlyUserAuthResult
// (RDP's PROTOCOL_HYBRID_EX) the refusal or the success travels as the 4-byte Early User
// Authorization Result, which a client with the same option waits for.
//
// # Wire formats
//
// TSRequest (versions 2 to 6), TSCredentials with TSPasswordCreds, TSSmartCardCreds
// (with TSCspDataDetail) and TSRemoteGuardCreds (with TSRemoteGuardPackageCred), in
// strict DER (cryptobyte), bounded: a TSRequest at most 128 KiB, TSCredentials 64 KiB, one
// negoToken, a client nonce of exactly 32 bytes. Smart-card and Remote Guard credentials
// are parsed and produced; logging on with them is out of scope.
//
// # Peers
//
// FreeRDP 2.11 (Debian) interoperates both ways: xfreerdp against this server and this
// client against freerdp-shadow-cli, at every version from 2 to 6 (FreeRDP announces 6
// and goes down; it sends a client nonce even below version 5). Its CredSSP is NTLM only
// and its Negotiate does not speak SPNEGO: set Config.Package to "NTLM" to reach a
// FreeRDP server (Windows takes both). freerdp-shadow-cli refuses a logon by closing the
// connection without errorCode; this client reports that as SEC_E_LOGON_DENIED. FreeRDP
// 2.11 does not complete PROTOCOL_HYBRID_EX. The RDP prelude (X.224 Connection
// Request/Confirm) around CredSSP is in package sockauth (AcceptRDP, ConnectRDP).
package credssp
