package schannel

import "github.com/gosspi/sspi"

// Identity names the ends of an established connection for SECPKG_ATTR_NAMES and
// SECPKG_ATTR_NATIVE_NAMES. The client is named by the subject of its certificate (the
// server's view: empty when the client sent none; the client's view: the certificate it
// sent). The server is named by the target name its certificate was checked against,
// and only when it was: under manual validation nothing is proven, and Server is empty.
func (c *context) Identity() sspi.Identity {
	id := sspi.Identity{Package: PackageName}
	if c.state < stateEstablished {
		return id
	}
	if c.server {
		if len(c.cs.PeerCertificates) > 0 {
			subj := c.cs.PeerCertificates[0].Subject
			id.Principal, id.User = subj.String(), subj.CommonName
		}
		return id
	}
	if c.sentCert != nil && c.sentCert.Leaf != nil {
		subj := c.sentCert.Leaf.Subject
		id.Principal, id.User = subj.String(), subj.CommonName
	}
	if !c.manual {
		id.Server = c.target
	}
	return id
}
