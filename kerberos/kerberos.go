package kerberos

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	krbcreds "github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// PackageName is the name Kerberos is registered under.
const PackageName = "Kerberos"

// MaxToken is cbMaxToken of the Kerberos package, as Windows reports it.
const MaxToken = 48000

func init() { sspi.Register(pkg{}) }

type pkg struct{}

// Info reports the SecPkgInfo Windows gives for Kerberos (capabilities 0x000F3BBF) less
// what this package does not do: DELEGATION (no forwarded TGT is sent or accepted) and
// DATAGRAM (connection-oriented contexts only).
func (pkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{
		Capabilities: 0x000F3BBF &^ (sspi.CapDelegation | sspi.CapDatagram),
		Version:      1,
		RPCID:        sspi.RPCIDKerberos,
		MaxToken:     MaxToken,
		Name:         PackageName,
		Comment:      "Kerberos Security Package",
	}
}

// ClientConfig configures client credentials. Exactly one source of the TGT is used, in
// this order: Password (an AS exchange for Principal), Keytab (an AS exchange with the
// key of Principal from the keytab), CCache (a TGT already obtained, as by kinit).
type ClientConfig struct {
	// Principal is the client, "user@REALM" or "user" (the default realm of krb5.conf).
	// It may be empty with CCache, whose default principal is then used.
	Principal string
	// Password is the principal's password.
	Password string
	// Keytab is the path of a keytab holding the principal's keys.
	Keytab string
	// CCache is the path of an MIT credential cache ("FILE:" prefix allowed); empty with
	// no Password and no Keytab means KRB5CCNAME.
	CCache string
	// Config is the path of krb5.conf; empty means KRB5_CONFIG, then /etc/krb5.conf.
	Config string
}

// ServerConfig configures server (acceptor) credentials.
type ServerConfig struct {
	// Keytab is the path of the service's keytab ("FILE:" prefix allowed); empty (with no
	// KeytabData) means KRB5_KTNAME, then /etc/krb5.keytab.
	Keytab string
	// KeytabData is the keytab's content, used instead of Keytab when not empty.
	KeytabData []byte
	// ServicePrincipal, when set ("host/localhost" or "host/localhost@REALM"), restricts
	// the server to tickets for that principal (others fail with sspi.ErrWrongPrincipal),
	// and the keytab must hold a key for it. Empty takes AcquireCredentialsHandle's
	// principal; with neither, a ticket for any principal in the keytab is accepted, and
	// the context's Identity().Server says which.
	ServicePrincipal string
	// ChannelBindings is the policy for the channel bindings in the client's authenticator
	// checksum (RFC 4121 4.1.1.2); the bindings to check against come in a
	// BufferChannelBindings input buffer. The zero value checks them when both sides have
	// some; sspi.BindingsRequired refuses a client that sent none.
	ChannelBindings sspi.ChannelBindingPolicy
	// MaxClockSkew bounds the difference between the authenticator's time and the server's
	// clock; zero means 5 minutes.
	MaxClockSkew time.Duration
	// Time is the server's clock; nil means time.Now.
	Time func() time.Time
	// ReplayCache remembers the authenticators the server accepted, so that a captured
	// AP-REQ is refused. Nil means the process-wide in-memory cache of the ticket's
	// service principal, shared by every handle of the process and forgotten when it
	// exits; a FileReplayCache also survives restarts; replicas of one service need one
	// shared cache (see ReplayCache).
	ReplayCache ReplayCache
}

// credentials is the package's side of a credentials handle; it is safe for concurrent
// use by many contexts.
type credentials struct {
	client *clientCreds
	server *serverCreds
}

type clientCreds struct {
	mu       sync.Mutex // serialises the AS exchange and the client's ticket cache
	cl       *client.Client
	loggedIn bool
	fromCC   bool
	name     string // user@REALM
	user     string
	realm    string
	cname    wire.PrincipalName
	tickets  ticketSource
}

