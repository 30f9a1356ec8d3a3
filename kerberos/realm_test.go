package kerberos

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
)

// TestMapDomainToRealm pins the rule by which a NetBIOS domain in a Windows-style name
// becomes a realm, or keeps Kerberos out (issue 9 item 1).
func TestMapDomainToRealm(t *testing.T) {
	cfg, err := krbconf.Parse([]byte(`[libdefaults]
	default_realm = CORP.EXAMPLE.COM
[realms]
	CORP.EXAMPLE.COM = {
		kdc = 127.0.0.1:1
	}
	LAB = {
		kdc = 127.0.0.1:1
	}
	CORP.OTHER.ORG = {
		kdc = 127.0.0.1:1
	}
	SALES.EXAMPLE.NET = {
		kdc = 127.0.0.1:1
	}
	SALES.EXAMPLE.ORG = {
		kdc = 127.0.0.1:1
	}
[domain_realm]
	.eng.example.com = ENGINEERING.EXAMPLE.COM
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ domain, realm string }{
		{"lab", "LAB"},                           // a realm of that name
		{"CORP", "CORP.EXAMPLE.COM"},             // first label of two realms: default_realm wins
		{"Eng", "ENGINEERING.EXAMPLE.COM"},       // first label of a [domain_realm] domain
		{"corp.example.com", "CORP.EXAMPLE.COM"}, // exact, case aside
		{"EXAMPLE", ""},                          // nothing maps it
		{"SALES", ""},                            // two realms, neither the default
		{"ATHENA", ""},
	} {
		got, err := mapDomainToRealm(tc.domain, cfg)
		if got != tc.realm || (tc.realm == "") != (err != nil) {
			t.Errorf("%s: %q, %v; want %q", tc.domain, got, err, tc.realm)
		}
		if err != nil && !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) {
			t.Errorf("%s: status %v", tc.domain, sspi.StatusOf(err))
		}
	}
	if got := dnsDomainRealm("corp.other.org", cfg); got != "CORP.OTHER.ORG" {
		t.Errorf("dnsDomainRealm: %s", got)
	}
}
