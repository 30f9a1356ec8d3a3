package rdp

import "github.com/gosspi/sspi"

// AttrExchangeInfo is the QueryContextAttributes id under which an established CredSSP
// context describes its exchange, into an *ExchangeInfo. It lives here, where both
// package credssp (which answers it, as credssp.AttrExchangeInfo) and sockauth (which
// asks it, without importing credssp and so Negotiate) can see it.
const AttrExchangeInfo sspi.Attribute = 0x80000C56

// ExchangeInfo describes an established CredSSP exchange, for logs and diagnostics; it
// holds no secret. Package credssp exports it as credssp.ExchangeInfo.
type ExchangeInfo struct {
	// Version is the TSRequest version both sides used: the lower of the two.
	Version int
	// Inner is the package that authenticated inside: for Negotiate, the mechanism
	// ("NTLM", "Kerberos").
	Inner string
	// EarlyUserAuthResult reports whether the Early User Authorization Result was sent
	// (server) or received (client); it was AUTHZ_SUCCESS, since the context is
	// established.
	EarlyUserAuthResult bool
	// Delegated reports what the client delegated: "password", "smart card", "remote
	// guard", or "" for the empty credential set.
	Delegated string
}