type serverCreds struct {
	kt       *serviceKeys
	spn      string // "" for any
	spnRlm   string
	bindings sspi.ChannelBindingPolicy
	skew     time.Duration
	now      func() time.Time
	replays  ReplayCache // nil for the process's cache of the ticket's service
}

func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	c := &credentials{}
	var err error
	out, in := req.Use&sspi.CredOutbound != 0, req.Use&sspi.CredInbound != 0
	switch a := req.AuthData.(type) {
	case nil:
		if out {
			if c.client, err = newClientCreds(&ClientConfig{Principal: req.Principal}, false); err != nil {
				return nil, err
			}
		}
		if in {
			// With CredBoth the principal names the client; inbound only, the service.
			cfg := &ServerConfig{}
			if !out {
				cfg.ServicePrincipal = req.Principal
			}
			if c.server, err = newServerCreds(cfg); err != nil {
				return nil, err
			}
		}
	case *sspi.AuthIdentity:
		if a == nil {
			return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: nil *sspi.AuthIdentity")
		}
		if a.Password == "" {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no password given for %s", a.String())
		}
		user, realm := splitUser(a.User, a.Domain)
		p := user
		if realm != "" {
			p = user + "@" + realm
		}
		if c.client, err = newClientCreds(&ClientConfig{Principal: p, Password: a.Password}, true); err != nil {
			return nil, err
		}
	case *ClientConfig:
		if c.client, err = newClientCreds(a, false); err != nil {
			return nil, err
		}
	case *ServerConfig:
		if a != nil && req.Principal != "" {
			if a.ServicePrincipal != "" && !sameService(a.ServicePrincipal, req.Principal) {
				return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: the principal %s and ServerConfig.ServicePrincipal %s disagree", req.Principal, a.ServicePrincipal)
			}
			cfg := *a
			cfg.ServicePrincipal = req.Principal
			a = &cfg
		}
		if c.server, err = newServerCreds(a); err != nil {
			return nil, err
		}
	default:
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: cannot use %T as credentials (want *sspi.AuthIdentity, *kerberos.ClientConfig or *kerberos.ServerConfig)", req.AuthData)
	}
	if out && c.client == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: outbound use needs client credentials, got server ones")
	}
	if in && c.server == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: inbound use needs a keytab (*kerberos.ServerConfig or KRB5_KTNAME)")
	}
	// A password or a keytab is checked now, with the AS exchange, as MIT's
	// gss_acquire_cred_with_password does: a wrong one then fails here, before the caller
	// has connected anywhere, not in the first InitializeSecurityContext.
	if c.client != nil && !req.DeferLogon {
		if err := c.client.login(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// splitUser splits "REALM\user" and "user@REALM"; a name with neither keeps domain, upper-cased.
func splitUser(name, domain string) (user, realm string) {
	if i := strings.IndexByte(name, '\\'); i >= 0 {
		return name[i+1:], strings.ToUpper(name[:i])
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return name, strings.ToUpper(domain)
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv("KRB5_CONFIG")
		if i := strings.IndexByte(path, ':'); i >= 0 { // a search path: take the first
			path = path[:i]
		}
	}
	if path == "" {
		path = "/etc/krb5.conf"
	}
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: no krb5.conf at %s", path)
		}
		if cfg == nil {
			return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: reading %s: %v", path, err)
		}
		// gokrb5 returns a usable config with an UnsupportedDirective error; keep it.
	}
	return cfg, nil
}

