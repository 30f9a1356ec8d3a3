package krbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
)

// Key is a Kerberos key: an encryption type and its key bytes. Its methods are safe for
// concurrent use; derived per-usage keys are made on first use and kept.
type Key struct {
	etype EType
	p     *profile
	arr   [32]byte // the key bytes (key()): the largest key here (aes256) is 32 bytes

	// usages holds the first inlineUsages usage keys made, in order, and is read without
	// the lock: a key serves few usages (a ticket's session key 11 and 12, a context's
	// key 22 to 25), and a slot array sized for every usage number cost each fresh key
	// (two per session and side) half a kilobyte.
	usages [inlineUsages]atomic.Pointer[UsageKey]
	mu     sync.Mutex           // serialises derivation; guards base and other
	base   cipher.Block         // AES(key) for RFC 3961 key derivation, made on first use
	other  map[uint32]*UsageKey // usages beyond the slots
}

// inlineUsages is how many usage keys a Key finds without taking its lock.
const inlineUsages = 4

// NewKey returns the key of type e with the given bytes (copied).
func NewKey(e EType, key []byte) (*Key, error) {
	p := e.profile()
	if p == nil {
		return nil, fmt.Errorf("krbcrypto: encryption type %d is not supported", int32(e))
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("krbcrypto: %s key of %d bytes, want %d", p.name, len(key), p.keySize)
	}
	k := &Key{etype: e, p: p}
	copy(k.arr[:], key)
	return k, nil
}

// key is the key bytes.
func (k *Key) key() []byte { return k.arr[:k.p.keySize] }

// EType is the key's encryption type.
func (k *Key) EType() EType { return k.etype }

// Bytes returns a copy of the key bytes.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.key()...) }

// Equal reports in constant time whether k and o are the same key.
func (k *Key) Equal(o *Key) bool {
	return k.etype == o.etype && subtle.ConstantTimeCompare(k.key(), o.key()) == 1
}

// Destroy zeroes the key bytes and the derived keys it can reach. The key must not be
// used afterwards. Cipher states held by the standard library cannot be zeroed.
func (k *Key) Destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.arr[:])
	for i := range k.usages {
		if u := k.usages[i].Swap(nil); u != nil {
			u.destroy()
		}
	}
	for _, u := range k.other {
		u.destroy()
	}
	k.other = nil
	k.base = nil
}

// Usage returns the derived keys of usage u, deriving them the first time.
func (k *Key) Usage(u uint32) *UsageKey {
	for i := range k.usages {
		uk := k.usages[i].Load()
		if uk == nil {
			break // the slots fill in order: u is not among them yet
		}
		if uk.usage == u {
			return uk
		}
	}
	return k.derive(u)
}

// derive finds or makes the usage key of u under the lock.
func (k *Key) derive(u uint32) *UsageKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.usages {
		uk := k.usages[i].Load()
		if uk == nil {
			uk = newUsageKey(k, u)
			k.usages[i].Store(uk)
			return uk
		}
		if uk.usage == u {
			return uk
		}
	}
	if uk, ok := k.other[u]; ok {
		return uk
	}
	if k.other == nil {
		k.other = make(map[uint32]*UsageKey)
	}
	uk := newUsageKey(k, u)
	k.other[u] = uk
	return uk
}

// UsageKey is a Key specialised to one key usage. It is safe for concurrent use.
type UsageKey struct {
	etype EType
	usage uint32
	p     *profile

	// derived holds Kc and Ki (AES, each at most 32 bytes), or RC4's Ksign and K1. Kc is
	// derived on first use (kcOnce, from): most usages encrypt only (an acceptor's
	// authenticator and AP-REP keys), and each AP-REQ brings a fresh session key. Ke lives
	// only in block's key schedule.
	derived [2 * 32]byte
	from    *Key
	kcOnce  sync.Once
	block   cipher.Block // AES(Ke), shared: cipher.Block is read-only

	// spare is a state ready for the next call, first the one inside the UsageKey: a key
	// used once or by one caller at a time (a ticket's session key, a context's key)
	// never reaches the pool, made on the first concurrent call, whose per-processor
	// set-up would cost more than its use.
	spare atomic.Pointer[state]
	pool  atomic.Pointer[sync.Pool] // *state, for concurrent callers
	first state
}

// Where the derived keys lie in UsageKey.derived.
const (
	offKc = 0
	offKi = 32
)

// ki is the integrity key: AES's Ki, RC4's K1.
func (uk *UsageKey) ki() []byte { return uk.derived[offKi : offKi+uk.p.kiSize] }

// state is what one call needs for itself: CBC chaining, the HMACs, scratch blocks.
type state struct {
	x      *stateExtra // what few calls need, made on first use
	mi, mc macState    // HMAC(Ki), HMAC(Kc); RC4: HMAC(K1), HMAC(Ksign); keyed on first use
	sum    [48]byte    // a MAC (SHA-384's is the longest); RC4 uses two 16-byte halves
	blk    [3][16]byte // CTS scratch blocks
	mac    macScratch  // for mi and mc, which one call uses in turn
	iv     [16]byte    // CBC chaining value
	tmp    [16]byte    // CBC decryption: the ciphertext block being replaced
}

