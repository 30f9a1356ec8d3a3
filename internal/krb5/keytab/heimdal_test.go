package keytab

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestHeimdalKeytab: keytabs Heimdal writes parse field by field. Heimdal's ktutil adds
// entries with a known key (a kvno above 255, so only the 32-bit kvno field holds it, and
// Heimdal's 32-bit flags word after it) and a password-made RC4 key (the NT hash); kadmin's
// ext_keytab exports a service's five keys. Heimdal's ktutil lists a keytab we wrote from
// those entries, keys and kvnos included.
func TestHeimdalKeytab(t *testing.T) {
	k := testpeers.StartHeimdalKDC(t, testpeers.HeimdalKDCOptions{})
	kt := checkHeimdalKtutil(t, k)
	svc := checkHeimdalExtKeytab(t, k)
	checkOursForHeimdal(t, k, kt, svc)
}

const (
	hexKey = "000102030405060708090a0b0c0d0e0f"
	// ntHashHex is MD4 of "Passw0rd!" in UTF-16LE, the RC4 key (RFC 4757 section 2).
	ntHashHex = "fc525c9683e8fe067095ba2ddc971889"
)

// checkHeimdalKtutil checks the entries Heimdal's ktutil adds, and returns their keytab.
func checkHeimdalKtutil(t *testing.T, k *testpeers.HeimdalKDC) *Keytab {
	t.Helper()
	path := filepath.Join(t.TempDir(), "heimdal.keytab")
	before := time.Now().Add(-time.Minute)
	for _, args := range [][]string{
		{"-p", "svc/host.example@EX.TEST", "-V", "300", "-e", "aes128-cts-hmac-sha1-96", "-H", "-w", hexKey},
		{"-p", "bob@EX.TEST", "-V", "2", "-e", "arcfour-hmac-md5", "-w", "Passw0rd!"},
	} {
		if _, err := k.Run("", "ktutil", append([]string{"-k", "FILE:" + path, "add"}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	kt, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if kt.Version != Version2 || len(kt.Entries) != 2 {
		t.Fatalf("version %#x, %d entries", kt.Version, len(kt.Entries))
	}
	ntHash, _ := hex.DecodeString(ntHashHex)
	aesKey, _ := hex.DecodeString(hexKey)
	for i, want := range []struct {
		name  []string
		realm string
		kvno  uint32
		etype int32
		key   []byte
	}{
		{[]string{"svc", "host.example"}, "EX.TEST", 300, 17, aesKey},
		{[]string{"bob"}, "EX.TEST", 2, 23, ntHash},
	} {
		e := kt.Entries[i]
		if strings.Join(e.Principal.Components, "/") != strings.Join(want.name, "/") || e.Realm != want.realm ||
			e.KVNO != want.kvno || e.Key.Type != want.etype || !bytes.Equal(e.Key.Value, want.key) {
			t.Errorf("entry %d: %v@%s kvno %d type %d key %x", i, e.Principal, e.Realm, e.KVNO, e.Key.Type, e.Key.Value)
		}
		if e.Principal.Type != wire.NamePrincipal {
			t.Errorf("entry %d: name type %d", i, e.Principal.Type)
		}
		if e.Timestamp.Before(before.Truncate(time.Second)) || e.Timestamp.After(time.Now().Add(time.Minute)) {
			t.Errorf("entry %d: timestamp %v", i, e.Timestamp)
		}
	}
	if _, ok := kt.Find(wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{"svc", "host.example"}}, "EX.TEST", 300, 17); !ok {
		t.Error("Find does not find kvno 300")
	}
	return kt
}

// checkHeimdalExtKeytab checks kadmin's ext_keytab: every default enctype of the
// service, kvno 1; it returns the keytab.
func checkHeimdalExtKeytab(t *testing.T, k *testpeers.HeimdalKDC) *Keytab {
	t.Helper()
	svc, err := Load(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	etypes := map[int32]int{}
	for _, e := range svc.Entries {
		if e.Principal.String() != testpeers.KDCService || e.Realm != k.Realm || e.KVNO != 1 {
			t.Errorf("service entry %v@%s kvno %d", e.Principal, e.Realm, e.KVNO)
		}
		etypes[e.Key.Type] = len(e.Key.Value)
	}
	for et, n := range map[int32]int{18: 32, 17: 16, 20: 32, 19: 16, 23: 16} {
		if etypes[et] != n {
			t.Errorf("service keytab: enctype %d has a %d-byte key, want %d (all: %v)", et, etypes[et], n, etypes)
		}
	}
	return svc
}

// checkOursForHeimdal writes the entries of kt and svc to a keytab of ours and checks
// that Heimdal's ktutil lists them.
func checkOursForHeimdal(t *testing.T, k *testpeers.HeimdalKDC, kt, svc *Keytab) {
	t.Helper()
	ours := &Keytab{Entries: append(append([]Entry(nil), kt.Entries...), svc.Entries...)}
	out := filepath.Join(t.TempDir(), "ours.keytab")
	if err := ours.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	list, err := k.Run("", "ktutil", "-k", "FILE:"+out, "list", "--keys")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, l := range strings.Split(list, "\n") {
		rows[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range []string{
		"300 aes128-cts-hmac-sha1-96 svc/host.example@EX.TEST " + hexKey,
		"2 arcfour-hmac-md5 bob@EX.TEST " + ntHashHex,
	} {
		if !rows[want] {
			t.Errorf("Heimdal's ktutil list of our keytab lacks %q:\n%s", want, list)
		}
	}
	for _, e := range svc.Entries {
		if !strings.Contains(list, hex.EncodeToString(e.Key.Value)) {
			t.Errorf("Heimdal's ktutil list of our keytab lacks the enctype %d key of %v", e.Key.Type, e.Principal)
		}
	}
}
