package kdctest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Defaults of Options.
const (
	// DefaultMaxTicketLife is MIT's default max_life.
	DefaultMaxTicketLife = 24 * time.Hour
	// DefaultMaxRenewableLife is the max_renewable_life of Debian's kdc.conf.
	DefaultMaxRenewableLife = 7 * 24 * time.Hour
	// DefaultMaxClockSkew is MIT's default clockskew.
	DefaultMaxClockSkew = 5 * time.Minute
	// DefaultMaxUDPReply is the longest reply sent over UDP, Windows' default
	// MaxDatagramReplySize (MIT's KDC answers up to 64 KiB): a TGS reply with a large PAC
	// is refused with KRB_ERR_RESPONSE_TOO_BIG and comes over TCP.
	DefaultMaxUDPReply = 1465
	// MaxRequestSize bounds a request over TCP (UDP datagrams are at most 64 KiB anyway).
	// The largest real request, a TGS-REQ whose TGT carries a big PAC, is a few tens of KiB.
	MaxRequestSize = 256 << 10
)

// DefaultEnctypes are the key types of principals when Options.Enctypes is nil: the AES
// types of MIT 1.20's default, most preferred first. RC4 is left out unless asked for.
var DefaultEnctypes = []string{
	"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96",
	"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128",
}

// Options configure a KDC. The zero value (but for Realm) is a KDC like MIT's with its
// defaults.
type Options struct {
	// Realm is the realm served, by convention in upper case ("EXAMPLE.TEST").
	Realm string
	// Enctypes are the encryption types of every principal's keys and of session keys, by
	// krb5.conf name ("aes256-cts-hmac-sha1-96", "aes", "rc4-hmac"...), most preferred
	// first; nil means DefaultEnctypes. RC4 (weak) is used only when listed here.
	Enctypes []string
	// MaxTicketLife bounds a ticket's lifetime; zero means DefaultMaxTicketLife.
	MaxTicketLife time.Duration
	// MaxRenewableLife bounds renew-till; zero means DefaultMaxRenewableLife, negative
	// makes no ticket renewable.
	MaxRenewableLife time.Duration
	// MaxClockSkew bounds the difference between a client's timestamps and the KDC's
	// clock; zero means DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// NoForwardable refuses forwardable and forwarded tickets (KDC_ERR_BADOPTION for
	// FORWARDED; FORWARDABLE is not granted), as a principal without allow_forwardable.
	NoForwardable bool
	// MaxUDPReply is the longest reply sent over UDP; a longer one is replaced by
	// KRB_ERR_RESPONSE_TOO_BIG. Zero means DefaultMaxUDPReply, negative no UDP limit.
	MaxUDPReply int
	// Time is the KDC's clock; nil means time.Now.
	Time func() time.Time
	// Rand is the source of session keys, service keys and confounders; nil means
	// crypto/rand.
	Rand io.Reader
	// Logf, when set, gets one line per request: what was asked and the outcome.
	Logf func(format string, args ...any)
}

// principal is one entry of the KDC's in-memory database.
type principal struct {
	name wire.PrincipalName
	salt string
	kvno uint32
	keys []*krbcrypto.Key // in the KDC's etype order
	// service is set for principals made by AddService (exported by Keytab with no names).
	service bool
	// pac, when set (SetPAC), goes into the user's service tickets.
	pac *userPAC
	// okAsDelegate sets OK-AS-DELEGATE in the service's tickets (SetOKAsDelegate).
	okAsDelegate bool
}

func (p *principal) key(et krbcrypto.EType) *krbcrypto.Key {
	for _, k := range p.keys {
		if k.EType() == et {
			return k
		}
	}
	return nil
}

// Counts are the requests a KDC has answered, for tests that check which path a client
// took.
type Counts struct {
	AS, TGS  int // requests that decoded as AS-REQ and TGS-REQ
	UDP, TCP int // requests received over each transport
	// TooBig is the number of UDP replies replaced by KRB_ERR_RESPONSE_TOO_BIG.
	TooBig int
	// Errors is the number of KRB-ERROR replies (TooBig included).
	Errors int
}

