// Package sockauth is the sockets authentication service of the SSPI samples, built as
// production software: a TCP server that authenticates every client with the SSPI token
// loop and then talks to it under signing or sealing, and the client that goes with it.
//
// # The token loop
//
// Server (per connection, Server.Serve): receive a token; AcceptSecurityContext, run on the
// async layer's bounded Scheduler (sspi.ServerContext.StepContext), so that CPU-heavy work
// stays bounded however many clients connect; CompleteAuthToken when the status is
// SEC_I_COMPLETE_NEEDED or SEC_I_COMPLETE_AND_CONTINUE; send the output token if it is not
// empty; repeat while the status is SEC_I_CONTINUE_NEEDED or SEC_I_COMPLETE_AND_CONTINUE.
// Client (Client.Dial): the mirror image with InitializeSecurityContext. A token produced
// together with SEC_E_OK is always sent, and a side that still expects one reads and
// consumes it. The server asks for ASC_REQ_EXTENDED_ERROR: a refusal that comes with a
// token for the client (Kerberos's KRB-ERROR, inside SPNEGO's reject through Negotiate)
// is sent before the connection closes, and what the client answers to it is read and
// dropped for up to two seconds, so that the client reports the cause ("Clock skew too
// great", SEC_E_TIME_SKEW) rather than a closed connection. Mutual authentication is asked for by default; what was granted is checked
// with bit operations against Server.Require and Client.Require after the loop (the SDK
// sample's `ContextAttributes && ASC_RET_MUTUAL_AUTH` is a logical and, always true).
//
// Every wait for the peer has a time-out (Server.Timeout, 10 s by default), and the whole
// handshake one deadline (Server.HandshakeTimeout); every frame has a size limit checked
// before anything is allocated. A client cannot hold a handshake open by trickling bytes
// (slowloris): it must keep up Server.MinRate while the server waits for it, one address
// has at most Server.MaxPendingPerAddr handshakes in progress, and all together at most
// Server.MaxPending, a capacity sized by memory; further clients wait in the listener's
// backlog. Server.Shutdown finishes the handshakes in flight within Server.DrainTimeout
// and then cuts them. Each connection gets one log line (log/slog): remote address,
// package, identity, attributes, the authorization data (Identity.Authorization; with a
// PAC the user's SID, the group count and the first 16 group SIDs), durations, and the
// SEC_E status and cause of a failure.
// No token, key, hash or password is logged.
//
// # Framing "sspi": the Windows SDK sample
//
// The framing of "Using SSPI with a Windows Sockets Server/Client" (FramingSSPI). Every
// handshake token is sent by the sample's SendMsg: a DWORD length, little-endian as on
// every Windows machine, then the bytes. An empty token is not sent at all.
//
//	token:     +--------------------+----------------+
//	           | n    uint32 LE     | n bytes        |   n > 0
//	           +--------------------+----------------+
//
// Once authenticated, the sample's server sends a greeting ("This is your server
// speaking") made by its EncryptThis and sent with SendBytes, that is with no length in
// front, and closes the connection; the client reads to the end of the stream. The
// greeting is:
//
//	greeting:  +--------------------+----------------+------------------------+
//	           | t    uint32 LE     | t bytes        | the sealed message     |
//	           +--------------------+----------------+------------------------+
//	             cbSecurityTrailer    EncryptMessage's  EncryptMessage's
//	             as written by        SECBUFFER_TOKEN   SECBUFFER_DATA
//	             EncryptMessage       (the trailer)
//
// That exchange, greeting included, is exactly the sample's, so the sample's client
// works against this server and this client against the sample's server.
//
// A session can carry messages after that, which the sample has no room for. A client
// asks for them by sending an empty frame (four zero bytes) before its first token; the
// sample's SendMsg never sends one, so no sample client can be mistaken for such a
// client. The greeting and every later message in either direction then travel in a
// frame, with the greeting's layout inside:
//
//	message:   +--------------------+--------------------+------------+------------+
//	           | n    uint32 LE     | t    uint32 LE     | t bytes    | n-4-t      |
//	           +--------------------+--------------------+------------+------------+
//	                                  sealed:  EncryptMessage's trailer, sealed data
//	                                  signed:  MakeSignature's signature, data in the clear
//	                                  none:    t = 0, data in the clear
//
// and an empty frame (n = 0) ends the session. Whether messages are sealed or signed is
// not on the wire: both ends take it from the attributes the context grants
// (confidentiality: sealed; integrity only: signed; neither: clear), which they see
// alike. The server's default handler echoes every message back.
//
// # Framing "gss": MIT krb5's gss-sample
//
// The protocol of MIT krb5's gss-client and gss-server (src/appl/gss-sample), exactly, so
// that they are peers of this package's server and client (FramingGSS). Every token:
//
//	token:     +-------------+--------------------+----------------+
//	           | flags  u8   | n    uint32 BE     | n bytes        |
//	           +-------------+--------------------+----------------+
//
// with flags from gss-misc.h: NOOP 0x01, CONTEXT 0x02, DATA 0x04, MIC 0x08,
// CONTEXT_NEXT 0x10, WRAPPED 0x20, ENCRYPTED 0x40, SEND_MIC 0x80. A session goes:
//
//	client                                   server
//	NOOP|CONTEXT_NEXT, empty        ->                       (without CONTEXT_NEXT the client
//	                                                          asks for no authentication:
//	                                                          refused, SEC_E_LOGON_DENIED)
//	CONTEXT, token                  ->
//	                                <-       CONTEXT, token   (each non-empty output token)
//	... until both sides are done
//	DATA[|WRAPPED[|ENCRYPTED]][|SEND_MIC], message ->
//	                                <-       MIC, MIC over the message     (SEND_MIC)
//	                                <-       NOOP, empty                   (otherwise)
//	... one answer per DATA token
//	NOOP, empty                     ->       the end
//
// A WRAPPED message is a gss_wrap token: EncryptMessage's security token followed by the
// sealed data (for NTLM, the 16-byte signature then the data, as gss-ntlmssp writes it; a
// Kerberos wrap token as RFC 4121 has it). ENCRYPTED says the sender asked for
// confidentiality. A DATA token without WRAPPED is in the clear (gss-client -nw), and is
// refused unless Server.AllowUnprotected is set. gss-ntlmssp seals every wrap token, even
// when confidentiality was not negotiated, and so does this package for NTLM wherever the
// NTLM package allows it. The sample's version-1 protocol (gss-client -v1, tokens with no
// flags byte) is refused, as gss-server refuses it.
//
// # Framing "tls": a Windows Schannel program
//
// The framing of a program that runs Schannel over a socket, as the Windows samples do
// (FramingTLS; its package is Schannel, package github.com/gosspi/sspi/schannel). There
// is no framing: the tokens are TLS records and go on the stream as they are, so that
// any TLS peer is a peer (openssl s_client and s_server, gnutls-cli and gnutls-serv,
// curl, Go's crypto/tls). Neither side knows where a token ends; each calls
// InitializeSecurityContext or AcceptSecurityContext with the bytes received and lets
// the status drive the reads:
//
//	SEC_E_INCOMPLETE_MESSAGE   read at least the BufferMissing count (the rest of the
//	                           5-byte record header while that is incomplete), call again
//	SEC_I_CONTINUE_NEEDED      send the output token; keep a BufferExtra as the start of
//	                           the next call's input, and call again with it before reading
//	SEC_E_OK                   established; a BufferExtra is the start of the session
//
// A client that lacks the certificate a server asks for gets SEC_I_INCOMPLETE_CREDENTIALS
// and goes on without one, by calling again with the same input. The target name of a
// client is the server's host name (Client.Target, by default the host dialed): the
// server's certificate is checked against it and it is sent as SNI.
//
// After the handshake the session is a TLS byte stream. Each write is one or more TLS
// records made by EncryptMessage ([STREAM_HEADER][DATA][STREAM_TRAILER][EMPTY], sized
// from SECPKG_ATTR_STREAM_SIZES, at most 16 KiB of data a record), in a buffer the
// connection keeps; each read decrypts the next record in place with DecryptMessage
// ([DATA][EMPTY][EMPTY][EMPTY]), keeping its BufferExtra for the next. On the way, a
// post-handshake message (SEC_I_RENEGOTIATE: a TLS 1.3 NewSessionTicket or KeyUpdate)
// goes back to InitializeSecurityContext or AcceptSecurityContext and its output to the
// peer; a TLS 1.2 renegotiation is refused and ends the session
// (SEC_E_UNSUPPORTED_FUNCTION); the peer's close_notify (SEC_I_CONTEXT_EXPIRED) is
// answered with ours (ApplyControlToken(SCHANNEL_SHUTDOWN) and one more call) and ends
// the stream (io.EOF). Conn.Close and a server whose handler returns send close_notify
// too.
//
// ReadMessage returns the data of one record (TLS has no messages: a peer's write of a
// line is usually one record), WriteMessage sends its message as records, and Conn's
// Read and Write give the session as the byte stream it is, for an HTTP exchange or a
// line protocol. The server's default session is made for a person at openssl s_client
// or gnutls-cli: the greeting and a newline, then every record's data echoed back as it
// came, until the client's close_notify.
//
// The handshake's deadline (HandshakeTimeout), the rate floor (MinRate), the cap per
// address (MaxPendingPerAddr), the capacity (MaxPending) and Shutdown's drain apply as
// in the other framings: every read of the handshake goes through them, and every
// AcceptSecurityContext call runs on the Scheduler within the deadline. The input held
// during a handshake is bounded by MaxToken and grows only as bytes arrive; a record
// header that announces more than TLS allows is refused at once (SEC_E_ILLEGAL_MESSAGE).
// A client that opens with another framing's token is told apart, and so is a TLS client
// of an sspi or gss server.
//
// # Framing "rdp": Remote Desktop's Network Level Authentication
//
// FramingRDP is what an RDP client and server exchange before their session: the client's
// X.224 Connection Request (TPKT, MS-RDPBCGR 2.2.1.1) offering PROTOCOL_HYBRID (CredSSP)
// and perhaps HYBRID_EX, the server's Connection Confirm selecting one (Server.HybridEx,
// Client.HybridEx), then TLS records carrying CredSSP (package
// github.com/gosspi/sspi/credssp), read as the tls framing reads them but handed to
// CredSSP one record a call, and, with HYBRID_EX, the Early User Authorization Result. A
// client that offers no NLA gets RDP_NEG_FAILURE (HYBRID_REQUIRED_BY_SERVER). The
// server's hardening covers the prelude as well as CredSSP, every AcceptSecurityContext
// runs on the Scheduler, and a failure's token (a TLS alert, CredSSP's errorCode) is sent
// (ASC_REQ_EXTENDED_ERROR). Nothing follows: RDP would go on with its MCS connection, which
// this package does not speak, so the server's default handler closes the connection and
// its log line says who authenticated, whether credentials were delegated
// (credssp_delegated: their kind, never them), the CredSSP version and the early user
// authorization result. The key delegated, on every session's line, is ASC_RET_DELEGATE. The client
// checks the server's certificate through Client.VerifyCertificate before any credential
// is sent; Conn.RDPInfo reports what was negotiated. xfreerdp /sec:nla +auth-only and
// freerdp-shadow-cli /sec:nla are its peers.
package sockauth
