package krbcrypto

import (
	"crypto/cipher"
	"encoding/binary"
)

// AES-CTS (RFC 3962 5: CBC with the last two blocks swapped and the final one truncated,
// IV zero) over a message given as several pieces, encrypted in place. Blocks lying across
// two pieces are gathered into a scratch block, the rest is chained piece by piece, the
// chaining value kept in the call's state between pieces.

func totalLen(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

// gather copies len(dst) bytes starting at logical offset off out of parts.
func gather(parts [][]byte, off int, dst []byte) {
	for _, p := range parts {
		if len(dst) == 0 {
			return
		}
		if off >= len(p) {
			off -= len(p)
			continue
		}
		n := copy(dst, p[off:])
		dst = dst[n:]
		off = 0
	}
}

// scatter copies src into parts starting at logical offset off.
func scatter(parts [][]byte, off int, src []byte) {
	for _, p := range parts {
		if len(src) == 0 {
			return
		}
		if off >= len(p) {
			off -= len(p)
			continue
		}
		n := copy(p[off:], src)
		src = src[n:]
		off = 0
	}
}

// cbcBlocks runs CBC over the whole blocks of buf in place, chaining through s.iv. Short
// runs are CBC written out over the block cipher: the standard library's CBC modes copy
// the key schedule into an object of their own, half a kilobyte for each usage key that
// a handshake uses once for a few blocks. Runs of cbcModeMin bytes or more, a context's
// messages, go through those modes, made once per state: their loop is a few percent
// quicker per block.
func cbcBlocks(b cipher.Block, s *state, decrypt bool, buf []byte) {
	buf = buf[:len(buf)&^15]
	switch {
	case len(buf) == 0:
	case len(buf) >= cbcModeMin:
		cbcMode(b, s, decrypt, buf)
	case decrypt:
		// Backwards, as the standard library does, so that each block's predecessor is
		// still ciphertext when the block needs it.
		copy(s.tmp[:], buf[len(buf)-16:]) // the chaining value for the next call
		for end := len(buf); end > 16; end -= 16 {
			c := buf[end-16 : end]
			b.Decrypt(c, c)
			xor16(c, buf[end-32:end-16])
		}
		b.Decrypt(buf[:16], buf[:16])
		xor16(buf, s.iv[:])
		s.iv = s.tmp
	default:
		iv := s.iv[:]
		for ; len(buf) > 0; buf = buf[16:] {
			c := buf[:16]
			xor16(c, iv)
			b.Encrypt(c, c)
			iv = c
		}
		copy(s.iv[:], iv)
	}
}

// cbcModeMin is the shortest run cbcBlocks hands to a standard library CBC mode.
const cbcModeMin = 512

type blockMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// cbcMode is cbcBlocks with s's CBC modes over b, made on first use.
func cbcMode(b cipher.Block, s *state, decrypt bool, buf []byte) {
	x := s.extra()
	if x.enc == nil {
		x.enc = cipher.NewCBCEncrypter(b, zeroIV[:]).(blockMode)
		x.dec = cipher.NewCBCDecrypter(b, zeroIV[:]).(blockMode)
	}
	if decrypt {
		x.dec.SetIV(s.iv[:])
		copy(s.iv[:], buf[len(buf)-16:]) // the chaining value for the next call
		x.dec.CryptBlocks(buf, buf)
		return
	}
	x.enc.SetIV(s.iv[:])
	x.enc.CryptBlocks(buf, buf)
	copy(s.iv[:], buf[len(buf)-16:])
}

// xor16 is dst[:16] ^= x[:16].
func xor16(dst, x []byte) {
	_, _ = dst[15], x[15]
	binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(dst)^binary.LittleEndian.Uint64(x))
	binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(dst[8:])^binary.LittleEndian.Uint64(x[8:]))
}

