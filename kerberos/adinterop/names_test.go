package adinterop

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
)

// logOn acquires credentials with authData, runs a context to the AD service and returns
// the name our acceptor saw.
func logOn(t *testing.T, authData any) string {
	t.Helper()
	cc := acquire(t, sspi.CredOutbound, authData)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[svcSPN]})
	cli, srv := connect(t, cc, sc, sspi.ClientOptions{Target: svcSPN})
	id, err := srv.Identity()
	if err != nil {
		t.Fatal(err)
	}
	cid, _ := cli.Identity()
	if cid.Principal != id.Principal {
		t.Errorf("client names itself %q, the acceptor saw %q", cid.Principal, id.Principal)
	}
	return id.Principal
}

// TestADNames logs on with the names Windows accepts (issue 14, names and location): a
// NetBIOS domain that krb5.conf's default_realm maps to the realm, the realm and DNS
// domain in any case, and enterprise names, the implicit UPN (user@dnsdomain) and an
// explicit userPrincipalName in a suffix that is no realm (adupn@upn.example), which go to
// the KDC as NT-ENTERPRISE principals and come back as the account's canonical name.
func TestADNames(t *testing.T) {
	d := domain(t)
	t.Setenv("KRB5_CONFIG", d.Krb5Conf)
	for _, tc := range []struct {
		name     string
		authData any
		want     string
	}{
		{`SAMDOM\user`, &sspi.AuthIdentity{User: `SAMDOM\` + userName, Password: userPass}, "aduser@SAMDOM.TEST"},
		{`samdom\user`, &sspi.AuthIdentity{User: `samdom\` + userName, Password: userPass}, "aduser@SAMDOM.TEST"},
		{"User and Domain SAMDOM", &sspi.AuthIdentity{User: userName, Domain: "SAMDOM", Password: userPass}, "aduser@SAMDOM.TEST"},
		{"user@SAMDOM", &sspi.AuthIdentity{User: userName + "@SAMDOM", Password: userPass}, "aduser@SAMDOM.TEST"},
		{`samdom.test\user`, &sspi.AuthIdentity{User: `samdom.test\` + userName, Password: userPass}, "aduser@SAMDOM.TEST"},
		{"user@samdom.test", &sspi.AuthIdentity{User: userName + "@samdom.test", Password: userPass}, "aduser@SAMDOM.TEST"},
		{"ClientConfig user@samdom.test", &kerberos.ClientConfig{Principal: userName + "@samdom.test", Password: userPass}, "aduser@SAMDOM.TEST"},
		{"UPN in another suffix", &sspi.AuthIdentity{User: upnName + "@" + upnSuffix, Password: otherPass}, "adupn@SAMDOM.TEST"},
		{"UPN, suffix in upper case", &sspi.AuthIdentity{User: upnName + "@UPN.EXAMPLE", Password: otherPass}, "adupn@SAMDOM.TEST"},
		{"Enterprise", &kerberos.ClientConfig{Principal: upnName + "@" + upnSuffix, Password: otherPass, Enterprise: true}, "adupn@SAMDOM.TEST"},
		{"Enterprise with realm", &kerberos.ClientConfig{Principal: upnName + "@" + upnSuffix + "@samdom.test", Password: otherPass, Enterprise: true}, "adupn@SAMDOM.TEST"},
		{"Enterprise, implicit UPN", &kerberos.ClientConfig{Principal: userName + "@samdom.test", Password: userPass, Enterprise: true}, "aduser@SAMDOM.TEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logOn(t, tc.authData); got != tc.want {
				t.Errorf("logged on as %q, want %q", got, tc.want)
			}
		})
	}
}

// TestADNamesRefused: a NetBIOS domain krb5.conf maps to no realm is refused before any
// KDC is asked, with SEC_E_NO_AUTHENTICATING_AUTHORITY (never sent to a KDC as a realm);
// an enterprise name the directory does not have, and a wrong password with an enterprise
// name, get the DC's refusal.
func TestADNamesRefused(t *testing.T) {
	d := domain(t)
	t.Setenv("KRB5_CONFIG", d.Krb5Conf)
	for _, tc := range []struct {
		name     string
		authData any
		status   sspi.Status
		causes   []string
	}{
		{"unmapped NetBIOS domain", &sspi.AuthIdentity{User: `OTHERDOM\` + userName, Password: userPass}, sspi.ErrNoAuthenticatingAuthority, []string{"OTHERDOM", "no realm"}},
		{"unknown UPN", &sspi.AuthIdentity{User: "nobody@" + upnSuffix, Password: userPass}, sspi.ErrLogonDenied, []string{"KDC_ERR_C_PRINCIPAL_UNKNOWN"}},
		{"UPN, wrong password", &sspi.AuthIdentity{User: upnName + "@" + upnSuffix, Password: "Wrong-Passw0rd1!"}, sspi.ErrLogonDenied, []string{"KDC_ERR_PREAUTH_FAILED"}},
		{"Enterprise name without a suffix", &kerberos.ClientConfig{Principal: upnName, Password: otherPass, Enterprise: true}, sspi.ErrUnknownCredentials, []string{"user@suffix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, tc.authData, nil)
			wantStatus(t, err, tc.status, tc.causes...)
		})
	}

	// A krb5.conf that knows the realm only by its KDC: no default_realm, so the NetBIOS
	// name SAMDOM is not mapped (the realm's first label would be, were it the only realm
	// of a default): the realm SAMDOM.TEST is still reachable by name.
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	writeConf(t, conf, "[libdefaults]\n\tdns_lookup_kdc = false\n\tudp_preference_limit = 1\n[realms]\n\tSAMDOM.TEST = {\n\t\tkdc = "+d.KDCAddr+"\n\t}\n\tOTHER.TEST = {\n\t\tkdc = 127.0.0.1:1\n\t}\n")
	t.Setenv("KRB5_CONFIG", conf)
	_, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: `CORP\` + userName, Password: userPass}, nil)
	wantStatus(t, err, sspi.ErrNoAuthenticatingAuthority, "CORP")
	if got := logOn(t, &sspi.AuthIdentity{User: userName + "@samdom.test", Password: userPass}); got != "aduser@SAMDOM.TEST" {
		t.Errorf("logged on as %q", got)
	}
}

func writeConf(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestADKDCFromDNS: with dns_lookup_kdc and no KDC listed for the realm, the client finds
// the DC through the SRV records _kerberos._udp/_tcp.SAMDOM.TEST of the DC's own DNS server
// (on 127.0.0.2:53; the process's resolver is pointed at it for the test) and logs on; the
// control, dns_lookup_kdc off, is refused with a cause that says how to fix it.
func TestADKDCFromDNS(t *testing.T) {
	d := domain(t)
	dir := t.TempDir()
	var queries atomic.Int32
	prev := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		queries.Add(1)
		var dl net.Dialer
		return dl.DialContext(ctx, network, net.JoinHostPort(d.Addr, "53"))
	}}
	t.Cleanup(func() { net.DefaultResolver = prev })

	for _, tc := range []struct {
		name string
		dns  bool
	}{{"dns_lookup_kdc on", true}, {"dns_lookup_kdc off", false}} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, tc.name+".conf")
			lookup := "false"
			if tc.dns {
				lookup = "true"
			}
			writeConf(t, conf, "[libdefaults]\n\tdefault_realm = SAMDOM.TEST\n\tdns_lookup_kdc = "+lookup+"\n\tdns_lookup_realm = false\n\tudp_preference_limit = 1\n")
			before := queries.Load()
			_, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil,
				&kerberos.ClientConfig{Principal: userName + "@SAMDOM.TEST", Password: userPass, Config: conf}, nil)
			asked := queries.Load() - before
			if !tc.dns {
				wantStatus(t, err, sspi.ErrNoAuthenticatingAuthority, "dns_lookup_kdc is off")
				if asked != 0 {
					t.Errorf("%d DNS queries with dns_lookup_kdc off", asked)
				}
				return
			}
			if err != nil {
				t.Fatalf("logon through the DC's SRV records: %v", err)
			}
			if asked == 0 {
				t.Errorf("logged on without a DNS query")
			}
		})
	}
}
