package sspi

import "strconv"

// ChannelBindingPolicy is how an acceptor treats the channel bindings a client folds into
// its authentication (the hash of a SEC_CHANNEL_BINDINGS struct, RFC 5056 and RFC 5929: in
// NTLM's MsvAvChannelBindings, in the 0x8003 checksum of a Kerberos authenticator). It is
// Windows' Extended Protection for Authentication setting. The bindings to check against
// come in a BufferChannelBindings input buffer (ServerOptions.ChannelBindings).
type ChannelBindingPolicy int

const (
	// BindingsWhenPresent checks the client's bindings whenever it sent non-zero ones and
	// the server was given some ("Extended Protection: allowed"); the default.
	BindingsWhenPresent ChannelBindingPolicy = iota
	// BindingsRequired refuses, with ErrBadBindings, a client whose bindings are missing
	// or do not match, and a server given none to check ("Extended Protection: required").
	BindingsRequired
	// BindingsOff ignores them.
	BindingsOff
)

// String returns "when-present", "required" or "off".
func (p ChannelBindingPolicy) String() string {
	switch p {
	case BindingsWhenPresent:
		return "when-present"
	case BindingsRequired:
		return "required"
	case BindingsOff:
		return "off"
	}
	return "ChannelBindingPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ChannelBindingPolicyCredentials is implemented by acceptor credentials whose
// channel-binding policy a negotiating package may set. Negotiate hands one policy to every
// mechanism through it, so that a client cannot escape "bindings required" by choosing
// another mechanism; a mechanism whose credentials lack it is left out under a policy other
// than the default. WithChannelBindingPolicy returns credentials like the receiver but with
// policy p; the receiver is not changed. Applications never call it.
type ChannelBindingPolicyCredentials interface {
	WithChannelBindingPolicy(p ChannelBindingPolicy) (PackageCredentials, error)
}
