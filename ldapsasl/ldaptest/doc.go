// Package ldaptest holds the tests of github.com/gosspi/sspi/ldapsasl that need go-ldap
// (github.com/go-ldap/ldap/v3) and real LDAP servers: OpenLDAP's slapd with Cyrus SASL
// GSSAPI against an MIT KDC, and a Samba AD DC. It is a module of its own so that the
// main module does not depend on go-ldap; it has no API.
package ldaptest
