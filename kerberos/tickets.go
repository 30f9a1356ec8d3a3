package kerberos

import (
	"context"
	"sync"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// maxTargets bounds the parsed target names a client keeps.
const maxTargets = 1024

// clientTickets is the ticket source over krbclient, which does the AS and TGS exchanges
// and caches the tickets: the DER the KDC sent and the session key, ready for use, so a
// handshake with the ticket in hand costs a map lookup.
type clientTickets struct {
	creds *clientCreds
	conf  *krbconf.Config

	mu      sync.Mutex
	targets map[string]krbclient.Principal // target as given -> service principal
}

// serviceTicket returns the ticket for target ("service/host" or "service/host@REALM").
// A host-based name without a realm gets the realm [domain_realm] maps its host to, or
// none: krbclient then asks the client's realm, which may refer it on (RFC 6806).
func (t *clientTickets) serviceTicket(ctx context.Context, target string) ([]byte, *krbcrypto.Key, error) {
	if err := t.creds.login(ctx); err != nil {
		return nil, nil, err
	}
	p, err := t.principal(target)
	if err != nil {
		return nil, nil, err
	}
	cr, err := t.creds.cl.ServiceTicket(ctx, p, nil)
	if err != nil {
		return nil, nil, kdcError("getting a ticket for "+target, err)
	}
	return cr.Ticket.Raw, cr.Key, nil
}

func (t *clientTickets) principal(target string) (krbclient.Principal, error) {
	t.mu.Lock()
	p, ok := t.targets[target]
	t.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := krbclient.ParsePrincipal(target, "")
	if err != nil {
		return p, err
	}
	if p.Realm == "" && len(p.Name.Components) == 2 {
		if r, ok := t.conf.RealmForHost(p.Name.Components[1]); ok {
			p.Realm = r
		}
	}
	t.mu.Lock()
	if t.targets == nil || len(t.targets) >= maxTargets {
		t.targets = map[string]krbclient.Principal{}
	}
	t.targets[target] = p
	t.mu.Unlock()
	return p, nil
}
