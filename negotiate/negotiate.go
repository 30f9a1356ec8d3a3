package negotiate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"

	// NTLM is Negotiate's fallback on every Windows machine, so it is always here too.
	_ "github.com/gosspi/sspi/ntlm"
)

// PackageName is the name Negotiate is registered under.
const PackageName = "Negotiate"

// MaxToken is cbMaxToken of the Negotiate package: 12256 (0x2FE0), the value FreeRDP's
// table gives for Windows. Sources disagree (sspi-rs reports Kerberos' 48000); the real
// bound is the chosen mechanism's, so ask QueryContextAttributes(AttrSizes) once a context
// exists, or allocate with ISCReqAllocateMemory.
const MaxToken = 12256

// Mechanism names, as registered in the sspi registry: what Config.Mechanisms and
// AuthIdentity.PackageList name.
const (
	Kerberos = "Kerberos"
	NTLM     = "NTLM"
)

// The OIDs SPNEGO deals in (shared/spec/spnego-credssp.md §1).
var (
	oidSPNEGO  = der.MustOID("1.3.6.1.5.5.2")
	oidKRB5    = der.MustOID("1.2.840.113554.1.2.2")
	oidMSKRB5  = der.MustOID("1.2.840.48018.1.2.2") // Windows' legacy, mis-encoded Kerberos OID
	oidKRB5U2U = der.MustOID("1.2.840.113554.1.2.2.3")
	oidNTLM    = der.MustOID("1.3.6.1.4.1.311.2.2.10")
	oidNegoEx  = der.MustOID("1.3.6.1.4.1.311.2.2.30")
)

// mechanism is one entry of the table that maps Negotiate's mechanisms to registry names
// and OIDs. The first OID is listed first; Kerberos lists the Microsoft OID before the
// standard one, as Windows does, and acceptors treat both as Kerberos.
type mechanism struct {
	name string
	oids []der.OID
	// needsHostName: the mechanism is not offered for a target whose host is an IP
	// address (see targetHostIsIP).
	needsHostName bool
}

var (
	mechKerberos = &mechanism{name: Kerberos, oids: []der.OID{oidMSKRB5, oidKRB5}, needsHostName: true}
	mechNTLM     = &mechanism{name: NTLM, oids: []der.OID{oidNTLM}}
	// mechanisms in Negotiate's default preference order.
	mechanisms = []*mechanism{mechKerberos, mechNTLM}
)

func mechByName(name string) *mechanism {
	for _, m := range mechanisms {
		if strings.EqualFold(m.name, name) {
			return m
		}
	}
	return nil
}

func mechByOID(o der.OID) *mechanism {
	for _, m := range mechanisms {
		for _, mo := range m.oids {
			if mo.Equal(o) {
				return m
			}
		}
	}
	return nil
}

// oidName names an OID for messages: the mechanism it stands for, or its dotted form.
func oidName(o der.OID) string {
	switch {
	case o.Equal(oidNegoEx):
		return "NegoEx"
	case o.Equal(oidKRB5U2U):
		return "Kerberos user-to-user"
	case o.Equal(oidSPNEGO):
		return "SPNEGO"
	case o.Equal(oidMSKRB5):
		return "Kerberos (MS OID)"
	}
	if m := mechByOID(o); m != nil {
		return m.name
	}
	return o.String()
}

func oidNames(oids []der.OID) string {
	var b strings.Builder
	for i, o := range oids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(oidName(o))
	}
	return b.String()
}

func init() { sspi.Register(pkg{}) }

type pkg struct{}

var negotiateInfo = sspi.PackageInfo{
	// INTEGRITY, PRIVACY, CONNECTION, MULTI_REQUIRED, EXTENDED_ERROR, IMPERSONATION,
	// ACCEPT_WIN32_NAME, NEGOTIABLE, GSS_COMPATIBLE, LOGON, RESTRICTED_TOKENS
	Capabilities: 0x00083BB3,
	Version:      1,
	RPCID:        sspi.RPCIDNegotiate,
	MaxToken:     MaxToken,
	Name:         PackageName,
	Comment:      "Microsoft Package Negotiator",
}

// Info reports the SecPkgInfo Windows gives for Negotiate.
func (pkg) Info() sspi.PackageInfo { return negotiateInfo }