var zeroIV [16]byte

func (p *profile) hash() func() hash.Hash {
	switch {
	case p.family == famRC4:
		return md5.New
	case p.family == famSHA1:
		return sha1.New
	case p.keySize == 16:
		return sha256.New
	}
	return sha512.New384
}

// stateExtra is the part of a state few calls need.
type stateExtra struct {
	enc, dec blockMode // CBC modes for long runs (cbcBlocks)
	md       hash.Hash // RC4 checksums: MD5
}

func (s *state) extra() *stateExtra {
	if s.x == nil {
		s.x = new(stateExtra)
	}
	return s.x
}

// newUsageKey derives the keys of usage u from k; k.mu is held.
func newUsageKey(k *Key, u uint32) *UsageKey {
	uk := &UsageKey{etype: k.etype, p: k.p, usage: u, from: k}
	// AES's Ke is derived into scratch space of the state (on the heap already: the
	// derivation hands it to the block cipher's interface), keyed into the block, zeroed.
	ke := uk.first.mac[:0:32]
	switch k.p.family {
	case famSHA1:
		b := k.baseBlock()
		n := k.p.keySize
		ke = dk(ke, b, foldedConstant(u, constKe), n)
		dk(uk.derived[offKi:offKi:offKi+n], b, foldedConstant(u, constKi), n)
	case famSHA2:
		var label [5]byte
		ke = kdfHMACSHA2(ke, k.key(), putUsageConstant(&label, u, constKe), k.p.keySize)
		kdfHMACSHA2(uk.derived[offKi:offKi], k.key(), putUsageConstant(&label, u, constKi), k.p.kiSize)
	case famRC4:
		var ul [4]byte
		binary.LittleEndian.PutUint32(ul[:], rc4Usage(u))
		hmacMD5(uk.derived[offKi:offKi], k.key(), ul[:])
		hmacMD5(uk.derived[offKc:offKc], k.key(), []byte("signaturekey\x00"))
	}
	if k.p.family != famRC4 {
		b, err := aes.NewCipher(ke)
		clear(ke)
		if err != nil {
			panic("krbcrypto: " + err.Error()) // key sizes are fixed by the profile
		}
		uk.block = b
	}
	uk.spare.Store(&uk.first)
	return uk
}

// integrity is HMAC(Ki), or RC4's HMAC(K1), ready for a new MAC.
func (uk *UsageKey) integrity(s *state) *macState {
	if s.mi.h == nil {
		s.mi.init(uk.p.hash(), uk.ki(), &s.mac)
	}
	s.mi.Reset()
	return &s.mi
}

// checksummer is HMAC(Kc), or RC4's HMAC(Ksign) (and its MD5), ready for a new MAC.
func (uk *UsageKey) checksummer(s *state) *macState {
	if s.mc.h == nil {
		s.mc.init(uk.p.hash(), uk.checksumKey(), &s.mac)
		if uk.p.family == famRC4 {
			s.extra().md = md5.New()
		}
	}
	s.mc.Reset()
	return &s.mc
}

// checksumKey is Kc (RC4: Ksign), derived the first time.
func (uk *UsageKey) checksumKey() []byte {
	uk.kcOnce.Do(func() {
		k, u := uk.from, uk.usage
		k.mu.Lock()
		defer k.mu.Unlock()
		switch k.p.family {
		case famSHA1:
			n := k.p.keySize
			dk(uk.derived[offKc:offKc:offKc+n], k.baseBlock(), foldedConstant(u, constKc), n)
		case famSHA2:
			var label [5]byte
			kdfHMACSHA2(uk.derived[offKc:offKc], k.key(), putUsageConstant(&label, u, constKc), k.p.kcSize)
		}
	})
	return uk.derived[offKc : offKc+uk.p.kcSize]
}

func (uk *UsageKey) get() *state {
	if s := uk.spare.Swap(nil); s != nil {
		return s
	}
	return uk.statePool().Get().(*state)
}

func (uk *UsageKey) put(s *state) {
	clear(s.sum[:])
	clear(s.blk[:])
	clear(s.tmp[:])
	if uk.spare.CompareAndSwap(nil, s) {
		return
	}
	uk.statePool().Put(s)
}

// statePool is the pool of states for concurrent callers, made the first time a call
// finds the spare state taken.
func (uk *UsageKey) statePool() *sync.Pool {
	if p := uk.pool.Load(); p != nil {
		return p
	}
	p := &sync.Pool{New: newState}
	if uk.pool.CompareAndSwap(nil, p) {
		return p
	}
	return uk.pool.Load()
}

// newState makes an empty state; its parts are made on first use, so a key used once
// (an authenticator, a ticket's session key) pays only for what that use needs.
func newState() any { return new(state) }

func (uk *UsageKey) destroy() {
	uk.first.mi.destroy()
	uk.first.mc.destroy()
	clear(uk.derived[:])
}