// KDC is a running in-process KDC. Its methods are safe for concurrent use.
type KDC struct {
	realm         string
	etypes        []krbcrypto.EType
	maxLife       time.Duration
	maxRenew      time.Duration
	skew          time.Duration
	noForwardable bool
	maxUDP        int
	now           func() time.Time
	rand          io.Reader
	logf          func(string, ...any)

	tcp net.Listener
	udp net.PacketConn
	wg  sync.WaitGroup

	mu     sync.RWMutex
	db     map[string]*principal
	counts Counts
	conns  map[net.Conn]struct{}
	closed atomic.Bool
}

// NewKDC starts a KDC for realm with default options on 127.0.0.1. Like
// httptest.NewServer, it panics when it cannot listen; New returns the error instead.
func NewKDC(realm string) *KDC {
	k, err := New(&Options{Realm: realm})
	if err != nil {
		panic(err)
	}
	return k
}

// New starts a KDC with opts on 127.0.0.1: TCP and UDP on one ephemeral port.
func New(opts *Options) (*KDC, error) {
	if opts == nil || opts.Realm == "" {
		return nil, errors.New("kdctest: no realm")
	}
	if strings.ContainsAny(opts.Realm, "/@\\ \t\n{}=") {
		return nil, fmt.Errorf("kdctest: realm %q has characters krb5.conf cannot carry", opts.Realm)
	}
	names := opts.Enctypes
	if names == nil {
		names = DefaultEnctypes
	}
	etypes := krbconf.ParseEnctypes(strings.Join(names, " "), true)
	if len(etypes) == 0 {
		return nil, fmt.Errorf("kdctest: Enctypes %q names no encryption type this project implements", names)
	}
	k := &KDC{
		realm: opts.Realm, etypes: etypes,
		maxLife: orDefault(opts.MaxTicketLife, DefaultMaxTicketLife), maxRenew: orDefault(opts.MaxRenewableLife, DefaultMaxRenewableLife),
		skew: orDefault(opts.MaxClockSkew, DefaultMaxClockSkew), noForwardable: opts.NoForwardable,
		maxUDP: opts.MaxUDPReply, now: opts.Time, rand: opts.Rand, logf: opts.Logf,
		db: map[string]*principal{}, conns: map[net.Conn]struct{}{},
	}
	if k.maxUDP == 0 {
		k.maxUDP = DefaultMaxUDPReply
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if _, err := k.addRandom(wire.PrincipalName{Type: wire.NameSrvInst, Components: []string{"krbtgt", k.realm}}, false); err != nil {
		return nil, err
	}
	if err := k.listen(); err != nil {
		return nil, err
	}
	k.wg.Add(2)
	go k.serveTCP()
	go k.serveUDP()
	return k, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// listen binds TCP and UDP on the same loopback port, so that krb5.conf names one address.
func (k *KDC) listen() error {
	var lastErr error
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("kdctest: %w", err)
		}
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			l.Close()
			lastErr = err // another process has that UDP port: try another
			continue
		}
		k.tcp, k.udp = l, u
		return nil
	}
	return fmt.Errorf("kdctest: no loopback port free for both TCP and UDP: %w", lastErr)
}

// Realm returns the realm the KDC serves.
func (k *KDC) Realm() string { return k.realm }

// Addr returns the KDC's address, "127.0.0.1:port", for TCP and UDP alike.
func (k *KDC) Addr() string { return k.tcp.Addr().String() }

// Counts returns the requests answered so far.
func (k *KDC) Counts() Counts {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.counts
}

// Close stops the KDC: it closes its sockets and waits for the requests being answered.
// The principals and their keys are forgotten. Close is idempotent.
func (k *KDC) Close() error {
	if k.closed.Swap(true) {
		return nil
	}
	k.tcp.Close()
	k.udp.Close()
	k.mu.Lock()
	for c := range k.conns {
		c.Close()
	}
	k.mu.Unlock()
	k.wg.Wait()
	k.mu.Lock()
	for _, p := range k.db {
		for _, key := range p.keys {
			key.Destroy()
		}
	}
	k.db = map[string]*principal{}
	k.mu.Unlock()
	return nil
}

