package krbconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// DefaultPath is read when KRB5_CONFIG is unset, as MIT does on Linux.
const DefaultPath = "/etc/krb5.conf"

// Defaults MIT applies when krb5.conf says nothing.
const (
	DefaultUDPPreferenceLimit = 1465
	// MaxUDPPreferenceLimit is MIT's hard limit: larger settings are lowered to it.
	MaxUDPPreferenceLimit = 32700
	DefaultClockSkew      = 5 * time.Minute
	DefaultTicketLifetime = 24 * time.Hour
)

// ErrNoConfig is returned (wrapped, with fs.ErrNotExist) when none of the files exists.
var ErrNoConfig = errors.New("krbconf: no krb5.conf found")

// Config is krb5.conf as MIT reads it: every file of the search path merged, first value of
// a single-valued relation winning, multi-valued relations (kdc) collected from all files in
// order. The fields hold what this project uses, with MIT's defaults filled in; Get and
// GetAll reach anything else.
type Config struct {
	// Files are the files read, in order, includes included.
	Files []string

	LibDefaults LibDefaults
	// Realms are the [realms] subsections in order of first appearance.
	Realms []Realm
	// DomainRealm are the [domain_realm] relations in order (first value of a name wins).
	DomainRealm []DomainRealm

	files []file
}

// LibDefaults is [libdefaults].
type LibDefaults struct {
	DefaultRealm string
	// DNSLookupKDC (dns_lookup_kdc, MIT default true) allows SRV lookups for a realm's KDCs.
	DNSLookupKDC bool
	// DNSLookupRealm (dns_lookup_realm, default false) allows TXT lookups for a host's realm.
	DNSLookupRealm bool
	// UDPPreferenceLimit (udp_preference_limit, default 1465): a message longer than this goes
	// over TCP first. Clamped to 1..MaxUDPPreferenceLimit.
	UDPPreferenceLimit int
	// Encryption types for AS requests, TGS requests and any session key, in preference
	// order, limited to the types this project implements. RC4 is removed unless AllowRC4.
	DefaultTktEnctypes []krbcrypto.EType
	DefaultTGSEnctypes []krbcrypto.EType
	PermittedEnctypes  []krbcrypto.EType
	// AllowWeakCrypto (allow_weak_crypto) is read for completeness; the weak (DES) types it
	// would allow are not implemented.
	AllowWeakCrypto bool
	// AllowRC4 (allow_rc4, Debian's MIT 1.20.1+deb12u4 and later) keeps rc4-hmac in the lists.
	AllowRC4 bool
	// Forwardable, RenewLifetime and TicketLifetime shape the AS request (forwardable,
	// renew_lifetime default 0, ticket_lifetime default 1 day).
	Forwardable    bool
	RenewLifetime  time.Duration
	TicketLifetime time.Duration
	// ClockSkew (clockskew, default 300 s) is the tolerance of timestamp checks.
	ClockSkew time.Duration
	// RDNS (rdns, default true) and DNSCanonicalizeHostname (dns_canonicalize_hostname:
	// "true" by default, "false" or "fallback") govern host name canonicalisation for
	// host-based service names.
	RDNS                    bool
	DNSCanonicalizeHostname string
	// Canonicalize (canonicalize, default false) sets the canonicalize KDC option in AS
	// requests.
	Canonicalize bool
}

// Realm is one [realms] subsection.
type Realm struct {
	Name string
	// KDC are the kdc relations as written ("host", "host:port", "[v6]:port", with an
	// optional "tcp/" or "udp/" prefix).
	KDC         []string
	AdminServer []string
	// MasterKDC are master_kdc relations (primary_kdc, MIT 1.19's new spelling, included).
	MasterKDC []string
}

// DomainRealm is one [domain_realm] relation: a host name, or a domain with a leading '.'.
type DomainRealm struct {
	Domain, Realm string
}

// LoadDefault reads the files MIT would: KRB5_CONFIG's colon-separated list, or DefaultPath.
func LoadDefault() (*Config, error) {
	if env := os.Getenv("KRB5_CONFIG"); env != "" {
		return Load(strings.Split(env, ":")...)
	}
	return Load(DefaultPath)
}

