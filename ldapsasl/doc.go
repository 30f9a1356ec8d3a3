// Package ldapsasl is the client side of LDAP's SASL GSSAPI bind (RFC 4752) over gosspi's
// Kerberos package, with the security layer RFC 4752 section 3.3 negotiates: integrity or
// confidentiality for every LDAP message after the bind, each a SASL buffer (a four-octet
// length and a GSS_Wrap token), as Active Directory requires under its default "LDAP
// server signing requirements" and as OpenLDAP's "security ssf=" asks.
//
// Client has the methods of github.com/go-ldap/ldap/v3's GSSAPIClient interface
// (InitSecContext, InitSecContextWithOptions, NegotiateSaslAuth, DeleteSecContext); Go
// interfaces being structural, this package does not import go-ldap. go-ldap itself never
// wraps anything after the bind, so the layer lives in Conn, a net.Conn that passes bytes
// through until the bind succeeds and wraps and unwraps everything after it:
//
//	raw, err := net.Dial("tcp", "dc.example.com:389")
//	conn := ldapsasl.NewConn(raw, ldapsasl.Config{Credentials: cred}) // cred: Kerberos, outbound
//	l := ldap.NewConn(conn, false)
//	l.Start()
//	err = l.GSSAPIBind(conn.Client(), "ldap/dc.example.com", "")
//	// conn.Layer() is LayerConfidentiality: searches, modifications and their results
//	// now travel sealed.
//
// The client takes the strongest layer the server offers among Config.Layers, which by
// default are integrity and confidentiality: a bind that would leave the connection
// unprotected fails unless LayerNone is asked for. Under the confidentiality layer a
// message from the server that is only signed is refused, so that a man in the middle
// cannot strip the encryption of one message. Conn sees the end of the bind by reading
// the server's BindResponse as it passes (RFC 4752 section 3.1: the layer starts after a
// successful bind); a failed bind leaves the connection without a layer, and should be
// followed by closing it.
//
// What it needs: a Kerberos client credential (a password, keytab or ticket cache: see
// package kerberos) and the server's principal, ldap/<host>. TLS (LDAPS or StartTLS) may
// be under it; the layer then still applies, as RFC 4752 says.
//
// # Tests
//
// The tests with go-ldap and real servers live in the nested module ldapsasl/ldaptest
// (so that this module does not depend on go-ldap): go-ldap v3.4.15 binds through Client
// and Conn to OpenLDAP's slapd with Cyrus SASL GSSAPI and an MIT KDC, started with a
// private configuration, with each layer; whoami (RFC 4532) names the mapped identity,
// slapd's log reports the strength factor (256 for confidentiality with AES, 1 for
// integrity), a subtree readable only at ssf 56 is readable exactly under
// confidentiality, and slapd with "security ssf=1" refuses a connection without a layer.
// Without slapd, krb5kdc or Cyrus SASL's GSSAPI plug-in those tests skip, and fail under
// SSPI_INTEROP=require. Against a Samba AD DC (Active Directory's default "require strong
// auth"), binds with signing, with sealing, and with SPNEGO tokens under the GSSAPI name
// work and a search finds the user, while a bind without a layer is refused by Samba
// ("Strong Auth Required: SASL:[GSSAPI]: Sign or Seal are required"). OpenLDAP's own
// ldapwhoami against the same slapd gets the identity and strength factor our client
// gets. This package's own tests cover the framing (the layer offer, the
// bind result, hostile SASL buffers) and, against gosspi's own Kerberos acceptor with a
// ticket from the MIT KDC, what no real server does: offers the client must refuse,
// buffers only signed or altered under the confidentiality layer, and writes larger than
// the server's maximum buffer.
package ldapsasl
