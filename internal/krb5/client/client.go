package krbclient

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Defaults of Options.
const (
	DefaultAttemptTimeout = 3 * time.Second
	DefaultMaxHops        = 10
	// maxCached bounds the service tickets kept per Client.
	maxCached = 256
)

// PACRequest says whether an AS request carries MS-KILE's PA-PAC-REQUEST.
type PACRequest uint8

const (
	// PACDefault sends no PA-PAC-REQUEST, as MIT's kinit does; the KDC decides.
	PACDefault PACRequest = iota
	// PACInclude asks for a PAC (include-pac TRUE), as Windows does.
	PACInclude
	// PACExclude asks for none.
	PACExclude
)

// Options configure a Client. The zero value is usable: krb5.conf from KRB5_CONFIG, the
// system resolver, crypto/rand and the system clock.
type Options struct {
	// Config is krb5.conf; nil means krbconf.LoadDefault().
	Config *krbconf.Config
	// Resolver finds KDCs in DNS when dns_lookup_kdc allows; nil means net.DefaultResolver.
	Resolver Resolver
	// HostResolver answers the TXT look-ups (dns_lookup_realm) for the fallback realm of a
	// host-based service that the client's realm neither holds nor refers; nil means
	// net.DefaultResolver.
	HostResolver HostResolver
	// Dial opens connections to KDCs; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// AttemptTimeout bounds one request to one KDC over one transport; zero means
	// DefaultAttemptTimeout. The context bounds the whole exchange.
	AttemptTimeout time.Duration
	// MaxHops bounds referrals and cross-realm steps of one request (DefaultMaxHops).
	MaxHops int
	// PAC controls PA-PAC-REQUEST in AS requests.
	PAC PACRequest
	// Forwardable asks for forwardable tickets (and so delegation) even when krb5.conf's
	// forwardable is off.
	Forwardable bool
	// Rand is the source of nonces, subkeys and confounders; nil means crypto/rand.
	Rand io.Reader
	// Time is the clock; nil means time.Now.
	Time func() time.Time
	// Armor is a TGT of the client's realm (a host's, from its keytab: see ArmorTGT)
	// whose session key armors the AS exchange with FAST (RFC 6113): the request, the
	// preauthentication (an encrypted challenge instead of an encrypted timestamp) and
	// the reply travel encrypted in the armor key, so that no one who watches the
	// exchange can guess the password offline, and a KDC that requires armoring accepts
	// the logon. With Armor set, a reply without FAST fails the logon rather than being
	// accepted: an attacker could otherwise strip FAST. TGS requests with the TGT got so
	// are armored too (see the package documentation). Nil: no FAST.
	Armor *Credential
}

// Principal is a principal name and its realm.
type Principal struct {
	Name  wire.PrincipalName
	Realm string
}

func (p Principal) String() string { return p.Name.String() + "@" + p.Realm }

// ParsePrincipal reads "name[/instance...][@REALM]" with MIT's escapes (\/, \@, \\); a
// name without a realm gets defaultRealm (which may be empty: for a service, the client's
// realm and its referrals). The name type is NT-PRINCIPAL, or NT-SRV-INST for
// krbtgt/..., or NT-SRV-HST for two-component service names.
func ParsePrincipal(s, defaultRealm string) (Principal, error) {
	var comps []string
	var cur strings.Builder
	realm, inRealm := "", false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '/' && !inRealm:
			comps = append(comps, cur.String())
			cur.Reset()
		case ch == '@' && !inRealm:
			comps = append(comps, cur.String())
			cur.Reset()
			inRealm = true
		default:
			cur.WriteByte(ch)
		}
	}
	if inRealm {
		realm = cur.String()
	} else {
		comps = append(comps, cur.String())
		realm = defaultRealm
	}
	for _, c := range comps {
		if c == "" {
			return Principal{}, sspi.Errorf(sspi.ErrUnknownCredentials, "krbclient: principal %q has an empty component", bound(s))
		}
	}
	if len(comps) > wire.MaxNameComponents {
		return Principal{}, sspi.Errorf(sspi.ErrUnknownCredentials, "krbclient: principal %q has too many components", bound(s))
	}
	t := int32(wire.NamePrincipal)
	if len(comps) == 2 {
		t = wire.NameSrvHost
		if comps[0] == "krbtgt" {
			t = wire.NameSrvInst
		}
	}
	return Principal{Name: wire.PrincipalName{Type: t, Components: comps}, Realm: realm}, nil
}

// Enterprise returns RFC 6806's enterprise name for upn ("alice@upn.suffix"), to be asked
// for in realm (the user's realm or the default realm): the KDC maps it to the account.
func Enterprise(upn, realm string) Principal {
	return Principal{Name: wire.PrincipalName{Type: wire.NameEnterprise, Components: []string{upn}}, Realm: realm}
}

// Credential is a ticket and what the client knows of it.
type Credential struct {
	Client, Server Principal
	// Ticket keeps the DER the KDC sent (Ticket.Raw).
	Ticket    wire.Ticket
	Key       *krbcrypto.Key
	Flags     uint32
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time

	// armored says the TGT came from an armored (FAST) logon: its KDC does FAST, so TGS
	// requests with it are armored too.
	armored bool
}

// valid reports whether c can be used at now, with skew to spare.
func (c *Credential) valid(now time.Time, skew time.Duration) bool {
	return c != nil && now.Add(skew).Before(c.EndTime)
}