// EType is the encryption type of the key.
func (uk *UsageKey) EType() EType { return uk.etype }

// KeyUsage is the usage number this key was derived for.
func (uk *UsageKey) KeyUsage() uint32 { return uk.usage }

// baseBlock is AES under the key itself, made once per Key for key derivation; k.mu is
// held.
func (k *Key) baseBlock() cipher.Block {
	if k.base == nil {
		b, err := aes.NewCipher(k.key())
		if err != nil {
			panic("krbcrypto: " + err.Error()) // key sizes are fixed by the profile
		}
		k.base = b
	}
	return k.base
}

// dk appends DK(base, constant) of RFC 3961 5.1 for AES, whose random-to-key is the
// identity, to out: AES-ECB applied repeatedly to the folded constant, concatenated. n is
// a multiple of the block size (16 or 32) and out has room for it: the blocks are
// encrypted where they land, so nothing escapes to the heap.
func dk(out []byte, b cipher.Block, folded [16]byte, n int) []byte {
	start := len(out)
	out = append(out, folded[:]...)
	b.Encrypt(out[start:], out[start:])
	for len(out)-start < n {
		i := len(out)
		out = append(out, out[i-16:i]...)
		b.Encrypt(out[i:], out[i:])
	}
	return out[:start+n]
}

// kdfHMACSHA2 is KDF-HMAC-SHA2 of RFC 8009 3: the first n bytes of
// HMAC(key, 00000001 | label | 00 | n*8 as 32 bits big-endian), with SHA-256 for the
// 16-byte keys of aes128-cts-hmac-sha256-128 and SHA-384 for the 32-byte keys of
// aes256-cts-hmac-sha384-192. The HMAC is computed on the stack (the keys are shorter than
// a block), so deriving a key allocates nothing: an acceptor derives four per AP-REQ from
// the ticket's fresh session key.
func kdfHMACSHA2(out []byte, key, label []byte, n int) []byte {
	var in [4 + 16 + 5]byte // labels here: a usage constant (5 bytes) or "kerberos"
	in[3] = 1
	l := copy(in[4:4+16], label)
	binary.BigEndian.PutUint32(in[4+l+1:], uint32(n*8))
	msg := in[:4+l+5]
	if len(key) == 16 {
		var ib [sha256.BlockSize + len(in)]byte
		var ob [sha256.BlockSize + sha256.Size]byte
		defer clear(ib[:sha256.BlockSize])
		defer clear(ob[:])
		padKey(ib[:sha256.BlockSize], ob[:sha256.BlockSize], key)
		copy(ib[sha256.BlockSize:], msg)
		inner := sha256.Sum256(ib[:sha256.BlockSize+len(msg)])
		copy(ob[sha256.BlockSize:], inner[:])
		sum := sha256.Sum256(ob[:])
		out = append(out, sum[:n]...)
		clear(sum[:])
		return out
	}
	var ib [sha512.BlockSize + len(in)]byte
	var ob [sha512.BlockSize + sha512.Size384]byte
	defer clear(ib[:sha512.BlockSize])
	defer clear(ob[:])
	padKey(ib[:sha512.BlockSize], ob[:sha512.BlockSize], key)
	copy(ib[sha512.BlockSize:], msg)
	inner := sha512.Sum384(ib[:sha512.BlockSize+len(msg)])
	copy(ob[sha512.BlockSize:], inner[:])
	sum := sha512.Sum384(ob[:])
	out = append(out, sum[:n]...)
	clear(sum[:])
	return out
}

// padKey writes HMAC's key XOR ipad and key XOR opad (RFC 2104) for a key shorter than the
// block.
func padKey(ipad, opad, key []byte) {
	for i := range ipad {
		var b byte
		if i < len(key) {
			b = key[i]
		}
		ipad[i], opad[i] = b^0x36, b^0x5c
	}
}

// hmacMD5 appends HMAC-MD5(key, data) to out.
func hmacMD5(out, key, data []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write(data)
	return m.Sum(out)
}

// rc4Usage translates a Kerberos key usage to RFC 4757's message type, as MIT 1.20's
// krb5int_arcfour_translate_usage does: the AS-REP part (3) becomes 8 and the GSS wrap
// signature (23) 13. A TGS-REP encrypted in a subkey (9) stays 9: MIT's KDC encrypts it so
// (older MIT and gokrb5 map it to 8, which cannot read such a reply); the exchange code
// sends no subkey with an RC4 TGT session key, so either reading decrypts its replies.
func rc4Usage(u uint32) uint32 {
	switch u {
	case 3:
		return 8
	case 23:
		return 13
	}
	return u
}

// Errors returned by decryption and verification. Both say only that the input is not
// what this key made: the cause is never more specific, so a peer learns nothing.
var (
	// ErrIntegrity means the ciphertext's integrity tag or a checksum does not match.
	ErrIntegrity = errors.New("krbcrypto: integrity check failed (wrong key, usage or altered data)")
	// ErrShort means a ciphertext is shorter than the confounder and tag alone.
	ErrShort = errors.New("krbcrypto: ciphertext too short")
)
