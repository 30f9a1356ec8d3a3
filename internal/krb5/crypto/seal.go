package krbcrypto

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
	"slices"
)

// ConfounderSize is the length of the confounder the encryption of uk starts with.
func (uk *UsageKey) ConfounderSize() int { return uk.p.confSize }

// MACSize is the length of uk's integrity tag and of its checksums.
func (uk *UsageKey) MACSize() int { return uk.p.macSize }

var (
	errPartsShort = errors.New("krbcrypto: message shorter than the confounder")
	errTooMany    = errors.New("krbcrypto: more than 64 pieces")
)

// maxStackParts is how many encrypted pieces of a message with sign-only parts are listed
// without allocating.
const maxStackParts = 16

// SealParts encrypts in place the message made of parts, whose first ConfounderSize
// bytes must already hold a fresh random confounder, and appends its integrity tag to
// tag. The ciphertext of RFC 3961 is the encrypted parts followed by the tag (for AES)
// or the tag followed by them (for RC4); SealParts leaves that layout to the caller so
// that a message split over several buffers is encrypted where it lies.
func (uk *UsageKey) SealParts(tag []byte, parts ...[]byte) ([]byte, error) {
	return uk.SealPartsSignOnly(tag, 0, parts...)
}

// SealPartsSignOnly is SealParts where bit i of signOnly marks parts[i] as protected by
// the integrity tag but left in the clear, as the crypto-system IOV interfaces of MIT
// krb5 (KRB5_CRYPTO_TYPE_SIGN_ONLY) and SSPI (SECBUFFER_READONLY_WITH_CHECKSUM) do: the
// tag covers every part in order, the encryption only the others (which must hold at
// least 16 bytes for AES).
func (uk *UsageKey) SealPartsSignOnly(tag []byte, signOnly uint64, parts ...[]byte) ([]byte, error) {
	if signOnly != 0 {
		return uk.sealSignOnly(tag, signOnly, parts)
	}
	return uk.sealParts(tag, parts, parts)
}

// sealSignOnly lists the parts to encrypt in a frame of its own: only a message with
// sign-only parts pays for the list's stack space (a per-connection goroutine whose first
// message needed it would grow its stack).
//
//go:noinline
func (uk *UsageKey) sealSignOnly(tag []byte, signOnly uint64, parts [][]byte) ([]byte, error) {
	var buf [maxStackParts][]byte
	enc, err := encParts(&buf, signOnly, parts)
	if err != nil {
		return tag, err
	}
	return uk.sealParts(tag, enc, parts)
}

// sealParts encrypts enc (parts, or those of them not sign-only) and tags parts.
func (uk *UsageKey) sealParts(tag []byte, enc, parts [][]byte) ([]byte, error) {
	n, err := uk.encLen(parts, enc)
	if err != nil {
		return tag, err
	}
	s := uk.get()
	defer uk.put(s)
	switch uk.p.family {
	case famSHA1:
		// RFC 3961 5.3: HMAC over the plaintext, then encryption.
		tag = append(tag, uk.mac(s, false, parts)...)
		ctsEncrypt(uk.block, s, enc, n)
	case famSHA2:
		// RFC 8009 5: encryption, then HMAC over the IV and the ciphertext.
		ctsEncrypt(uk.block, s, enc, n)
		tag = append(tag, uk.mac(s, true, parts)...)
	case famRC4:
		// RFC 4757 5: checksum = HMAC(K1, plaintext), K3 = HMAC(K1, checksum).
		cks := uk.mac(s, false, parts)
		tag = append(tag, cks...)
		uk.rc4(s, cks, enc)
	}
	return tag, nil
}

// encParts lists on buf the parts to encrypt: all but the sign-only ones.
func encParts(buf *[maxStackParts][]byte, signOnly uint64, parts [][]byte) ([][]byte, error) {
	if len(parts) > 64 {
		return nil, errTooMany
	}
	enc := buf[:0]
	for i, p := range parts {
		if signOnly&(1<<i) == 0 {
			enc = append(enc, p)
		}
	}
	return enc, nil
}

// encLen is the length of the parts to encrypt, checked: at least a confounder, and a
// block for AES's CTS.
func (uk *UsageKey) encLen(parts, enc [][]byte) (int, error) {
	if len(parts) > 64 {
		return 0, errTooMany
	}
	n := totalLen(enc)
	if n < uk.p.confSize || (uk.p.family != famRC4 && n < 16) {
		return 0, errPartsShort
	}
	return n, nil
}

