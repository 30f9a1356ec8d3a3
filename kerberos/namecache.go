package kerberos

import (
	"slices"
	"sync/atomic"

	"github.com/gosspi/sspi/internal/krb5/wire"
)

// acceptNames are the strings an acceptor builds from a ticket's service or client name.
// A server answers the same service, and often the same client, AP-REQ after AP-REQ: the
// last ones are kept in the credentials (nameCache) and reused while the decoded name is
// the same, so accepting builds no strings.
type acceptNames struct {
	comps []string
	realm string
	name  string // the name as RFC 1964 writes it: "host/example.com"
	full  string // name@realm
}

// nameCache holds the last accepted names of one kind (service or client).
type nameCache struct{ last atomic.Pointer[acceptNames] }

// lookup returns the strings for n@realm, the kept ones when they are the same name.
func (c *nameCache) lookup(n *wire.PrincipalName, realm string) *acceptNames {
	if an := c.last.Load(); an != nil && an.realm == realm && slices.Equal(an.comps, n.Components) {
		return an
	}
	name := n.String()
	return &acceptNames{comps: n.Components, realm: realm, name: name, full: name + "@" + realm}
}

// keep remembers an for the next lookup; callers keep names only once they have passed
// their checks, so a refused ticket does not evict an accepted name.
func (c *nameCache) keep(an *acceptNames) {
	if c.last.Load() != an {
		c.last.Store(an)
	}
}
