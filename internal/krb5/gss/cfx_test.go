package gss

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// Vectors of shared/spec/kerberos-gss-vectors.md 7.4 (gokrb5's published tokens,
// recomputed; the sealed ones computed there).

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func specKey(t testing.TB) *krbcrypto.Key {
	k, err := krbcrypto.NewKey(krbcrypto.AES128CTSHMACSHA196, unhex(t, "14f9bde6b50ec508201a97f74c4e5bd3"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pair(t testing.TB, k *krbcrypto.Key, subkey bool) (ini, acc *CFX) {
	ini, err := NewCFX(k, false, subkey)
	if err != nil {
		t.Fatal(err)
	}
	acc, err = NewCFX(k, true, subkey)
	if err != nil {
		t.Fatal(err)
	}
	return ini, acc
}

func TestMICVectors(t *testing.T) {
	ini, acc := pair(t, specKey(t), false)
	msg := []byte{0xde, 0xad, 0xbe, 0xef}
	for _, c := range []struct {
		name     string
		from, to *CFX
		seq      uint64
		want     string
	}{
		{"acceptor", acc, ini, 0x575e85d6, "040401ffffffffff00000000575e85d6c34d12ba3e5b1b1310cd9cb3"},
		{"initiator", ini, acc, 0, "040400ffffffffff00000000000000009649ca09d2f1bc51ff6e5ca3"},
	} {
		tok := c.from.AppendMIC(nil, c.seq, msg[:1], msg[1:])
		if got := hex.EncodeToString(tok); got != c.want {
			t.Errorf("%s MIC = %s, want %s", c.name, got, c.want)
		}
		seq, err := c.to.VerifyMIC(tok, msg)
		if err != nil || seq != c.seq {
			t.Errorf("%s VerifyMIC = %d, %v", c.name, seq, err)
		}
		// Reflected back at its sender: refused by the direction flag.
		if _, err := c.from.VerifyMIC(tok, msg); !errors.Is(err, ErrDirection) {
			t.Errorf("%s: reflected MIC: %v", c.name, err)
		}
		// Altered message, altered sequence number, truncated token.
		if _, err := c.to.VerifyMIC(tok, []byte{0xde, 0xad, 0xbe, 0xee}); !errors.Is(err, ErrBadMIC) {
			t.Errorf("%s: altered message: %v", c.name, err)
		}
		bad := append([]byte(nil), tok...)
		bad[15] ^= 1
		if _, err := c.to.VerifyMIC(bad, msg); !errors.Is(err, ErrBadMIC) {
			t.Errorf("%s: altered seq: %v", c.name, err)
		}
		if _, err := c.to.VerifyMIC(tok[:len(tok)-1], msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: short: %v", c.name, err)
		}
	}
}

func TestWrapVectors(t *testing.T) {
	ini, acc := pair(t, specKey(t), false)
	payload := []byte{1, 1, 0, 0}
	for _, c := range []struct {
		name     string
		from, to *CFX
		seq      uint64
		want     string
	}{
		{"acceptor", acc, ini, 0x575e85d6, "050401ff000c000000000000575e85d601010000853b728d5268525a1386c19f"},
		{"initiator", ini, acc, 0, "050400ff000c000000000000000000000101000079a033510b6f127212242b97"},
	} {
		tok, err := c.from.AppendWrap(nil, c.seq, payload, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(tok); got != c.want {
			t.Errorf("%s integrity-only Wrap = %s, want %s", c.name, got, c.want)
		}
		msg, seq, sealed, err := c.to.UnwrapInPlace(append([]byte(nil), tok...))
		if err != nil || seq != c.seq || sealed || !bytes.Equal(msg, payload) {
			t.Errorf("%s Unwrap = %x %d %v %v", c.name, msg, seq, sealed, err)
		}
	}
	conf := make([]byte, 16)
	for i := range conf {
		conf[i] = byte(i)
	}
	msg := []byte{0xde, 0xad, 0xbe, 0xef}
	const plain = "050402ff000000000000000000000000debcb2b270f4152cfe1cde9c62f90d12ebdca10a92a797cbf78ed2b5105cdb0819bcd720e8648c7524017a100e2eaf56"
	const windows = "050402ff0010001c0000000000000000dcf00257d04041708bc1195157b2bd0263c1f34b3c4cf2ee05678d4269bd031f5815a1acbf2623020d6a0703debcb2b270f4152cfe1cde9c62f90d12c344abc4"
	tok, err := ini.AppendWrap(nil, 0, msg, true, conf)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(tok); got != plain {
		t.Errorf("sealed Wrap = %s, want %s", got, plain)
	}
	// Windows' split: 76-byte token buffer, data in place; joined, the spec's token.
	data := append([]byte(nil), msg...)
	tb := make([]byte, ini.SSPITokenSize(true, true))
	n, err := ini.WrapSSPI(tb, [][]byte{data}, 0, true, true, conf)
	if err != nil || n != 76 {
		t.Fatalf("WrapSSPI = %d, %v", n, err)
	}
	if got := hex.EncodeToString(append(tb[:n:n], data...)); got != windows {
		t.Errorf("Windows-style Wrap = %s, want %s", got, windows)
	}
	for name, v := range map[string]string{"RFC 4121": plain, "Windows": windows} {
		m, seq, sealed, err := acc.UnwrapInPlace(unhex(t, v))
		if err != nil || seq != 0 || !sealed || !bytes.Equal(m, msg) {
			t.Errorf("UnwrapInPlace(%s) = %x %d %v %v", name, m, seq, sealed, err)
		}
	}
	w := unhex(t, windows)
	if seq, sealed, err := acc.UnwrapSSPI(w[:76], [][]byte{w[76:]}); err != nil || seq != 0 || !sealed || !bytes.Equal(w[76:], msg) {
		t.Errorf("UnwrapSSPI(Windows) = %d %v %v, data %x", seq, sealed, err, w[76:])
	}
}

// TestWrapRoundTrip covers every AES etype, both directions, both SSPI conventions,
// sealed and not, message lengths across block boundaries, several data buffers, and
// the same tokens read whole after any rotation.
func TestWrapRoundTrip(t *testing.T) {
	for _, e := range []krbcrypto.EType{krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192} {
		kb := make([]byte, e.KeySize())
		rand.Read(kb)
		k, _ := krbcrypto.NewKey(e, kb)
		for _, subkey := range []bool{false, true} {
			ini, acc := pair(t, k, subkey)
			for n := 0; n < 50; n += 7 {
				msg := make([]byte, n)
				rand.Read(msg)
				conf := make([]byte, 16)
				rand.Read(conf)
				for _, seal := range []bool{false, true} {
					tok, err := ini.AppendWrap(nil, uint64(n), msg, seal, conf)
					if err != nil {
						t.Fatal(err)
					}
					m, seq, sealed, err := acc.UnwrapInPlace(tok)
					if err != nil || seq != uint64(n) || sealed != seal || !bytes.Equal(m, msg) {
						t.Fatalf("%v n=%d seal=%v: whole round trip %v", e, n, seal, err)
					}
					for _, win := range []bool{false, true} {
						d := append([]byte(nil), msg...)
						cut := n / 3
						tb := make([]byte, 100)
						used, err := acc.WrapSSPI(tb, [][]byte{d[:cut], d[cut:]}, 7, seal, win, conf)
						if err != nil {
							t.Fatal(err)
						}
						whole := append(append([]byte(nil), tb[:used]...), d...)
						if seq, sealed, err := ini.UnwrapSSPI(tb[:used], [][]byte{d[:cut], d[cut:]}); err != nil || seq != 7 || sealed != seal || !bytes.Equal(d, msg) {
							t.Fatalf("%v n=%d seal=%v win=%v: SSPI round trip %v", e, n, seal, win, err)
						}
						m, _, _, err := ini.UnwrapInPlace(whole)
						if err != nil || !bytes.Equal(m, msg) {
							t.Fatalf("%v n=%d seal=%v win=%v: SSPI token read whole: %v", e, n, seal, win, err)
						}
					}
				}
			}
			// A token from one side is refused by the same side (reflection).
			tok, _ := ini.AppendWrap(nil, 1, []byte("x"), true, make([]byte, 16))
			if _, _, _, err := ini.UnwrapInPlace(tok); !errors.Is(err, ErrDirection) {
				t.Errorf("reflected Wrap: %v", err)
			}
		}
	}
}

func TestSubkeyFlagEnforced(t *testing.T) {
	k := specKey(t)
	ini, _ := pair(t, k, true)
	_, acc := pair(t, k, false)
	tok := acc.AppendMIC(nil, 0, []byte("m"))
	if _, err := ini.VerifyMIC(tok, []byte("m")); !errors.Is(err, ErrSubkey) {
		t.Errorf("token without the acceptor-subkey flag: %v", err)
	}
}

func TestUnwrapTamper(t *testing.T) {
	ini, acc := pair(t, specKey(t), false)
	msg := []byte("attack at dawn, bring snacks")
	for _, seal := range []bool{false, true} {
		tok, _ := ini.AppendWrap(nil, 3, msg, seal, make([]byte, 16))
		for i := range tok {
			if i == 3 || (i >= 4 && i < 8 && seal) {
				continue // filler byte; EC and RRC are examined separately below
			}
			bad := append([]byte(nil), tok...)
			bad[i] ^= 0x10
			if _, _, _, err := acc.UnwrapInPlace(bad); err == nil {
				t.Errorf("seal=%v: byte %d altered, accepted", seal, i)
			}
		}
	}
	// A sealed token whose RRC is changed is refused (it no longer decrypts).
	tok, _ := ini.AppendWrap(nil, 3, msg, true, make([]byte, 16))
	tok[7] = 5
	if _, _, _, err := acc.UnwrapInPlace(tok); err == nil {
		t.Error("wrong RRC accepted")
	}
}

func FuzzUnwrap(f *testing.F) {
	f.Add([]byte{0x05, 0x04, 0x02, 0xff, 0, 0, 0, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0}, 0)
	f.Add(unhex(f, "050402ff0010001c0000000000000000dcf00257d04041708bc1195157b2bd0263c1f34b3c4cf2ee05678d4269bd031f5815a1acbf2623020d6a0703debcb2b270f4152cfe1cde9c62f90d12c344abc4"), 76)
	f.Add(unhex(f, "050400ff000c000000000000000000000101000079a033510b6f127212242b97"), 28)
	_, acc := pair(f, specKey(f), false)
	f.Fuzz(func(t *testing.T, tok []byte, cut int) {
		c := append([]byte(nil), tok...)
		_, _, _, _ = acc.UnwrapInPlace(c)
		if cut < 0 || cut > len(tok) {
			cut = len(tok)
		}
		c = append(c[:0], tok...)
		_, _, _ = acc.UnwrapSSPI(c[:cut], [][]byte{c[cut:]})
		_, _ = acc.VerifyMIC(tok, tok)
	})
}
