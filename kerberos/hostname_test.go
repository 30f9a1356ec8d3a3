package kerberos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
)

var errNXDomain = errors.New("no such host")

// noDNS answers every question with NXDOMAIN.
type noDNS struct{}

func (noDNS) LookupTXT(context.Context, string) ([]string, error)  { return nil, errNXDomain }
func (noDNS) LookupCNAME(context.Context, string) (string, error)  { return "", errNXDomain }
func (noDNS) LookupHost(context.Context, string) ([]string, error) { return nil, errNXDomain }
func (noDNS) LookupAddr(context.Context, string) ([]string, error) { return nil, errNXDomain }

// aliasDNS: alias.gosspi.test is a CNAME of svc.gosspi.test, whose address 127.0.0.1
// reverses to localhost; the TXT records of _kerberos.localhost and _kerberos.gosspi.test
// name txtRealm. It records the questions.
type aliasDNS struct {
	txtRealm string
	mu       sync.Mutex
	asked    []string
}

func (d *aliasDNS) note(q string) { d.mu.Lock(); d.asked = append(d.asked, q); d.mu.Unlock() }

func (d *aliasDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.note("TXT " + name)
	if (name == "_kerberos.localhost" || name == "_kerberos.gosspi.test") && d.txtRealm != "" {
		return []string{d.txtRealm}, nil
	}
	return nil, errNXDomain
}

func (d *aliasDNS) LookupCNAME(_ context.Context, host string) (string, error) {
	d.note("CNAME " + host)
	switch host {
	case "alias.gosspi.test":
		return "svc.gosspi.test.", nil
	case "svc.gosspi.test":
		return "svc.gosspi.test.", nil
	}
	return "", errNXDomain
}

func (d *aliasDNS) LookupHost(_ context.Context, host string) ([]string, error) {
	d.note("A " + host)
	if host == "svc.gosspi.test" {
		return []string{"127.0.0.1"}, nil
	}
	return nil, errNXDomain
}

func (d *aliasDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	d.note("PTR " + addr)
	if addr == "127.0.0.1" {
		return []string{"localhost."}, nil
	}
	return nil, errNXDomain
}

// TestHostnameCanonicalization: host-based targets are canonicalised as krb5.conf says,
// with MIT's KDC and a DNS that makes alias.gosspi.test a CNAME of a host whose address
// reverses to localhost (whose host/localhost is in the KDC and our keytab):
// dns_canonicalize_hostname true with rdns reaches host/localhost; without rdns, or with
// canonicalisation off, the KDC does not know the name; "fallback" asks for the name as
// given, then the canonical one; an explicit realm is never canonicalised; and with
// dns_lookup_realm a TXT record is what MIT 1.20 makes of it: a fallback, asked only when
// the client's realm refuses the name (so never for a service it holds), for the host and
// then each parent domain.
func TestHostnameCanonicalization(t *testing.T) {
	k := getKDC(t)
	base, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	sc := testServerCreds(t, k, ServerConfig{})
	for _, tt := range []struct {
		name, libdefaults, target, txtRealm string
		wantErr                             string // a status, or "" for success
		asked                               []string
	}{
		{"canonical with rdns", "dns_canonicalize_hostname = true\n\trdns = true", "host/alias.gosspi.test", "", "",
			[]string{"CNAME alias.gosspi.test", "A svc.gosspi.test", "PTR 127.0.0.1"}},
		{"canonical without rdns", "dns_canonicalize_hostname = true\n\trdns = false", "host/alias.gosspi.test", "", "SEC_E_TARGET_UNKNOWN",
			[]string{"CNAME alias.gosspi.test"}},
		{"off", "dns_canonicalize_hostname = false\n\trdns = true", "host/Alias.gosspi.test", "", "SEC_E_TARGET_UNKNOWN", nil},
		{"fallback", "dns_canonicalize_hostname = fallback\n\trdns = true", "host/alias.gosspi.test", "", "",
			[]string{"CNAME alias.gosspi.test", "A svc.gosspi.test", "PTR 127.0.0.1"}},
		{"explicit realm", "dns_canonicalize_hostname = true\n\trdns = true", "host/alias.gosspi.test@" + testRealm, "", "SEC_E_TARGET_UNKNOWN", nil},
		{"TXT not needed", "dns_canonicalize_hostname = true\n\trdns = true\n\tdns_lookup_realm = true", "host/alias.gosspi.test", "NOWHERE.INVALID", "",
			[]string{"CNAME alias.gosspi.test", "A svc.gosspi.test", "PTR 127.0.0.1"}},
		{"TXT fallback realm", "dns_canonicalize_hostname = false\n\tdns_lookup_realm = true", "host/alias.gosspi.test", "NOWHERE.INVALID", "NOWHERE.INVALID",
			[]string{"TXT _kerberos.alias.gosspi.test", "TXT _kerberos.gosspi.test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &aliasDNS{txtRealm: tt.txtRealm}
			hostDNS = d
			t.Cleanup(func() { hostDNS = noDNS{} })
			conf := regexp.MustCompile(`(?m)^\s*(dns_canonicalize_hostname|rdns|dns_lookup_realm) = .*\n`).ReplaceAllString(string(base), "")
			conf = strings.Replace(conf, "[libdefaults]\n", "[libdefaults]\n\t"+tt.libdefaults+"\n", 1)
			conf = conf[:strings.Index(conf, "[domain_realm]")] // [domain_realm] would map localhost before any TXT record
			path := filepath.Join(t.TempDir(), "krb5.conf")
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			cc := acquire(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: path})
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: tt.target})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			_, err := handshake(t, cli, srv)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("handshake: %v", err)
			case tt.wantErr == "":
				if id, _ := srv.Identity(); id.Server != "host/localhost@"+testRealm {
					t.Errorf("the ticket is for %s, want host/localhost@%s", id.Server, testRealm)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("handshake: %v, want an error with %s", err, tt.wantErr)
			}
			if strings.Join(d.asked, ",") != strings.Join(tt.asked, ",") {
				t.Errorf("DNS questions %q, want %q", d.asked, tt.asked)
			}
		})
	}
}
