// Package cryptofloor is the "Go crypto floor" of the Kerberos message benchmarks (package
// gss's and package kerberos's): the AES-CBC and HMAC work of RFC 3962/8009 message
// protection done with the standard library alone, key schedule and HMAC keyed once and no
// token framing, so a benchmark can report how far gosspi's path is above what Go's
// cryptography costs. It is test support only; nothing outside benchmarks imports it.
package cryptofloor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// Floor is the stdlib-only work of one Wrap (CBC over whole blocks: CTS's block swap is
// free, and the profile's HMAC) or one MIC pair, everything keyed once under a random key.
type Floor struct {
	enc, dec cipher.BlockMode
	ki       hash.Hash
	macLen   int
	sha2     bool
	iv       [16]byte
	hdr      [16]byte
	sum      []byte
}

// New returns a floor for encryption type e (an AES profile) under a random key.
func New(tb testing.TB, e krbcrypto.EType) *Floor {
	key := make([]byte, e.KeySize())
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	f := &Floor{macLen: e.MACSize(), sha2: e == krbcrypto.AES128CTSHMACSHA256128, sum: make([]byte, 0, 64)}
	f.enc = cipher.NewCBCEncrypter(blk, f.iv[:])
	f.dec = cipher.NewCBCDecrypter(blk, f.iv[:])
	h := sha1.New
	if f.sha2 {
		h = sha256.New
	}
	f.ki = hmac.New(h, key)
	return f
}

type ivSetter interface{ SetIV([]byte) }

// Seal encrypts buf (whole blocks: confounder, data, header copy) in place and returns its
// HMAC in mac's storage: over the plaintext for aes-sha1, over IV and ciphertext for aes-sha2.
func (f *Floor) Seal(buf, mac []byte) []byte {
	f.enc.(ivSetter).SetIV(f.iv[:])
	f.ki.Reset()
	if !f.sha2 {
		f.ki.Write(buf)
	}
	f.enc.CryptBlocks(buf, buf)
	if f.sha2 {
		f.ki.Write(f.iv[:])
		f.ki.Write(buf)
	}
	return f.ki.Sum(mac[:0])
}

// Open decrypts what Seal made in place and reports whether mac matches, compared in
// constant time over the profile's MAC length.
func (f *Floor) Open(buf, mac []byte) bool {
	f.dec.(ivSetter).SetIV(f.iv[:])
	f.ki.Reset()
	if f.sha2 {
		f.ki.Write(f.iv[:])
		f.ki.Write(buf)
	}
	f.dec.CryptBlocks(buf, buf)
	if !f.sha2 {
		f.ki.Write(buf)
	}
	return subtle.ConstantTimeCompare(f.ki.Sum(f.sum[:0])[:f.macLen], mac[:f.macLen]) == 1
}

// MICPair is the work of one MIC and its verification: the HMAC over data and a 16-byte
// header, made into mac's storage, made again and compared in constant time. It returns mac
// for reuse and whether the two matched.
func (f *Floor) MICPair(data, mac []byte) ([]byte, bool) {
	mac = f.micSum(data, mac)
	f.sum = f.micSum(data, f.sum)
	return mac, subtle.ConstantTimeCompare(mac[:f.macLen], f.sum[:f.macLen]) == 1
}

func (f *Floor) micSum(data, out []byte) []byte {
	f.ki.Reset()
	f.ki.Write(data)
	f.ki.Write(f.hdr[:])
	return f.ki.Sum(out[:0])
}
