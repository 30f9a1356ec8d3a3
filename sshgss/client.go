package sshgss

import (
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/gosspi/sspi"
)

// Kerberos is the name of the only security package an SSH peer understands here: the
// mechanism x/crypto/ssh offers is Kerberos V5 (RFC 4462 section 3.2, RFC 1964).
const Kerberos = "Kerberos"

var (
	_ ssh.GSSAPIClient = (*Client)(nil)
	_ ssh.GSSAPIServer = (*Server)(nil)
)

// ClientConfig configures a Client. The zero value asks for mutual authentication and
// integrity, as OpenSSH's client does, and no delegation.
type ClientConfig struct {
	// Target, when set, is the service principal to ask a ticket for ("host/server.example.com"
	// or "host/server.example.com@REALM"), instead of the "host@<host>" x/crypto/ssh passes:
	// for a server known by another name than the one dialled.
	Target string
	// Delegate asks for ISC_REQ_DELEGATE (forward the TGT to the server, OpenSSH's
	// GSSAPIDelegateCredentials) on every handshake. x/crypto/ssh never sets
	// isGSSDelegCreds itself, so this is how a caller asks for delegation.
	Delegate bool
}

// Client is an ssh.GSSAPIClient over the Kerberos package: pass it to
// ssh.GSSAPIWithMICAuthMethod. It holds one security context at a time, the one of the
// authentication x/crypto/ssh is running; x/crypto deletes it when the attempt ends, so
// one Client serves any number of connections one after the other.
type Client struct {
	cred   *sspi.Credentials
	config ClientConfig

	mu      sync.Mutex
	ctx     *sspi.ClientContext
	granted sspi.ContextAttr // of the last established context
}

// NewClient returns a Client that authenticates with cred, outbound credentials of the
// "Kerberos" package (sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound,
// nil, &kerberos.ClientConfig{...}, nil)). config may be nil.
func NewClient(cred *sspi.Credentials, config *ClientConfig) (*Client, error) {
	if err := checkCred(cred, sspi.CredOutbound); err != nil {
		return nil, err
	}
	c := &Client{cred: cred}
	if config != nil {
		c.config = *config
	}
	return c, nil
}

func checkCred(cred *sspi.Credentials, use sspi.CredentialUse) error {
	if cred == nil {
		return sspi.Errorf(sspi.ErrNoCredentials, "sshgss: no credentials; acquire %q credentials first", Kerberos)
	}
	if cred.Package() != Kerberos {
		return sspi.Errorf(sspi.ErrSecPkgNotFound, "sshgss: credentials of package %q; gssapi-with-mic in x/crypto/ssh speaks only Kerberos V5, so acquire %q credentials", cred.Package(), Kerberos)
	}
	if cred.Use()&use == 0 {
		return sspi.Errorf(sspi.ErrNoCredentials, "sshgss: the credentials are not usable for this side (%v); acquire them with %v", cred.Use(), use)
	}
	return nil
}

// InitSecContext runs one InitializeSecurityContext step (RFC 4462 section 3.4): with a
// nil token it starts a context for target ("host@<host>", as x/crypto/ssh passes it,
// unless ClientConfig.Target overrides it) and returns the AP-REQ; with the server's
// reply it verifies the AP-REP. needContinue is true while the server's reply is awaited.
// isGSSDelegCreds, or ClientConfig.Delegate, asks for delegation.
func (c *Client) InitSecContext(target string, token []byte, isGSSDelegCreds bool) (outputToken []byte, needContinue bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		if len(token) != 0 {
			return nil, false, sspi.Errorf(sspi.ErrInvalidToken, "sshgss: a reply token came with no handshake in progress")
		}
		if c.config.Target != "" {
			target = c.config.Target
		}
		req := sspi.ISCReqMutualAuth | sspi.ISCReqIntegrity
		if isGSSDelegCreds || c.config.Delegate {
			req |= sspi.ISCReqDelegate
		}
		c.ctx = sspi.NewClientContext(c.cred, sspi.ClientOptions{Target: target, Req: req})
	} else if len(token) == 0 {
		return nil, false, sspi.Errorf(sspi.ErrInvalidToken, "sshgss: the handshake is in progress and the server's reply token is empty")
	}
	out, err := c.ctx.Step(token)
	if err != nil {
		c.deleteLocked()
		return nil, false, err
	}
	if !c.ctx.Established() {
		return out, true, nil
	}
	// RFC 4462 section 3.4: the client must not go on unless the server was authenticated
	// and the context can make the MIC of section 3.5.
	attrs := c.ctx.Attributes()
	if !attrs.Has(sspi.ISCRetMutualAuth) || !attrs.Has(sspi.ISCRetIntegrity) {
		c.deleteLocked()
		return nil, false, sspi.Errorf(sspi.ErrLogonDenied, "sshgss: the context lacks mutual authentication or integrity (granted %v)", attrs)
	}
	c.granted = attrs
	return out, false, nil
}

// GetMIC returns the MIC token (MakeSignature) over micField, the RFC 4462 section 3.5
// data that binds the authentication to the SSH session.
func (c *Client) GetMIC(micField []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || !c.ctx.Established() {
		return nil, sspi.Errorf(sspi.ErrInvalidHandle, "sshgss: GetMIC before the context is established")
	}
	return c.ctx.Sign(micField)
}

// DeleteSecContext deletes the context in progress, established or not (DeleteSecurityContext).
// It is idempotent, and the Client can start a new handshake afterwards.
func (c *Client) DeleteSecContext() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deleteLocked()
}

func (c *Client) deleteLocked() error {
	if c.ctx == nil {
		return nil
	}
	err := c.ctx.Close()
	c.ctx = nil
	return err
}

// Attributes returns the attributes granted to the last context this Client
// established (for example whether ISCRetDelegate, delegation, was granted), zero
// before the first. x/crypto/ssh deletes the context when the login ends; the answer
// stays until the next handshake is established.
func (c *Client) Attributes() sspi.ContextAttr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.granted
}
