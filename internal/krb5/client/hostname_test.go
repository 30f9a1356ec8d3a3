package krbclient

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	krbconf "github.com/gosspi/sspi/internal/krb5/config"
)

// fakeDNS answers from maps and records every query; a name it does not know is
// NXDOMAIN.
type fakeDNS struct {
	txt   map[string][]string
	cname map[string]string
	addrs map[string][]string
	ptr   map[string][]string

	mu      sync.Mutex
	queries []string
}

var errNX = errors.New("no such host")

func (f *fakeDNS) log(q string) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.log("TXT " + name)
	if v, ok := f.txt[name]; ok {
		return v, nil
	}
	return nil, errNX
}

func (f *fakeDNS) LookupCNAME(_ context.Context, host string) (string, error) {
	f.log("CNAME " + host)
	if v, ok := f.cname[host]; ok {
		return v, nil
	}
	if _, ok := f.addrs[host]; ok {
		return host + ".", nil // a name with address records is its own canonical name
	}
	return "", errNX
}

func (f *fakeDNS) LookupHost(_ context.Context, host string) ([]string, error) {
	f.log("A " + host)
	if v, ok := f.addrs[host]; ok {
		return v, nil
	}
	return nil, errNX
}

func (f *fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	f.log("PTR " + addr)
	if v, ok := f.ptr[addr]; ok {
		return v, nil
	}
	return nil, errNX
}

