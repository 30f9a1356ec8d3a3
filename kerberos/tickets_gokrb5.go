package kerberos

import (
	"context"
	"sync"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// gokrb5Tickets is the ticket source over gokrb5's client, which still does the AS and TGS
// exchanges. What it hands out is converted once per ticket: gokrb5 keeps no DER of a
// ticket, so its Ticket is encoded the first time it is seen, and the session key set up
// as a krbcrypto.Key; a handshake with the ticket in hand then touches gokrb5 only for
// its cache lookup.
type gokrb5Tickets struct {
	creds *clientCreds

	mu    sync.Mutex
	cache map[string]*heldTicket
}

type heldTicket struct {
	cipher *byte // identifies the gokrb5 ticket the entry was made from
	der    []byte
	key    *krbcrypto.Key
}

func (g *gokrb5Tickets) serviceTicket(_ context.Context, spn string) ([]byte, *krbcrypto.Key, error) {
	c := g.creds
	if err := c.login(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	tkt, key, err := c.cl.GetServiceTicket(spn)
	c.mu.Unlock()
	if err != nil {
		return nil, nil, kdcError("getting a ticket for "+spn, err)
	}
	if len(tkt.EncPart.Cipher) == 0 {
		return nil, nil, kdcError("getting a ticket for "+spn, errEmptyTicket)
	}
	id := &tkt.EncPart.Cipher[0]
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.cache[spn]; h != nil && h.cipher == id {
		return h.der, h.key, nil
	}
	der, err := tkt.Marshal()
	if err != nil {
		return nil, nil, kdcError("encoding the ticket for "+spn, err)
	}
	k, err := krbcrypto.NewKey(krbcrypto.EType(key.KeyType), key.KeyValue)
	if err != nil {
		return nil, nil, kdcError("the session key of the ticket for "+spn, err)
	}
	if g.cache == nil {
		g.cache = map[string]*heldTicket{}
	}
	// A replaced entry's key may still be in use by a context: it is left to the GC.
	g.cache[spn] = &heldTicket{cipher: id, der: der, key: k}
	return der, k, nil
}

// forget drops the converted tickets (FreeCredentialsHandle).
func (g *gokrb5Tickets) forget() {
	g.mu.Lock()
	g.cache = nil
	g.mu.Unlock()
}
