package kerberos

import (
	"os"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	gokrb5keytab "github.com/jcmturner/gokrb5/v8/keytab"
	"strconv"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return fixedTime }

// ktKeys sets up the acceptor's keys from a keytab made by gokrb5 (an implementation
// independent of ours, so tests that build tickets with it cross-check the engine).
func ktKeys(tb testing.TB, kt *gokrb5keytab.Keytab) *serviceKeys {
	tb.Helper()
	b, err := kt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	ks, _, err := newServiceKeys(b)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

// protPair returns the message protection of an initiator and an acceptor sharing key.
func protPair(tb testing.TB, et krbcrypto.EType, key []byte, acceptorSK, seqCheck bool, seq uint64) (ini, acc *established) {
	tb.Helper()
	k1, err := krbcrypto.NewKey(et, key)
	if err != nil {
		tb.Fatal(err)
	}
	k2, _ := krbcrypto.NewKey(et, key)
	ini, acc = &established{}, &established{}
	ini.setup(k1, false, acceptorSK, seqCheck, seq, seq)
	acc.setup(k2, true, acceptorSK, seqCheck, seq, seq)
	return ini, acc
}
