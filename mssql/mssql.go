package mssql

import (
	"errors"
	"fmt"

	"github.com/gosspi/sspi"
	"github.com/microsoft/go-mssqldb/integratedauth"
	"github.com/microsoft/go-mssqldb/msdsn"

	// The packages a provider may use; Negotiate composes the other two through the
	// registry, so they must be registered too.
	_ "github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	_ "github.com/gosspi/sspi/ntlm"
)

// ProviderName is the name the package registers its default provider under: use it as
// the connection string's authenticator parameter.
const ProviderName = "gosspi"

// PackageParameter is the connection-string parameter that chooses the security package
// ("Negotiate", "Kerberos" or "NTLM") for the default provider.
const PackageParameter = "gosspi-package"

func init() {
	// Registration only fails for a nil provider or an empty name.
	_ = integratedauth.SetIntegratedAuthenticationProvider(ProviderName, &Provider{})
}

// Register makes p available to go-mssqldb under name (authenticator=name). Like
// integratedauth.SetIntegratedAuthenticationProvider, it must be called before the
// connections that use it are opened.
func Register(name string, p *Provider) error {
	return integratedauth.SetIntegratedAuthenticationProvider(name, p)
}

// Provider makes an Authenticator for each connection go-mssqldb opens. Its zero value
// takes everything from the connection string.
type Provider struct {
	// Credentials, when set, is the outbound credentials handle every connection uses,
	// instead of the connection string's user id and password; the Provider does not free
	// it.
	Credentials *sspi.Credentials
	// Package is the security package when Credentials is nil and the connection string
	// has no gosspi-package parameter; empty means Negotiate.
	Package string
	// Req is the context requirements; zero means sspi.DefaultClientReq (mutual
	// authentication, integrity, confidentiality, replay and sequence detection).
	Req sspi.ContextReq
}

// GetIntegratedAuthenticator implements integratedauth.Provider: it acquires the
// connection's credentials and returns the Authenticator that runs its handshake.
func (p *Provider) GetIntegratedAuthenticator(cfg msdsn.Config) (integratedauth.IntegratedAuthenticator, error) {
	a := &Authenticator{cred: p.Credentials, target: targetName(cfg), req: p.Req}
	if a.cred != nil {
		return a, nil
	}
	pkg := p.Package
	if v, ok := cfg.Parameters[PackageParameter]; ok && v != "" {
		pkg = v
	}
	if pkg == "" {
		pkg = negotiate.PackageName
	}
	var authData any // nil: the environment's default credentials
	if cfg.User != "" {
		authData = &sspi.AuthIdentity{User: cfg.User, Password: cfg.Password}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	if err != nil {
		return nil, fmt.Errorf("mssql: acquiring %s credentials for %q: %w", pkg, cfg.User, err)
	}
	a.cred, a.ownCred = cred, true
	return a, nil
}

// targetName is the SPN of the SQL Server instance: the driver's, else the one it would
// build (MSSQLSvc/host:port, or MSSQLSvc/host:instance for a named instance).
func targetName(cfg msdsn.Config) string {
	if cfg.ServerSPN != "" {
		return cfg.ServerSPN
	}
	host := cfg.Host
	if host == "" {
		host = "localhost"
	}
	switch {
	case cfg.Instance != "":
		return "MSSQLSvc/" + host + ":" + cfg.Instance
	case cfg.Port != 0:
		return fmt.Sprintf("MSSQLSvc/%s:%d", host, cfg.Port)
	}
	return "MSSQLSvc/" + host + ":1433"
}

// Authenticator is one login's handshake: go-mssqldb sends InitialBytes in its LOGIN7
// message, passes each SSPI token the server answers to NextBytes, and calls Free when the
// login is over. It implements integratedauth.IntegratedAuthenticator and
// integratedauth.AuthenticatorWithEPA.
type Authenticator struct {
	cred     *sspi.Credentials
	ownCred  bool
	target   string
	req      sspi.ContextReq
	bindings []byte
	ctx      *sspi.ClientContext
}

var errNoHandshake = errors.New("mssql: NextBytes called before InitialBytes")

// SetChannelBinding takes the TLS channel bindings go-mssqldb computed for Extended
// Protection; it must come before InitialBytes, as the driver calls it. A nil value or
// go-mssqldb's empty type leaves the handshake without bindings.
func (a *Authenticator) SetChannelBinding(cb *integratedauth.ChannelBindings) {
	if cb == nil || cb.Type == integratedauth.ChannelBindingsTypeEmpty {
		a.bindings = nil
		return
	}
	scb := sspi.ChannelBindings{
		InitiatorAddrType: cb.InitiatorAddrType,
		InitiatorAddress:  cb.InitiatorAddress,
		AcceptorAddrType:  cb.AcceptorAddrType,
		AcceptorAddress:   cb.AcceptorAddress,
		ApplicationData:   cb.ApplicationData,
	}
	a.bindings = scb.Marshal()
}

// InitialBytes starts the handshake and returns the first token (a SPNEGO NegTokenInit
// for Negotiate).
func (a *Authenticator) InitialBytes() ([]byte, error) {
	if a.ctx != nil {
		a.ctx.Close()
	}
	a.ctx = sspi.NewClientContext(a.cred, sspi.ClientOptions{Target: a.target, Req: a.req, ChannelBindings: a.bindings})
	return a.ctx.Step(nil)
}

// NextBytes takes the server's token and returns the answer, empty when there is none to
// send (the handshake is complete).
func (a *Authenticator) NextBytes(in []byte) ([]byte, error) {
	if a.ctx == nil {
		return nil, errNoHandshake
	}
	if a.ctx.Established() {
		// A final token after completion carries nothing for a client to check.
		return nil, nil
	}
	return a.ctx.Step(in)
}

// Established reports whether the handshake is complete (for a Negotiate or Kerberos
// server that sent its last token, the server is then authenticated too).
func (a *Authenticator) Established() bool { return a.ctx != nil && a.ctx.Established() }

// Package names the package that did the work: for Negotiate, the mechanism it chose.
func (a *Authenticator) Package() string {
	if a.ctx == nil {
		return ""
	}
	return a.ctx.Package()
}

// Free ends the security context and releases the credentials the Authenticator acquired.
// It is idempotent.
func (a *Authenticator) Free() {
	if a.ctx != nil {
		a.ctx.Close()
		a.ctx = nil
	}
	if a.ownCred && a.cred != nil {
		sspi.FreeCredentialsHandle(a.cred)
		a.cred = nil
	}
}

// Compile-time checks that the types fit go-mssqldb's interfaces.
var (
	_ integratedauth.Provider                = (*Provider)(nil)
	_ integratedauth.IntegratedAuthenticator = (*Authenticator)(nil)
	_ integratedauth.AuthenticatorWithEPA    = (*Authenticator)(nil)
)