// Load reads and merges the files in order. Missing files are skipped, as MIT skips them;
// when none exists the error wraps ErrNoConfig and fs.ErrNotExist. Any other read or parse
// error fails the load, naming the file and line.
func Load(paths ...string) (*Config, error) {
	p := &parser{readFile: osReadFile, readDir: osReadDir}
	var files []file
	for _, path := range paths {
		if path == "" {
			continue
		}
		root := &node{}
		if err := p.load(path, 0, root); err != nil {
			if errors.Is(err, fs.ErrNotExist) && isTopMissing(err, path) {
				continue
			}
			return nil, err
		}
		files = append(files, file{path: path, root: root})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w (looked for %s): %w", ErrNoConfig, truncate(strings.Join(paths, ":")), fs.ErrNotExist)
	}
	return build(files), nil
}

// isTopMissing tells a missing top-level file (skipped) from a missing include (an error).
func isTopMissing(err error, path string) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Path == path
}

// Parse reads one krb5.conf from memory. include and includedir directives read the
// named files from disk.
func Parse(data []byte) (*Config, error) {
	return parseWith(data, osReadFile, osReadDir)
}

func parseWith(data []byte, readFile func(string) ([]byte, error), readDir func(string) ([]string, error)) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("krbconf: configuration larger than %d bytes", MaxFileSize)
	}
	p := &parser{readFile: readFile, readDir: readDir, files: 1}
	root := &node{}
	if err := p.parse("krb5.conf", string(data), 0, root); err != nil {
		return nil, err
	}
	return build([]file{{path: "", root: root}}), nil
}

func build(files []file) *Config {
	c := &Config{files: files}
	for _, f := range files {
		if f.path != "" {
			c.Files = append(c.Files, f.path)
		}
	}
	c.fillLibDefaults()
	for _, name := range subsections(files, "realms") {
		r := Realm{
			Name:        name,
			KDC:         c.GetAll("realms", name, "kdc"),
			AdminServer: c.GetAll("realms", name, "admin_server"),
			MasterKDC:   append(c.GetAll("realms", name, "master_kdc"), c.GetAll("realms", name, "primary_kdc")...),
		}
		c.Realms = append(c.Realms, r)
	}
	for _, kv := range relations(files, "domain_realm") {
		c.DomainRealm = append(c.DomainRealm, DomainRealm{Domain: strings.ToLower(kv[0]), Realm: kv[1]})
	}
	return c
}

func (c *Config) fillLibDefaults() {
	l := &c.LibDefaults
	l.DefaultRealm, _ = c.Get("libdefaults", "default_realm")
	l.DNSLookupKDC = c.boolean("dns_lookup_kdc", true)
	l.DNSLookupRealm = c.boolean("dns_lookup_realm", false)
	l.UDPPreferenceLimit = DefaultUDPPreferenceLimit
	if v, ok := c.Get("libdefaults", "udp_preference_limit"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			l.UDPPreferenceLimit = min(max(n, 1), MaxUDPPreferenceLimit)
		}
	}
	l.AllowWeakCrypto = c.boolean("allow_weak_crypto", false)
	l.AllowRC4 = c.boolean("allow_rc4", false)
	l.PermittedEnctypes = c.enctypes("permitted_enctypes", nil)
	l.DefaultTktEnctypes = c.enctypes("default_tkt_enctypes", l.PermittedEnctypes)
	l.DefaultTGSEnctypes = c.enctypes("default_tgs_enctypes", l.PermittedEnctypes)
	l.Forwardable = c.boolean("forwardable", false)
	l.RenewLifetime = c.duration("renew_lifetime", 0)
	l.TicketLifetime = c.duration("ticket_lifetime", DefaultTicketLifetime)
	l.ClockSkew = c.duration("clockskew", DefaultClockSkew)
	l.RDNS = c.boolean("rdns", true)
	l.DNSCanonicalizeHostname = "true"
	if v, ok := c.Get("libdefaults", "dns_canonicalize_hostname"); ok {
		if strings.EqualFold(v, "fallback") {
			l.DNSCanonicalizeHostname = "fallback"
		} else if b, ok := ParseBool(v); ok && !b {
			l.DNSCanonicalizeHostname = "false"
		}
	}
	l.Canonicalize = c.boolean("canonicalize", false)
}

