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

	t.Run("user and kinit", func(t *testing.T) {
		d.AddUser(t, "tpalice", "Alice-Passw0rd!")
		if sid := d.UserSID(t, "tpalice"); !strings.HasPrefix(sid, d.DomainSID+"-") {
			t.Errorf("UserSID = %q, not in domain %s", sid, d.DomainSID)
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
