// Package kerberos is the Kerberos security package (RFC 4120, with the GSS-API mechanism
// of RFC 1964 and RFC 4121) for github.com/gosspi/sspi, client and server side, registered
// as "Kerberos" (RPC id 16) when imported:
//
//	import _ "github.com/gosspi/sspi/kerberos"
//
// Importing it also fills Negotiate's Kerberos slot: Negotiate then prefers Kerberos and
// falls back to NTLM when this package cannot work (no ticket, no password, no keytab, no
// KDC), because this package fails in AcquireCredentialsHandle or in the client's first
// InitializeSecurityContext in those cases.
//
// The package runs entirely on gosspi's own Kerberos engine (internal/krb5): strict DER
// (wire), the RFC 3962, 8009 and 4757 profiles with derived keys set up once per keytab
// key and per context (crypto), RFC 4121 and RFC 4757 tokens (gss), the keytab and
// credential cache formats, krb5.conf as MIT reads it (config), and the client's AS and
// TGS exchanges with referrals (client). github.com/jcmturner/gokrb5/v8 is no longer a
// dependency of the library: only tests import it, to cross-check the engine against an
// independent implementation.
//
// # Credentials
//
// AcquireCredentialsHandle takes, as authData:
//
//   - nil: the defaults of the environment, as MIT finds them. A client uses the
//     credential cache named by KRB5CCNAME (default /tmp/krb5cc_<uid>, FILE: caches only)
//     when it holds a valid TGT, otherwise the client keytab named by KRB5_CLIENT_KTNAME
//     (default /var/lib/krb5/user/<euid>/client.keytab) when there is one; a server uses
//     the keytab named by KRB5_KTNAME (default /etc/krb5.keytab); krb5.conf is the files
//     of KRB5_CONFIG, merged (default /etc/krb5.conf).
//   - *sspi.AuthIdentity: a client's user ("alice@REALM", "REALM\alice", or User and
//     Domain apart) and password. A domain without a dot is a NetBIOS name: it is used
//     only when krb5.conf maps it to a realm (a realm of that name, or the one realm, or
//     the default realm among several, whose first label it is, directly or through
//     [domain_realm]); otherwise acquiring fails with sspi.ErrNoAuthenticatingAuthority
//     before any KDC is looked for, and Negotiate uses NTLM. A "user@suffix" whose suffix
//     is no realm krb5.conf knows (in any case, [domain_realm] included) is a UPN: as
//     Windows does, it goes to the default realm's KDC as an enterprise name (RFC 6806
//     NT-ENTERPRISE, with canonicalize), and the client's name becomes the canonical one
//     the KDC answers with (ClientConfig.Enterprise asks for this explicitly).
//   - *ClientConfig: a client with a principal and a password, a keytab or a ccache;
//     with ArmorCCache, the password or keytab logon is armored with FAST (RFC 6113)
//     and fails rather than go unarmored.
//
// With a password or a keytab the TGT is obtained with an AS exchange when the
// credentials are acquired, as MIT's gss_acquire_cred_with_password does, so a wrong
// password fails AcquireCredentialsHandle, before the caller connects anywhere. Negotiate
// asks for the exchange to wait (sspi.CredentialsRequest.DeferLogon) until a context
// whose target can use Kerberos takes its first step.
//   - *ServerConfig: a server with its keytab (a path or the keytab's bytes), its service
//     principal and its channel-binding policy.
//
// A server's principal (AcquireCredentialsHandle's principal, or
// ServerConfig.ServicePrincipal) restricts it to tickets for that service: a ticket for
// another principal of the same keytab fails with sspi.ErrWrongPrincipal, and a principal
// the keytab has no key for fails AcquireCredentialsHandle with sspi.ErrNoCredentials.
// Without one, a ticket for any principal of the keytab is accepted; either way the
// context's Identity().Server is the service principal (service/host@REALM) whose key
// accepted it.
//
// # The PAC
//
// A ticket from Active Directory, Samba or MIT krb5 1.20 carries a PAC (MS-PAC) in its
// authorization data. The server verifies its server signature with the key that
// decrypted the ticket and checks its PAC_CLIENT_INFO against the ticket's client name
// and authtime; a PAC that fails either, is malformed or comes twice refuses the ticket
// with sspi.ErrLogonDenied and the reason. A ticket without a PAC is accepted and its
// identity says sspi.AuthzNoPAC, unless ServerConfig.RequirePAC refuses it. A verified
// PAC gives the identity its Token (sspi.AccessToken: user and group SIDs, names, logoff
// time, the raw PAC), answered by QueryContextAttributes for AttrAccessToken and
// AttrLogoffTime; MIT's PACs hold no logon information, so their token has names only
// (sspi.AuthzPACWithoutLogonInfo). The KDC signature needs the KDC's key and is not
// checked: anyone holding the service key can make a PAC this server accepts, which is
// why a service key must be kept as secret as the service's data.
//
// # Targets
//
// The client's target name is the service principal: "service/host" (as SSPI callers
// write SPNs), "service@host" (GSS host-based form) or "service/host@REALM". A bare host
// name means "host/<host>".
//
// A two-part name without a realm is host-based, and its host is handled as MIT's
// krb5_sname_to_principal does with krb5.conf's settings: lower-cased; with
// dns_canonicalize_hostname = true (MIT's default) replaced by its canonical name from a
// forward DNS look-up and, with rdns (default true), by the name a reverse look-up of its
// address gives; with "fallback" the name as given is asked for first and the canonical
// one when the KDC does not know it; with "false" DNS is not used. Its realm is the one
// [domain_realm] maps the host to, else none: the client's realm is asked with the
// canonicalize option and may refer the request to another realm (RFC 6806), whose KDC is
// then asked. When the client's realm refuses that first request, the service is asked for
// in the host's fallback realm, as MIT 1.20 does: with dns_lookup_realm (default false) the
// TXT record of _kerberos.<host> or of a parent domain; with realm_try_domains = N the host
// or one of its N nearest parent domains, upper-cased, that krb5.conf (or, with
// dns_lookup_kdc, DNS) lists KDCs for; otherwise the host's parent domain upper-cased
// (web.example.com is asked for in EXAMPLE.COM). A name with an explicit realm is used as
// written. DNS answers
// that are not host names or realms are ignored; the result is remembered per target for
// the life of the credentials handle. Canonicalisation trusts DNS, which is why MIT
// advises rdns = false and "fallback" or "false" where DNS is not secured.
//
// # Handshake
//
// The client's first Step sends the GSS-framed AP-REQ (RFC 1964 section 1.1: 60 ..
// 06 09 2a864886f712010202 01 00 <AP-REQ>) whose authenticator carries the RFC 4121
// 0x8003 checksum with the GSS flags of the request, channel bindings when a
// BufferChannelBindings buffer is given, and an initiator subkey. With ISCReqMutualAuth
// it returns ContinueNeeded and its second Step verifies the server's AP-REP (02 00);
// without it the context is established after the first Step. The server verifies the
// ticket with its keytab, the authenticator, the checksum and the clock skew, refuses
// replayed authenticators, and answers an AP-REP carrying an acceptor subkey when mutual
// authentication was asked. Channel bindings follow ServerConfig.ChannelBindings (or the
// policy Negotiate hands down): by default they are compared when both sides have some;
// sspi.BindingsRequired refuses a client that sent none with sspi.ErrBadBindings.
//
// The attributes granted say what the context enforces, as Windows reports what was
// agreed: replay and sequence detection (strict sequence-number checks, which detect both)
// when the client asked for either, integrity always, confidentiality when the client
// asked for it. AES and RC4 keys have message protection; a context whose key has none
// here (DES3) reports none of these four.
//
// # Delegation
//
// Unconstrained: with ISCReqDelegate the client puts a KRB-CRED holding a forwarded TGT
// (sealed in the ticket's session key, as MIT and Windows seal it) into the 0x8003
// checksum, if its TGT is forwardable (ClientConfig.Forwardable or krb5.conf) and, as on
// Windows, the service ticket carries OK-AS-DELEGATE; ClientConfig.IgnoreOKAsDelegate
// delegates regardless, as MIT's GSS_C_DELEG_FLAG does. ISCRetDelegate says whether it did.
// The server opens the KRB-CRED, reports ASCRetDelegate, and DelegatedCredentials gives
// client credentials of the user for InitializeSecurityContext to another service
// (WriteDelegatedCCache writes them as an MIT ccache). The context's copy of the TGT's key
// is zeroed when the context is deleted.
//
// Constrained (MS-SFU): a service holding its own password or keytab acts for a user with
// ProxyCredentials (S4U2Proxy, the user's ticket to the service as evidence) or
// ImpersonateUser (S4U2Self then S4U2Proxy: protocol transition, for a user who signed in
// some other way). The credentials they return get their tickets from the KDC with
// S4U2Proxy, asking also for resource-based constrained delegation (PA-PAC-OPTIONS), as
// Windows does; a KDC's refusal is sspi.ErrDelegationPolicy.
//
// DCE style (ISCReqUseDCEStyle; MS-KILE 3.4.5.1, GSS_C_DCE_STYLE), as DCE/RPC uses it, is
// a three-leg exchange of bare Kerberos messages without GSS framing: AP-REQ, the
// server's AP-REP (always with an acceptor subkey, RC4 too; the server's Step returns
// ContinueNeeded), and the client's AP-REP, which echoes the server's sequence number and
// carries no subkey. DCE style implies mutual authentication; both sides report
// USED_DCE_STYLE. Delegation works in DCE style too: the server reports ASC_RET_DELEGATE
// and hands out the TGT only once the third leg has established the context. The server takes a bare AP-REQ only when its checksum asks for DCE style
// and a framed one only when it does not, as MIT does. Sealed messages of a DCE-style AES
// context use Windows' layout (EC = 16, RRC = 28, a 76-byte SecurityTrailer for aes-sha1),
// which Windows and MIT's and Heimdal's gss_unwrap_iov read; Heimdal's gss_unwrap reads it
// too, MIT's does not (dce.go).
//
// EncryptMessage and DecryptMessage take data buffers marked
// SECBUFFER_READONLY_WITH_CHECKSUM (sspi.BufferReadOnlyWithChecksum) as DCE/RPC passes its
// PDU header and security trailer: protected by the token's checksum, not encrypted, left
// as they are (GSS's SIGN_ONLY IOV buffers; MIT's gss_wrap_iov and gss_unwrap_iov agree).
// A data buffer that is read-only without the checksum bit is refused.
//
// # Replay cache
//
// The server remembers every authenticator it accepts until the authenticator's time plus
// the clock skew has passed (after that the skew check refuses it), keyed by a hash of
// the service principal and the authenticator's ciphertext (ReplayKey). By default every
// credentials handle of the process shares one in-memory cache per service principal
// (MemoryReplayCache, DefaultReplayCacheSize entries, about 25 bytes each), so a captured
// AP-REQ is refused by every handle; entries are kept for the largest MaxClockSkew of any
// server handle of the process. ServerConfig.ReplayCache plugs in another: a
// FileReplayCache survives restarts; replicas of one service need a cache over a shared
// store (the ReplayCache interface is what, say, a Redis-backed cache implements).
//
// A full cache refuses new authenticators with sspi.ErrInsufficientMemory and a cause
// wrapping ErrReplayCacheFull ("the replay cache is full ... give the server a larger
// cache") rather than sspi.ErrLogonDenied: the client's credentials are fine, the
// server is out of room, and the operator is the one who can act. A cache that cannot
// answer (a file that cannot be written) refuses with sspi.ErrInternalError.
//
// # Ticket cache
//
// A client sends the same service ticket in every AP-REQ until the ticket expires, so the
// server keeps the tickets it opened (ServerConfig.TicketCacheSize, 256 by default): an
// AP-REQ whose ticket is the same ciphertext under the same keytab key skips the ticket's
// decryption, the PAC's verification and the session key's set-up, about half of an
// accept. What is fresh in every AP-REQ is checked every time: the authenticator (sealed
// in the session key, its client, time and checksum), the replay cache, the ticket's
// times against the clock, RequirePAC. Only tickets that decrypted and passed the PAC
// check are kept; a kept ticket's plaintext and session key are zeroed, once no accept is
// using them, when another ticket takes its slot, when the ticket is found expired, or when
// the credentials are freed.
//
// # Message protection
//
// Signing and sealing use RFC 4121 MIC and Wrap tokens for the AES encryption types
// (aes128/256-cts-hmac-sha1-96 and the RFC 8009 aes-sha2 types), keyed with the acceptor
// subkey when the server sent one, else the initiator subkey, else the ticket session
// key, with key usages 22 to 25, and with 64-bit sequence numbers in both directions.
// An rc4-hmac key (Active Directory issues them for RC4-only service accounts) gets RFC
// 4757's MIC and Wrap tokens, with 32-bit sequence numbers, as on Windows. As MIT and
// Windows do outside DCE style, an RC4 context ignores an acceptor subkey of RC4 type;
// the server answers an RC4 client that offers AES in its authenticator (RFC 4537's
// AD-ETYPE-NEGOTIATION, as MIT's initiator sends) with an AES subkey, which moves both
// sides to RFC 4121 tokens. Contexts whose key is of another type (DES3) refuse message
// protection.
//
// An RC4 EncryptMessage writes the framing and the 32-byte header into the token buffer
// and encrypts the data in place; given a BufferPadding buffer (as the SSPI samples and
// sspi's Go-layer Wrap pass one) it puts the one pad byte there and frames the whole
// token, so token, data and padding joined are what gss_wrap makes; without one, and
// always in a DCE-style context, it makes the DCE-style token (framing over the header
// alone, no pad), as Windows and Heimdal do there. DecryptMessage takes either, split
// anywhere.
//
// EncryptMessage takes a BufferToken buffer of Sizes.SecurityTrailer bytes and one or
// more BufferData buffers. Outside DCE style it writes an RFC 4121 Wrap token with EC = 0 and a right
// rotation count (RRC) of 16 + the checksum size, so that the token buffer (the 16-byte
// header, then the rotated encrypted header copy, checksum and encrypted confounder)
// followed by the data buffers (the encrypted data, same length as the plaintext) is
// exactly one Wrap token that MIT's gss_unwrap accepts; sspi's Go-layer Wrap, which puts
// the trailer first, therefore interoperates with gss_unwrap. For aes-sha1 the trailer is
// 16 (header) + 16 (confounder) + 16 (encrypted header copy) + 12 (HMAC) = 60 bytes.
// With QOPWrapNoEncrypt the token is an integrity-only Wrap (EC = RRC = checksum size)
// and the trailer is 28 bytes. DecryptMessage concatenates the token buffer and the data
// buffers, so it accepts any split of a Wrap token, with any EC and RRC (RRC = 0 as
// gss_wrap sends it, the rotation above, or Windows' EC = 16 with a rotation of
// RRC + EC, MS-KILE 3.4.5.4.1), and writes the plaintext into the data
// buffers (in place when it fits, otherwise the single data buffer's slice is replaced).
// Because sspi's Go-layer Unwrap splits a token at Sizes.SecurityTrailer, it cannot take
// an integrity-only Wrap token of a message shorter than 32 bytes; DecryptMessage with
// the whole token in the BufferToken buffer and an empty BufferData buffer can.
//
// SessionKey is the key that protects messages (the acceptor subkey, else the initiator
// subkey, else the ticket's session key), the value MIT's GSS_C_INQ_SSPI_SESSION_KEY
// gives. MakeMechListMIC and VerifyMechListMIC are GSS GetMIC and VerifyMIC and use the
// same sequence numbers as MakeSignature, as MIT's SPNEGO does. Sequence numbers are
// checked strictly (a replayed, reordered or missing token fails with
// sspi.ErrOutOfSequence) when replay or sequence detection was requested.
//
// Names copied from the wire into errors (a ticket's service or client) are bounded by
// internal/wiretext, and the ASN.1 library's decoding errors are replaced by this
// package's wording, so a hostile token cannot make a long log line.
//
// # Errors
//
// A missing ticket, password or keytab fails with sspi.ErrNoCredentials; a KDC that
// cannot be reached with sspi.ErrNoAuthenticatingAuthority; a wrong password or unknown
// client with sspi.ErrLogonDenied; an unknown service with sspi.ErrTargetUnknown; clock
// skew with sspi.ErrTimeSkew; an AP-REP that does not verify with
// sspi.ErrMutualAuthFailed; a replayed authenticator with sspi.ErrLogonDenied (and
// errors.Is(err, ErrReplay)); a full replay cache with sspi.ErrInsufficientMemory (and
// errors.Is(err, ErrReplayCacheFull)); a malformed token with sspi.ErrInvalidToken.
// An Active Directory KDC's refusal of a logon is sspi.ErrLogonDenied with a cause that
// names the NTSTATUS the KDC gave in the KRB-ERROR's e-data and says what it means
// ("KDC_ERR_CLIENT_REVOKED with STATUS_ACCOUNT_EXPIRED; the account has expired"): the
// Kerberos code alone does not tell a disabled account from an expired or locked-out one.
//
// With ASC_REQ_EXTENDED_ERROR, an acceptor that refuses an AP-REQ whose client asked for
// mutual authentication also returns a KRB-ERROR token (RFC 1964 TOK_ID 03 00), as MIT's
// does: KRB_AP_ERR_SKEW, _REPEAT, _BAD_INTEGRITY, _BADKEYVER, _NOKEY, _NOT_US,
// _TKT_EXPIRED, _TKT_NYV, _BADMATCH, _INAPP_CKSUM and KRB_ERR_GENERIC, with the code's
// standard text and the server's time, never the cause it returns to its caller. A client
// given one fails with the status the code stands for (SEC_E_TIME_SKEW for skew) and
// names the code and text in its cause.
package kerberos