// Get returns the first value of the relation at path ("libdefaults", "default_realm" or
// "realms", "EXAMPLE.COM", "kdc").
func (c *Config) Get(path ...string) (string, bool) {
	var out string
	found := false
	lookup(c.files, path, func(v string) bool {
		out, found = v, true
		return false
	})
	return out, found
}

// GetAll returns every value of the relation at path, from every file, in order.
func (c *Config) GetAll(path ...string) []string {
	var out []string
	lookup(c.files, path, func(v string) bool {
		out = append(out, v)
		return true
	})
	return out
}

func (c *Config) boolean(tag string, def bool) bool {
	if v, ok := c.Get("libdefaults", tag); ok {
		if b, ok := ParseBool(v); ok {
			return b
		}
	}
	return def
}

func (c *Config) duration(tag string, def time.Duration) time.Duration {
	if v, ok := c.Get("libdefaults", tag); ok {
		if d, err := ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func (c *Config) enctypes(tag string, def []krbcrypto.EType) []krbcrypto.EType {
	allowRC4 := c.LibDefaults.AllowRC4
	v, ok := c.Get("libdefaults", tag)
	if !ok {
		if def != nil {
			return def
		}
		return defaultEnctypes(allowRC4)
	}
	return ParseEnctypes(v, allowRC4)
}

// Realm returns the [realms] entry named name (exact match), if any.
func (c *Config) Realm(name string) (*Realm, bool) {
	for i := range c.Realms {
		if c.Realms[i].Name == name {
			return &c.Realms[i], true
		}
	}
	return nil, false
}

// CanonicalRealm returns the spelling krb5.conf uses for a realm named without regard to
// case ("gosspi.test" for GOSSPI.TEST): the default realm or a [realms] name equal to it
// but for case; otherwise name upper-cased, as Active Directory names its realms. Windows
// treats realm names without case; MIT's KDC does not, so the client sends the canonical
// spelling.
func (c *Config) CanonicalRealm(name string) string {
	if name == c.LibDefaults.DefaultRealm {
		return name
	}
	if _, ok := c.Realm(name); ok {
		return name
	}
	if strings.EqualFold(name, c.LibDefaults.DefaultRealm) {
		return c.LibDefaults.DefaultRealm
	}
	for _, r := range c.Realms {
		if strings.EqualFold(r.Name, name) {
			return r.Name
		}
	}
	return strings.ToUpper(name)
}

// RealmForHost returns the realm [domain_realm] gives host, trying as MIT does the whole
// name, then ".rest" and "rest" for every dot-separated suffix, first match winning.
func (c *Config) RealmForHost(host string) (string, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for p := host; p != ""; {
		for _, d := range c.DomainRealm {
			if d.Domain == p {
				return d.Realm, true
			}
		}
		if p[0] == '.' {
			p = p[1:]
		} else if i := strings.IndexByte(p, '.'); i >= 0 {
			p = p[i:]
		} else {
			break
		}
	}
	return "", false
}

// ParseBool reads a profile boolean as MIT does: y, yes, true, t, 1, on and n, no, false,
// nil, 0, off, without regard to case.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "true", "t", "1", "on":
		return true, true
	case "n", "no", "false", "nil", "0", "off":
		return false, true
	}
	return false, false
}

