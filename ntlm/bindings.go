package ntlm

import "github.com/gosspi/sspi"

// policyOf maps the core's channel-binding policy to this package's.
var policyOf = map[sspi.ChannelBindingPolicy]ChannelBindingPolicy{
	sspi.BindingsWhenPresent: BindingsWhenPresent,
	sspi.BindingsRequired:    BindingsRequired,
	sspi.BindingsOff:         BindingsOff,
}

// WithChannelBindingPolicy returns credentials whose server side applies p in place of
// ServerConfig.ChannelBindings; Negotiate calls it to hand one policy to every mechanism.
// Client credentials have no policy and come back as they are.
func (c *credentials) WithChannelBindingPolicy(p sspi.ChannelBindingPolicy) (sspi.PackageCredentials, error) {
	mine, ok := policyOf[p]
	if !ok {
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: unknown channel-binding policy %d", int(p))
	}
	if c.server == nil {
		return c, nil
	}
	cfg := *c.server
	cfg.ChannelBindings = mine
	cp := *c
	cp.server = &cfg
	return &cp, nil
}
