package kerberos

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
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
	targets map[string][]krbclient.Principal // target as given -> service principals to try
}

// hostDNS is the DNS that host-based targets are looked up in, as krb5.conf's
// dns_canonicalize_hostname, rdns and dns_lookup_realm say (krbclient.Options.HostResolver
// for the fallback realm's TXT records); tests replace it.
var hostDNS krbclient.HostResolver = net.DefaultResolver

// serviceTicket returns the ticket for target ("service/host" or "service/host@REALM").
// A host-based name without a realm is canonicalised as krb5.conf says (MIT's
// dns_canonicalize_hostname and rdns; under "fallback" the name as given is tried first,
// the canonical one when the KDC does not know it) and gets the realm [domain_realm] maps
// its host to, or none: krbclient then asks the client's realm, which may refer it on
// (RFC 6806), and when that realm refuses, the host's fallback realm (with
// dns_lookup_realm a TXT record, otherwise its parent domain upper-cased), as MIT does.
func (t *clientTickets) serviceTicket(ctx context.Context, target string) ([]byte, *krbcrypto.Key, time.Time, error) {
	if err := t.creds.login(ctx); err != nil {
		return nil, nil, time.Time{}, err
	}
	ps, err := t.principals(ctx, target)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	for i, p := range ps {
		cr, err := t.creds.cl.ServiceTicket(ctx, p, nil)
		if err == nil {
			return cr.Ticket.Raw, cr.Key, cr.EndTime, nil
		}
		if i+1 == len(ps) || !errors.Is(err, sspi.ErrTargetUnknown) {
			what := target
			if n := p.Name.String(); n != target && !strings.HasPrefix(target, n+"@") {
				what += " (as " + n + ")" // canonicalised
			}
			return nil, nil, time.Time{}, kdcError("getting a ticket for "+what, err)
		}
	}
	return nil, nil, time.Time{}, sspi.Errorf(sspi.ErrTargetUnknown, "kerberos: no service name for %s", target)
}

// principals returns the service principals to ask for, in order (one, or two under
// dns_canonicalize_hostname = fallback), remembered per target.
func (t *clientTickets) principals(ctx context.Context, target string) ([]krbclient.Principal, error) {
	t.mu.Lock()
	ps, ok := t.targets[target]
	t.mu.Unlock()
	if ok {
		return ps, nil
	}
	p, err := krbclient.ParsePrincipal(target, "")
	if err != nil {
		return nil, err
	}
	ps = []krbclient.Principal{p}
	if p.Realm == "" && len(p.Name.Components) == 2 {
		ps = ps[:0]
		for _, h := range krbclient.ServiceHosts(ctx, t.conf, hostDNS, p.Name.Components[1]) {
			q := p
			q.Name.Components = []string{p.Name.Components[0], h}
			if r, ok := krbclient.HostRealm(t.conf, h); ok {
				q.Realm = r
			}
			ps = append(ps, q)
		}
	}
	t.mu.Lock()
	if t.targets == nil || len(t.targets) >= maxTargets {
		t.targets = map[string][]krbclient.Principal{}
	}
	t.targets[target] = ps
	t.mu.Unlock()
	return ps, nil
}