// Config is the authData that configures Negotiate beyond one identity: which mechanisms,
// in which order, with which credentials each. Pass a *Config to
// AcquireCredentialsHandle. The zero value means Kerberos then NTLM, each with its
// default credentials.
type Config struct {
	// Mechanisms lists the mechanisms to use, most preferred first, by registry name
	// (Kerberos, NTLM). Empty means Kerberos, NTLM. A client offers them in this order; a
	// server serves the ones listed and follows the client's order among them.
	Mechanisms []string
	// Credentials holds each mechanism's authData, keyed by mechanism name, as that
	// package's AcquireCredentialsHandle takes it: for example
	// {"NTLM": &ntlm.ServerConfig{Accounts: store}, "Kerberos": keytab}. A mechanism
	// without an entry gets nil, its package's default credentials.
	Credentials map[string]any
	// NoOptimisticToken makes a client send only its mechanism list first and start the
	// mechanism the server picks, as some clients do; it costs a round trip. The default
	// sends the first mechanism's token with the list (RFC 4178's optimistic token).
	NoOptimisticToken bool
	// RejectRawTokens makes a server refuse bare NTLMSSP and Kerberos tokens. By default a
	// Negotiate server accepts them, as Windows does, because browsers, mstsc and FreeRDP
	// send them under the Negotiate name.
	RejectRawTokens bool
	// ChannelBindings, when not the zero value (sspi.BindingsWhenPresent, which leaves each
	// mechanism's own setting), is the channel-binding policy of a server, handed to every
	// mechanism in place of its own: with sspi.BindingsRequired a client cannot escape the
	// check by choosing Kerberos instead of NTLM. A mechanism whose credentials cannot take
	// a policy (sspi.ChannelBindingPolicyCredentials) is left out.
	ChannelBindings sspi.ChannelBindingPolicy
	// KerberosIPTargets lets a client offer Kerberos for a target whose host is an IP
	// address ("host/192.0.2.1"), as Windows does only when its TryIPSPN setting is on. By
	// default such a target gets the other mechanisms only, and nothing is asked of a KDC:
	// service principals are registered under host names, and an address (127.0.0.1
	// above all) is no reason to send the user's name to the realm's KDCs.
	KerberosIPTargets bool
}

// credentials is Negotiate's side of a credentials handle: one sub-credential per usable
// mechanism, in preference order. Immutable once built, so one serves many contexts.
type credentials struct {
	use   sspi.CredentialUse
	mechs []*mechCred
	// missing says why each configured mechanism was left out, for the error a context
	// gives when the peer wants one of them.
	missing []error
	cfg     Config
}

// mechCred is one mechanism's package and credentials.
type mechCred struct {
	mech *mechanism
	info sspi.PackageInfo
	cred sspi.PackageCredentials
}

// MechanismError is one mechanism's failure inside Negotiate, naming the mechanism. The
// aggregate errors of AcquireCredentialsHandle and of a client that cannot start any
// mechanism unwrap to a list of them.
type MechanismError struct {
	Mechanism string // "Kerberos", "NTLM"
	Err       error
}

// Error returns "Mechanism: cause".
func (e *MechanismError) Error() string { return e.Mechanism + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *MechanismError) Unwrap() error { return e.Err }

// mechErrors is the aggregate of every mechanism's failure; it unwraps to all of them.
type mechErrors struct {
	what string
	errs []error
}

func (e *mechErrors) Error() string {
	var b strings.Builder
	b.WriteString("negotiate: ")
	b.WriteString(e.what)
	for i, err := range e.errs {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *mechErrors) Unwrap() []error { return e.errs }

// AcquireCredentials acquires every configured mechanism's credentials through the
// registry. A mechanism whose package is not registered, or whose credentials cannot be
// acquired, is left out; only when none is left does it fail, with every reason.
func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	c := &credentials{use: req.Use}
	var names []string
	for _, m := range mechanisms {
		names = append(names, m.name)
	}
	var perMech map[string]any
	var common any
	packageList := ""
	switch a := req.AuthData.(type) {
	case nil:
	case *sspi.AuthIdentity:
		if a == nil {
			break
		}
		common = a
		packageList = a.PackageList
	case *Config:
		if a == nil {
			break
		}
		c.cfg = *a
		if len(a.Mechanisms) > 0 {
			names = a.Mechanisms
		}
		perMech = a.Credentials
		for k := range perMech {
			if mechByName(k) == nil {
				return nil, sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: Config.Credentials names %q, which Negotiate cannot negotiate (it knows Kerberos and NTLM)", k)
			}
		}
	default:
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "negotiate: cannot use %T as credentials (want nil, *sspi.AuthIdentity or *negotiate.Config)", req.AuthData)
	}
	order, err := mechOrder(names, packageList)
	if err != nil {
		return nil, err
	}
	for _, m := range order {
		authData := common
		for k, v := range perMech {
			if strings.EqualFold(k, m.name) {
				authData = v
			}
		}
		p, err := sspi.LookupPackage(m.name)
		if err != nil {
			c.missing = append(c.missing, &MechanismError{m.name, err})
			continue
		}
		sub := *req
		sub.AuthData = authData
		// Kerberos' AS exchange waits for a context whose target it can serve
		// (clientFirst): an IP-address target never causes one.
		sub.DeferLogon = true
		cred, err := p.AcquireCredentials(&sub)
		if err == nil {
			cred, err = c.applyBindingPolicy(cred, req.Use)
		}
		if err != nil {
			c.missing = append(c.missing, &MechanismError{m.name, sspi.WithStatus(sspi.ErrNoCredentials, err)})
			continue
		}
		c.mechs = append(c.mechs, &mechCred{mech: m, info: p.Info(), cred: cred})
	}
	if len(c.mechs) == 0 {
		if len(c.missing) == 0 {
			return nil, sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: no mechanism is left after PackageList %q", packageList)
		}
		return nil, &sspi.Error{Status: sspi.ErrNoCredentials, Err: &mechErrors{what: "no mechanism has credentials", errs: c.missing}}
	}
	return c, nil
}

