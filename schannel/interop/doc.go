// Package interop holds the tests of Schannel against real TLS peers, in a package of
// their own so that the peers' start-up stays out of the schannel and sockauth tests:
// OpenSSL 3's s_client and s_server, GnuTLS's gnutls-cli and gnutls-serv, and curl, each
// in both directions where the peer has both, over TLS 1.2 and TLS 1.3, with client
// certificates, resumption observed from the peer's side, and the SEC_E status of each
// certificate failure against a real server. Our side is package sockauth's tls framing
// (the Windows Schannel program's loop) over package schannel.
//
// A missing peer skips its test, or fails it under SSPI_INTEROP=require.
package interop