func trimFilePrefix(s string) string {
	for _, p := range []string{"FILE:", "WRFILE:"} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// newClientCreds reads the configuration and the credential source; it talks to no KDC.
// windowsName says the principal came from an *sspi.AuthIdentity, whose domain may be a
// NetBIOS name that must be mapped to a realm (mapDomainToRealm).
func newClientCreds(cfg *ClientConfig, windowsName bool) (*clientCreds, error) {
	if cfg == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: nil *ClientConfig")
	}
	var ccPath string
	if cfg.Password == "" && cfg.Keytab == "" {
		ccPath = cfg.CCache
		if ccPath == "" {
			ccPath = os.Getenv("KRB5CCNAME")
		}
		if ccPath == "" {
			ccPath = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
		}
		if strings.Contains(ccPath, ":") && !strings.HasPrefix(ccPath, "FILE:") {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: credential cache %q is not a FILE: cache", ccPath)
		}
		ccPath = trimFilePrefix(ccPath)
	}
	kcfg, err := loadConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	c := &clientCreds{}
	settings := []func(*client.Settings){client.DisablePAFXFAST(true)}
	switch {
	case ccPath != "":
		cc, err := krbcreds.LoadCCache(ccPath)
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no usable credential cache at %s: %v", ccPath, err)
		}
		cl, err := client.NewFromCCache(cc, kcfg, settings...)
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: credential cache %s: %v", ccPath, err)
		}
		c.cl, c.fromCC, c.loggedIn = cl, true, true
		c.user = cc.GetClientPrincipalName().PrincipalNameString()
		c.realm = cc.GetClientRealm()
		if cfg.Principal != "" {
			u, r := splitUser(cfg.Principal, "")
			if u != c.user || (r != "" && r != c.realm) {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: credential cache %s holds %s@%s, not %s", ccPath, c.user, c.realm, cfg.Principal)
			}
		}
	default:
		if cfg.Principal == "" {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no client principal given")
		}
		c.user, c.realm = splitUser(cfg.Principal, "")
		switch {
		case c.realm == "":
			c.realm = kcfg.LibDefaults.DefaultRealm
		case windowsName && !strings.Contains(c.realm, "."):
			if c.realm, err = mapDomainToRealm(c.realm, kcfg); err != nil {
				return nil, err
			}
		case windowsName:
			c.realm = dnsDomainRealm(c.realm, kcfg)
		}
		if c.realm == "" {
			return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: %s has no realm and krb5.conf has no default_realm", cfg.Principal)
		}
		if cfg.Password != "" {
			c.cl = client.NewWithPassword(c.user, c.realm, cfg.Password, kcfg, settings...)
		} else {
			kt, err := keytab.Load(trimFilePrefix(cfg.Keytab))
			if err != nil {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: keytab %s: %v", cfg.Keytab, err)
			}
			c.cl = client.NewWithKeytab(c.user, c.realm, kt, kcfg, settings...)
		}
	}
	c.name = c.user + "@" + c.realm
	c.cname = wire.PrincipalName{Type: 1, Components: strings.Split(c.user, "/")}
	c.tickets = &gokrb5Tickets{creds: c}
	return c, nil
}

// login makes sure the client holds a TGT.
func (c *clientCreds) login() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loggedIn {
		return nil
	}
	if err := c.cl.Login(); err != nil {
		return kdcError("getting a TGT for "+c.name, err)
	}
	c.loggedIn = true
	return nil
}

func newServerCreds(cfg *ServerConfig) (*serverCreds, error) {
	if cfg == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: nil *ServerConfig")
	}
	s := &serverCreds{skew: cfg.MaxClockSkew, now: cfg.Time, replays: cfg.ReplayCache}
	if s.skew <= 0 {
		s.skew = 5 * time.Minute
	}
	noteSkew(s.skew)
	if s.now == nil {
		s.now = time.Now
	}
	b := cfg.KeytabData
	where := "keytab data"
	if len(b) > 0 {
		b = append([]byte(nil), b...) // newServiceKeys zeroes what it parsed
	} else {
		path := cfg.Keytab
		if path == "" {
			path = os.Getenv("KRB5_KTNAME")
		}
		if path == "" {
			path = "/etc/krb5.keytab"
		}
		path = trimFilePrefix(path)
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no keytab: %w", err)
		}
		where = "keytab " + path
	}
	kt, entries, err := newServiceKeys(b)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: %s: %v", where, err)
	}
	if entries == 0 {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: the keytab holds no keys")
	}
	if len(kt.keys) == 0 {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: the keytab's %d keys are all of encryption types this package does not implement (it does AES and RC4)", entries)
	}
	s.kt = kt
	if cfg.ServicePrincipal != "" {
		spn, realm, err := parseTarget(cfg.ServicePrincipal)
		if err != nil {
			return nil, err
		}
		s.spn, s.spnRlm = spn, realm
		if !s.hasKeyFor(spn, realm) {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: the keytab holds no key for %s", cfg.ServicePrincipal)
		}
	}
	if err := checkPolicy(cfg.ChannelBindings); err != nil {
		return nil, err
	}
	s.bindings = cfg.ChannelBindings
	return s, nil
}

