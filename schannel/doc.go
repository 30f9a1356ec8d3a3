// Package schannel is TLS as an SSPI security package for github.com/gosspi/sspi, client
// and server side, registered as "Schannel" and as "Microsoft Unified Security Protocol
// Provider" (RPC id 14) when imported:
//
//	import _ "github.com/gosspi/sspi/schannel"
//
// The TLS engine is Go's crypto/tls (TLS 1.2 and 1.3, its default cipher suites); this
// package is SSPI's token-and-buffer face over it, so code written for Windows' Schannel
// ports as it is.
//
// # Handshake
//
// InitializeSecurityContext and AcceptSecurityContext take the bytes received from the
// peer in a BufferToken buffer, followed by a BufferEmpty buffer, and return the bytes to
// send: TLS records exactly as on the wire. A program reads its socket in pieces of any
// size and drives the loop by status, as the Windows samples do:
//
//   - ErrIncompleteMessage: the input ends inside a record. Nothing was consumed; the
//     BufferEmpty input buffer became a BufferMissing buffer whose Size is the count still
//     needed (0 while the 5-byte record header itself is incomplete). Read more, append,
//     and call again with all of it.
//   - ContinueNeeded: send the output token (it may be empty), then read. If the
//     BufferEmpty input buffer became BufferExtra, its bytes were not consumed: keep them
//     as the start of the next call's input, before anything read next.
//   - OK: established. A BufferExtra buffer holds bytes after the handshake (application
//     data, or a TLS 1.3 NewSessionTicket), to give to DecryptMessage.
//   - IncompleteCredentials (client): the server asked for a certificate the credentials
//     lack. QueryContextAttributes(AttrIssuerListEx) names the CAs it accepts. Either
//     acquire credentials with a certificate and call InitializeSecurityContext with
//     them and the same context, or call again with the same credentials to go on without
//     one. The input may be the same bytes again (as the Windows samples pass) or empty.
//
// ISCReqAllocateMemory lets the package size output tokens; a caller-sized token buffer
// should hold MaxToken bytes, and a long certificate chain may need more.
//
// # Messages
//
// QueryContextAttributes(AttrStreamSizes) gives the record header and largest trailer,
// the maximum message (16384) and the buffer count (4). EncryptMessage takes
// [BufferStreamHeader][BufferData][BufferStreamTrailer][BufferEmpty] and turns the data
// into one TLS record in place: send header, data and trailer as they are after the call.
// DecryptMessage takes [BufferData holding the bytes received][BufferEmpty x3] and
// rewrites the list as [BufferStreamHeader][BufferData: the plaintext, in place]
// [BufferStreamTrailer][BufferExtra: bytes after the record, if any]. Its status is OK,
// or:
//
//   - Renegotiate: the peer sent a handshake message (a TLS 1.3 NewSessionTicket or
//     KeyUpdate, a TLS 1.2 HelloRequest or ClientHello). Call InitializeSecurityContext
//     (or AcceptSecurityContext) with the BufferExtra bytes as its input token and send
//     its output; then go on with DecryptMessage on that call's BufferExtra. TLS 1.2
//     renegotiation is refused and ends the connection.
//   - ContextExpired: the peer sent close_notify.
//
// ErrIncompleteMessage, with a BufferMissing buffer, says a record is cut short, exactly
// as in the handshake. To close, sspi.ApplyControlToken with a BufferToken holding
// Shutdown (4 bytes, little-endian) and then one more InitializeSecurityContext or
// AcceptSecurityContext return the close_notify alert to send.
//
// # Credentials
//
// AcquireCredentialsHandle takes a *Config (or a tls.Certificate) as authData; nil is a
// client with the system's roots. A server needs a certificate chain and private key
// (Config.Certificates, or CertFile and KeyFile in PEM); ClientAuth and ClientCAs ask
// for client certificates. A client checks the server's certificate against the target
// name given to InitializeSecurityContext, which it also sends as SNI: a name mismatch
// is ErrWrongPrincipal, an untrusted chain ErrUntrustedRoot, an expired certificate
// ErrCertExpired. Config.ManualCredValidation or ISCReqManualCredValidation skips the
// check, leaving it to the caller (AttrRemoteCertContext gives the chain).
//
// A client credentials handle keeps a session cache keyed by target name, so a second
// context of the same handle to the same target resumes the session (AttrSessionInfo
// says so), as Schannel's cache does: same target, entry not expired, same process, same
// credentials handle. With TLS 1.3 the ticket arrives after the handshake: it is taken in
// when DecryptMessage returns Renegotiate and the caller passes it on.
//
// # Attributes
//
// QueryContextAttributes answers AttrStreamSizes, AttrConnectionInfo (*ConnectionInfo),
// AttrCipherInfo (*CipherInfo), AttrRemoteCertContext and AttrLocalCertContext
// (*CertContext), AttrApplicationProtocol (*ApplicationProtocol; offer protocols with a
// BufferApplicationProtocols buffer built by ApplicationProtocols in the first call),
// AttrEndpointBindings and AttrUniqueBindings (*Bindings: RFC 5929 tls-server-end-point
// and, for TLS 1.2, tls-unique, as SEC_CHANNEL_BINDINGS ready for the
// BufferChannelBindings buffer of NTLM, Kerberos or Negotiate), AttrKeyingMaterial
// (*KeyingMaterial, an exporter; TLSExporterBindings gives RFC 9266's tls-exporter),
// AttrSessionInfo (*SessionInfo) and AttrIssuerListEx (*IssuerListInfoEx).
//
// # Differences from Windows
//
// Only TLS 1.2 and 1.3 are offered; cipher suites are crypto/tls's defaults. TLS 1.2
// renegotiation is refused in both directions. A post-handshake message in TLS 1.3 is
// taken in by DecryptMessage itself (crypto/tls decrypts it); the call to
// InitializeSecurityContext that Renegotiate asks for then sends any reply (a KeyUpdate)
// and hands back the bytes that follow. EncryptMessage of an empty message produces no
// record. Certificates come from Go values or PEM files, not certificate stores.
package schannel
