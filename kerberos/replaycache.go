package kerberos

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/wiretext"
)

// An acceptor must refuse an authenticator it has already accepted for as long as the
// authenticator's time is within the clock skew (RFC 4120 section 3.2.3); after that the
// skew check refuses it anyway, so the cache forgets it.

// DefaultReplayCacheSize is the number of authenticators an in-memory replay cache
// remembers when no other size is given: a sustained 1,700 logons a second to one service
// with the default 5-minute clock skew. A full cache takes about 27 MB.
const DefaultReplayCacheSize = 1 << 20

// ErrReplayCacheFull is the cause of the refusal of an authenticator that a full replay
// cache could not record. The server reports it with sspi.ErrInsufficientMemory, not
// sspi.ErrLogonDenied, because nothing is wrong with the client's credentials: the server
// is refusing logons until remembered authenticators expire, and its operator can give it
// a larger cache.
var ErrReplayCacheFull = errors.New("kerberos: the replay cache is full")

// ReplayKey identifies one authenticator sent to one service: SHA-256 over the service's
// realm and principal name and the authenticator's ciphertext. The ciphertext carries a
// random confounder and cannot be altered without failing to decrypt, so two AP-REQs have
// the same key only when one is a copy of the other.
type ReplayKey [32]byte

// replayKey makes the ReplayKey of an authenticator sent to service@realm.
func replayKey(realm, service string, authCipher []byte) ReplayKey {
	const prefix = "gosspi kerberos replay key v1\x00"
	// An authenticator is a few hundred bytes: hashed from the stack, the key costs no
	// allocation on the acceptor's path.
	var buf [512]byte
	if len(prefix)+8+len(realm)+len(service)+len(authCipher) <= len(buf) {
		b := append(buf[:0], prefix...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(realm)))
		b = append(b, realm...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(service)))
		b = append(b, service...)
		b = append(b, authCipher...)
		return sha256.Sum256(b)
	}
	h := sha256.New()
	h.Write([]byte(prefix))
	var n [4]byte
	for _, s := range []string{realm, service} {
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(authCipher)
	var k ReplayKey
	h.Sum(k[:0])
	return k
}

// ReplayCache remembers the authenticators a server has accepted.
//
// By default (ServerConfig.ReplayCache nil) every credentials handle of a process shares
// one MemoryReplayCache per service principal, so a captured AP-REQ is refused by every
// handle of the process; it does not survive a restart. A FileReplayCache also survives
// restarts of a single process. Several replicas behind one name must share one cache,
// or an AP-REQ refused by one is accepted by the next: that is what an implementation
// over a shared store does, for example a Redis-backed cache whose Add is
// "SET <key> 1 NX PXAT <expires>" (fresh when the SET happened). Replicas sharing a cache
// must have synchronised clocks, as Kerberos needs anyway.
//
// Implementations must be safe for concurrent use.
type ReplayCache interface {
	// Add records the authenticator identified by key, to be remembered at least until
	// expires (now is the server's clock, for caches that expire entries themselves). It
	// reports fresh == true if key was not remembered yet, and false, with a nil error,
	// if it was (a replay). Any error refuses the authenticator: a cache that cannot tell
	// must not let a replay through. A cache that is full returns an error wrapping
	// ErrReplayCacheFull.
	Add(key ReplayKey, now, expires time.Time) (fresh bool, err error)
}

// MemoryReplayCache is an in-memory ReplayCache with a fixed maximum size. Insertion and
// expiry take constant amortised time: entries are filed in one-second buckets by expiry
// time, and each bucket is dropped whole once its second has come.
//
// It keeps the first 64 bits of each ReplayKey: two different authenticators sharing
// them would make the second be refused as a replay, never a replay be accepted.
type MemoryReplayCache struct {
	mu      sync.Mutex
	max     int
	keys    keySet
	buckets map[int64]*replayBucket // by the Unix second from which their keys are forgotten
	order   []int64                 // the seconds of buckets, a min-heap
	last    *replayBucket           // the bucket most recently filed into
	free    []*replayBucket         // emptied buckets, for reuse
}

type replayBucket struct {
	at   int64
	keys []uint64
}

// NewMemoryReplayCache returns an empty in-memory replay cache remembering up to
// maxEntries authenticators (DefaultReplayCacheSize when maxEntries <= 0). When it is
// full, Add refuses new authenticators with ErrReplayCacheFull until old ones expire.
func NewMemoryReplayCache(maxEntries int) *MemoryReplayCache {
	if maxEntries <= 0 {
		maxEntries = DefaultReplayCacheSize
	}
	return &MemoryReplayCache{max: maxEntries, keys: newKeySet(), buckets: make(map[int64]*replayBucket)}
}

