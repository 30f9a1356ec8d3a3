package kerberos

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// kdcWatch is a KDC that is never meant to be asked: a TCP listener on 127.0.0.1 that
// counts the connections made to it and closes them, and a resolver hook that counts DNS
// queries (a KDC found through SRV records, or a KDC's host name). Its krb5.conf names it
// as the KDC of the default realm, has dns_lookup_kdc on (so a realm it does not list is
// looked for in DNS), and sends every KDC request over TCP.
type kdcWatch struct {
	conf          string
	connects, dns atomic.Int32
}

func watchKDC(t *testing.T) *kdcWatch {
	t.Helper()
	w := &kdcWatch{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			w.connects.Add(1)
			c.Close()
		}
	}()
	prev := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		w.dns.Add(1)
		return nil, errors.New("kdcWatch: no DNS in this test")
	}}
	t.Cleanup(func() { net.DefaultResolver = prev })
	w.conf = t.TempDir() + "/krb5.conf"
	writeFile(t, w.conf, "[libdefaults]\n\tdefault_realm = WATCHED.TEST\n\tdns_lookup_kdc = true\n\tdns_lookup_realm = false\n\tudp_preference_limit = 1\n"+
		"[realms]\n\tWATCHED.TEST = {\n\t\tkdc = "+l.Addr().String()+"\n\t}\n")
	t.Setenv("KRB5_CONFIG", w.conf)
	return w
}

func (w *kdcWatch) asked() (connects, dns int32) { return w.connects.Load(), w.dns.Load() }

// TestNegotiateNoKerberosWithoutReason (issue 9 item 1): Negotiate does what Windows does and
// asks no KDC, neither by connecting nor through DNS, for a target named by IP address or
// for a user whose NetBIOS domain krb5.conf maps to no realm; NTLM authenticates instead.
// The controls show that the watch sees Kerberos when it is used: a host name target, and
// an IP-address target with Config.KerberosIPTargets.
func TestNegotiateNoKerberosWithoutReason(t *testing.T) {
	w := watchKDC(t)
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
		{"IPv6 target with port and realm", "alice", "HTTP/[::1]:8080@WATCHED.TEST", false, false},
		{"GSS host-based IP target", "alice", "host@127.0.0.1", false, false},
		{"unmapped NetBIOS domain", `EXAMPLE\alice`, "host/localhost", false, false},
		{"unmapped domain in a UPN-form name", "alice@EXAMPLE", "host/localhost", false, false},
		{"control: host name target", "alice", "host/localhost", false, true},
		{"control: IP target with KerberosIPTargets", "alice", "host/127.0.0.1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c0, d0 := w.asked()
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
			c1, d1 := w.asked()
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
			if c2, d2 := w.asked(); c2 != c1 || d2 != d1 {
				t.Errorf("the KDC was asked after the first step: %d connections, %d DNS queries", c2-c1, d2-d1)
			}
		})
	}
}
