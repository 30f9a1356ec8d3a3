package krbcrypto

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
)

// PRF is the pseudo-random function of k's encryption type (RFC 3961 3):
//
//   - aes-sha1 (RFC 3962 3, the simplified profile of RFC 3961 5.3):
//     AES(DK(k, "prf"), SHA-1(input) truncated to one block), 16 bytes;
//   - aes-sha2 (RFC 8009 5): KDF-HMAC-SHA2(k, "prf", input), 32 bytes for
//     aes128-cts-hmac-sha256-128 and 48 for aes256-cts-hmac-sha384-192;
//   - rc4-hmac (RFC 4757 as MIT implements it): HMAC-SHA1(k, input), 20 bytes.
//
// FAST (RFC 6113) builds its keys on it, through PRFPlus and CF2.
func (k *Key) PRF(input []byte) []byte {
	switch k.p.family {
	case famSHA1:
		var folded [16]byte
		copy(folded[:], nfold([]byte("prf"), 16))
		var dkBuf [32]byte
		k.mu.Lock() // guards the base block
		kprf := dk(dkBuf[:0], k.baseBlock(), folded, k.p.keySize)
		k.mu.Unlock()
		defer clear(dkBuf[:])
		b, err := aes.NewCipher(kprf)
		if err != nil {
			panic("krbcrypto: " + err.Error()) // key sizes are fixed by the profile
		}
		h := sha1.Sum(input)
		out := make([]byte, aes.BlockSize)
		b.Encrypt(out, h[:aes.BlockSize])
		return out
	case famSHA2:
		// RFC 8009 5: the whole HMAC output (256 or 384 bits) of
		// 00000001 | "prf" | 00 | input | output length in bits.
		n := 32
		if k.p.keySize == 32 {
			n = 48
		}
		m := hmac.New(k.p.hash(), k.key())
		m.Write([]byte{0, 0, 0, 1})
		m.Write([]byte("prf"))
		m.Write([]byte{0})
		m.Write(input)
		m.Write([]byte{0, 0, byte(n * 8 >> 8), byte(n * 8)})
		return m.Sum(nil)[:n]
	}
	m := hmac.New(sha1.New, k.key())
	m.Write(input)
	return m.Sum(nil)
}

// PRFPlus is RFC 6113 5.1's PRF+: PRF(k, 1 | input) | PRF(k, 2 | input) | ..., the
// counter one octet, cut to n bytes (at most 255 PRF outputs).
func (k *Key) PRFPlus(input []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n+48)
	buf := make([]byte, 1+len(input))
	copy(buf[1:], input)
	for i := 1; len(out) < n; i++ {
		if i > 255 {
			return nil, fmt.Errorf("krbcrypto: PRF+ of %d bytes is longer than 255 PRF outputs", n)
		}
		buf[0] = byte(i)
		p := k.PRF(buf)
		out = append(out, p...)
		clear(p)
	}
	clear(out[n:cap(out)])
	return out[:n], nil
}

// CF2 is RFC 6113 5.1's KRB-FX-CF2: a key of k1's type made of both keys,
// random-to-key(PRF+(k1, pepper1) XOR PRF+(k2, pepper2)). FAST's armor, challenge and
// strengthened reply keys are made with it.
func CF2(k1, k2 *Key, pepper1, pepper2 string) (*Key, error) {
	n := k1.p.keySize
	a, err := k1.PRFPlus([]byte(pepper1), n)
	if err != nil {
		return nil, err
	}
	defer clear(a)
	b, err := k2.PRFPlus([]byte(pepper2), n)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	for i := range a {
		a[i] ^= b[i]
	}
	return RandomToKey(k1.etype, a)
}
