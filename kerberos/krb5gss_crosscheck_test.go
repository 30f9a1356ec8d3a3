package kerberos

import (
	"bytes"
	"crypto/rand"
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/gss"
	gokrb5crypto "github.com/jcmturner/gokrb5/v8/crypto"
)

// TestCFXMatchesInternalGSS checks internal/krb5/gss (the engine that is to replace this
// package's gokrb5-based cfx) against cfx, which interoperates with MIT's gss_wrap and
// gss_get_mic in interop_test.go: MICs byte for byte, and Wrap tokens in both directions,
// whole and split as EncryptMessage splits them. Test-only: cfx is unchanged.
func TestCFXMatchesInternalGSS(t *testing.T) {
	for _, e := range []int32{17, 18, 19, 20} {
		et, err := gokrb5crypto.GetEtype(e)
		if err != nil {
			t.Fatal(err)
		}
		kb := make([]byte, krbcrypto.EType(e).KeySize()) // gokrb5 says 24 for etype 20
		rand.Read(kb)
		key, err := krbcrypto.NewKey(krbcrypto.EType(e), kb)
		if err != nil {
			t.Fatal(err)
		}
		for _, sk := range []bool{false, true} {
			old := &cfx{et: et, key: kb, acceptor: false, acceptorSK: sk}   // initiator, today's code
			oldAcc := &cfx{et: et, key: kb, acceptor: true, acceptorSK: sk} // acceptor, today's code
			newAcc, _ := gss.NewCFX(key, true, sk)                          // acceptor, new code
			newIni, _ := gss.NewCFX(key, false, sk)                         // initiator, new code
			for _, n := range []int{0, 1, 15, 16, 17, 100, 1024} {
				msg := make([]byte, n)
				rand.Read(msg)
				cfxMICsMatch(t, e, old, oldAcc, newIni, newAcc, msg)
				for _, seal := range []bool{true, false} {
					cfxWrapsMatch(t, e, old, oldAcc, newIni, newAcc, msg, seal)
				}
			}
		}
	}
}

// cfxMICsMatch checks the MICs of msg: deterministic, so byte for byte, and each side's
// accepted by the other.
func cfxMICsMatch(t *testing.T, e int32, old, oldAcc *cfx, newIni, newAcc *gss.CFX, msg []byte) {
	t.Helper()
	n := len(msg)
	seq := old.sendSeq
	mic, err := old.getMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if ours := newIni.AppendMIC(nil, seq, msg); !bytes.Equal(ours, mic) {
		t.Fatalf("etype %d n=%d: MIC %x, cfx %x", e, n, ours, mic)
	}
	if _, err := newAcc.VerifyMIC(mic, msg); err != nil {
		t.Fatalf("etype %d: cfx MIC refused: %v", e, err)
	}
	if err := oldAcc.verifyMIC(msg, newIni.AppendMIC(nil, oldAcc.recvSeq, msg)); err != nil {
		t.Fatalf("etype %d: our MIC refused by cfx: %v", e, err)
	}
}

// cfxWrapsMatch checks Wrap tokens of msg both ways: cfx's to the new code whole and split
// at cfx's trailer size, and the new code's to cfx whole and as the SSPI split joined
// (both conventions).
func cfxWrapsMatch(t *testing.T, e int32, old, oldAcc *cfx, newIni, newAcc *gss.CFX, msg []byte, seal bool) {
	t.Helper()
	n := len(msg)
	// cfx → new: whole, and split at cfx's trailer size.
	w, err := old.wrap(msg, seal)
	if err != nil {
		t.Fatal(err)
	}
	got, _, sealed, err := newAcc.UnwrapInPlace(append([]byte(nil), w...))
	if err != nil || sealed != seal || !bytes.Equal(got, msg) {
		t.Fatalf("etype %d n=%d seal=%v: cfx Wrap refused whole: %v", e, n, seal, err)
	}
	head := len(w) - n
	if _, sealed, err := newAcc.UnwrapSSPI(w[:head], [][]byte{w[head:]}, 0); err != nil || sealed != seal || !bytes.Equal(w[head:], msg) {
		t.Fatalf("etype %d n=%d seal=%v: cfx Wrap refused split: %v", e, n, seal, err)
	}
	// new → cfx: whole, and the SSPI split joined (both conventions).
	conf := make([]byte, 16)
	rand.Read(conf)
	whole, err := newIni.AppendWrap(nil, oldAcc.recvSeq, msg, seal, conf)
	if err != nil {
		t.Fatal(err)
	}
	if pt, sealed, err := oldAcc.unwrap(whole); err != nil || sealed != seal || !bytes.Equal(pt, msg) {
		t.Fatalf("etype %d n=%d seal=%v: our whole Wrap refused by cfx: %v", e, n, seal, err)
	}
	for _, win := range []bool{false, true} {
		d := append([]byte(nil), msg...)
		tb := make([]byte, 128)
		k, err := newIni.WrapSSPI(tb, [][]byte{d}, oldAcc.recvSeq, gss.WrapOptions{Seal: seal, Windows: win}, conf)
		if err != nil {
			t.Fatal(err)
		}
		if pt, sealed, err := oldAcc.unwrap(append(tb[:k:k], d...)); err != nil || sealed != seal || !bytes.Equal(pt, msg) {
			t.Fatalf("etype %d n=%d seal=%v windows=%v: our split Wrap refused by cfx: %v", e, n, seal, win, err)
		}
	}
}
