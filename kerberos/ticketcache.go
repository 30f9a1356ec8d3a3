package kerberos

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"sync/atomic"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// A client keeps its service ticket until the ticket expires (ten hours by default) and
// sends it in every AP-REQ to the service. An acceptor that answers many connections from
// the same clients would decrypt the same ticket, verify the same PAC and derive the same
// session-key usages (authenticator, AP-REP) each time: about half of what accepting
// costs. ticketCache keeps what opening a ticket yields, keyed by the ticket's ciphertext
// and the service key that opened it. Everything that is fresh in an AP-REQ is still
// checked on every use: the authenticator (decrypted with the session key, its client,
// time and checksum), the replay cache, and the ticket's times against the clock.
//
// Only tickets that decrypted and whose PAC passed are kept, so an attacker cannot put
// anything in the cache that the KDC did not issue. The cache is direct-mapped: a new
// ticket replaces the one in its slot, and a ticket found expired leaves. An entry's
// plaintext and session key are zeroed when it has left the cache (or the credentials are
// freed) and the last AP-REQ using it is done.

const (
	// defaultTicketCacheSize is the number of slots of ServerConfig.TicketCacheSize 0.
	defaultTicketCacheSize = 256
	maxTicketCacheSize     = 1 << 16
	// maxCachedTicket bounds an entry's ciphertext: a ticket with a PAC of a user in
	// many groups is a few KiB; a larger one is opened every time instead of holding
	// memory (entries hold the ciphertext and the plaintext, ~2× this).
	maxCachedTicket = 8 << 10
)

type ticketCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[openedTicket]
}

// openedTicket is a decrypted ticket whose PAC has been verified. Its fields are not
// changed once it is in the cache; tkt aliases plain.
type openedTicket struct {
	key     *krbcrypto.Key // the service key that opened it
	cipher  []byte         // the ticket's enc-part ciphertext, the cache key
	raw     []byte         // the whole ticket as received, the evidence for S4U2Proxy
	plain   []byte         // the EncTicketPart
	tkt     wire.EncTicketPart
	session *krbcrypto.Key
	authz   sspi.AuthorizationSource
	token   *sspi.AccessToken

	// refs counts the cache's reference and each AP-REQ's; the last release zeroes the
	// entry. At zero it can no longer be acquired.
	refs atomic.Int32
}

// newTicketCache returns a cache of size slots (rounded up to a power of two), nil for a
// negative size (no cache).
func newTicketCache(size int) *ticketCache {
	switch {
	case size < 0:
		return nil
	case size == 0:
		size = defaultTicketCacheSize
	case size > maxTicketCacheSize:
		size = maxTicketCacheSize
	}
	size = 1 << bits.Len(uint(size-1))
	return &ticketCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[openedTicket], size)}
}

func (c *ticketCache) slot(cipher []byte) *atomic.Pointer[openedTicket] {
	return &c.slots[maphash.Bytes(c.seed, cipher)&uint64(len(c.slots)-1)]
}

// get returns the entry for the ticket with this ciphertext that key opened, acquired
// for the caller (release it), or nil.
func (c *ticketCache) get(key *krbcrypto.Key, cipher []byte) *openedTicket {
	if c == nil {
		return nil
	}
	o := c.slot(cipher).Load()
	// The ciphertext is public (it crossed the network), so a plain comparison is fine.
	if o == nil || o.key != key || !bytes.Equal(o.cipher, cipher) || !o.acquire() {
		return nil
	}
	return o
}

// put makes o an entry, acquired for the caller as well, and drops what its slot held.
func (c *ticketCache) put(o *openedTicket) {
	o.refs.Store(2)
	if old := c.slot(o.cipher).Swap(o); old != nil {
		old.release()
	}
}

// drop takes o out of the cache if it is still there (an expired ticket).
func (c *ticketCache) drop(o *openedTicket) {
	if c.slot(o.cipher).CompareAndSwap(o, nil) {
		o.release()
	}
}

// flush drops every entry (the credentials are being freed).
func (c *ticketCache) flush() {
	if c == nil {
		return
	}
	for i := range c.slots {
		if o := c.slots[i].Swap(nil); o != nil {
			o.release()
		}
	}
}

// acquire takes a reference unless the entry is already being zeroed.
func (o *openedTicket) acquire() bool {
	for {
		n := o.refs.Load()
		if n <= 0 {
			return false
		}
		if o.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one zeroes the plaintext and the session key.
func (o *openedTicket) release() {
	if o.refs.Add(-1) == 0 {
		clear(o.plain)
		o.session.Destroy()
	}
}

// newOpenedTicket returns an entry whose buffer holds a copy of cipher and room to decrypt
// it in place, or nil when the ticket is too large to keep.
func newOpenedTicket(key *krbcrypto.Key, t *wire.Ticket) *openedTicket {
	n := len(t.EncPart.Cipher)
	if n > maxCachedTicket {
		return nil
	}
	buf := make([]byte, 2*n+len(t.Raw))
	o := &openedTicket{key: key, cipher: buf[:n:n], plain: buf[n : 2*n : 2*n], raw: buf[2*n:]}
	copy(o.cipher, t.EncPart.Cipher)
	copy(o.plain, t.EncPart.Cipher)
	copy(o.raw, t.Raw)
	return o
}
