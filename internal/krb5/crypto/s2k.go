package krbcrypto

import (
	"crypto/aes"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// maxIterations bounds the PBKDF2 iteration count a KDC's ETYPE-INFO2 can ask for, so a
// hostile KDC cannot make a client spin; MIT refuses above 2^24 as well.
const maxIterations = 1 << 24

// StringToKey derives the key of type e from a password and salt (RFC 3962 4, RFC 8009
// 4, RFC 4757 2). s2kparams are the 4-byte big-endian iteration count of the AES types
// (nil for the default); RC4 takes no salt nor parameters.
func StringToKey(e EType, password, salt string, s2kparams []byte) (*Key, error) {
	p := e.profile()
	if p == nil {
		return nil, fmt.Errorf("krbcrypto: encryption type %d is not supported", int32(e))
	}
	if p.family == famRC4 {
		// MD4 of the UTF-16LE password, the NT hash.
		h := md4.New()
		var b [2]byte
		for _, r := range utf16.Encode([]rune(password)) {
			binary.LittleEndian.PutUint16(b[:], r)
			h.Write(b[:])
		}
		return NewKey(e, h.Sum(nil))
	}
	iter := p.s2kIter
	switch {
	case s2kparams == nil:
	case len(s2kparams) == 4:
		iter = binary.BigEndian.Uint32(s2kparams)
	default:
		return nil, fmt.Errorf("krbcrypto: %s s2kparams of %d bytes, want 4", p.name, len(s2kparams))
	}
	if iter == 0 || iter > maxIterations {
		return nil, fmt.Errorf("krbcrypto: %s iteration count %d is outside 1..%d", p.name, iter, maxIterations)
	}
	var tkey []byte
	var err error
	if p.family == famSHA1 {
		tkey, err = pbkdf2.Key(sha1.New, password, []byte(salt), int(iter), p.keySize)
		if err != nil {
			return nil, fmt.Errorf("krbcrypto: %w", err)
		}
		b, err := aes.NewCipher(tkey)
		if err != nil {
			return nil, fmt.Errorf("krbcrypto: %w", err)
		}
		return NewKey(e, dk(nil, b, foldedKerberos(), p.keySize))
	}
	// RFC 8009 4: the salt is prefixed by the enctype name and a zero byte.
	saltp := append(append([]byte(p.name), 0), salt...)
	tkey, err = pbkdf2.Key(p.hash(), password, saltp, int(iter), p.keySize)
	if err != nil {
		return nil, fmt.Errorf("krbcrypto: %w", err)
	}
	return NewKey(e, kdfHMACSHA2(nil, tkey, []byte("kerberos"), p.keySize))
}

func foldedKerberos() [16]byte {
	foldOnce.Do(foldInit)
	return foldedKerb
}

// RandomToKey makes a key of type e from KeySize random bytes (the identity for every
// type here).
func RandomToKey(e EType, random []byte) (*Key, error) { return NewKey(e, random) }
