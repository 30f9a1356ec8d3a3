// Package httpauth is HTTP authentication with SSPI packages: the "Negotiate" (RFC 4559),
// "NTLM" (MS-NTHT) and "Kerberos" schemes, for net/http servers and clients.
//
// # Server
//
// A Server wraps a handler so that only authenticated requests reach it, with the client's
// sspi.Identity in the request's context (IdentityFromContext):
//
//	auth, err := httpauth.NewServer(httpauth.Config{
//		NTLM:     &ntlm.ServerConfig{Accounts: accounts},
//		Kerberos: &kerberos.ServerConfig{Keytab: "/etc/http.keytab"}, // HTTP/host@REALM
//	})
//	srv := &http.Server{Handler: auth.Handler(mux)}
//	auth.Install(srv) // ConnContext and ConnState: the per-connection state
//
// A request without credentials gets 401 with one WWW-Authenticate challenge per scheme,
// in Config.Schemes order (Negotiate, then NTLM, by default). Negotiate is SPNEGO with
// Kerberos and NTLM inside, and also takes bare NTLMSSP and Kerberos tokens under its
// name, as IIS does, because browsers and many libraries send them. Each leg of a
// handshake that needs more (NTLM's CHALLENGE, a SPNEGO exchange that falls back to NTLM)
// is a 401 carrying the server's token. The last leg's token, when the package has one
// (Kerberos's AP-REP, SPNEGO's accept-completed with its mechListMIC), is sent in
// WWW-Authenticate on the successful response: it is the server's half of mutual
// authentication, which clients such as requests-kerberos with REQUIRED check.
//
// # Connections
//
// NTLM authenticates a connection, not a request (MS-NTHT 2.1), so a handshake's state
// lives with its TCP connection: Server.ConnContext gives each connection its state and
// Server.ConnState drops it when the connection closes or is hijacked; Install sets both,
// keeping any hooks already set. A token computed for one connection's handshake fails on
// another (a new handshake starts there), and a client that sends a first token again
// (an NTLM NEGOTIATE, a NegTokenInit, an AP-REQ) starts over. The same holds for
// Negotiate when its mechanism takes more than one round trip; a Kerberos AP-REQ is done
// in one.
//
// After an NTLM authentication (by the NTLM scheme or inside Negotiate) the connection
// stays authenticated as that user: a later request on it without an Authorization
// header is served as that user, which is what IIS does (and what clients that
// authenticate once per connection rely on). Config.SingleRequest turns that off (IIS's
// authPersistSingleRequest). Negotiate with Kerberos and the Kerberos scheme authenticate
// one request, unless Config.PersistNonNTLM (IIS's authPersistNonNTLM). A request with an
// Authorization header always authenticates anew, dropping what the connection had.
// Nothing is ever carried across connections.
//
// The state of a connection is one handshake at most, and at most Config.MaxHandshakes
// connections (1024 by default) may have a handshake in progress: beyond that a request
// that would leave one more half-finished gets 503 with Retry-After, after handshakes
// older than Config.HandshakeTimeout are reclaimed. A flood of NTLM NEGOTIATE messages
// that never send their AUTHENTICATE therefore holds bounded memory, all released when
// the connections close. Each handshake's work runs on the sspi async layer's bounded
// scheduler (ServerContext.StepContext).
//
// # Extended Protection for Authentication
//
// Over TLS the server gives every package the tls-server-end-point channel bindings of
// its own certificate (RFC 5929), taken from Config.ServerCertificate or, by default,
// from the tls.Config (Config.TLSConfig, or the http.Server's through Install). An NTLM
// AUTHENTICATE or Kerberos authenticator that a client computed for another TLS channel,
// as when a man in the middle relays it, then fails with SEC_E_BAD_BINDINGS.
// Config.ChannelBindings is the policy, as IIS's extendedProtection tokenChecking:
// sspi.BindingsWhenPresent (the default: check clients that send bindings; curl 7.88
// sends none, requests-ntlm and Windows do), sspi.BindingsRequired (refuse clients that
// send none, and every request over plain HTTP), sspi.BindingsOff.
//
// # Failures
//
// The response says only the HTTP status; the cause goes to Config.Logger, one record per
// handshake (remote address, scheme, legs, duration, whether channel bindings were given,
// and the principal, or the SEC_E status and its cause), never a token, key or password:
//
//   - a failed handshake (wrong password, unknown user, bad bindings, a token for another
//     connection, a token that does not parse): 401 with fresh challenges;
//   - a scheme not offered (Basic), or a scheme without a token: 401 with the challenges;
//   - an Authorization header that is not "<scheme> <base64>", or several of them: 400;
//   - a header longer than MaxHeaderLength (64 KiB): 431 (http.Server's own
//     MaxHeaderBytes, 1 MB by default, answers 431 before the handler runs);
//   - too many handshakes in progress, or the scheduler's queue full: 503 with Retry-After.
//
// # Proxies
//
// With Config.Proxy the same code authenticates a proxy's clients: 407,
// Proxy-Authenticate and Proxy-Authorization (which is removed before the request
// reaches the handler, as it is meant for this hop only).
//
// # HTTP/2
//
// The per-connection state is per HTTP/2 connection too, with its streams serialised
// while they touch it. Windows refuses NTLM over HTTP/2 (HTTP_1_1_REQUIRED); clients that
// need NTLM should use HTTP/1.1, which Go's server negotiates unless told otherwise.
//
// # WinRM
//
// WinRM over plain HTTP seals its messages with the context of the connection's
// handshake (MS-WSMV 2.2.9.1): EncryptWinRMBody and DecryptWinRMBody speak its
// multipart/encrypted framing. A WinRM endpoint built on the Server sets
// Config.KeepSecurityContext, so that its handler gets that context
// (SecurityContextFromContext) and later requests on the connection, which carry no
// Authorization header, stay authenticated; it may offer WinRM's CredSSP scheme
// (Config.CredSSP, listed in Config.Schemes) besides Negotiate. The module
// github.com/gosspi/sspi/winrm is the client side, for masterzen/winrm.
//
// # Delegation (the double hop)
//
// A front end that calls a back-end as its user, as IIS does with Kerberos delegation,
// sets Config.KeepSecurityContext; its handler takes the context from
// SecurityContextFromContext and, when the client delegated (ASC_RET_DELEGATE), gets the
// user's credentials from kerberos.DelegatedCredentials, for a Transport to the back-end
// (a Kerberos handle answers a Negotiate challenge with bare Kerberos tokens). The client
// sets Transport.Delegate with a forwardable TGT; the TGT goes only to a service the realm
// marks OK-AS-DELEGATE unless its credentials say IgnoreOKAsDelegate. A user who signed in
// with NTLM delegated nothing: a service with its own key can act for them with
// kerberos.ImpersonateUser (S4U2Self, then S4U2Proxy), where the realm allows it.
//
// # Headers
//
// ParseChallenges reads the challenges of WWW-Authenticate or Proxy-Authenticate headers
// (several schemes in one header, several headers, auth-params with quoted strings);
// ParseAuthorization and FormatHeader read and write "<scheme> <base64 token>". Every
// value is bounded by MaxHeaderLength and every response by MaxChallenges.
package httpauth
