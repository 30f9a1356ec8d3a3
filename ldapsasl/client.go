package ldapsasl

import (
	"fmt"

	"github.com/gosspi/sspi"
)

// Client is the client side of a SASL GSSAPI bind (RFC 4752) over a gosspi security
// package. It has the methods of go-ldap v3's GSSAPIClient interface, so it can be passed
// to (*ldap.Conn).GSSAPIBind without this package importing go-ldap. Get one from
// Conn.Client; its bind decides the Conn's security layer.
type Client struct {
	c *Conn
}

// contextReq is what the bind asks of the package: mutual authentication (RFC 4752
// section 3.1), and the protections a layer needs.
func (c *Conn) contextReq() sspi.ContextReq {
	req := sspi.ISCReqMutualAuth | sspi.ISCReqIntegrity | sspi.ISCReqConfidentiality |
		sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect
	if c.cfg.Delegate {
		req |= sspi.ISCReqDelegate
	}
	return req
}

// InitSecContext runs one step of the security context's establishment: call it with a
// nil token first, then with each challenge of the server, until needContinue is false.
// target is the LDAP server's service principal, "ldap/host".
func (cl *Client) InitSecContext(target string, token []byte) (outputToken []byte, needContinue bool, err error) {
	return cl.InitSecContextWithOptions(target, token, nil)
}

// InitSecContextWithOptions is InitSecContext. The options are gokrb5's AP options, which
// go-ldap passes through; mutual authentication, the only one that matters here, is
// always asked for, and the others are ignored.
func (cl *Client) InitSecContextWithOptions(target string, token []byte, options []int) (outputToken []byte, needContinue bool, err error) {
	c := cl.c
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if token == nil || c.sec == nil {
		// A new bind starts a new context.
		c.deleteContextLocked()
		if c.cred == nil {
			cred, _, err := sspi.AcquireCredentialsHandle("", c.cfg.Package, sspi.CredOutbound, nil, nil, nil)
			if err != nil {
				return nil, false, fmt.Errorf("ldapsasl: acquiring the default %s credentials: %w", c.cfg.Package, err)
			}
			c.cred, c.ownCred = cred, true
		}
		c.sec = sspi.NewClientContext(c.cred, sspi.ClientOptions{Target: target, Req: c.contextReq()})
	}
	out, err := c.sec.Step(token)
	if err != nil {
		return nil, false, err
	}
	return out, !c.sec.Established(), nil
}

// NegotiateSaslAuth answers the server's security layer offer (RFC 4752 section 3.1): it
// unwraps the offer, picks the strongest layer the server offers and Config.Layers allows,
// and returns the wrapped choice with the client's maximum buffer size and authzid (empty
// to act as the authenticated identity). The layer starts after the server's successful
// answer to it.
func (cl *Client) NegotiateSaslAuth(token []byte, authzid string) ([]byte, error) {
	c := cl.c
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if c.sec == nil || !c.sec.Established() {
		return nil, sspi.Errorf(sspi.ErrNoContext, "ldapsasl: the server offered security layers before the security context was established")
	}
	if c.cfg.Package == "Kerberos" && c.sec.Attributes()&sspi.ISCRetMutualAuth == 0 {
		return nil, sspi.Errorf(sspi.ErrMutualAuthFailed, "ldapsasl: the server did not authenticate itself (no AP-REP), which RFC 4752 requires")
	}
	plain, err := c.sec.Unwrap(token)
	if err != nil {
		return nil, fmt.Errorf("ldapsasl: unwrapping the server's security layer offer: %w", err)
	}
	offer, err := parseLayerOffer(plain)
	if err != nil {
		return nil, sspi.WithStatus(sspi.ErrInvalidToken, err)
	}
	layer := (offer.layers & c.cfg.Layers).strongest()
	if layer == 0 {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "ldapsasl: the server offers the security layers %v, none of which this client accepts (%v)", offer.layers, c.cfg.Layers)
	}
	if err := c.checkGranted(layer); err != nil {
		return nil, err
	}
	choice := layerOffer{layers: layer}
	if layer != LayerNone {
		choice.maxSize = c.cfg.MaxBufferSize
		if err := sspi.QueryContextAttributes(c.sec.Handle(), sspi.AttrSizes, &c.sizes); err != nil {
			return nil, err
		}
	}
	// RFC 4752: the choice travels integrity-protected only, whatever the layer.
	out, err := c.sec.WrapIntegrityOnly(choice.marshal(authzid))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if layer != LayerNone {
		c.state, c.layer, c.sendMax = stateAwaitBind, layer, offer.maxSize
	}
	c.mu.Unlock()
	return out, nil
}

// checkGranted makes sure the context can do what layer needs.
func (c *Conn) checkGranted(layer Layer) error {
	attrs := c.sec.Attributes()
	switch {
	case layer == LayerConfidentiality && attrs&sspi.ISCRetConfidentiality == 0:
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ldapsasl: the confidentiality layer was agreed but the %s context cannot encrypt", c.sec.Package())
	case layer == LayerIntegrity && attrs&sspi.ISCRetIntegrity == 0:
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ldapsasl: the integrity layer was agreed but the %s context cannot sign", c.sec.Package())
	}
	return nil
}

// DeleteSecContext is what go-ldap calls when a bind ends, successful or not. The
// context stays alive while it may protect the connection (a layer was agreed); Conn.Close
// ends it. Otherwise it ends the context now.
func (cl *Client) DeleteSecContext() error {
	c := cl.c
	c.mu.Lock()
	keep := c.state != statePlain
	c.mu.Unlock()
	if keep {
		return nil
	}
	c.secMu.Lock()
	defer c.secMu.Unlock()
	c.deleteContextLocked()
	return nil
}
