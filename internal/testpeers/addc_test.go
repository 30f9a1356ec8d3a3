package testpeers

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopSharedADDC()
	StopSharedKDC()
	os.Exit(code)
}

// klist runs MIT's klist with the DC's environment and args.
func klist(t *testing.T, d *ADDC, args ...string) string {
	t.Helper()
	klist := Require(t, "krb5-user", "klist")
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, klist, args...)
	cmd.Env = Environ(t, NTLMEnv{}, d.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestADDC starts a DC of its own (StartADDC), so that the DC is free for other test
// binaries while this package's other tests run.
func TestADDC(t *testing.T) {
	d := StartADDC(t)
	t.Logf("template provisioning %v (0: cached), waited %v, DC start %v", d.Provisioned, d.Waited, d.Started)
	if !strings.HasPrefix(d.DomainSID, "S-1-5-21-") {
		t.Errorf("DomainSID = %q", d.DomainSID)
	}
	for _, addr := range []string{d.KDCAddr, d.LDAPAddr} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("DC not serving %s: %v", addr, err)
		}
		c.Close()
	}

	// The DC's own service names are in the template, not added by samba_spnupdate some
	// seconds after samba starts: a client asking at once for ldap/dc1.samdom.test gets it.
	t.Run("DC SPNs in the template", func(t *testing.T) {
		tmpl, _, err := ensureTemplate(DefaultTimeout)
		if err != nil {
			t.Fatal(err)
		}
		ldbsearch := Require(t, "ldb-tools", "ldbsearch")
		out, err := runCmd(nil, ldbsearch, "-H", tmpl.dir+"/private/sam.ldb", "(sAMAccountName="+strings.ToUpper(ADDCHostName)+"$)", "servicePrincipalName")
		if err != nil {
			t.Fatalf("ldbsearch: %v\n%s", err, out)
		}
		for _, spn := range []string{"ldap/" + ADDCHostName + "." + ADDCDNSDomain, "GC/" + ADDCHostName + "." + ADDCDNSDomain + "/" + ADDCDNSDomain, "RestrictedKrbHost/" + strings.ToUpper(ADDCHostName)} {
			if !strings.Contains(out, "servicePrincipalName: "+spn+"\n") {
				t.Errorf("the template's DC account lacks %s:\n%s", spn, out)
			}
		}
	})

	t.Run("user and kinit", func(t *testing.T) {
		d.AddUser(t, "tpalice", "Alice-Passw0rd!")
		if sid := d.UserSID(t, "tpalice"); !strings.HasPrefix(sid, d.DomainSID+"-") {
			t.Errorf("UserSID = %q, not in domain %s", sid, d.DomainSID)
		}
		if out := klist(t, d, "-k", "-e", d.ExportKeytab(t, "tpalice")); !strings.Contains(out, "tpalice@SAMDOM.TEST (aes256-cts-hmac-sha1-96)") {
			t.Errorf("keytab of a user:\n%s", out)
		}
		cc := d.Kinit(t, "tpalice", "Alice-Passw0rd!")
		out := klist(t, d, "-e", "-c", "FILE:"+cc)
		if !strings.Contains(out, "tpalice@SAMDOM.TEST") || !strings.Contains(out, "krbtgt/SAMDOM.TEST@SAMDOM.TEST") ||
			!strings.Contains(out, "aes256-cts-hmac-sha1-96") {
			t.Errorf("klist after kinit:\n%s", out)
		}
	})

	t.Run("service keytab and RC4-only", func(t *testing.T) {
		d.AddService(t, "tpsvc", "Svc-Passw0rd!", "HTTP/tpsvc.samdom.test")
		kt := d.ExportKeytab(t, "HTTP/tpsvc.samdom.test")
		out := klist(t, d, "-k", "-e", kt)
		if !strings.Contains(out, "HTTP/tpsvc.samdom.test@SAMDOM.TEST (aes256-cts-hmac-sha1-96)") {
			t.Errorf("exported keytab:\n%s", out)
		}
		d.SetEncTypes(t, "tpsvc", EncTypeRC4)
		out = d.SambaTool(t, "user", "show", "tpsvc", "--attributes=msDS-SupportedEncryptionTypes")
		if !strings.Contains(out, "msDS-SupportedEncryptionTypes: 4") {
			t.Errorf("after SetEncTypes:\n%s", out)
		}
	})
}

// TestPeersIgnoreWinbindd pins that every peer's environment keeps libwbclient away from the
// DC's winbindd (its socket is machine-wide).
func TestPeersIgnoreWinbindd(t *testing.T) {
	env := Environ(t, NTLMEnv{})
	found := false
	for _, e := range env {
		if e == "_NO_WINBINDD=1" {
			found = true
		}
	}
	if !found {
		t.Errorf("Environ lacks _NO_WINBINDD=1: %v", env)
	}
}

// TestCopyKeytab: entries of one principal are copied under another name with their key
// version and key; others and deleted entries (holes) are left out.
func TestCopyKeytab(t *testing.T) {
	entry := func(principal string, kvno byte, key string) []byte {
		name, err := encodePrincipal(principal)
		if err != nil {
			t.Fatal(err)
		}
		rec := append(name, 0, 0, 0, 1, 0, 0, 0, 0, kvno, 0, 18, 0, byte(len(key)))
		rec = append(rec, key...)
		return append([]byte{0, 0, 0, byte(len(rec))}, rec...)
	}
	src := append([]byte{5, 2}, entry("svc@R.TEST", 2, "aes-key")...)
	src = append(src, 0xff, 0xff, 0xff, 0xfc, 9, 9, 9, 9) // a hole of 4 bytes
	src = append(src, entry("other@R.TEST", 3, "other")...)
	src = append(src, entry("svc@R.TEST", 2, "rc4-key")...)
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/src", src, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := copyKeytab(dir+"/src", dir+"/dst", "svc@R.TEST", "HTTP/web.r.test@R.TEST")
	if err != nil || n != 2 {
		t.Fatalf("copied %d, %v", n, err)
	}
	got, _ := os.ReadFile(dir + "/dst")
	want := append([]byte{5, 2}, entry("HTTP/web.r.test@R.TEST", 2, "aes-key")...)
	want = append(want, entry("HTTP/web.r.test@R.TEST", 2, "rc4-key")...)
	if string(got) != string(want) {
		t.Errorf("keytab\n%x\nwant\n%x", got, want)
	}
	if _, err := copyKeytab(dir+"/src", dir+"/dst", "svc@R.TEST", "no-realm"); err == nil {
		t.Error("a principal without a realm was taken")
	}
}
