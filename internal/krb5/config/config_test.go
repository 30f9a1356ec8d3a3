package krbconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

const sample = `# a comment
; another
[libdefaults]
	default_realm = EXAMPLE.COM
	dns_lookup_kdc = no
	udp_preference_limit = 1
	default_tkt_enctypes = aes256-cts aes128-sha2, -aes128-sha2 rc4-hmac 20
	permitted_enctypes = aes
	allow_rc4 = true
	forwardable = yes
	renew_lifetime = 7d
	ticket_lifetime = 10:00
	clockskew = 120
	rdns = false
	dns_canonicalize_hostname = fallback
	canonicalize = on
	quoted = "a\tb\"c" trailing
	hashed = value # not a comment

[realms]
	EXAMPLE.COM = {
		kdc = kdc1.example.com
		kdc = tcp/[::1]:8888
		admin_server = kdc1.example.com:749
		master_kdc = kdc1.example.com
		auth_to_local = {
			nested = x
		}
	}
	OTHER.ORG = {
		kdc = udp/10.0.0.1:88
	}

[domain_realm]
	.example.com = EXAMPLE.COM
	example.com = EXAMPLE.COM
	host.other.org = OTHER.ORG
	.other.org = OTHER.ORG
`

func TestParseSample(t *testing.T) {
	c, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	checkSampleLibDefaults(t, c)
	checkSampleRealms(t, c)
}

// checkSampleLibDefaults checks the sample's [libdefaults].
func checkSampleLibDefaults(t *testing.T, c *Config) {
	t.Helper()
	l := c.LibDefaults
	if l.DefaultRealm != "EXAMPLE.COM" || l.DNSLookupKDC || l.DNSLookupRealm || l.UDPPreferenceLimit != 1 ||
		!l.AllowRC4 || !l.Forwardable || l.RenewLifetime != 7*24*time.Hour || l.TicketLifetime != 10*time.Hour ||
		l.ClockSkew != 2*time.Minute || l.RDNS || l.DNSCanonicalizeHostname != "fallback" || !l.Canonicalize {
		t.Fatalf("libdefaults = %+v", l)
	}
	wantTkt := []krbcrypto.EType{18, 23, 20}
	if !reflect.DeepEqual(l.DefaultTktEnctypes, wantTkt) {
		t.Errorf("default_tkt_enctypes = %v, want %v", l.DefaultTktEnctypes, wantTkt)
	}
	// default_tgs_enctypes is absent: it follows permitted_enctypes.
	if want := []krbcrypto.EType{18, 17, 20, 19}; !reflect.DeepEqual(l.DefaultTGSEnctypes, want) {
		t.Errorf("default_tgs_enctypes = %v, want %v", l.DefaultTGSEnctypes, want)
	}
	if v, _ := c.Get("libdefaults", "quoted"); v != "a\tb\"c" {
		t.Errorf("quoted = %q", v)
	}
	if v, _ := c.Get("libdefaults", "hashed"); v != "value # not a comment" {
		t.Errorf("hashed = %q", v)
	}
}

