package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestConnectDelegateKerberos: `sspi connect --delegate` gets a forwardable TGT and
// forwards it to a service the realm marks OK-AS-DELEGATE, to another only with
// --ignore-ok-as-delegate, and never without --delegate; the client's attributes say
// DELEGATE exactly then, and `sspi serve` logs delegated=true exactly then (ASC_RET_DELEGATE).
// The KDC is kdctest's, which issues forwardable TGTs only to a client that asks.
func TestConnectDelegateKerberos(t *testing.T) {
	const trusted, untrusted = "HTTP/localhost", "host/localhost"
	// A KDC of its own: the package's shared one must not trust anyone for delegation.
	k := testkdc.Start(t, testpeers.KDCOptions{Services: []string{trusted, untrusted}})
	if err := k.Server.SetOKAsDelegate(trusted, true); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", k.Krb5Conf) // the sspi children inherit it
	alice := k.Principal(testpeers.KDCUser)
	s := startServe(t, "--keytab", k.Keytab, "--json")
	cases := []struct {
		name, pkg, target string
		flags             []string
		want              bool
	}{
		{"no-delegate", "Kerberos", trusted, nil, false},
		{"ok-as-delegate", "Kerberos", trusted, []string{"--delegate"}, true},
		{"not-ok-as-delegate", "Kerberos", untrusted, []string{"--delegate"}, false},
		{"not-ok-as-delegate-ignored", "Kerberos", untrusted, []string{"--delegate", "--ignore-ok-as-delegate"}, true},
		{"negotiate", "Negotiate", trusted, []string{"--delegate"}, true},
		{"negotiate-no-delegate", "Negotiate", trusted, nil, false},
	}
	for i, tc := range cases {
		args := append([]string{"connect", s.addr, "--package", tc.pkg, "--user", alice, "--target", tc.target, "--message", "hi", "--json"}, tc.flags...)
		code, out, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=" + testpeers.KDCPassword}, "", args...)
		var res connectResult
		if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil {
			t.Fatalf("%s: exit %d %v\n%s\n%s\nserver:\n%s", tc.name, code, err, out, errOut, s.stderr)
		}
		if got := strings.Contains("|"+res.Attributes+"|", "|DELEGATE|"); got != tc.want || res.Package != "Kerberos" {
			t.Errorf("%s: client attributes %s (package %s), want DELEGATE %v", tc.name, res.Attributes, res.Package, tc.want)
		}
		l := connectionLines(t, s, i+1)[i]
		if l["delegated"] != tc.want || l["identity"] != alice {
			t.Errorf("%s: serve logged %v, want delegated=%v", tc.name, l, tc.want)
		}
	}
}

// TestConnectIgnoreOKAsDelegateUsage: --ignore-ok-as-delegate without --delegate, or with
// a package that has no Kerberos delegation, is a usage error, before any KDC is asked.
func TestConnectIgnoreOKAsDelegateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--package", "Kerberos", "--ignore-ok-as-delegate"},
		{"--package", "CredSSP", "--delegate", "--ignore-ok-as-delegate"},
		{"--package", "Schannel", "--delegate", "--ignore-ok-as-delegate"},
	} {
		code, _, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=x"}, "", append([]string{"connect", "127.0.0.1:1", "--user", "alice@EXAMPLE.COM"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "--ignore-ok-as-delegate is for Kerberos delegation") {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
}
