package kerberos

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/sspi"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// PackageName is the name Kerberos is registered under.
const PackageName = "Kerberos"

// MaxToken is cbMaxToken of the Kerberos package, as Windows reports it.
const MaxToken = 48000

func init() { sspi.Register(pkg{}) }

type pkg struct{}

// Info reports the SecPkgInfo Windows gives for Kerberos (capabilities 0x000F3BBF) less
// what this package does not do: DATAGRAM (connection-oriented contexts only).
func (pkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{
		Capabilities: 0x000F3BBF &^ sspi.CapDatagram,
		Version:      1,
		RPCID:        sspi.RPCIDKerberos,
		MaxToken:     MaxToken,
		Name:         PackageName,
		Comment:      "Kerberos Security Package",
	}
}

// ClientConfig configures client credentials. Exactly one source of the TGT is used, in
// this order: Password (an AS exchange for Principal), Keytab (an AS exchange with the
// key of Principal from the keytab), CCache (a TGT already obtained, as by kinit). With
// none of the three, as MIT's gss_acquire_cred does, the cache named by KRB5CCNAME is used
// when it holds a valid TGT, and otherwise the client keytab (KRB5_CLIENT_KTNAME, default
// /var/lib/krb5/user/<euid>/client.keytab) when there is one.
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
	// Config is the path of krb5.conf; empty means KRB5_CONFIG (a colon-separated list of
	// files, merged as MIT merges them), then /etc/krb5.conf.
	Config string
	// Enterprise makes Principal an enterprise name (RFC 6806): "user@upn.suffix", asked for
	// in the default realm, or "user@upn.suffix@REALM". It is sent as an NT-ENTERPRISE
	// principal with the canonicalize option, and the KDC answers with the account's
	// canonical name, which becomes the client's name. An *sspi.AuthIdentity whose
	// "user@suffix" names no realm krb5.conf knows is sent this way too, as Windows does.
	Enterprise bool
	// Forwardable asks for a forwardable TGT, which delegation (ISC_REQ_DELEGATE) needs,
	// even when krb5.conf's forwardable is off. A TGT from CCache is as kinit got it.
	Forwardable bool
	// IgnoreOKAsDelegate delegates the TGT with ISC_REQ_DELEGATE even to a service whose
	// ticket lacks the OK-AS-DELEGATE flag, as MIT's GSS_C_DELEG_FLAG (gss-client -d)
	// does. By default, as on Windows, only services the realm marks as trusted for
	// delegation get the user's TGT.
	IgnoreOKAsDelegate bool
	// ArmorCCache is the path of an MIT credential cache ("FILE:" prefix allowed) whose
	// TGT, of the client's realm, armors the logon with Password or Keytab in FAST
	// (RFC 6113), as MIT's kinit -T does: typically the host's TGT, got with its keytab
	// (kinit -k). The logon's request, preauthentication and reply then travel
	// encrypted in a key only the KDC and this client know, which protects the password
	// from offline guessing, and a domain that requires armoring ("Fail unarmored
	// authentication requests") accepts it. With it set, a KDC answer without FAST fails
	// the logon instead of being accepted: an attacker could otherwise strip FAST. TGS
	// requests with the TGT of an armored logon are armored too. The cache is read when
	// the credentials are acquired; a later logon (DeferLogon, or a new TGT once the first
	// expired) with an armor TGT that expired meanwhile fails. Empty: no FAST.
	ArmorCCache string
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
	// RequirePAC refuses tickets without a PAC (sspi.ErrLogonDenied). By default they are
	// accepted and their identity says AuthzNoPAC. A PAC that is present is always
	// verified, and a ticket whose PAC fails is refused either way.
	RequirePAC bool
	// TicketCacheSize is how many decrypted tickets the server keeps, so that the next
	// AP-REQ with the same ticket (a client reuses its service ticket until it expires)
	// skips the ticket's decryption, its PAC's verification and the session key's set-up;
	// the authenticator, the replay cache and the ticket's times are still checked each
	// time. Zero means 256; a negative value keeps none. A kept ticket's plaintext and
	// session key are zeroed when another ticket takes its place, when it is found
	// expired, or when the credentials are freed.
	TicketCacheSize int
}

// credentials is the package's side of a credentials handle; it is safe for concurrent
// use by many contexts.
type credentials struct {
	client *clientCreds
	server *serverCreds
}