// Add implements ReplayCache. An entry is forgotten within one second after expires.
func (c *MemoryReplayCache) Add(key ReplayKey, now, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh, _, err := c.add(keyBits(key), now.Unix(), forgetAt(expires))
	return fresh, err
}

// Len reports how many authenticators the cache remembers.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys.n
}

// keyBits is what the cache keeps of a key: its first 64 bits, never 0 (the empty slot).
func keyBits(k ReplayKey) uint64 { return max(binary.BigEndian.Uint64(k[:8]), 1) }

// forgetAt is the Unix second from which an entry expiring at t may be forgotten: the
// first whole second after t.
func forgetAt(t time.Time) int64 { return t.Unix() + 1 }

// add records k until the second until. c.mu must be held.
func (c *MemoryReplayCache) add(k uint64, now, until int64) (fresh, stored bool, err error) {
	c.expire(now)
	slot, seen := c.keys.find(k)
	if seen {
		return false, false, nil
	}
	if until <= now {
		return true, false, nil // already expired: nothing to remember
	}
	if c.keys.n >= c.max {
		return false, false, fmt.Errorf("%w (its limit of %d authenticators)", ErrReplayCacheFull, c.max)
	}
	c.keys.put(slot, k)
	c.file(k, until)
	return true, true, nil
}

// file files k, stored in c.keys, in the bucket of the second until.
func (c *MemoryReplayCache) file(k uint64, until int64) {
	b := c.last
	if b == nil || b.at != until {
		if b = c.buckets[until]; b == nil {
			if n := len(c.free); n > 0 {
				b, c.free = c.free[n-1], c.free[:n-1]
			} else {
				b = new(replayBucket)
			}
			b.at = until
			c.buckets[until] = b
			c.pushOrder(until)
		}
		c.last = b
	}
	b.keys = append(b.keys, k)
}

// expire drops every bucket whose second has come: one heap operation per bucket plus one
// removal per key, paid for by the inserts that filed them.
func (c *MemoryReplayCache) expire(now int64) {
	for len(c.order) > 0 && c.order[0] <= now {
		c.drop(c.popOrder())
	}
	c.keys.shrink()
}

func (c *MemoryReplayCache) drop(at int64) {
	b := c.buckets[at]
	delete(c.buckets, at)
	if c.last == b {
		c.last = nil
	}
	for _, k := range b.keys {
		c.keys.remove(k)
	}
	if cap(b.keys) <= 1<<14 && len(c.free) < 8 {
		b.keys = b.keys[:0]
		c.free = append(c.free, b)
	}
}

func (c *MemoryReplayCache) pushOrder(at int64) {
	h := append(c.order, at)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	c.order = h
}