// applyBindingPolicy hands Config.ChannelBindings to a mechanism's inbound credentials.
func (c *credentials) applyBindingPolicy(cred sspi.PackageCredentials, use sspi.CredentialUse) (sspi.PackageCredentials, error) {
	if c.cfg.ChannelBindings == sspi.BindingsWhenPresent || use&sspi.CredInbound == 0 {
		return cred, nil
	}
	pc, ok := cred.(sspi.ChannelBindingPolicyCredentials)
	if !ok {
		if cl, ok := cred.(sspi.Closer); ok {
			cl.Close()
		}
		return nil, fmt.Errorf("negotiate: the mechanism cannot apply channel-binding policy %s", c.cfg.ChannelBindings)
	}
	return pc.WithChannelBindingPolicy(c.cfg.ChannelBindings)
}

// mechOrder applies a PackageList ("NTLM", "!Kerberos", comma-separated) to names: with
// any plain entry only those are kept; "!" entries are removed. Unknown names in a
// PackageList are ignored, as Windows ignores packages it does not have ("!pku2u"); an
// unknown name in Config.Mechanisms is a mistake and fails.
func mechOrder(names []string, packageList string) ([]*mechanism, error) {
	var order []*mechanism
	for _, n := range names {
		m := mechByName(strings.TrimSpace(n))
		if m == nil {
			return nil, sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: cannot negotiate %q (Negotiate knows Kerberos and NTLM)", n)
		}
		dup := false
		for _, o := range order {
			dup = dup || o == m
		}
		if !dup {
			order = append(order, m)
		}
	}
	if strings.TrimSpace(packageList) == "" {
		return order, nil
	}
	var allow, deny []*mechanism
	for _, e := range strings.Split(packageList, ",") {
		e = strings.TrimSpace(e)
		neg := strings.HasPrefix(e, "!")
		m := mechByName(strings.TrimPrefix(e, "!"))
		switch {
		case m == nil:
		case neg:
			deny = append(deny, m)
		default:
			allow = append(allow, m)
		}
	}
	kept := order[:0]
	for _, m := range order {
		ok := len(allow) == 0
		for _, a := range allow {
			ok = ok || a == m
		}
		for _, d := range deny {
			ok = ok && d != m
		}
		if ok {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

func (c *credentials) find(m *mechanism) *mechCred {
	for _, mc := range c.mechs {
		if mc.mech == m {
			return mc
		}
	}
	return nil
}

// whyMissing returns the reason mechanism m is not available, for error messages.
func (c *credentials) whyMissing(m *mechanism) error {
	for _, err := range c.missing {
		var me *MechanismError
		if errors.As(err, &me) && me.Mechanism == m.name {
			return err
		}
	}
	return nil
}

func (c *credentials) names() string { return mechNames(c.mechs) }

// mechNames lists mechanisms by name, for error messages.
func mechNames(mcs []*mechCred) string {
	var b strings.Builder
	for i, mc := range mcs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mc.mech.name)
	}
	return b.String()
}

// Expiry is when the last mechanism's credentials expire: the handle is usable while any
// mechanism's are (NTLM's never expire).
func (c *credentials) Expiry() time.Time {
	var latest time.Time
	for _, mc := range c.mechs {
		e := mc.cred.Expiry()
		if e.IsZero() {
			return time.Time{}
		}
		if e.After(latest) {
			latest = e
		}
	}
	return latest
}

func (c *credentials) NewContext(server bool) (sspi.PackageContext, error) {
	return &context{creds: c, server: server}, nil
}

// QueryCredentialsAttribute answers from the first mechanism that can, in preference
// order: the name Kerberos or NTLM would use.
func (c *credentials) QueryCredentialsAttribute(attr sspi.CredentialAttribute, out any) error {
	var errs []error
	for _, mc := range c.mechs {
		q, ok := mc.cred.(sspi.CredentialsQuerier)
		if !ok {
			continue
		}
		err := q.QueryCredentialsAttribute(attr, out)
		if err == nil {
			return nil
		}
		errs = append(errs, &MechanismError{mc.mech.name, err})
	}
	if len(errs) == 0 {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "negotiate: no mechanism (%s) reports credential attribute %d", c.names(), attr)
	}
	return &sspi.Error{Status: sspi.StatusOf(errs[0]), Err: &mechErrors{what: fmt.Sprintf("credential attribute %d", attr), errs: errs}}
}

// Close releases every mechanism's credentials.
func (c *credentials) Close() error {
	var errs []error
	for _, mc := range c.mechs {
		if cl, ok := mc.cred.(sspi.Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, &MechanismError{mc.mech.name, err})
			}
		}
	}
	return errors.Join(errs...)
}
