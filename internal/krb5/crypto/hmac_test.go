package krbcrypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
)

// TestMACState checks macState against crypto/hmac over several MACs on one key: the
// first (pads written as keyed), the second (states saved) and later ones (states
// restored), with messages of assorted lengths written in pieces.
func TestMACState(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func() hash.Hash
		klen int
	}{{"md5", md5.New, 16}, {"sha1-16", sha1.New, 16}, {"sha1-32", sha1.New, 32}, {"sha256", sha256.New, 16}, {"sha384", sha512.New384, 24}} {
		key := make([]byte, tc.klen)
		rand.Read(key)
		var m macState
		m.init(tc.h, key, new(macScratch))
		for i, n := range []int{0, 1, 55, 64, 200, 1000, 3, 129} {
			msg := make([]byte, n)
			rand.Read(msg)
			want := hmac.New(tc.h, key)
			want.Write(msg)
			m.Reset()
			m.Write(msg[:n/2])
			m.Write(msg[n/2:])
			if got := m.Sum([]byte("x")); !bytes.Equal(got, append([]byte("x"), want.Sum(nil)...)) {
				t.Fatalf("%s: MAC %d differs from crypto/hmac", tc.name, i)
			}
		}
	}
}

// TestMACStateAllocs pins the allocations: one hash when keyed, the saved states once on
// the second MAC, none after.
func TestMACStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	key := make([]byte, 32)
	msg := make([]byte, 100)
	var sum [64]byte
	fresh := new(state) // already on the heap
	if n := testing.AllocsPerRun(100, func() {
		m := &fresh.mi
		*m = macState{}
		m.init(sha1.New, key, &fresh.mac)
		m.Write(msg)
		m.Sum(sum[:0])
	}); n != 1 {
		t.Errorf("keying and one MAC: %v allocations, want 1", n)
	}
	var m macState
	m.init(sha1.New, key, new(macScratch))
	m.Write(msg)
	m.Sum(sum[:0])
	m.Reset()
	if n := testing.AllocsPerRun(100, func() {
		m.Reset()
		m.Write(msg)
		m.Sum(sum[:0])
	}); n != 0 {
		t.Errorf("later MACs: %v allocations, want 0", n)
	}
}

// TestMACPaths: a usage key's checksums and seals agree with crypto/hmac through each of
// the ways its MAC is made: the first on the stack, the second on a keyed hash, later
// ones from saved states; and for a message too long for the stack.
func TestMACPaths(t *testing.T) {
	for _, e := range allETypes[:4] {
		h := profiles[e-AES128CTSHMACSHA196].hash()
		for _, n := range []int{0, 1, 100, maxOnStack, maxOnStack + 1} {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			k, _ := NewKey(e, bytes.Repeat([]byte{3}, e.KeySize()))
			uk := k.Usage(25) // fresh: its first MAC is made on the stack when short
			ref := hmac.New(h, uk.checksumKey())
			ref.Write(msg)
			want := ref.Sum(nil)[:e.MACSize()]
			for i := range 4 {
				if got := uk.Checksum(nil, msg); !bytes.Equal(got, want) {
					t.Errorf("%v: checksum %d of %d bytes = %x, want %x", e, i, n, got, want)
				}
			}
			k2, _ := NewKey(e, bytes.Repeat([]byte{3}, e.KeySize()))
			for i := range 4 {
				ct, err := k2.Usage(25).Seal(nil, msg, make([]byte, 16))
				if err != nil {
					t.Fatal(err)
				}
				// Opened by a key whose MACs went another way: uk's (stack, then keyed) and a
				// fresh one's (stack when short).
				k3, _ := NewKey(e, bytes.Repeat([]byte{3}, e.KeySize()))
				for _, o := range []*UsageKey{uk, k3.Usage(25)} {
					if pt, err := o.Open(nil, ct); err != nil || !bytes.Equal(pt, msg) {
						t.Errorf("%v: seal %d of %d bytes does not open: %v", e, i, n, err)
					}
				}
			}
		}
	}
}
