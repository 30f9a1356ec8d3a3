package krbcrypto

import (
	"runtime"
	"testing"
)

// allocsAndBytes runs f n times after one warm-up call and returns the allocations and
// bytes allocated per run, the allocations rounded down as testing.AllocsPerRun rounds
// them (the runtime's own goroutines allocate now and then too).
func allocsAndBytes(n int, f func()) (allocs, bytes float64) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return float64((b.Mallocs - a.Mallocs) / uint64(n)), float64(b.TotalAlloc-a.TotalAlloc) / float64(n)
}

// TestKeySetupAllocs pins what a fresh key costs, which every session pays several times
// (subkeys, the acceptor's copy of the ticket's session key): the Key alone (a few slots
// for its usages, not one per usage number: 646 bytes before), a key used once to open an
// authenticator (7 allocations and 3200 bytes with aes256-sha1 before: the CBC mode copied
// the key schedule, the HMAC allocated its hash), and a context's key with its four RFC
// 4121 usages each sealing, opening and checksumming once (31 allocations, 13.5 KB
// before). The bounds leave a margin over the counts when written (1/112, 4/1648,
// 14/5168 for aes256-sha1).
func TestKeySetupAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	for _, e := range []EType{AES256CTSHMACSHA196, AES128CTSHMACSHA256128} {
		kb := make([]byte, e.KeySize())
		k0, _ := NewKey(e, kb)
		ct, _ := k0.Usage(11).Seal(nil, make([]byte, 100), make([]byte, 16))
		out := make([]byte, 0, 400)
		msg := make([]byte, 60)
		conf := make([]byte, 16)
		for _, c := range []struct {
			name          string
			allocs, bytes float64
			f             func()
		}{
			{"NewKey", 1, 160, func() { _, _ = NewKey(e, kb) }},
			{"NewKey+Open", 5, 1900, func() {
				k, _ := NewKey(e, kb)
				if _, err := k.Usage(11).Open(out[:0], ct); err != nil {
					t.Fatal(err)
				}
			}},
			{"NewKey+4 usages", 17, 6000, func() {
				k, _ := NewKey(e, kb)
				for _, u := range []uint32{22, 23, 24, 25} {
					c, _ := k.Usage(u).Seal(out[:0], msg, conf)
					if _, err := k.Usage(u).Open(out[len(c):len(c)], c); err != nil {
						t.Fatal(err)
					}
					_ = k.Usage(u).Checksum(out[:0], c)
				}
			}},
		} {
			a, b := allocsAndBytes(200, c.f)
			if a > c.allocs || b > c.bytes {
				t.Errorf("%v %s: %v allocations, %v bytes; want at most %v, %v", e, c.name, a, b, c.allocs, c.bytes)
			}
		}
	}
}
