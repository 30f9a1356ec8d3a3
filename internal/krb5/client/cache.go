package krbclient

import (
	"os"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// CCachePath returns the file of a credential cache name: name itself, or KRB5CCNAME, or
// MIT's default /tmp/krb5cc_UID; "FILE:" is removed. Other cache types (KEYRING:, KCM:,
// DIR:, MEMORY:) are refused.
func CCachePath(name string) (string, error) {
	if name == "" {
		name = os.Getenv("KRB5CCNAME")
	}
	if name == "" {
		return "/tmp/krb5cc_" + itoa(os.Getuid()), nil
	}
	if strings.HasPrefix(name, "FILE:") {
		return name[len("FILE:"):], nil
	}
	if i := strings.IndexByte(name, ':'); i > 0 && !strings.Contains(name[:i], "/") {
		return "", sspi.Errorf(sspi.ErrNoCredentials, "krbclient: credential cache %q is of type %s; only FILE: caches are supported", bound(name), bound(name[:i]))
	}
	return name, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// NewFromCCache returns a Client holding the tickets of an MIT credential cache (its TGTs
// and service tickets, configuration entries skipped) for its default principal. It cannot
// log on again when they expire.
func NewFromCCache(opts *Options, cc *ccache.CCache) (*Client, error) {
	c, err := newClient(opts, Principal{Name: cc.DefaultPrincipal.Name, Realm: cc.DefaultPrincipal.Realm})
	if err != nil {
		return nil, err
	}
	// The cache's principal is kept as written (no case mapping): its tickets name it so.
	c.user = Principal{Name: clone(cc.DefaultPrincipal.Name), Realm: cc.DefaultPrincipal.Realm}
	now := c.now()
	for i := range cc.Credentials {
		cr, ok := fromCCache(&cc.Credentials[i])
		if !ok || !cr.valid(now, 0) {
			continue
		}
		if _, isTGT := isTGS(cr.Server.Name); isTGT {
			c.keepTGT(cr)
		} else {
			c.keepTicket(cr.Server.Name.String()+"@"+cr.Server.Realm, cr)
		}
	}
	c.mu.Lock()
	_, ok := c.tgts[c.user.Realm]
	c.mu.Unlock()
	if !ok {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "krbclient: the credential cache holds no valid TGT of %s; run kinit", bound(c.user.String()))
	}
	return c, nil
}

// LoadCCache reads the FILE: cache named by name (CCachePath's rules) and returns a Client
// with its tickets.
func LoadCCache(opts *Options, name string) (*Client, error) {
	path, err := CCachePath(name)
	if err != nil {
		return nil, err
	}
	cc, err := ccache.Load(path)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "krbclient: reading the credential cache %s: %w", bound(path), err)
	}
	return NewFromCCache(opts, cc)
}

func fromCCache(c *ccache.Credential) (*Credential, bool) {
	if c.IsConfig() || c.IsSKey {
		return nil, false
	}
	key, err := krbcrypto.NewKey(krbcrypto.EType(c.Key.Type), c.Key.Value)
	if err != nil {
		return nil, false
	}
	var t wire.Ticket
	if err := t.Unmarshal(c.Ticket); err != nil {
		return nil, false
	}
	t.Raw = append([]byte(nil), t.Raw...)
	return &Credential{
		Client:    Principal{Name: clone(c.Client.Name), Realm: c.Client.Realm},
		Server:    Principal{Name: clone(c.Server.Name), Realm: c.Server.Realm},
		Ticket:    t,
		Key:       key,
		Flags:     c.Flags,
		AuthTime:  c.AuthTime,
		StartTime: c.StartTime,
		EndTime:   c.EndTime,
		RenewTill: c.RenewTill,
	}, true
}

func toCCache(cr *Credential) ccache.Credential {
	return ccache.Credential{
		Client:    ccache.Principal{Name: cr.Client.Name, Realm: cr.Client.Realm},
		Server:    ccache.Principal{Name: cr.Server.Name, Realm: cr.Server.Realm},
		Key:       wire.EncryptionKey{Type: int32(cr.Key.EType()), Value: cr.Key.Bytes()},
		AuthTime:  cr.AuthTime,
		StartTime: cr.StartTime,
		EndTime:   cr.EndTime,
		RenewTill: cr.RenewTill,
		Flags:     cr.Flags,
		Ticket:    cr.Ticket.Raw,
	}
}

// CCache returns the client's tickets as an MIT credential cache: its TGT of its own realm
// first (what kinit writes), then the other TGTs and the service tickets.
func (c *Client) CCache() *ccache.CCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := &ccache.CCache{Version: ccache.Version4, DefaultPrincipal: ccache.Principal{Name: c.user.Name, Realm: c.user.Realm}}
	if t := c.tgts[c.user.Realm]; t != nil {
		cc.Credentials = append(cc.Credentials, toCCache(t))
	}
	for realm, t := range c.tgts {
		if realm != c.user.Realm {
			cc.Credentials = append(cc.Credentials, toCCache(t))
		}
	}
	for _, t := range c.tickets {
		cc.Credentials = append(cc.Credentials, toCCache(t))
	}
	return cc
}

// WriteCCache writes the client's tickets to the FILE: cache named by name (CCachePath's
// rules), atomically with mode 0600.
func (c *Client) WriteCCache(name string) error {
	path, err := CCachePath(name)
	if err != nil {
		return err
	}
	if err := c.CCache().WriteFile(path); err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "krbclient: writing the credential cache %s: %w", bound(path), err)
	}
	return nil
}