func conf(t *testing.T, libdefaults string) *krbconf.Config {
	t.Helper()
	c, err := krbconf.Parse([]byte("[libdefaults]\n" + libdefaults + "\n[domain_realm]\n\t.mapped.example = MAPPED.EXAMPLE\n"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dns() *fakeDNS {
	return &fakeDNS{
		txt: map[string][]string{
			"_kerberos.corp.example.com": {"CORP.EXAMPLE.COM"},
			"_kerberos.example.org":      {"ORG.EXAMPLE"},
			"_kerberos.evil.example":     {"EVIL/REALM@X"},
		},
		cname: map[string]string{"www.example.com": "web01.example.com."},
		addrs: map[string][]string{
			"web01.example.com": {"192.0.2.10"},
			"plain.example.com": {"192.0.2.20"},
			"bad.example.com":   {"192.0.2.30"},
		},
		ptr: map[string][]string{
			"192.0.2.10": {"Web01.Real.Example.COM."},
			"192.0.2.30": {"host/evil@REALM."},
			"192.0.2.99": {"numeric.example.com."},
		},
	}
}

// ServiceHosts applies dns_canonicalize_hostname and rdns as MIT does: no DNS when off;
// forward then reverse by default; forward only with rdns off; the name as given first
// with "fallback"; the name as given when DNS says nothing or something that is not a
// host name. Names are lower-cased and lose a trailing dot.
func TestServiceHosts(t *testing.T) {
	for _, tt := range []struct {
		name, libdefaults, host string
		want                    []string
		queries                 []string
	}{
		{"off", "dns_canonicalize_hostname = false", "WWW.Example.com.", []string{"www.example.com"}, nil},
		{"default: forward and reverse", "", "www.example.com", []string{"web01.real.example.com"},
			[]string{"CNAME www.example.com", "A web01.example.com", "PTR 192.0.2.10"}},
		{"rdns off", "rdns = false", "www.example.com", []string{"web01.example.com"}, []string{"CNAME www.example.com"}},
		{"no PTR record", "", "plain.example.com", []string{"plain.example.com"},
			[]string{"CNAME plain.example.com", "A plain.example.com", "PTR 192.0.2.20"}},
		{"unknown host", "", "nowhere.example.com", []string{"nowhere.example.com"}, []string{"CNAME nowhere.example.com"}},
		{"PTR that is no host name", "", "bad.example.com", []string{"bad.example.com"},
			[]string{"CNAME bad.example.com", "A bad.example.com", "PTR 192.0.2.30"}},
		{"address", "", "192.0.2.99", []string{"numeric.example.com"}, []string{"PTR 192.0.2.99"}},
		{"fallback", "dns_canonicalize_hostname = fallback", "www.example.com", []string{"www.example.com", "web01.real.example.com"}, nil},
		{"fallback, nothing to add", "dns_canonicalize_hostname = fallback", "nowhere.example.com", []string{"nowhere.example.com"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dns()
			got := ServiceHosts(context.Background(), conf(t, tt.libdefaults), r, tt.host)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ServiceHosts(%s) = %q, want %q", tt.host, got, tt.want)
			}
			if tt.queries != nil || tt.name == "off" {
				if !reflect.DeepEqual(r.queries, tt.queries) {
					t.Errorf("queries %q, want %q", r.queries, tt.queries)
				}
			}
		})
	}
}

// HostRealm is [domain_realm] only, as MIT 1.20's "profile" module: the host, then each
// parent domain, case and a trailing dot ignored; nothing else maps a host before a request,
// so the caller asks with the referral realm.
func TestHostRealm(t *testing.T) {
	for _, tt := range []struct {
		host, realm string
		ok          bool
	}{
		{"a.mapped.example", "MAPPED.EXAMPLE", true},
		{"A.Mapped.Example.", "MAPPED.EXAMPLE", true},
		{"mapped.example", "", false},       // ".mapped.example" covers hosts below it only, as in MIT
		{"srv.corp.example.com", "", false}, // a TXT record exists: a fallback, not a mapping
		{"192.0.2.1", "", false},
		{"", "", false},
	} {
		realm, ok := HostRealm(conf(t, "dns_lookup_realm = true"), tt.host)
		if realm != tt.realm || ok != tt.ok {
			t.Errorf("HostRealm(%q) = %q %v, want %q %v", tt.host, realm, ok, tt.realm, tt.ok)
		}
	}
}

// FallbackHostRealm follows MIT 1.20's krb5_get_fallback_host_realm: TXT records (host,
// then each parent) only with dns_lookup_realm, a TXT value that is no realm skipped; then
// realm_try_domains' search among realms with KDCs (off by default; N tries the host and N
// parents); then the parent domain upper-cased; an address or a one-label name gets the
// default realm, without DNS.
func TestFallbackHostRealm(t *testing.T) {
	kdcs := map[string]bool{"CORP.EXAMPLE.COM": true, "WEB.B.TEST": true, "B.TEST": true}
	for _, tt := range []struct {
		name, libdefaults, host, realm string
		queries                        []string
		kdcAsked                       []string
	}{
		{"parent domain", "", "web.b.test", "B.TEST", nil, nil},
		{"parent domain, case and dot", "", "Web.Corp.Example.COM.", "CORP.EXAMPLE.COM", nil, nil},
		{"deep host", "", "a.b.c.example", "B.C.EXAMPLE", nil, nil},
		{"TXT off by default", "", "srv.corp.example.com", "CORP.EXAMPLE.COM", nil, nil},
		{"parent domain's TXT", "dns_lookup_realm = true", "srv.corp.example.com", "CORP.EXAMPLE.COM",
			[]string{"TXT _kerberos.srv.corp.example.com", "TXT _kerberos.corp.example.com"}, nil},
		{"host's own TXT", "dns_lookup_realm = true", "Example.ORG.", "ORG.EXAMPLE", []string{"TXT _kerberos.example.org"}, nil},
		{"TXT wins over the domain", "dns_lookup_realm = true", "x.example.org", "ORG.EXAMPLE",
			[]string{"TXT _kerberos.x.example.org", "TXT _kerberos.example.org"}, nil},
		{"no TXT: parent domain", "dns_lookup_realm = true", "a.b.invalid", "B.INVALID",
			[]string{"TXT _kerberos.a.b.invalid", "TXT _kerberos.b.invalid", "TXT _kerberos.invalid"}, nil},
		{"TXT that is no realm", "dns_lookup_realm = true", "evil.example", "EXAMPLE",
			[]string{"TXT _kerberos.evil.example", "TXT _kerberos.example"}, nil},
		{"try_domains 0: the host as a realm", "realm_try_domains = 0", "web.b.test", "WEB.B.TEST", nil, []string{"WEB.B.TEST"}},
		{"try_domains 0, no KDC", "realm_try_domains = 0", "files.b.test", "B.TEST", nil, []string{"FILES.B.TEST"}},
		{"try_domains 1", "realm_try_domains = 1", "files.b.test", "B.TEST", nil, []string{"FILES.B.TEST", "B.TEST"}},
		{"try_domains stops before one label", "realm_try_domains = 5", "x.y.test", "Y.TEST", nil, []string{"X.Y.TEST", "Y.TEST"}},
		{"one label", "dns_lookup_realm = true", "intranet", "HOME.TEST", []string{"TXT _kerberos.intranet"}, nil},
		{"IPv4 address", "dns_lookup_realm = true\n\trealm_try_domains = 2", "192.0.2.1", "HOME.TEST", nil, nil},
		{"IPv6 address", "dns_lookup_realm = true", "2001:db8::1", "HOME.TEST", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dns()
			var asked []string
			hasKDC := func(realm string) bool { asked = append(asked, realm); return kdcs[realm] }
			got := FallbackHostRealm(context.Background(), conf(t, "default_realm = HOME.TEST\n\t"+tt.libdefaults), r, hasKDC, tt.host)
			if got != tt.realm {
				t.Errorf("FallbackHostRealm(%s) = %q, want %q", tt.host, got, tt.realm)
			}
			if !reflect.DeepEqual(r.queries, tt.queries) {
				t.Errorf("queries %q, want %q", r.queries, tt.queries)
			}
			if !reflect.DeepEqual(asked, tt.kdcAsked) {
				t.Errorf("realms looked for KDCs %q, want %q", asked, tt.kdcAsked)
			}
		})
	}
	// The walks up are bounded.
	r := dns()
	long := strings.Repeat("a.", 40) + "example"
	n := 0
	FallbackHostRealm(context.Background(), conf(t, "dns_lookup_realm = true\n\trealm_try_domains = 100"), r, func(string) bool { n++; return false }, long)
	if len(r.queries) != maxTXTLabels || n != maxTXTLabels {
		t.Errorf("%d TXT queries and %d realms tried for a 41-label name, want %d each", len(r.queries), n, maxTXTLabels)
	}
}