// cbcRange runs CBC over logical bytes [0, end) of parts in place; end is a multiple of
// the block size.
func cbcRange(b cipher.Block, s *state, decrypt bool, parts [][]byte, end int) {
	off, base := 0, 0 // logical offset done; logical offset of parts[i]
	for i := 0; off < end && i < len(parts); {
		p := parts[i]
		if off >= base+len(p) {
			base += len(p)
			i++
			continue
		}
		in := p[off-base:]
		if rest := end - off; len(in) > rest {
			in = in[:rest]
		}
		if n := len(in) &^ 15; n > 0 {
			cbcBlocks(b, s, decrypt, in[:n])
			off += n
			continue
		}
		// A block across pieces.
		tmp := &s.blk[0]
		gather(parts, off, tmp[:])
		cbcBlocks(b, s, decrypt, tmp[:])
		scatter(parts, off, tmp[:])
		off += 16
	}
}

// ctsSplit returns the logical offset of the final (possibly partial) block of an
// n-byte message, n > 16, and that block's length.
func ctsSplit(n int) (p, r int) {
	r = n % 16
	if r == 0 {
		r = 16
	}
	return n - r, r
}

// ctsEncrypt encrypts parts (n >= 16 bytes in all) in place with AES-CTS, IV zero.
// The scratch blocks live in s: a stack array handed to the cipher interfaces would
// escape to the heap on every call.
func ctsEncrypt(block cipher.Block, s *state, parts [][]byte, n int) {
	s.iv = zeroIV
	if n == 16 {
		cbcRange(block, s, false, parts, 16)
		return
	}
	p, r := ctsSplit(n)
	last, prev := &s.blk[1], &s.blk[2]
	clear(last[:])
	gather(parts, p, last[:r]) // P_n, zero padded
	cbcRange(block, s, false, parts, p)
	gather(parts, p-16, prev[:]) // C_{n-1}
	cbcBlocks(block, s, false, last[:])
	scatter(parts, p-16, last[:])
	scatter(parts, p, prev[:r])
}

// ctsDecrypt undoes ctsEncrypt.
func ctsDecrypt(block cipher.Block, s *state, parts [][]byte, n int) {
	s.iv = zeroIV
	if n == 16 {
		cbcRange(block, s, true, parts, 16)
		return
	}
	p, r := ctsSplit(n)
	d, tail := &s.blk[1], &s.blk[2]
	gather(parts, p-16, d[:])
	block.Decrypt(d[:], d[:]) // C_{n-1} xor P_n, P_n zero padded
	gather(parts, p, tail[:r])
	// C_{n-1} is the truncated tail followed by the bytes of d the padding left alone.
	copy(tail[r:], d[r:])
	for i := range r {
		d[i] ^= tail[i]
	}
	scatter(parts, p-16, tail[:])
	cbcRange(block, s, true, parts, p)
	scatter(parts, p, d[:r])
}

// PeekTail sets out to the last 16 bytes of the plaintext of an AES-CTS ciphertext given
// as parts (tag excluded, 32 bytes or more in all) without changing the parts: two block
// decryptions. GSS uses it to tell which of two right-rotation counts a peer applied
// (RFC 4121's RRC, or Windows' RRC+EC) by finding the token header at the end.
func (uk *UsageKey) PeekTail(out *[16]byte, parts ...[]byte) bool {
	n := totalLen(parts)
	if uk.block == nil || n < 32 {
		return false
	}
	p, r := ctsSplit(n)
	var e, c2, tail [16]byte
	gather(parts, p-16, e[:])
	if p >= 32 {
		gather(parts, p-32, c2[:]) // C_{n-2}; the zero IV before the first block
	}
	gather(parts, p, tail[:r])
	uk.block.Decrypt(e[:], e[:])
	var cn1, pn [16]byte
	copy(cn1[:], tail[:r])
	copy(cn1[r:], e[r:])
	for i := range r {
		pn[i] = e[i] ^ tail[i]
	}
	uk.block.Decrypt(cn1[:], cn1[:])
	for i := range cn1 {
		cn1[i] ^= c2[i]
	}
	copy(out[:], cn1[r:])
	copy(out[16-r:], pn[:r])
	return true
}