// mac is the (truncated) integrity tag over parts, after the zero IV for RFC 8009.
func (uk *UsageKey) mac(s *state, iv bool, parts [][]byte) []byte {
	if m, ok := s.mi.firstOnStack(uk.p, uk.ki(), iv, parts, s.sum[:0]); ok {
		return m[:uk.p.macSize]
	}
	mi := uk.integrity(s)
	if iv {
		mi.Write(zeroIV[:])
	}
	for _, p := range parts {
		mi.Write(p)
	}
	return mi.Sum(s.sum[:0])[:uk.p.macSize]
}

// rc4 runs RC4 under K3 = HMAC-MD5(K1, checksum) over parts, one keystream.
func (uk *UsageKey) rc4(s *state, cks []byte, parts [][]byte) {
	c := s.blk[0][:]
	copy(c, cks)
	mi := uk.integrity(s)
	mi.Write(c)
	var rc rc4State
	rc.init(mi.Sum(s.sum[16:16]))
	for _, p := range parts {
		rc.xor(p)
	}
	clear(rc.s[:])
}

// OpenParts checks tag and decrypts in place the message made of parts, confounder
// included. On failure it returns ErrIntegrity and zeroes the parts, so no unchecked
// plaintext is left behind.
func (uk *UsageKey) OpenParts(tag []byte, parts ...[]byte) error {
	return uk.OpenPartsSignOnly(tag, 0, parts...)
}

// OpenPartsSignOnly undoes SealPartsSignOnly; sign-only parts are checked, not
// decrypted, and on failure only the decrypted parts are zeroed.
func (uk *UsageKey) OpenPartsSignOnly(tag []byte, signOnly uint64, parts ...[]byte) error {
	if signOnly != 0 {
		return uk.openSignOnly(tag, signOnly, parts)
	}
	return uk.openParts(tag, parts, parts)
}

// openSignOnly is sealSignOnly's counterpart.
//
//go:noinline
func (uk *UsageKey) openSignOnly(tag []byte, signOnly uint64, parts [][]byte) error {
	var buf [maxStackParts][]byte
	enc, err := encParts(&buf, signOnly, parts)
	if err != nil {
		return ErrShort
	}
	return uk.openParts(tag, enc, parts)
}

// openParts checks the tag over parts and decrypts enc.
func (uk *UsageKey) openParts(tag []byte, enc, parts [][]byte) error {
	n, err := uk.encLen(parts, enc)
	if err != nil || len(tag) != uk.p.macSize {
		return ErrShort
	}
	s := uk.get()
	defer uk.put(s)
	if uk.p.family == famSHA2 {
		if subtle.ConstantTimeCompare(uk.mac(s, true, parts), tag) != 1 {
			return ErrIntegrity // nothing decrypted yet
		}
		ctsDecrypt(uk.block, s, enc, n)
		return nil
	}
	if uk.p.family == famSHA1 {
		ctsDecrypt(uk.block, s, enc, n)
	} else {
		uk.rc4(s, tag, enc)
	}
	if subtle.ConstantTimeCompare(uk.mac(s, false, parts), tag) != 1 {
		for _, p := range enc {
			clear(p)
		}
		return ErrIntegrity
	}
	return nil
}

// Seal appends to dst the RFC 3961 encryption of plaintext under uk with the given
// confounder (ConfounderSize random bytes, which the caller draws so that tests can fix
// them). dst and plaintext must not overlap.
func (uk *UsageKey) Seal(dst, plaintext, confounder []byte) ([]byte, error) {
	if len(confounder) != uk.p.confSize {
		return dst, errors.New("krbcrypto: confounder of the wrong length")
	}
	start := len(dst)
	dst = slices.Grow(dst, uk.p.confSize+len(plaintext)+uk.p.macSize)
	if uk.p.family == famRC4 {
		dst = dst[:start+uk.p.macSize]
	}
	body := len(dst)
	dst = append(dst, confounder...)
	dst = append(dst, plaintext...)
	if uk.p.family == famRC4 {
		_, err := uk.SealParts(dst[start:start], dst[body:])
		return dst, err
	}
	return uk.SealParts(dst, dst[body:])
}

