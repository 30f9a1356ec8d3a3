package krbclient

import (
	"crypto/rand"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestKDCChallengeNotReflected pins what makes accepting Heimdal 7.8's KDC challenge (in
// the client challenge key) safe: the client's own PA-ENCRYPTED-CHALLENGE, put back in a
// reply as the KDC's by someone who holds the armor key (whoever can read the armor
// ccache), does not pass, nor does a challenge in a key made without the user's key;
// MIT's (KDC challenge key) and Heimdal's (client challenge key, usage 55) do.
func TestKDCChallengeNotReflected(t *testing.T) {
	c := fakeClient(t, fakeConf(t, ""), Options{})
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA384192} {
		armor, longTerm, other := randKey(t, et), randKey(t, et), randKey(t, et)
		f := &fastState{armorKey: armor}
		own, err := f.encryptedChallenge(c, longTerm)
		if err != nil {
			t.Fatal(err)
		}
		kdcSide := func(pepper string, k *krbcrypto.Key, usage uint32) wire.PAData {
			ck, err := krbcrypto.CF2(armor, k, pepper, fastChallengeLongTerm)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			plain, _ := (&wire.PAEncTSEnc{Timestamp: now.Truncate(time.Second), Usec: int32(now.Nanosecond() / 1000), HasUsec: true}).Marshal()
			ct, err := ck.Encrypt(nil, plain, usage, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := (&wire.EncryptedData{EType: int32(et), Cipher: ct}).Marshal()
			return wire.PAData{Type: wire.PAEncryptedChallenge, Value: v}
		}
		for _, tc := range []struct {
			name string
			pa   []wire.PAData
			ok   bool
		}{
			{"MIT: KDC challenge key", []wire.PAData{kdcSide(fastKDCChallenge, longTerm, usageEncChallengeKDC)}, true},
			{"Heimdal: client challenge key, usage 55", []wire.PAData{kdcSide(fastClientChallenge, longTerm, usageEncChallengeKDC)}, true},
			{"the client's own challenge reflected", []wire.PAData{own}, false},
			{"client challenge key, client usage 54", []wire.PAData{kdcSide(fastClientChallenge, longTerm, usageEncChallengeClient)}, false},
			{"another long-term key", []wire.PAData{kdcSide(fastKDCChallenge, other, usageEncChallengeKDC)}, false},
			{"no challenge after the client's", nil, false},
		} {
			err := f.checkKDCChallenge(c, tc.pa, longTerm, "test")
			if (err == nil) != tc.ok {
				t.Errorf("%v, %s: %v, want ok=%v", et, tc.name, err, tc.ok)
			}
		}
	}
}

func randKey(t *testing.T, et krbcrypto.EType) *krbcrypto.Key {
	t.Helper()
	b := make([]byte, et.KeySize())
	rand.Read(b)
	k, err := krbcrypto.RandomToKey(et, b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
