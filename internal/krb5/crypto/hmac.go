package krbcrypto

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"hash"
)

// macState is HMAC (RFC 2104) on a single hash state that serves the inner and the outer
// pass in turn. crypto/hmac.New allocates five times (its struct, two pads, two hashes),
// and an acceptor keys two HMACs with every AP-REQ's fresh session key; this one allocates
// its hash when keyed and, once the key is used a second time (a context's message key),
// the saved post-pad states that make later MACs as cheap as crypto/hmac's. Before it is
// keyed, a short first MAC can be made without it (firstOnStack).
//
// Unlike hash.Hash, Sum ends the MAC: Reset must come before the next Write.
type macState struct {
	h hash.Hash
	// key is Ki, Kc (16 to 32 bytes) or RC4's K1/Ksign (16), where the UsageKey keeps it:
	// a copy here would be one more place to zero, and one the pool's states hide.
	key     []byte
	saved   []byte      // h after the inner pad, then after the outer pad; nil until the second MAC
	innerSz uint16      // length of the inner state within saved
	ready   bool        // h holds the inner pad and nothing else
	stacked bool        // the first MAC was made on the stack (firstOnStack)
	scratch *macScratch // shared by the MACs of one state, which run one at a time
}

// padBlocks are HMAC's ipad and opad bytes for the largest block (SHA-384's).
var padBlocks = [2][128]byte{fill(0x36), fill(0x5c)}

func fill(b byte) (a [128]byte) {
	for i := range a {
		a[i] = b
	}
	return a
}

// macScratch holds the keyed pad bytes, then the inner digest, of one MAC at a time.
type macScratch [32 + 48]byte

// init keys m for HMAC with newHash over key (at most 32 bytes, shorter than any block),
// which m keeps (not a copy) and which must not change while m is used. scratch may be
// shared with other macStates not used at the same time.
func (m *macState) init(newHash func() hash.Hash, key []byte, scratch *macScratch) {
	m.h = newHash()
	m.scratch = scratch
	m.key = key
	m.pad(0)
	m.ready = true
}

// pad writes the key XOR the pad byte (0: ipad, 1: opad), padded to the block size, to h.
func (m *macState) pad(which int) {
	b := m.scratch[:len(m.key)]
	for i := range b {
		b[i] = m.key[i] ^ padBlocks[which][0]
	}
	m.h.Write(b)
	clear(b)
	m.h.Write(padBlocks[which][:m.h.BlockSize()-len(m.key)])
}

// Reset readies m for a new MAC.
func (m *macState) Reset() {
	if m.ready {
		return
	}
	m.ready = true
	if m.saved != nil {
		m.restore(m.saved[:m.innerSz])
		return
	}
	// Second use: save both post-pad states, so later MACs skip the pads' blocks.
	m.saved = make([]byte, 0, 2*208) // the largest state here is SHA-384's, 204 bytes
	m.h.Reset()
	m.pad(0)
	if a, ok := m.h.(encoding.BinaryAppender); ok {
		m.saved, _ = a.AppendBinary(m.saved)
		m.innerSz = uint16(len(m.saved))
		m.h.Reset()
		m.pad(1)
		m.saved, _ = a.AppendBinary(m.saved)
		m.h.Reset()
		m.pad(0)
	} else {
		m.saved = nil
	}
}

func (m *macState) restore(st []byte) {
	// The state was made by this hash's AppendBinary: it cannot be refused.
	_ = m.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st)
}

// Write adds p to the MAC.
func (m *macState) Write(p []byte) {
	m.ready = false
	m.h.Write(p)
}

// Sum appends the MAC to b.
func (m *macState) Sum(b []byte) []byte {
	inner := m.h.Sum(m.scratch[32:32])
	if m.saved != nil {
		m.restore(m.saved[m.innerSz:])
	} else {
		m.h.Reset()
		m.pad(1)
	}
	m.h.Write(inner)
	clear(inner)
	m.ready = false
	return m.h.Sum(b)
}

// destroy zeroes the key and the keyed states m holds (the hash's own state cannot be
// reached).
func (m *macState) destroy() {
	clear(m.key)
	clear(m.saved[:cap(m.saved)])
}

// maxOnStack is the longest message whose MAC firstOnStack makes.
const maxOnStack = 320

// firstOnStack appends to out the HMAC of AES profile p with key over the zero IV (when
// iv) and parts, computed with the hash's one-call function over a stack copy of the
// padded key and the message, if m has not made a MAC yet and the message is short; it
// reports whether it did. A usage key used once (an authenticator, an AP-REP, the first
// message of a context) then never allocates a hash; later MACs key m as usual.
func (m *macState) firstOnStack(p *profile, key []byte, iv bool, parts [][]byte, out []byte) ([]byte, bool) {
	if m.h != nil || m.stacked || p.family == famRC4 {
		return out, false // the frame of macOnStack is set up only when needed
	}
	return m.macOnStack(p, key, iv, parts, out)
}

func (m *macState) macOnStack(p *profile, key []byte, iv bool, parts [][]byte, out []byte) ([]byte, bool) {
	n := totalLen(parts)
	if iv {
		n += len(zeroIV)
	}
	if n > maxOnStack {
		return out, false
	}
	m.stacked = true
	block := 64
	if p.family == famSHA2 && p.keySize == 32 {
		block = 128
	}
	var buf [128 + maxOnStack]byte
	defer clear(buf[:block+n])
	for i := range block {
		var b byte
		if i < len(key) {
			b = key[i]
		}
		buf[i] = b ^ 0x36
	}
	w := block
	if iv {
		w += copy(buf[w:], zeroIV[:])
	}
	for _, q := range parts {
		w += copy(buf[w:], q)
	}
	var inner [48]byte
	defer clear(inner[:])
	ni := sumOnce(p, &inner, buf[:w])
	for i := range block {
		buf[i] ^= 0x36 ^ 0x5c
	}
	copy(buf[block:], inner[:ni])
	var sum [48]byte
	ns := sumOnce(p, &sum, buf[:block+ni])
	out = append(out, sum[:ns]...)
	clear(sum[:])
	return out, true
}

// sumOnce writes the hash of AES profile p over b to out and returns its length.
func sumOnce(p *profile, out *[48]byte, b []byte) int {
	switch {
	case p.family == famSHA1:
		s := sha1.Sum(b)
		return copy(out[:], s[:])
	case p.keySize == 16:
		s := sha256.Sum256(b)
		return copy(out[:], s[:])
	}
	s := sha512.Sum384(b)
	return copy(out[:], s[:])
}
