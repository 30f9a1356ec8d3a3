// Package httpauth is HTTP authentication with SSPI packages: the "Negotiate" (RFC 4559),
// "NTLM" (MS-NTHT) and "Kerberos" schemes, for net/http servers (Handler) and clients.
//
// # Headers
//
// ParseChallenges reads the challenges of WWW-Authenticate or Proxy-Authenticate headers
// (several schemes in one header, several headers); ParseAuthorization and FormatHeader
// read and write "<scheme> <base64 token>". Every value is bounded by MaxHeaderLength.
package httpauth
