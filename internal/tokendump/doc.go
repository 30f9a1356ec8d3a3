// Package tokendump decodes the authentication tokens gosspi and its peers exchange, for
// people looking at a handshake that fails: NTLM's NEGOTIATE, CHALLENGE and AUTHENTICATE
// (flags and AV pairs by name, version, MIC), SPNEGO's NegTokenInit, NegTokenInit2 and
// NegTokenResp (mechanisms by name, the inner token decoded in turn), Kerberos' AP-REQ
// (bare or in the GSS-API framing), AP-REP and KRB-ERROR, and with a key (a keytab or a
// password) the decrypted ticket and authenticator (client, flags, times, authorization
// data, the PAC decoded by internal/krb5/pac with its server signature checked against the
// key that decrypted the ticket, the RFC 4121 checksum's flags and channel-binding hash),
// RFC 4121 MIC and Wrap tokens, CredSSP's TSRequest, and TLS records (handshake message
// types, alerts). It is what `sspi parse` prints.
//
// Decode detects the token's type from its first bytes; Input undoes base64 or hex
// (and an HTTP "Negotiate"/"NTLM" scheme word). The result is a tree of Nodes, printed as
// indented text or JSON.
//
// A dump shows what it can: unlike the protocol parsers, which refuse a token at its
// first fault, it decodes a malformed token up to the fault and says where it stopped
// (Node.Error). It reuses the strict parsers where they exist (internal/ntlmssp,
// internal/krb5/wire, internal/krb5/keytab and crypto, internal/krb5/pac, internal/der);
// a PAC that internal/krb5/pac refuses is still listed by its buffer table. SPNEGO's and
// CredSSP's parsers are private to their packages and strict, so the few DER fields of
// NegotiationToken and TSRequest are read here, leniently, with cryptobyte.
//
// Bounded: the input is capped (MaxInput), nesting is capped (maxDepth), every value
// copied into the output is truncated (maxValue), and the whole tree has at most
// maxFields fields, so hostile input cannot make the output large. It never panics
// (FuzzDecode).
package tokendump
