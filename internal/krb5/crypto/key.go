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
	b     []byte

	cached [foldedUsages]atomic.Pointer[UsageKey]
	mu     sync.Mutex
	other  map[uint32]*UsageKey // usages >= foldedUsages
}

// NewKey returns the key of type e with the given bytes (copied).
func NewKey(e EType, key []byte) (*Key, error) {
	p := e.profile()
	if p == nil {
		return nil, fmt.Errorf("krbcrypto: encryption type %d is not supported", int32(e))
	}
	if len(key) != p.keySize {
		return nil, fmt.Errorf("krbcrypto: %s key of %d bytes, want %d", p.name, len(key), p.keySize)
	}
	return &Key{etype: e, p: p, b: append([]byte(nil), key...)}, nil
}

// EType is the key's encryption type.
func (k *Key) EType() EType { return k.etype }

// Bytes returns a copy of the key bytes.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.b...) }

// Equal reports in constant time whether k and o are the same key.
func (k *Key) Equal(o *Key) bool {
	return k.etype == o.etype && subtle.ConstantTimeCompare(k.b, o.b) == 1
}

// Destroy zeroes the key bytes and the derived keys it can reach. The key must not be
// used afterwards. Cipher states held by the standard library cannot be zeroed.
func (k *Key) Destroy() {
	clear(k.b)
	for i := range k.cached {
		if u := k.cached[i].Swap(nil); u != nil {
			u.destroy()
		}
	}
	k.mu.Lock()
	for _, u := range k.other {
		u.destroy()
	}
	k.other = nil
	k.mu.Unlock()
}

// Usage returns the derived keys of usage u, deriving them the first time.
func (k *Key) Usage(u uint32) *UsageKey {
	if u < foldedUsages {
		if uk := k.cached[u].Load(); uk != nil {
			return uk
		}
		uk := newUsageKey(k, u)
		// Two goroutines may derive at once; both results are equal, one is kept.
		if k.cached[u].CompareAndSwap(nil, uk) {
			return uk
		}
		return k.cached[u].Load()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
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
	p     *profile
	usage uint32

	ke, ki, kc []byte       // AES: derived keys
	block      cipher.Block // AES(Ke), shared: cipher.Block is read-only
	k1, ksign  []byte       // RC4: HMAC-MD5(key, usage) and the signature key

	pool sync.Pool // *state
}

// state is what one call needs for itself: chained cipher modes and HMACs.
type state struct {
	enc, dec cbcMode
	mi, mc   hash.Hash // HMAC(Ki), HMAC(Kc); RC4: HMAC(K1), HMAC(Ksign)
	md       hash.Hash // RC4: MD5
	sum      [64]byte
	blk      [3][16]byte // CTS scratch blocks
}

type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
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

func newUsageKey(k *Key, u uint32) *UsageKey {
	uk := &UsageKey{etype: k.etype, p: k.p, usage: u}
	switch k.p.family {
	case famSHA1:
		uk.kc = dk(k.b, foldedConstant(u, constKc), k.p.keySize)
		uk.ke = dk(k.b, foldedConstant(u, constKe), k.p.keySize)
		uk.ki = dk(k.b, foldedConstant(u, constKi), k.p.keySize)
	case famSHA2:
		h := k.p.hash()
		uk.kc = kdfHMACSHA2(h, k.b, usageConstant(u, constKc), k.p.kcSize)
		uk.ke = kdfHMACSHA2(h, k.b, usageConstant(u, constKe), k.p.keySize)
		uk.ki = kdfHMACSHA2(h, k.b, usageConstant(u, constKi), k.p.kiSize)
	case famRC4:
		var ul [4]byte
		binary.LittleEndian.PutUint32(ul[:], rc4Usage(u))
		uk.k1 = hmacMD5(k.b, ul[:])
		uk.ksign = hmacMD5(k.b, []byte("signaturekey\x00"))
	}
	if uk.ke != nil {
		b, err := aes.NewCipher(uk.ke)
		if err != nil {
			panic("krbcrypto: " + err.Error()) // key sizes are fixed by the profile
		}
		uk.block = b
	}
	uk.pool.New = uk.newState
	return uk
}

func (uk *UsageKey) newState() any {
	s := new(state)
	h := uk.p.hash()
	if uk.p.family == famRC4 {
		s.mi = hmac.New(h, uk.k1)
		s.mc = hmac.New(h, uk.ksign)
		s.md = md5.New()
		return s
	}
	s.enc = cipher.NewCBCEncrypter(uk.block, zeroIV[:]).(cbcMode)
	s.dec = cipher.NewCBCDecrypter(uk.block, zeroIV[:]).(cbcMode)
	s.mi = hmac.New(h, uk.ki)
	s.mc = hmac.New(h, uk.kc)
	return s
}

func (uk *UsageKey) get() *state { return uk.pool.Get().(*state) }
func (uk *UsageKey) put(s *state) {
	clear(s.sum[:])
	clear(s.blk[:])
	uk.pool.Put(s)
}

func (uk *UsageKey) destroy() {
	clear(uk.ke)
	clear(uk.ki)
	clear(uk.kc)
	clear(uk.k1)
	clear(uk.ksign)
}

// EType is the encryption type of the key.
func (uk *UsageKey) EType() EType { return uk.etype }

// KeyUsage is the usage number this key was derived for.
func (uk *UsageKey) KeyUsage() uint32 { return uk.usage }

// dk is DK(base, constant) of RFC 3961 5.1 for AES, whose random-to-key is the identity:
// AES-ECB applied repeatedly to the folded constant, the outputs concatenated.
func dk(base []byte, folded [16]byte, n int) []byte {
	b, err := aes.NewCipher(base)
	if err != nil {
		panic("krbcrypto: " + err.Error())
	}
	out := make([]byte, 0, 32)
	x := folded
	for len(out) < n {
		b.Encrypt(x[:], x[:])
		out = append(out, x[:]...)
	}
	return out[:n]
}

// kdfHMACSHA2 is KDF-HMAC-SHA2 of RFC 8009 3: the first n bytes of
// HMAC(key, 00000001 | label | 00 | n*8 as 32 bits big-endian).
func kdfHMACSHA2(h func() hash.Hash, key, label []byte, n int) []byte {
	m := hmac.New(h, key)
	m.Write([]byte{0, 0, 0, 1})
	m.Write(label)
	var k [5]byte
	binary.BigEndian.PutUint32(k[1:], uint32(n*8))
	m.Write(k[:])
	return m.Sum(nil)[:n]
}

func hmacMD5(key, data []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// rc4Usage translates a Kerberos key usage to RFC 4757's message type (MIT's
// krb5int_arcfour_translate_usage, gokrb5's UsageToMSMsgType).
func rc4Usage(u uint32) uint32 {
	switch u {
	case 3, 9:
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
