package main

import (
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
)

// TestDemoAsksNoKDC (issue 9 item 1, issue 15): `sspi demo` on a machine whose krb5.conf
// names a realm and its KDC (Debian's names MIT's) asks that KDC and DNS nothing: its
// account is made up, its server is an IP address, and the Kerberos it shows gets its
// tickets from the demo's own in-process KDC, which krb5.conf does not name.
// testpeers.WatchKDC counts both; the demo runs in this process (so the resolver hook sees
// its DNS queries) and as the binary (the KDC listener sees its connections).
func TestDemoAsksNoKDC(t *testing.T) {
	w := testpeers.WatchKDC(t)
	code, out, errOut := runCmd(t, "", nil, "demo")
	if code != exitOK || !strings.Contains(out, "== Negotiate") || !strings.Contains(out, "package NTLM") ||
		!strings.Contains(demoSection(out, "Kerberos"), "echoed it back: verified") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	if c, d := w.Asked(); c != 0 || d != 0 {
		t.Errorf("in-process demo: the KDC got %d connections and DNS %d queries", c, d)
	}
	code, out, errOut = sspiCmd(t, []string{"KRB5_CONFIG=" + w.Krb5Conf}, "", "demo")
	if code != exitOK {
		t.Fatalf("sspi demo: exit %d\n%s\n%s", code, out, errOut)
	}
	if c, _ := w.Asked(); c != 0 {
		t.Errorf("sspi demo: the KDC got %d connections", c)
	}
}

// TestConnectAsksNoKDC (issue 9 item 1): `sspi connect` with the default package (Negotiate)
// asks no KDC for an account `sspi serve` made up (even with a host name target), for a
// server given by IP address, or for a DOMAIN\user whose domain krb5.conf maps to no realm.
// The control, a real-looking user and a host name, shows the watch sees Kerberos tried.
func TestConnectAsksNoKDC(t *testing.T) {
	w := testpeers.WatchKDC(t)
	s := startServe(t, "--json")
	for _, tc := range []struct {
		name    string
		args    []string
		ok      bool
		wantKDC bool
	}{
		{"made-up account, host name target", []string{"--user", s.user, "--target", "host/localhost"}, true, false},
		{"made-up account, Kerberos package", []string{"--user", s.user, "--package", "Kerberos", "--target", "host/localhost"}, false, false},
		{"IP address server", []string{"--user", "alice"}, false, false},
		{"unmapped NetBIOS domain", []string{"--user", `EXAMPLE\alice`, "--target", "host/localhost"}, false, false},
		{"control: user and host name", []string{"--user", "alice", "--target", "host/localhost"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c0, d0 := w.Asked()
			args := append([]string{"connect", s.addr, "--timeout", "10s"}, tc.args...)
			code, out, errOut := runCmd(t, "", map[string]string{"SSPI_PASSWORD": s.password}, args...)
			if (code == exitOK) != tc.ok {
				t.Errorf("exit %d\n%s\n%s", code, out, errOut)
			}
			c1, d1 := w.Asked()
			if asked := c1 > c0 || d1 > d0; asked != tc.wantKDC {
				t.Errorf("KDC connections %d, DNS queries %d; want Kerberos tried: %v\n%s", c1-c0, d1-d0, tc.wantKDC, errOut)
			}
		})
	}
}
