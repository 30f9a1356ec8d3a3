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

// HostRealm: [domain_realm] first and without DNS; TXT records only with dns_lookup_realm,
// for the host and then each parent domain; a TXT value that is no realm is skipped; an
// address is never looked up.
func TestHostRealm(t *testing.T) {
	for _, tt := range []struct {
		name, libdefaults, host, realm string
		ok                             bool
		queries                        []string
	}{
		{"domain_realm", "dns_lookup_realm = true", "a.mapped.example", "MAPPED.EXAMPLE", true, nil},
		{"off by default", "", "srv.corp.example.com", "", false, nil},
		{"parent domain's TXT", "dns_lookup_realm = true", "srv.corp.example.com", "CORP.EXAMPLE.COM", true,
			[]string{"TXT _kerberos.srv.corp.example.com", "TXT _kerberos.corp.example.com"}},
		{"host's own TXT", "dns_lookup_realm = true", "Example.ORG.", "ORG.EXAMPLE", true, []string{"TXT _kerberos.example.org"}},
		{"none", "dns_lookup_realm = true", "a.b.invalid", "", false,
			[]string{"TXT _kerberos.a.b.invalid", "TXT _kerberos.b.invalid", "TXT _kerberos.invalid"}},
		{"not a realm", "dns_lookup_realm = true", "evil.example", "", false, []string{"TXT _kerberos.evil.example", "TXT _kerberos.example"}},
		{"address", "dns_lookup_realm = true", "192.0.2.1", "", false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dns()
			realm, ok := HostRealm(context.Background(), conf(t, tt.libdefaults), r, tt.host)
			if realm != tt.realm || ok != tt.ok {
				t.Errorf("HostRealm(%s) = %q %v, want %q %v", tt.host, realm, ok, tt.realm, tt.ok)
			}
			if !reflect.DeepEqual(r.queries, tt.queries) {
				t.Errorf("queries %q, want %q", r.queries, tt.queries)
			}
		})
	}
	// The walk up is bounded.
	r := dns()
	HostRealm(context.Background(), conf(t, "dns_lookup_realm = true"), r, strings.Repeat("a.", 40)+"example")
	if len(r.queries) != maxTXTLabels {
		t.Errorf("%d TXT queries for a 41-label name, want %d", len(r.queries), maxTXTLabels)
	}
}