// OpenInPlace decrypts an RFC 3961 ciphertext in its own buffer and returns the
// plaintext, a subslice of ciphertext.
func (uk *UsageKey) OpenInPlace(ciphertext []byte) ([]byte, error) {
	m, c := uk.p.macSize, uk.p.confSize
	if len(ciphertext) < m+c || (uk.p.family != famRC4 && len(ciphertext) < m+16) {
		return nil, ErrShort
	}
	var body, tag []byte
	if uk.p.family == famRC4 {
		tag, body = ciphertext[:m], ciphertext[m:]
	} else {
		body, tag = ciphertext[:len(ciphertext)-m], ciphertext[len(ciphertext)-m:]
	}
	if err := uk.OpenParts(tag, body); err != nil {
		return nil, err
	}
	return body[c:], nil
}

// Open appends to dst the plaintext of an RFC 3961 ciphertext; ciphertext is not
// modified.
func (uk *UsageKey) Open(dst, ciphertext []byte) ([]byte, error) {
	m, c := uk.p.macSize, uk.p.confSize
	if len(ciphertext) < m+c || (uk.p.family != famRC4 && len(ciphertext) < m+16) {
		return dst, ErrShort
	}
	start := len(dst)
	var tag []byte
	if uk.p.family == famRC4 {
		tag = ciphertext[:m]
		dst = append(dst, ciphertext[m:]...)
	} else {
		tag = ciphertext[len(ciphertext)-m:]
		dst = append(dst, ciphertext[:len(ciphertext)-m]...)
	}
	if err := uk.OpenParts(tag, dst[start:]); err != nil {
		return dst[:start], err
	}
	n := copy(dst[start:], dst[start+c:])
	return dst[:start+n], nil
}

// Checksum appends to dst the keyed checksum (the etype's ChecksumType) of the
// concatenation of parts.
func (uk *UsageKey) Checksum(dst []byte, parts ...[]byte) []byte {
	s := uk.get()
	defer uk.put(s)
	return append(dst, uk.checksumAES(s, parts)...)
}

func (uk *UsageKey) checksum(s *state, parts [][]byte) []byte {
	mc := uk.checksummer(s) // makes the MD5 for RC4 too
	if uk.p.family == famRC4 {
		// RFC 4757 4: HMAC-MD5(Ksign, MD5(usage | data)).
		u := s.blk[0][:4]
		binary.LittleEndian.PutUint32(u, rc4Usage(uk.usage))
		md := s.x.md
		md.Reset()
		md.Write(u)
		for _, p := range parts {
			md.Write(p)
		}
		inner := md.Sum(s.sum[:0])
		in := s.blk[1][:]
		copy(in, inner)
		mc.Write(in)
		return mc.Sum(s.sum[:0])
	}
	for _, p := range parts {
		mc.Write(p)
	}
	return mc.Sum(s.sum[:0])[:uk.p.macSize]
}

// checksumAES is checksum for AES keys: the state's first checksum is made on the stack.
func (uk *UsageKey) checksumAES(s *state, parts [][]byte) []byte {
	if m, ok := s.mc.firstOnStack(uk.p, uk.checksumKey(), false, parts, s.sum[:0]); ok {
		return m[:uk.p.macSize]
	}
	return uk.checksum(s, parts)
}

// VerifyChecksum reports, in constant time, whether mac is the checksum of parts.
func (uk *UsageKey) VerifyChecksum(mac []byte, parts ...[]byte) bool {
	s := uk.get()
	defer uk.put(s)
	return subtle.ConstantTimeCompare(uk.checksumAES(s, parts), mac) == 1
}

// Encrypt appends to dst the encryption of plaintext with usage, with a confounder read
// from rand.
func (k *Key) Encrypt(dst, plaintext []byte, usage uint32, rand io.Reader) ([]byte, error) {
	var conf [16]byte
	c := conf[:k.p.confSize]
	if _, err := io.ReadFull(rand, c); err != nil {
		return dst, err
	}
	return k.Usage(usage).Seal(dst, plaintext, c)
}

// Decrypt appends to dst the plaintext of ciphertext encrypted with usage.
func (k *Key) Decrypt(dst, ciphertext []byte, usage uint32) ([]byte, error) {
	return k.Usage(usage).Open(dst, ciphertext)
}

// Checksum appends to dst the checksum of data with usage.
func (k *Key) Checksum(dst, data []byte, usage uint32) []byte {
	return k.Usage(usage).Checksum(dst, data)
}

// VerifyChecksum reports whether mac is the checksum of data with usage.
func (k *Key) VerifyChecksum(data, mac []byte, usage uint32) bool {
	return k.Usage(usage).VerifyChecksum(mac, data)
}