type clientCreds struct {
	mu       sync.Mutex // serialises the first AS exchange
	cl       *krbclient.Client
	loggedIn atomic.Bool
	name     string // user@REALM
	user     string
	realm    string
	cname    wire.PrincipalName
	tickets  ticketSource
	// ignoreOKAsDelegate is ClientConfig.IgnoreOKAsDelegate.
	ignoreOKAsDelegate bool
}

type serverCreds struct {
	kt       *serviceKeys
	spn      string // "" for any
	spnRlm   string
	bindings sspi.ChannelBindingPolicy
	skew     time.Duration
	now      func() time.Time
	replays  ReplayCache // nil for the process's cache of the ticket's service
	// requirePAC refuses tickets without a PAC (ServerConfig.RequirePAC).
	requirePAC bool
	// lastCache is the process cache of the service of the last AP-REQ (replays nil).
	lastCache atomic.Pointer[lastReplayCache]
	// services and clients keep the last accepted names' strings (names.go).
	services, clients nameCache
	// tickets keeps opened tickets (ticketcache.go); nil for none.
	tickets *ticketCache
}

func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	c := &credentials{}
	var err error
	out, in := req.Use&sspi.CredOutbound != 0, req.Use&sspi.CredInbound != 0
	switch a := req.AuthData.(type) {
	case nil:
		c.client, c.server, err = defaultCreds(req.Principal, out, in)
	case *sspi.AuthIdentity:
		c.client, err = identityCreds(a)
	case *ClientConfig:
		c.client, err = newClientCreds(a, false)
	case *handoff:
		c.client = a.creds
	case *ServerConfig:
		c.server, err = serverConfigCreds(a, req.Principal)
	default:
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: cannot use %T as credentials (want *sspi.AuthIdentity, *kerberos.ClientConfig or *kerberos.ServerConfig)", req.AuthData)
	}
	if err != nil {
		return nil, err
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
		if err := c.client.login(context.Background()); err != nil {
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

// loadConfig reads krb5.conf: path, or KRB5_CONFIG's files, or /etc/krb5.conf.
func loadConfig(path string) (*krbconf.Config, error) {
	var cfg *krbconf.Config
	var err error
	if path != "" {
		cfg, err = krbconf.Load(path)
	} else {
		path = os.Getenv("KRB5_CONFIG")
		if path == "" {
			path = krbconf.DefaultPath
		}
		cfg, err = krbconf.LoadDefault()
	}
	if errors.Is(err, fs.ErrNotExist) && errors.Is(err, krbconf.ErrNoConfig) {
		return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: no krb5.conf at %s", path)
	}
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "kerberos: reading krb5.conf: %w", err)
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
	kcfg, err := loadConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	opts := &krbclient.Options{Config: kcfg, Forwardable: cfg.Forwardable, HostResolver: hostDNS}
	if cfg.ArmorCCache != "" {
		armor, err := krbclient.ArmorTGT(opts, cfg.ArmorCCache)
		if err != nil {
			return nil, sspi.Errorf(sspi.StatusOf(err), "kerberos: the FAST armor cache %s: %w", cfg.ArmorCCache, causeOf(err))
		}
		opts.Armor = armor
	}
	c := &clientCreds{ignoreOKAsDelegate: cfg.IgnoreOKAsDelegate}
	switch {
	case cfg.Password == "" && cfg.Keytab == "":
		if c.cl, err = defaultClient(cfg, opts); err != nil {
			return nil, err
		}
	default:
		if cfg.Principal == "" {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no client principal given")
		}
		p, err := clientPrincipal(cfg, kcfg, windowsName)
		if err != nil {
			return nil, err
		}
		if cfg.Password != "" {
			c.cl, err = krbclient.NewWithPassword(opts, p, cfg.Password)
		} else {
			kt, kerr := keytab.Load(trimFilePrefix(cfg.Keytab))
			if kerr != nil {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: keytab %s: %v", cfg.Keytab, kerr)
			}
			c.cl, err = krbclient.NewWithKeytab(opts, p, kt)
		}
		if err != nil {
			return nil, err
		}
	}
	// The client's name as krbclient holds it: the realm spelt as krb5.conf spells it, or
	// the cache's principal.
	c.adoptCanonicalName()
	c.tickets = &clientTickets{creds: c, conf: kcfg}
	return c, nil
}

// defaultClient is the client of a ClientConfig without password and keytab, found as
// MIT's gss_acquire_cred finds it: the credential cache (CCache, KRB5CCNAME, or
// /tmp/krb5cc_<uid>) when it holds a valid TGT, otherwise, unless CCache was named, the
// client keytab (KRB5_CLIENT_KTNAME, or MIT's default path) when there is one.
func defaultClient(cfg *ClientConfig, opts *krbclient.Options) (*krbclient.Client, error) {
	ccPath, err := krbclient.CCachePath(cfg.CCache)
	if err != nil {
		return nil, err
	}
	cl, ccErr := krbclient.LoadCCache(opts, ccPath)
	if ccErr == nil {
		if cfg.Principal != "" {
			u, r := splitUser(cfg.Principal, "")
			got := cl.User()
			if u != strings.Join(got.Name.Components, "/") || (r != "" && r != got.Realm) {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: credential cache %s holds %s, not %s", ccPath, got.String(), cfg.Principal)
			}
		}
		return cl, nil
	}
	ccErr = sspi.Errorf(sspi.StatusOf(ccErr), "kerberos: no usable credential cache at %s: %w", ccPath, causeOf(ccErr))
	if cfg.CCache != "" {
		return nil, ccErr
	}
	ktPath := clientKeytabPath()
	kt, err := keytab.Load(ktPath)
	if err != nil {
		return nil, ccErr // no client keytab either: the cache is what the caller expected
	}
	p, ok := keytabPrincipal(kt, cfg.Principal, opts.Config.LibDefaults.DefaultRealm)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "kerberos: no usable credential cache at %s, and the client keytab %s holds no key of %s", ccPath, ktPath, cfg.Principal)
	}
	return krbclient.NewWithKeytab(opts, p, kt)
}