func (c *MemoryReplayCache) popOrder() int64 {
	h := c.order
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		m := i
		if l := 2*i + 1; l < n && h[l] < h[m] {
			m = l
		}
		if r := 2*i + 2; r < n && h[r] < h[m] {
			m = r
		}
		if m == i {
			break
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
	c.order = h
	return top
}

// each calls fn for every remembered key with the second it is forgotten at. c.mu must
// be held.
func (c *MemoryReplayCache) each(fn func(k uint64, until int64) error) error {
	for at, b := range c.buckets {
		for _, k := range b.keys {
			if err := fn(k, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// keySet is a set of non-zero 64-bit keys: an open-addressing table with linear probing,
// so that a lookup in a large set costs one memory access where Go's map costs several;
// with a million keys that is most of the price of an insert. Slots are placed by a
// multiply-shift hash with a random multiplier, so a client that grinds authenticators
// offline cannot pile its keys onto one run of slots.
type keySet struct {
	slots []uint64 // 0 is empty; len is a power of two
	n     int
	shift uint   // 64 - log2(len(slots))
	mul   uint64 // odd
	xor   uint64
}

const minKeySlots = 1 << 6

func newKeySet() keySet {
	var r [16]byte
	_, _ = crand.Read(r[:]) // never fails (crypto/rand panics rather than return an error)
	return keySet{
		slots: make([]uint64, minKeySlots),
		shift: 64 - 6,
		mul:   binary.LittleEndian.Uint64(r[:8]) | 1,
		xor:   binary.LittleEndian.Uint64(r[8:]),
	}
}

func (s *keySet) home(k uint64) int { return int(((k ^ s.xor) * s.mul) >> s.shift) }

// find returns the slot holding k, or the empty slot where it belongs.
func (s *keySet) find(k uint64) (slot int, ok bool) {
	mask := len(s.slots) - 1
	for i := s.home(k); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return i, true
		case 0:
			return i, false
		}
	}
}

// put stores k in the empty slot find returned, growing the table past 3/4 full.
func (s *keySet) put(slot int, k uint64) {
	s.slots[slot] = k
	s.n++
	if s.n > len(s.slots)/4*3 {
		s.resize(len(s.slots) * 2)
	}
}

// remove deletes k, moving later keys of its run back so that no lookup stops early
// (Knuth's algorithm R: no tombstones, so probe runs stay as short as the load allows).
func (s *keySet) remove(k uint64) {
	i, ok := s.find(k)
	if !ok {
		return
	}
	mask := len(s.slots) - 1
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		// The key at j may move to the hole at i unless its home lies cyclically in (i, j].
		if h := s.home(s.slots[j]); (j-h)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
}

// shrink halves the table while it is less than 1/8 full, giving back the memory of a
// burst (amortised over the removals that emptied it).
func (s *keySet) shrink() {
	if len(s.slots) > minKeySlots && s.n < len(s.slots)/8 {
		s.resize(max(len(s.slots)/4, minKeySlots))
	}
}

func (s *keySet) resize(size int) {
	old := s.slots
	s.slots = make([]uint64, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, k := range old {
		if k != 0 {
			i, _ := s.find(k)
			s.slots[i] = k
		}
	}
}

// processReplayCaches are the default replay caches: one per service principal, shared
// by every credentials handle of the process. Only principals whose tickets decrypt with
// a keytab of this process get one, so their number is bounded by the keytabs'.
var processReplayCaches struct {
	mu     sync.Mutex
	caches map[string]*MemoryReplayCache
	// maxSkew only grows; it is read on every AP-REQ, without the lock.
	maxSkew atomic.Int64
}

// lastReplayCache is the process cache a server handle used last, with the service it is
// for: a handle mostly accepts tickets for one service, and looking it up again on every
// AP-REQ would serialise all acceptors of the process on processReplayCaches.mu.
type lastReplayCache struct {
	service, realm string
	cache          *MemoryReplayCache
}

// processReplayCache is the process's replay cache for service@realm, remembered in the
// handle.
func (cr *serverCreds) processReplayCache(service, realm string) *MemoryReplayCache {
	if l := cr.lastCache.Load(); l != nil && l.service == service && l.realm == realm {
		return l.cache
	}
	c := processReplayCache(service + "@" + realm)
	cr.lastCache.Store(&lastReplayCache{service: service, realm: realm, cache: c})
	return c
}

// processReplayCache returns the process's replay cache for service ("name@REALM").
func processReplayCache(service string) *MemoryReplayCache {
	p := &processReplayCaches
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.caches[service]
	if c == nil {
		if p.caches == nil {
			p.caches = make(map[string]*MemoryReplayCache)
		}
		c = NewMemoryReplayCache(0)
		p.caches[service] = c
	}
	return c
}

// noteSkew records a server handle's clock skew and returns the largest of the process.
// Handles with different skews share a cache, so entries are kept for the largest: one
// kept for 5 minutes would let a handle accepting 1 hour of skew take its replay.
func noteSkew(skew time.Duration) time.Duration {
	m := &processReplayCaches.maxSkew
	for {
		old := m.Load()
		if int64(skew) <= old || m.CompareAndSwap(old, int64(skew)) {
			return time.Duration(max(old, int64(skew)))
		}
	}
}

// checkReplay records the authenticator with ciphertext authCipher, sent by client at
// ctime to service@realm, and refuses it if it was seen before or cannot be recorded.
func (cr *serverCreds) checkReplay(service, realm string, authCipher []byte, now, ctime time.Time, client string) error {
	cache := cr.replays
	if cache == nil {
		cache = cr.processReplayCache(service, realm)
	}
	fresh, err := cache.Add(replayKey(realm, service, authCipher), now, ctime.Add(noteSkew(cr.skew)))
	if err == nil && fresh {
		return nil
	}
	svc := wiretext.Name(service + "@" + realm)
	switch {
	case errors.Is(err, ErrReplayCacheFull):
		return &sspi.Error{Status: sspi.ErrInsufficientMemory, Err: fmt.Errorf(
			"%w; logons to %s are refused until remembered authenticators age past the clock skew; give the server a larger cache (ServerConfig.ReplayCache, one cache shared by all its handles)", err, svc)}
	case err != nil:
		return sspi.WithStatus(sspi.ErrInternalError, fmt.Errorf("kerberos: the replay cache for %s cannot check the authenticator, so it is refused: %w", svc, err))
	case !fresh:
		return &sspi.Error{Status: sspi.ErrLogonDenied, Err: fmt.Errorf("%w from %s to %s", ErrReplay, wiretext.Name(client), svc)}
	}
	return nil
}
