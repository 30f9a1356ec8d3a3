// Package negotiate is the Negotiate security package for github.com/gosspi/sspi: SPNEGO
// (RFC 4178) with Microsoft's extensions (MS-SPNG), client and server, registered as
// "Negotiate" (RPC id 9) when imported:
//
//	import _ "github.com/gosspi/sspi/negotiate"
//
// Negotiate is what Windows and browsers send first. It picks the best mechanism both
// sides have, falls back to NTLM when Kerberos cannot be used, and exchanges mechListMICs
// so that a man in the middle who forces a weaker mechanism is caught: always by the
// client, and by the server as far as the protocol allows (see "mechListMIC"). After the handshake a Negotiate context is its
// mechanism's context: signing, sealing, sizes, the session key and the identity are the
// mechanism's, and QueryContextAttributes(AttrNegotiationInfo) names it.
//
// # Mechanisms
//
// Mechanisms are other registered packages, driven through the registry as Windows
// composes them; Negotiate never reaches into their internals. It knows two, in this
// default order of preference:
//
//	Kerberos  1.2.840.48018.1.2.2 (Microsoft's OID, listed first as Windows does)
//	          and 1.2.840.113554.1.2.2
//	NTLM      1.3.6.1.4.1.311.2.2.10
//
// Importing this package also imports NTLM, Negotiate's fallback everywhere. Kerberos is
// used when its package is imported too (see "The Kerberos slot").
//
// # Credentials
//
// AcquireCredentialsHandle("", "Negotiate", use, nil, authData, nil) acquires credentials
// of every mechanism at once, each through its own package. authData is
//
//   - nil: every mechanism's default credentials (KRB5CCNAME, KRB5_KTNAME,
//     NTLM_USER_FILE, ...);
//   - *sspi.AuthIdentity: a user and password given to every mechanism (a password serves
//     Kerberos and NTLM alike); its PackageList ("NTLM", "!Kerberos", comma-separated)
//     keeps or drops mechanisms, and names Negotiate does not know are ignored, as
//     Windows ignores "!pku2u";
//   - *Config: the mechanisms and their order, and each one's own authData, such as a
//     keytab for Kerberos plus an account store for NTLM on a server.
//
// A mechanism whose package is not registered, or whose credentials cannot be acquired,
// is left out and the reason kept: it is reported if a peer wants that mechanism. Only
// when no mechanism is left does AcquireCredentialsHandle fail, with
// sspi.ErrNoCredentials and an error that unwraps (Unwrap() []error) to one
// *MechanismError per mechanism.
//
// # The client
//
// Kerberos is offered, and its TGT fetched, only for a target named by host name. A
// target whose host is an IP address ("host/127.0.0.1", "HTTP/[::1]:8080") gets NTLM
// alone, as on Windows unless TryIPSPN is set (here Config.KerberosIPTargets): nothing
// is asked of a KDC or of DNS for it. When the mechanism in use fails, the error also
// says why each other mechanism was not used (at AcquireCredentialsHandle, for this
// target, or at its first token); it unwraps to one *MechanismError per mechanism.
//
// The first token is the GSS InitialContextToken framing of a NegTokenInit: the
// mechanism list and the first mechanism's own first token (the optimistic token). A
// mechanism that cannot start (Kerberos without a ticket) is dropped before anything is
// sent. When the server picks another mechanism the client starts that one; its own
// replies are bare NegTokenResps without negState, as Windows sends them. A server that
// speaks first with a NegTokenInit2 (SMB) has its list used only to skip an optimistic
// token it cannot take: the list is not integrity-protected, so it never narrows the
// offer.
//
// # The server
//
// The server takes SPNEGO, and also raw NTLMSSP and raw Kerberos tokens, recognised by
// their magic ("NTLMSSP\0", or a GSS framing with a Kerberos OID), which browsers,
// mstsc and FreeRDP send under the Negotiate name: those run the mechanism directly with
// no SPNEGO in either direction, and NegotiationInfo reports it (Config.RejectRawTokens
// refuses them). Among SPNEGO offers it takes the first mechanism of the client's list
// that it has credentials for, echoing the OID the client used. Called with no input
// token, it speaks first with Microsoft's NegTokenInit2, whose hint name is the fixed
// "not_defined_in_RFC4178@please_ignore" (MS-SPNG 2.2.1), for HTTP and SMB-style
// protocols.
//
// # mechListMIC
//
// The mechListMIC is a MIC, made with the chosen mechanism's keys, over the DER
// MechTypeList exactly as the client sent it; it is what stops a man in the middle from
// deleting Kerberos from the offer so that a weaker mechanism gets chosen. The rules,
// RFC 4178 section 5 as MIT, Heimdal and Windows apply them:
//
//   - The choice must be protected, with a MIC in each direction, when the mechanism in
//     use is not the client's first choice, when the server sent request-mic, and with
//     DCE style (MS-SPNG). A server that takes anything but the client's first choice
//     says so with request-mic in its first reply.
//   - The client sends its MIC with its last mechanism token whenever the mechanism can
//     make one (it implements sspi.MechListMICer and has integrity, which Negotiate
//     always asks of it). Windows does this, and MS-SPNG makes it mandatory when NTLM's
//     AUTHENTICATE carries a MIC, which ours does whenever the server sent a timestamp.
//   - The server verifies the client's MIC and answers one with its own; it sends one
//     unasked only when the choice must be protected.
//   - A missing server MIC is tolerated only when the server took the client's first
//     choice and nobody asked for MICs: nothing could have been downgraded, and Windows
//     servers leave it out for Kerberos. Likewise a server MIC that merely repeats the
//     response token (a Windows 2000 bug that Heimdal also tolerates) is ignored only
//     then. When the choice must be protected, a missing MIC on either side fails with
//     sspi.ErrDowngradeDetected.
//   - For NTLM the mechanism resets its RC4 state after each mechListMIC (MS-SPNG
//     3.3.5.1); that is NTLM's MechListMICer's business, not Negotiate's.
//
// What the MICs prove is not the same on both sides. The client checks the server's MIC
// over the list it sent, so a client that completes knows its offer arrived as sent. The
// server checks the client's MIC over the list it received, but it only knows a MIC must
// come when the choice needs protecting as it sees it: an attacker who strikes Kerberos
// from the offer makes NTLM look like the client's first choice, and then strips the
// client's MIC. The client refuses (NTLM was not its first choice and the server sent no
// MIC), yet a server that relied on the rules above alone would be left holding an
// established context. So the server also requires the client's MIC whenever the
// mechanism says one is due (sspi.MechListMICRequirer). NTLM says so whenever the
// client's NTLMv2 response echoed the timestamp the server issued, which the NTLM server
// requires of every NTLMv2 logon, and a client given a timestamp sends an NTLM MIC and a
// mechListMIC: over NTLMv2 the downgrade is caught on both sides. Only a mechanism that
// never calls for the MIC, taken as the apparent first choice, leaves the server
// trusting the client to refuse; the server cannot tell that case from an honest one.
//
// # Errors
//
// Each failure has its own status and names the mechanism:
//
//   - no mechanism in common: sspi.ErrSecPkgNotFound, the status GSS_S_BAD_MECH maps to
//     (RFC 4178 asks for BAD_MECH), saying what each side had and why the missing ones
//     are missing. The same status when the server rejects every mechanism offered.
//   - a mechanism fails: that mechanism's own status, with a cause that reads
//     "negotiate: NTLM: ntlm: ..." and unwraps to *MechanismError and the mechanism's
//     error (errors.Is(err, ntlm.ErrNoSuchUser) works through Negotiate).
//   - a mechListMIC that does not verify: sspi.ErrMessageAltered; one that is required
//     but missing: sspi.ErrDowngradeDetected.
//   - a token that is not strict DER SPNEGO, longer than 64 KiB, or listing more than
//     32 mechanisms, or a message out of place: sspi.ErrInvalidToken. Parsing never
//     panics; fuzz targets check that.
//
// A failing server sends no token unless the caller asked for ASC_REQ_EXTENDED_ERROR:
// then a mechanism's failure token (Kerberos's KRB-ERROR, "Clock skew too great") comes
// back with the error inside a NegTokenResp with negState reject, as MIT's acceptor sends
// it, and a client given such a reject hands the token to its mechanism for the cause.
// Otherwise the application's protocol reports the failure (an HTTP 401, a closed
// connection), as it does for every other package.
//
// # The Kerberos slot
//
// Negotiate picks up Kerberos from the registry: any package registered under the name
// "Kerberos" (sspi.Register, case-insensitive) is used, preferred to NTLM, and offered
// under both OIDs, 1.2.840.48018.1.2.2 first and 1.2.840.113554.1.2.2 second; a server
// maps either OID, and a raw token GSS-framed with either (or the user-to-user OID), to
// it. To fill the slot a Kerberos package must:
//
//   - accept in AcquireCredentials the authData Negotiate passes on: nil (default
//     credentials: the ccache of KRB5CCNAME for a client, the keytab of KRB5_KTNAME for a
//     server), the caller's *sspi.AuthIdentity unchanged (user@REALM and password), or
//     whatever the caller put in Config.Credentials["Kerberos"] (a keytab, a ccache);
//     and fail there, or in the client context's first Step, when it cannot work (no
//     keytab, no ticket and no password, no KDC), so that Negotiate falls back to NTLM;
//   - produce from its client context's first Step, with no input token, the GSS-framed
//     AP-REQ (60 .. 06 09 2a864886f712010202 01 00 ...) that a raw Kerberos SSPI client
//     sends, and take the same framing on its server context; Step gets Negotiate's
//     StepParams with the caller's Target (the SPN), request flags plus integrity, and
//     channel-binding buffers;
//   - implement sspi.MechListMICer with GSS GetMIC and VerifyMIC (RFC 4121 MIC tokens)
//     over the bytes it is given, and report integrity (ISCRetIntegrity or
//     ASCRetIntegrity) in the attributes it grants;
//   - implement the message and query interfaces (Signer, Sealer, SizeReporter,
//     SessionKeyer, IdentityReporter) that Negotiate forwards once Kerberos is chosen.
//
// The kerberos package of this module fills the slot when imported. This package's own
// tests also stand in a fake mechanism of the same shape (one token each way, mutual
// authentication, MICs) to cover every path a second mechanism opens: preference,
// fallback, request-mic and downgrade.
package negotiate