// Client gets and keeps tickets for one client principal, from a password, a keytab or a
// credential cache. It is safe for concurrent use.
type Client struct {
	opts Options
	conf *krbconf.Config
	user Principal

	password string
	keytab   *keytab.Keytab

	mu      sync.Mutex
	tgts    map[string]*Credential // by the realm of the KDC that takes them
	tickets map[string]*Credential // by service principal

	onAttempt func(addr string, tcp bool) // tests: which transport answered
}

func newClient(opts *Options, user Principal) (*Client, error) {
	c := &Client{tgts: map[string]*Credential{}, tickets: map[string]*Credential{}}
	if opts != nil {
		c.opts = *opts
	}
	c.conf = c.opts.Config
	if c.conf == nil {
		conf, err := krbconf.LoadDefault()
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrNoAuthenticatingAuthority, "krbclient: %w", err)
		}
		c.conf = conf
	}
	if user.Realm == "" {
		user.Realm = c.conf.LibDefaults.DefaultRealm
	}
	if user.Realm == "" {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "krbclient: %s has no realm and krb5.conf sets no default_realm", bound(user.Name.String()))
	}
	user.Realm = c.conf.CanonicalRealm(user.Realm)
	c.user = user
	return c, nil
}

// NewWithPassword returns a Client that logs user on with a password.
func NewWithPassword(opts *Options, user Principal, password string) (*Client, error) {
	c, err := newClient(opts, user)
	if err != nil {
		return nil, err
	}
	c.password = password
	return c, nil
}

// NewWithKeytab returns a Client that logs user on with its keys from kt.
func NewWithKeytab(opts *Options, user Principal, kt *keytab.Keytab) (*Client, error) {
	c, err := newClient(opts, user)
	if err != nil {
		return nil, err
	}
	c.keytab = kt
	return c, nil
}

// User is the client principal (its canonical name once the KDC has answered).
func (c *Client) User() Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Config is the krb5.conf in use.
func (c *Client) Config() *krbconf.Config { return c.conf }

// Destroy forgets the password and zeroes every key the client holds.
func (c *Client) Destroy() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.password = ""
	for _, m := range []map[string]*Credential{c.tgts, c.tickets} {
		for k, cr := range m {
			cr.Key.Destroy()
			delete(m, k)
		}
	}
}

func (c *Client) now() time.Time {
	if c.opts.Time != nil {
		return c.opts.Time()
	}
	return time.Now()
}

func (c *Client) rand() io.Reader {
	if c.opts.Rand != nil {
		return c.opts.Rand
	}
	return rand.Reader
}

func (c *Client) resolver() Resolver {
	if c.opts.Resolver != nil {
		return c.opts.Resolver
	}
	return net.DefaultResolver
}

func (c *Client) attemptTimeout() time.Duration {
	if c.opts.AttemptTimeout > 0 {
		return c.opts.AttemptTimeout
	}
	return DefaultAttemptTimeout
}

func (c *Client) maxHops() int {
	if c.opts.MaxHops > 0 {
		return c.opts.MaxHops
	}
	return DefaultMaxHops
}

func (c *Client) skew() time.Duration { return c.conf.LibDefaults.ClockSkew }

// nonce draws a 31-bit nonce: some KDCs mishandle the top bit (MIT draws them the same way).
func (c *Client) nonce() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.rand(), b[:]); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "krbclient: reading random bytes: %w", err)
	}
	return binary.BigEndian.Uint32(b[:]) & 0x7fffffff, nil
}

// TGT returns a ticket-granting ticket for the client's realm: the one held if it is still
// valid, otherwise one from an AS exchange (which needs a password or keytab).
func (c *Client) TGT(ctx context.Context) (*Credential, error) {
	c.mu.Lock()
	realm := c.user.Realm
	tgt := c.tgts[realm]
	c.mu.Unlock()
	if tgt.valid(c.now(), c.skew()) {
		return tgt, nil
	}
	return c.Login(ctx)
}

func tgsName(realm string) wire.PrincipalName {
	return wire.PrincipalName{Type: wire.NameSrvInst, Components: []string{"krbtgt", realm}}
}

// isTGS reports whether n is krbtgt/X, and returns X.
func isTGS(n wire.PrincipalName) (string, bool) {
	if len(n.Components) == 2 && n.Components[0] == "krbtgt" {
		return n.Components[1], true
	}
	return "", false
}

func (c *Client) keepTGT(cr *Credential) {
	if realm, ok := isTGS(cr.Server.Name); ok {
		c.mu.Lock()
		// A TGT krbtgt/X@Y is presented to the KDC of X. The client's own realm's is the
		// one its realm issued (TGT): a TGT for it that another realm's KDC issued (a
		// referral back home, which chase refuses as a loop) does not take its place,
		// or every later request to the client's realm would carry it.
		if realm != c.user.Realm || cr.Server.Realm == realm {
			c.tgts[realm] = cr
		}
		c.mu.Unlock()
	}
}

func (c *Client) keepTicket(key string, cr *Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tickets) >= maxCached {
		now := c.now()
		for k, t := range c.tickets {
			// Dropped, not destroyed: a caller may still hold it.
			if !t.valid(now, 0) || len(c.tickets) >= maxCached {
				delete(c.tickets, k)
			}
		}
	}
	c.tickets[key] = cr
}
