package kerberos

import (
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// TestNegotiateNoKerberosWithoutReason (issue 9 item 1): Negotiate does what Windows does and
// asks no KDC, neither by connecting nor through DNS, for a target named by IP address or
// for a user whose NetBIOS domain krb5.conf maps to no realm; NTLM authenticates instead.
// The controls show that the watch sees Kerberos when it is used: a host name target, and
// an IP-address target with Config.KerberosIPTargets.
func TestNegotiateNoKerberosWithoutReason(t *testing.T) {
	w := testpeers.WatchKDC(t)
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:" + testPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
		Mechanisms: []string{"NTLM"}, Credentials: map[string]any{"NTLM": &ntlm.ServerConfig{Accounts: store}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)
	for _, tc := range []struct {
		name, user, target string
		ipKerberos         bool
		wantKDC            bool
	}{
		{"IPv4 target", "alice", "host/127.0.0.1", false, false},
		{"IPv6 target with port and realm", "alice", "HTTP/[::1]:8080@" + testpeers.WatchRealm, false, false},
		{"GSS host-based IP target", "alice", "host@127.0.0.1", false, false},
		{"unmapped NetBIOS domain", `EXAMPLE\alice`, "host/localhost", false, false},
		{"unmapped domain in a UPN-form name", "alice@EXAMPLE", "host/localhost", false, false},
		{"control: host name target", "alice", "host/localhost", false, true},
		{"control: IP target with KerberosIPTargets", "alice", "host/127.0.0.1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c0, d0 := w.Asked()
			id := &sspi.AuthIdentity{User: tc.user, Domain: "", Password: testPassword}
			var authData any = id
			if tc.ipKerberos {
				authData = &negotiate.Config{KerberosIPTargets: true, Credentials: map[string]any{"Kerberos": id, "NTLM": &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: testPassword}}}
			}
			cc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, authData, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(cc)
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: tc.target})
			defer cli.Close()
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer srv.Close()
			tok, err := cli.Step(nil)
			if err != nil {
				t.Fatalf("first step: %v", err)
			}
			c1, d1 := w.Asked()
			asked := c1 > c0 || d1 > d0
			if asked != tc.wantKDC {
				t.Fatalf("KDC connections %d, DNS queries %d; want Kerberos tried: %v", c1-c0, d1-d0, tc.wantKDC)
			}
			if tc.user != "alice@EXAMPLE" { // UPN-form names at an NTLM server are another matter
				for i := 0; i < 4 && !cli.Established(); i++ {
					if tok, err = srv.Step(tok); err != nil {
						t.Fatalf("server: %v", err)
					}
					if len(tok) == 0 {
						break
					}
					if tok, err = cli.Step(tok); err != nil {
						t.Fatalf("client: %v", err)
					}
				}
				if !srv.Established() {
					t.Fatal("not established")
				}
				if n := negotiated(t, cli.Handle()); n != "NTLM" {
					t.Errorf("negotiated %s", n)
				}
			}
			if c2, d2 := w.Asked(); c2 != c1 || d2 != d1 {
				t.Errorf("the KDC was asked after the first step: %d connections, %d DNS queries", c2-c1, d2-d1)
			}
		})
	}
}