// parseName reads "name", "service/host" or either with "@REALM" (which must be the KDC's).
func (k *KDC) parseName(s string) (wire.PrincipalName, error) {
	p, err := krbclient.ParsePrincipal(s, k.realm)
	if err != nil {
		return wire.PrincipalName{}, fmt.Errorf("kdctest: %w", err)
	}
	if p.Realm != k.realm {
		return wire.PrincipalName{}, fmt.Errorf("kdctest: principal %q is not of realm %s", s, k.realm)
	}
	return p.Name, nil
}

func dbKey(n wire.PrincipalName) string { return strings.Join(n.Components, "\x00") }

// AddUser adds (or replaces, with the next key version) a principal whose keys are made
// from password with the default salt, realm followed by the name's components, as
// kadmin's addprinc does. name is "alice", "alice@REALM" or "host/name" for a service that
// logs on with a password.
func (k *KDC) AddUser(name, password string) error {
	n, err := k.parseName(name)
	if err != nil {
		return err
	}
	if n.Type == wire.NameSrvHost {
		n.Type = wire.NamePrincipal // as kadmin stores it; the type is not part of the name
	}
	salt := k.realm + strings.Join(n.Components, "")
	p := &principal{name: n, salt: salt}
	for _, et := range k.etypes {
		key, err := krbcrypto.StringToKey(et, password, salt, nil)
		if err != nil {
			return fmt.Errorf("kdctest: %w", err)
		}
		p.keys = append(p.keys, key)
	}
	k.store(p)
	return nil
}

// AddService adds (or replaces) a service principal ("host/localhost", "HTTP/www.example.test")
// with random keys of every encryption type and returns a keytab (MIT's file format) that
// holds them, as kadmin's addprinc -randkey and ktadd do.
func (k *KDC) AddService(spn string) ([]byte, error) {
	n, err := k.parseName(spn)
	if err != nil {
		return nil, err
	}
	n.Type = wire.NameSrvHost
	if len(n.Components) != 2 {
		n.Type = wire.NamePrincipal
	}
	if _, err := k.addRandom(n, true); err != nil {
		return nil, err
	}
	return k.Keytab(spn)
}

// SetOKAsDelegate sets or clears OK-AS-DELEGATE (RFC 4120 2.8) in the tickets of spn, the
// flag by which a realm says a service is trusted with its clients' delegated TGTs
// (Windows clients delegate only to such services; MIT's do with ok-as-delegate policy).
func (k *KDC) SetOKAsDelegate(spn string, ok bool) error {
	n, err := k.parseName(spn)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.db[dbKey(n)]
	if p == nil || !p.service {
		return fmt.Errorf("kdctest: no service %s in realm %s", spn, k.realm)
	}
	cp := *p // requests being answered may hold p: entries are replaced, never changed
	cp.okAsDelegate = ok
	k.db[dbKey(n)] = &cp
	return nil
}

func (k *KDC) addRandom(n wire.PrincipalName, service bool) (*principal, error) {
	p := &principal{name: n, service: service, salt: k.realm + strings.Join(n.Components, "")}
	for _, et := range k.etypes {
		key, err := k.randomKey(et)
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, key)
	}
	k.store(p)
	return p, nil
}

func (k *KDC) randomKey(et krbcrypto.EType) (*krbcrypto.Key, error) {
	b := make([]byte, et.KeySize())
	defer clear(b)
	if _, err := io.ReadFull(k.rand, b); err != nil {
		return nil, fmt.Errorf("kdctest: reading random bytes: %w", err)
	}
	key, err := krbcrypto.RandomToKey(et, b)
	if err != nil {
		return nil, fmt.Errorf("kdctest: %w", err)
	}
	return key, nil
}

func (k *KDC) store(p *principal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p.kvno = 1
	if old := k.db[dbKey(p.name)]; old != nil {
		p.kvno = old.kvno + 1
		p.service = p.service || old.service
		if p.pac == nil {
			p.pac = old.pac // a new password keeps the PAC
		}
		p.okAsDelegate = p.okAsDelegate || old.okAsDelegate
	}
	k.db[dbKey(p.name)] = p
}

func (k *KDC) lookup(n wire.PrincipalName) *principal {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.db[dbKey(n)]
}