// checkSampleRealms checks the sample's [realms] and [domain_realm].
func checkSampleRealms(t *testing.T, c *Config) {
	t.Helper()
	r, ok := c.Realm("EXAMPLE.COM")
	if !ok || !reflect.DeepEqual(r.KDC, []string{"kdc1.example.com", "tcp/[::1]:8888"}) ||
		!reflect.DeepEqual(r.AdminServer, []string{"kdc1.example.com:749"}) || len(r.MasterKDC) != 1 {
		t.Fatalf("realm = %+v", r)
	}
	if v, _ := c.Get("realms", "EXAMPLE.COM", "auth_to_local", "nested"); v != "x" {
		t.Errorf("nested = %q", v)
	}
	if len(c.Realms) != 2 || c.Realms[1].Name != "OTHER.ORG" {
		t.Errorf("realms = %+v", c.Realms)
	}
	for host, want := range map[string]string{
		"a.example.com": "EXAMPLE.COM", "example.com": "EXAMPLE.COM", "x.y.example.com": "EXAMPLE.COM",
		"HOST.other.org": "OTHER.ORG", "z.other.org": "OTHER.ORG", "example.net": "",
	} {
		if got, _ := c.RealmForHost(host); got != want {
			t.Errorf("RealmForHost(%s) = %q, want %q", host, got, want)
		}
	}
	for in, want := range map[string]string{"example.com": "EXAMPLE.COM", "other.org": "OTHER.ORG", "new.realm": "NEW.REALM", "EXAMPLE.COM": "EXAMPLE.COM"} {
		if got := c.CanonicalRealm(in); got != want {
			t.Errorf("CanonicalRealm(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	l := c.LibDefaults
	if !l.DNSLookupKDC || l.UDPPreferenceLimit != 1465 || l.ClockSkew != 5*time.Minute || l.TicketLifetime != 24*time.Hour ||
		!l.RDNS || l.DNSCanonicalizeHostname != "true" || l.Canonicalize || l.AllowRC4 || l.Forwardable {
		t.Fatalf("defaults = %+v", l)
	}
	for _, list := range [][]krbcrypto.EType{l.DefaultTktEnctypes, l.DefaultTGSEnctypes, l.PermittedEnctypes} {
		if !reflect.DeepEqual(list, []krbcrypto.EType{18, 17, 20, 19}) {
			t.Errorf("default enctypes = %v (RC4 must be off without allow_rc4)", list)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"kdc = x\n",                             // relation before a section
		"[libdefaults\n",                        // unclosed header
		"[libdefaults] junk\n",                  // text after header
		"[realms]\n R = {\n kdc = x\n",          // unclosed subsection
		"[realms]\n}\n",                         // stray }
		"[libdefaults]\n just words\n",          // no =
		"[libdefaults]\n x = \"unterminated\n",  // quote
		"include relative/path\n",               // include must be absolute
		"[a]\n" + strings.Repeat("x = {\n", 20), // nesting bound
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestParseBoolDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"36000": 10 * time.Hour, "10:00": 10 * time.Hour, "1:02:03": time.Hour + 2*time.Minute + 3*time.Second,
		"1d": 24 * time.Hour, "1d 2h": 26 * time.Hour, "90m": 90 * time.Minute, "1d2h3m4s": 26*time.Hour + 3*time.Minute + 4*time.Second,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "1h1d", "1:2", "1:02:03:04", "5w", "99999999999999s"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
	for in, want := range map[string]bool{"Yes": true, "t": true, "ON": true, "1": true, "nil": false, "off": false, "N": false} {
		if got, ok := ParseBool(in); !ok || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseBool("maybe"); ok {
		t.Error("ParseBool(maybe) ok")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSearchPathAndIncludes: KRB5_CONFIG's files merge (first single value wins, kdc values
// collect), includes and includedir add to the including file, includedir's name filter,
// final sections, missing files skipped, and an include loop bounded.
func TestSearchPathAndIncludes(t *testing.T) {
	dir := t.TempDir()
	a, b, d := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf"), filepath.Join(dir, "d")
	write(t, a, "include "+filepath.Join(dir, "inc.conf")+"\nincludedir "+d+"\n[libdefaults]\n default_realm = A.TEST\n[realms]\n A.TEST = {\n  kdc = a1\n }\n")
	write(t, filepath.Join(dir, "inc.conf"), "[libdefaults]\n clockskew = 60\n")
	write(t, filepath.Join(d, "10-x.conf"), "[realms]\n A.TEST = {\n  kdc = a2\n }\n")
	write(t, filepath.Join(d, "20_y"), "[realms]\n A.TEST = {\n  kdc = a3\n }\n")
	write(t, filepath.Join(d, "skip.bak"), "[realms]\n A.TEST = {\n  kdc = never\n }\n")
	write(t, filepath.Join(d, ".hidden.conf"), "[realms]\n A.TEST = {\n  kdc = never\n }\n")
	write(t, b, "[libdefaults]\n default_realm = B.TEST\n clockskew = 30\n forwardable = true\n[realms]\n A.TEST = {\n  kdc = b1\n }\n")
	t.Setenv("KRB5_CONFIG", a+":"+filepath.Join(dir, "missing.conf")+":"+b)
	c, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := c.Realm("A.TEST")
	if c.LibDefaults.DefaultRealm != "A.TEST" || c.LibDefaults.ClockSkew != time.Minute || !c.LibDefaults.Forwardable ||
		!reflect.DeepEqual(r.KDC, []string{"a2", "a3", "a1", "b1"}) {
		t.Fatalf("merged: %+v kdc %v", c.LibDefaults, r.KDC)
	}
	if len(c.Files) != 2 {
		t.Errorf("Files = %v", c.Files)
	}

	// A final section in the first file hides the later files' values.
	write(t, a, "[realms]*\n A.TEST = {\n  kdc = a1\n }\n")
	c, err = Load(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Realm("A.TEST"); !reflect.DeepEqual(r.KDC, []string{"a1"}) {
		t.Errorf("final: kdc %v", r.KDC)
	}

	// Include loop.
	write(t, a, "include "+a+"\n")
	if _, err := Load(a); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("include loop: %v", err)
	}
	// Missing include is an error; no file at all is ErrNoConfig.
	write(t, a, "include "+filepath.Join(dir, "nope")+"\n")
	if _, err := Load(a); err == nil || errors.Is(err, ErrNoConfig) {
		t.Errorf("missing include: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope1"), filepath.Join(dir, "nope2")); !errors.Is(err, ErrNoConfig) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no files: %v", err)
	}
}

func TestEnctypeLists(t *testing.T) {
	for _, tc := range []struct {
		in   string
		rc4  bool
		want []krbcrypto.EType
	}{
		{"DEFAULT", false, []krbcrypto.EType{18, 17, 20, 19}},
		{"DEFAULT", true, []krbcrypto.EType{18, 17, 20, 19, 23}},
		{"DEFAULT -aes-sha1", false, []krbcrypto.EType{20, 19}},
		{"des3-cbc-sha1 camellia128-cts-cmac aes128-cts", false, []krbcrypto.EType{17}},
		{"arcfour-hmac-md5", false, nil},
		{"23,17", true, []krbcrypto.EType{23, 17}},
		{"AES256-CTS-HMAC-SHA1-96 aes256-cts", false, []krbcrypto.EType{18}},
	} {
		if got := ParseEnctypes(tc.in, tc.rc4); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseEnctypes(%q, %v) = %v, want %v", tc.in, tc.rc4, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("[a]\n b = {\n c = \"d\\\"\"\n }*\n"))
	f.Add([]byte("include /nonexistent\n"))
	noFS := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	noDir := func(string) ([]string, error) { return nil, fs.ErrNotExist }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseWith(data, noFS, noDir)
		if err != nil {
			return
		}
		_ = c.GetAll("realms", c.LibDefaults.DefaultRealm, "kdc")
		for _, r := range c.Realms {
			c.RealmForHost(r.Name)
		}
	})
}