func checkPolicy(p sspi.ChannelBindingPolicy) error {
	switch p {
	case sspi.BindingsWhenPresent, sspi.BindingsRequired, sspi.BindingsOff:
		return nil
	}
	return sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: unknown channel-binding policy %d", int(p))
}

// accepts reports whether a ticket for sname@realm is one this server takes: any, or the
// configured service principal. Service names compare without case, as host names do.
func (s *serverCreds) accepts(sname, realm string) bool {
	return s.spn == "" || (strings.EqualFold(sname, s.spn) && (s.spnRlm == "" || realm == s.spnRlm))
}

// hasKeyFor reports whether the keytab holds a key for spn (in realm, when not empty).
func (s *serverCreds) hasKeyFor(spn, realm string) bool { return s.kt.hasKeyFor(spn, realm) }

// sameService reports whether two ways of writing a service principal name the same one.
func sameService(a, b string) bool {
	sa, ra, errA := parseTarget(a)
	sb, rb, errB := parseTarget(b)
	return errA == nil && errB == nil && strings.EqualFold(sa, sb) && (ra == "" || rb == "" || ra == rb)
}

// parseTarget turns "service/host", "service@host", "service/host@REALM" or "host" into
// "service/host" and an optional realm.
func parseTarget(t string) (spn, realm string, err error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", "", sspi.Errorf(sspi.ErrTargetUnknown, "kerberos: no target name given (want an SPN such as host/server.example.com)")
	}
	if strings.Contains(t, "/") {
		if i := strings.LastIndexByte(t, '@'); i > strings.IndexByte(t, '/') {
			t, realm = t[:i], t[i+1:]
		}
		return t, realm, nil
	}
	if i := strings.IndexByte(t, '@'); i > 0 {
		return t[:i] + "/" + t[i+1:], "", nil
	}
	return "host/" + t, "", nil
}

func (c *credentials) Expiry() time.Time { return time.Time{} }

// WithChannelBindingPolicy returns credentials whose server side applies p; Negotiate calls
// it to hand its policy to Kerberos. Client credentials have no policy and come back as
// they are.
func (c *credentials) WithChannelBindingPolicy(p sspi.ChannelBindingPolicy) (sspi.PackageCredentials, error) {
	if err := checkPolicy(p); err != nil {
		return nil, err
	}
	if c.server == nil {
		return c, nil
	}
	s := *c.server
	s.bindings = p
	return &credentials{client: c.client, server: &s}, nil
}

func (c *credentials) NewContext(server bool) (sspi.PackageContext, error) {
	if server {
		if c.server == nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: these credentials are for a client only")
		}
		return &serverContext{creds: c.server}, nil
	}
	if c.client == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: these credentials are for a server only")
	}
	return &clientContext{creds: c.client}, nil
}

// QueryCredentialsAttribute answers CredAttrNames with the client's user@REALM.
func (c *credentials) QueryCredentialsAttribute(attr sspi.CredentialAttribute, out any) error {
	if attr != sspi.CredAttrNames {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: credential attribute %d is not supported", attr)
	}
	o, ok := out.(*sspi.CredentialNames)
	if !ok {
		return sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: CredAttrNames needs *sspi.CredentialNames, got %T", out)
	}
	if c.client == nil {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: server credentials have no user name")
	}
	o.UserName = c.client.name
	return nil
}

// Close forgets the client's tickets and keys.
func (c *credentials) Close() error {
	if c.client != nil {
		c.client.mu.Lock()
		c.client.cl.Destroy()
		c.client.mu.Unlock()
		if g, ok := c.client.tickets.(*gokrb5Tickets); ok {
			g.forget()
		}
	}
	return nil
}