// clientKeytabPath is KRB5_CLIENT_KTNAME, or MIT's default client keytab.
func clientKeytabPath() string {
	if p := os.Getenv("KRB5_CLIENT_KTNAME"); p != "" {
		return trimFilePrefix(p)
	}
	return "/var/lib/krb5/user/" + strconv.Itoa(os.Geteuid()) + "/client.keytab"
}

// keytabPrincipal is the client keytab's principal: the one named, if the keytab holds a
// key of it, or, with none named, the first entry's, as MIT takes it.
func keytabPrincipal(kt *keytab.Keytab, name, defaultRealm string) (krbclient.Principal, bool) {
	if len(kt.Entries) == 0 {
		return krbclient.Principal{}, false
	}
	if name == "" {
		e := &kt.Entries[0]
		return krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: e.Principal.Components}, Realm: e.Realm}, true
	}
	u, r := splitUser(name, "")
	if r == "" {
		r = defaultRealm
	}
	for i := range kt.Entries {
		e := &kt.Entries[i]
		if strings.Join(e.Principal.Components, "/") == u && e.Realm == r {
			return krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: e.Principal.Components}, Realm: r}, true
		}
	}
	return krbclient.Principal{}, false
}

// login makes sure the client holds a TGT; the first AS exchange is made once however
// many contexts ask at the same time.
func (c *clientCreds) login(ctx context.Context) error {
	if c.cl == nil || c.loggedIn.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loggedIn.Load() {
		return nil
	}
	if _, err := c.cl.TGT(ctx); err != nil {
		return kdcError("getting a TGT for "+c.name, err)
	}
	c.adoptCanonicalName()
	c.loggedIn.Store(true)
	return nil
}

func newServerCreds(cfg *ServerConfig) (*serverCreds, error) {
	if cfg == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: nil *ServerConfig")
	}
	s := &serverCreds{skew: cfg.MaxClockSkew, now: cfg.Time, replays: cfg.ReplayCache, requirePAC: cfg.RequirePAC,
		tickets: newTicketCache(cfg.TicketCacheSize)}
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
	o := c.server
	s := &serverCreds{kt: o.kt, spn: o.spn, spnRlm: o.spnRlm, bindings: p, skew: o.skew, now: o.now, replays: o.replays,
		requirePAC: o.requirePAC, tickets: o.tickets}
	return &credentials{client: c.client, server: s}, nil
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
	if attr == credAttrOp {
		return c.runCredOp(out)
	}
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
	o.UserName = c.client.userName()
	return nil
}

// Close forgets the client's tickets and keys.
func (c *credentials) Close() error {
	// The handle's references are gone, so no context holds the tickets' keys any more.
	if c.client != nil && c.client.cl != nil {
		c.client.cl.Destroy()
	}
	if c.server != nil {
		c.server.tickets.flush()
	}
	return nil
}
