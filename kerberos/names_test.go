package kerberos

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestClientPrincipal pins how a client name becomes a principal (issue 14, names): the
// form of a Windows name decides, and an enterprise name is used for a UPN whose suffix
// krb5.conf does not know as a realm. kerberos/adinterop logs on with each against an AD DC.
func TestClientPrincipal(t *testing.T) {
	cfg, err := krbconf.Parse([]byte(`[libdefaults]
	default_realm = CORP.EXAMPLE.COM
[realms]
	CORP.EXAMPLE.COM = {
		kdc = 127.0.0.1:1
	}
[domain_realm]
	.eng.example.com = ENG.EXAMPLE.COM
	lab.example.net = LAB.EXAMPLE.NET
`))
	if err != nil {
		t.Fatal(err)
	}
	const ent, pri = wire.NameEnterprise, wire.NamePrincipal
	for _, tc := range []struct {
		name       string
		cfg        ClientConfig
		windows    bool
		nameType   int32
		components string
		realm      string
		status     sspi.Status
	}{
		{"down-level NetBIOS", ClientConfig{Principal: `CORP\alice`}, true, pri, "alice", "CORP.EXAMPLE.COM", 0},
		{"down-level DNS domain, any case", ClientConfig{Principal: `corp.example.com\alice`}, true, pri, "alice", "CORP.EXAMPLE.COM", 0},
		{"down-level unknown DNS domain", ClientConfig{Principal: `other.example.org\alice`}, true, pri, "alice", "OTHER.EXAMPLE.ORG", 0},
		{"UPN in the realm, any case", ClientConfig{Principal: "alice@corp.example.com"}, true, pri, "alice", "CORP.EXAMPLE.COM", 0},
		{"UPN in a [domain_realm] domain", ClientConfig{Principal: "alice@eng.example.com"}, true, pri, "alice", "ENG.EXAMPLE.COM", 0},
		{"UPN in a [domain_realm] host", ClientConfig{Principal: "alice@LAB.example.net"}, true, pri, "alice", "LAB.EXAMPLE.NET", 0},
		{"UPN in another suffix", ClientConfig{Principal: "alice@Sales.Example.com"}, true, ent, "alice@Sales.Example.com", "CORP.EXAMPLE.COM", 0},
		{"UPN with a NetBIOS domain", ClientConfig{Principal: "alice@corp"}, true, pri, "alice", "CORP.EXAMPLE.COM", 0},
		{"unmapped NetBIOS", ClientConfig{Principal: `SALES\alice`}, true, 0, "", "", sspi.ErrNoAuthenticatingAuthority},
		{"Kerberos name in another suffix", ClientConfig{Principal: "alice@sales.example.com"}, false, pri, "alice", "sales.example.com", 0},
		{"Enterprise", ClientConfig{Principal: "alice@sales.example.com", Enterprise: true}, false, ent, "alice@sales.example.com", "CORP.EXAMPLE.COM", 0},
		{"Enterprise with realm", ClientConfig{Principal: "alice@sales.example.com@OTHER.TEST", Enterprise: true}, false, ent, "alice@sales.example.com", "OTHER.TEST", 0},
		{"Enterprise without suffix", ClientConfig{Principal: "alice", Enterprise: true}, false, 0, "", "", sspi.ErrUnknownCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := clientPrincipal(&tc.cfg, cfg, tc.windows)
			if tc.status != 0 {
				if !errors.Is(err, tc.status) {
					t.Fatalf("got %v, %v; want %v", p, err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name.Type != tc.nameType || strings.Join(p.Name.Components, "/") != tc.components || p.Realm != tc.realm {
				t.Errorf("got type %d %q @ %q; want type %d %q @ %q", p.Name.Type, p.Name.Components, p.Realm, tc.nameType, tc.components, tc.realm)
			}
		})
	}
}

// TestIdentityPrincipal: an *sspi.AuthIdentity keeps its form on the way to clientPrincipal.
func TestIdentityPrincipal(t *testing.T) {
	for _, tc := range []struct{ user, domain, want string }{
		{"alice", "CORP", `CORP\alice`},
		{"alice@sales.example.com", "", "alice@sales.example.com"},
		{`CORP\alice`, "", `CORP\alice`},
		{"alice", "", "alice"},
	} {
		if got := identityPrincipal(&sspi.AuthIdentity{User: tc.user, Domain: tc.domain}); got != tc.want {
			t.Errorf("%q %q: %q, want %q", tc.user, tc.domain, got, tc.want)
		}
	}
}