// ParseDuration reads a krb5 delta time as krb5_string_to_deltat does: a number of
// seconds ("36000"), "h:m" or "h:m:s" ("10:00"), or numbers with units d, h, m, s in that
// order, spaces allowed ("1d 2h", "7d", "90m", "1d2h3m4s").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("krbconf: %q is not a duration", truncate(s))
	if s == "" {
		return 0, bad
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, bad
		}
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		var d time.Duration
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 31)
			if err != nil || (i > 0 && (n > 59 || len(p) != 2)) {
				return 0, bad
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	var d time.Duration
	next := 0 // units must come in the order d, h, m, s
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return 0, bad
		}
		n, _ := strconv.Atoi(s[:i])
		u := strings.IndexByte("dhms", s[i]|0x20)
		if u < next {
			return 0, bad
		}
		d += time.Duration(n) * []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second}[u]
		next = u + 1
		s = strings.TrimLeft(s[i+1:], " \t")
	}
	return d, nil
}

// enctypeNames are the names (and MIT's aliases) of the implemented types.
var enctypeNames = map[string][]krbcrypto.EType{
	"aes256-cts-hmac-sha1-96":    {krbcrypto.AES256CTSHMACSHA196},
	"aes256-cts":                 {krbcrypto.AES256CTSHMACSHA196},
	"aes256-sha1":                {krbcrypto.AES256CTSHMACSHA196},
	"aes128-cts-hmac-sha1-96":    {krbcrypto.AES128CTSHMACSHA196},
	"aes128-cts":                 {krbcrypto.AES128CTSHMACSHA196},
	"aes128-sha1":                {krbcrypto.AES128CTSHMACSHA196},
	"aes256-cts-hmac-sha384-192": {krbcrypto.AES256CTSHMACSHA384192},
	"aes256-sha2":                {krbcrypto.AES256CTSHMACSHA384192},
	"aes128-cts-hmac-sha256-128": {krbcrypto.AES128CTSHMACSHA256128},
	"aes128-sha2":                {krbcrypto.AES128CTSHMACSHA256128},
	"arcfour-hmac":               {krbcrypto.RC4HMAC},
	"arcfour-hmac-md5":           {krbcrypto.RC4HMAC},
	"rc4-hmac":                   {krbcrypto.RC4HMAC},
	// Families (MIT 1.20's order).
	"aes":      {krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA384192, krbcrypto.AES128CTSHMACSHA256128},
	"aes-sha1": {krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA196},
	"aes-sha2": {krbcrypto.AES256CTSHMACSHA384192, krbcrypto.AES128CTSHMACSHA256128},
	"rc4":      {krbcrypto.RC4HMAC},
}

func defaultEnctypes(allowRC4 bool) []krbcrypto.EType {
	l := append([]krbcrypto.EType(nil), enctypeNames["aes"]...)
	if allowRC4 {
		l = append(l, krbcrypto.RC4HMAC)
	}
	return l
}

// ParseEnctypes reads an enctype list as MIT does: names, aliases, numbers and families
// (aes, aes-sha1, aes-sha2, rc4, DEFAULT) separated by spaces or commas; "-name" removes;
// types this project does not implement (DES, DES3, Camellia) are skipped, and rc4-hmac
// too unless allowRC4.
func ParseEnctypes(s string, allowRC4 bool) []krbcrypto.EType {
	var out []krbcrypto.EType
	has := func(e krbcrypto.EType) bool {
		for _, x := range out {
			if x == e {
				return true
			}
		}
		return false
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		remove := false
		if tok[0] == '-' || tok[0] == '+' {
			remove = tok[0] == '-'
			tok = tok[1:]
		}
		var list []krbcrypto.EType
		if strings.EqualFold(tok, "DEFAULT") {
			list = defaultEnctypes(true)
		} else if l, ok := enctypeNames[strings.ToLower(tok)]; ok {
			list = l
		} else if n, err := strconv.ParseInt(tok, 10, 32); err == nil {
			list = []krbcrypto.EType{krbcrypto.EType(n)}
		}
		for _, e := range list {
			switch {
			case !e.Supported() || (e == krbcrypto.RC4HMAC && !allowRC4):
			case remove:
				for i := 0; i < len(out); i++ {
					if out[i] == e {
						out = append(out[:i], out[i+1:]...)
						i--
					}
				}
			case !has(e):
				out = append(out, e)
			}
		}
	}
	return out
}