func (k *KDC) krbtgt() *principal {
	return k.lookup(wire.PrincipalName{Components: []string{"krbtgt", k.realm}})
}

// Keytab returns a keytab (MIT's file format, version 0x502) with the current keys of the
// principals named (users included: a client keytab for kinit -k); no names means every
// service added by AddService.
func (k *KDC) Keytab(principals ...string) ([]byte, error) {
	var list []*principal
	if len(principals) == 0 {
		k.mu.RLock()
		for _, p := range k.db {
			if p.service {
				list = append(list, p)
			}
		}
		k.mu.RUnlock()
	}
	for _, s := range principals {
		n, err := k.parseName(s)
		if err != nil {
			return nil, err
		}
		p := k.lookup(n)
		if p == nil {
			return nil, fmt.Errorf("kdctest: no principal %s in realm %s", s, k.realm)
		}
		list = append(list, p)
	}
	kt := &keytab.Keytab{}
	ts := k.now()
	for _, p := range list {
		for _, key := range p.keys {
			kt.Entries = append(kt.Entries, keytab.Entry{
				Principal: p.name, Realm: k.realm, Timestamp: ts, KVNO: p.kvno,
				Key: wire.EncryptionKey{Type: int32(key.EType()), Value: key.Bytes()},
			})
		}
	}
	b, err := kt.Marshal()
	for i := range kt.Entries {
		clear(kt.Entries[i].Key.Value)
	}
	if err != nil {
		return nil, fmt.Errorf("kdctest: %w", err)
	}
	return b, nil
}

// WriteKeytab writes Keytab(principals...) to path with mode 0600.
func (k *KDC) WriteKeytab(path string, principals ...string) error {
	b, err := k.Keytab(principals...)
	if err != nil {
		return err
	}
	defer clear(b)
	return os.WriteFile(path, b, 0o600)
}

// Config returns a krb5.conf for clients of the KDC: its realm as the default realm, its
// address for UDP and TCP, localhost mapped to the realm, no DNS, and the KDC's encryption
// types (with allow_rc4 when RC4 is among them). MIT's tools and package kerberos read it
// (KRB5_CONFIG, kerberos.ClientConfig.Config).
func (k *KDC) Config() string {
	var names []string
	rc4 := false
	for _, et := range k.etypes {
		names = append(names, et.String())
		rc4 = rc4 || et == krbcrypto.RC4HMAC
	}
	list := strings.Join(names, " ")
	var b strings.Builder
	fmt.Fprintf(&b, "# krb5.conf of an in-process test KDC (kerberos/kdctest); gone when it closes.\n")
	fmt.Fprintf(&b, "[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n", k.realm)
	fmt.Fprintf(&b, "\tdns_canonicalize_hostname = false\n\trdns = false\n\tudp_preference_limit = %d\n", krbconf.DefaultUDPPreferenceLimit)
	fmt.Fprintf(&b, "\tdefault_tkt_enctypes = %s\n\tdefault_tgs_enctypes = %s\n\tpermitted_enctypes = %s\n", list, list, list)
	if rc4 {
		fmt.Fprintf(&b, "\tallow_rc4 = true\n")
	}
	fmt.Fprintf(&b, "[realms]\n\t%s = {\n\t\tkdc = %s\n\t}\n", k.realm, k.Addr())
	fmt.Fprintf(&b, "[domain_realm]\n\tlocalhost = %s\n\t.localhost = %s\n", k.realm, k.realm)
	return b.String()
}

// WriteConfig writes Config() to path (mode 0644).
func (k *KDC) WriteConfig(path string) error {
	return os.WriteFile(path, []byte(k.Config()), 0o644)
}

func (k *KDC) count(f func(c *Counts)) {
	k.mu.Lock()
	f(&k.counts)
	k.mu.Unlock()
}

func (k *KDC) log(format string, args ...any) {
	if k.logf != nil {
		k.logf("kdctest: "+format, args...)
	}
}

// bound shortens a string from the wire for a log line or e-text.
func bound(s string) string {
	const maxText = 96
	if len(s) > maxText {
		s = s[:maxText] + "..."
	}
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}
