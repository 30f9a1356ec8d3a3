package keytab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestMITReadsOurKeytab: kadmin's keytab for a user parses; a keytab built from scratch
// with those keys is listed by MIT's klist -k -e -t and gets a TGT with kinit -k -t.
func TestMITReadsOurKeytab(t *testing.T) {
	kdc := testpeers.StartKDC(t, testpeers.KDCOptions{})
	klist := testpeers.Require(t, "krb5-user", "klist")
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	theirs, err := Load(kdc.KeytabFor(t, testpeers.KDCUser))
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs.Entries) == 0 {
		t.Fatal("kadmin's keytab has no entries")
	}
	ours := &Keytab{}
	stamp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range theirs.Entries {
		ours.Entries = append(ours.Entries, Entry{
			Principal: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{testpeers.KDCUser}},
			Realm:     kdc.Realm, Timestamp: stamp, KVNO: e.KVNO,
			Key: wire.EncryptionKey{Type: e.Key.Type, Value: append([]byte(nil), e.Key.Value...)},
		})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ours.keytab")
	if err := ours.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+kdc.Krb5Conf, "KRB5CCNAME=FILE:"+filepath.Join(dir, "cc"))
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run(klist, "-k", "-e", "-t", "FILE:"+path)
	for _, want := range []string{kdc.Principal(testpeers.KDCUser), "aes256-cts-hmac-sha1-96", "01/02/30 03:04:05"} {
		if !strings.Contains(out, want) {
			t.Errorf("klist -k -e -t lacks %q:\n%s", want, out)
		}
	}
	run(kinit, "-k", "-t", path, kdc.Principal(testpeers.KDCUser))
	if out := run(klist); !strings.Contains(out, "krbtgt/"+kdc.Realm) {
		t.Errorf("kinit -k -t got no TGT:\n%s", out)
	}
}
