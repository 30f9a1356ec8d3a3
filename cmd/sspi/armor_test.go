package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
)

// TestConnectArmorCCache: `sspi connect --armor-ccache` armors the password logon with
// FAST, with a host TGT MIT's kinit -k put in a cache. MIT's KDC gives tickets for the
// service fast/localhost only to logons that used FAST's encrypted challenge
// (require_auth fast), so the connection succeeds exactly when the logon was armored.
func TestConnectArmorCCache(t *testing.T) {
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	const fastSPN = "fast/localhost"
	k := testpeers.StartKDC(t, testpeers.KDCOptions{
		Services: []string{testpeers.KDCService, fastSPN},
		KDCConf:  "[realms]\n\t" + testpeers.KDCRealm + " = {\n\t\tencrypted_challenge_indicator = fast\n\t}\n",
	})
	k.Kadmin(t, "modprinc +requires_preauth "+testpeers.KDCUser)
	k.Kadmin(t, "setstr "+fastSPN+" require_auth fast")
	t.Setenv("KRB5_CONFIG", k.Krb5Conf) // the sspi children inherit it
	armor := "FILE:" + filepath.Join(t.TempDir(), "armor.ccache")
	cmd := exec.Command(kinit, "-k", "-t", k.Keytab, "-c", armor, k.Principal(testpeers.KDCService))
	cmd.Env = k.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit -k: %v\n%s", err, out)
	}
	s := startServe(t, "--keytab", k.Keytab, "--json")
	alice := k.Principal(testpeers.KDCUser)
	pw := []string{"SSPI_PASSWORD=" + testpeers.KDCPassword}
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		code, out, errOut := sspiCmd(t, pw, "", "connect", s.addr, "--package", pkg, "--user", alice, "--target", fastSPN,
			"--armor-ccache", armor, "--json")
		var res connectResult
		if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Package != "Kerberos" {
			t.Fatalf("%s, armored: exit %d %v (package %q)\n%s\n%s", pkg, code, err, res.Package, out, errOut)
		}
	}
	// Without the armor the KDC refuses the service: else the test above proves nothing.
	code, _, errOut := sspiCmd(t, pw, "", "connect", s.addr, "--package", "Kerberos", "--user", alice, "--target", fastSPN)
	if code != exitAuth || !strings.Contains(errOut, "KDC_ERR_POLICY") {
		t.Fatalf("unarmored: exit %d, want %d and the KDC's KDC_ERR_POLICY:\n%s", code, exitAuth, errOut)
	}
}

// TestConnectArmorCCacheUsage: --armor-ccache needs a password logon (--user) of Kerberos
// or Negotiate; anything else is a usage error, before any KDC is asked.
func TestConnectArmorCCacheUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--package", "Kerberos", "--armor-ccache", "FILE:/nonexistent"},
		{"--package", "NTLM", "--user", "alice@EXAMPLE.COM", "--armor-ccache", "FILE:/nonexistent"},
		{"--package", "CredSSP", "--user", "alice@EXAMPLE.COM", "--armor-ccache", "FILE:/nonexistent"},
	} {
		code, _, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=x"}, "", append([]string{"connect", "127.0.0.1:1"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "--armor-ccache armors a Kerberos password logon") {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
}
