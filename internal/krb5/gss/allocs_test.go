package gss

import (
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// TestZeroAllocs: with the caller's buffers, message protection allocates nothing.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, e := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192} {
		k, _ := krbcrypto.NewKey(e, make([]byte, e.KeySize()))
		ini, acc := pair(t, k, true)
		data := make([]byte, 1000)
		tok := make([]byte, 128)
		mic := make([]byte, 0, 64)
		whole := make([]byte, 0, 1200)
		conf := make([]byte, 16)
		var bufs [2][]byte
		n := testing.AllocsPerRun(50, func() {
			bufs[0], bufs[1] = data[:300], data[300:]
			for _, win := range []bool{false, true} {
				k, err := ini.WrapSSPI(tok, bufs[:], 1, true, win, conf)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := acc.UnwrapSSPI(tok[:k], bufs[:]); err != nil {
					t.Fatal(err)
				}
			}
			mic = ini.AppendMIC(mic[:0], 2, data)
			if _, err := acc.VerifyMIC(mic, data); err != nil {
				t.Fatal(err)
			}
			w, _ := ini.AppendWrap(whole[:0], 3, data, true, conf)
			if _, _, _, err := acc.UnwrapInPlace(w); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%v: %v allocations per round, want 0", e, n)
		}
	}
	k, _ := krbcrypto.NewKey(krbcrypto.RC4HMAC, make([]byte, 16))
	ri, _ := NewRC4(k, false)
	ra, _ := NewRC4(k, true)
	data := make([]byte, 1000)
	tok := make([]byte, 64)
	mic := make([]byte, 0, 64)
	conf := make([]byte, 8)
	var bufs [1][]byte
	n := testing.AllocsPerRun(50, func() {
		bufs[0] = data
		k, _ := ri.WrapSSPI(tok, bufs[:], 1, true, conf)
		if _, _, err := ra.UnwrapSSPI(tok[:k], bufs[:]); err != nil {
			t.Fatal(err)
		}
		mic = ri.AppendMIC(mic[:0], 2, data)
		if _, err := ra.VerifyMIC(mic, data); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("rc4: %v allocations per round, want 0", n)
	}
}
