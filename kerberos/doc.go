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
//     before any KDC is looked for, and Negotiate uses NTLM.
//   - *ClientConfig: a client with a principal and a password, a keytab or a ccache.
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
// # Targets
//
// The client's target name is the service principal: "service/host" (as SSPI callers
// write SPNs), "service@host" (GSS host-based form) or "service/host@REALM". A bare host
// name means "host/<host>".
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
// Delegation (a forwarded TGT in the checksum) is not implemented: ISCReqDelegate is
// accepted but not granted.
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
// token, so token, data and padding joined are what gss_wrap makes; without one it makes
// the DCE-style token (framing over the header alone, no pad). DecryptMessage takes either,
// split anywhere.
//
// EncryptMessage takes a BufferToken buffer of Sizes.SecurityTrailer bytes and one or
// more BufferData buffers. It writes an RFC 4121 Wrap token with EC = 0 and a right
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
//
// With ASC_REQ_EXTENDED_ERROR, an acceptor that refuses an AP-REQ whose client asked for
// mutual authentication also returns a KRB-ERROR token (RFC 1964 TOK_ID 03 00), as MIT's
// does: KRB_AP_ERR_SKEW, _REPEAT, _BAD_INTEGRITY, _BADKEYVER, _NOKEY, _NOT_US,
// _TKT_EXPIRED, _TKT_NYV, _BADMATCH, _INAPP_CKSUM and KRB_ERR_GENERIC, with the code's
// standard text and the server's time, never the cause it returns to its caller. A client
// given one fails with the status the code stands for (SEC_E_TIME_SKEW for skew) and
// names the code and text in its cause.
package kerberos
