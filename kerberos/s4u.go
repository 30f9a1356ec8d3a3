package kerberos

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/wiretext"
)

// evidenceTicket is the ticket a client presented to an acceptor, kept for S4U2Proxy: it
// is sealed in the service's key, so it holds nothing the context's user could not see.
type evidenceTicket struct {
	raw    []byte
	client krbclient.Principal
}

// keepEvidence keeps the accepted ticket's DER and its client: the ticket cache's copy
// of the DER when it is the same ticket, else one allocation per accepted context. The
// name's strings and slice are the decoder's own, not the plaintext's, and nothing
// changes them.
func (s *serverContext) keepEvidence(st *acceptState) {
	raw := st.req.Ticket.Raw
	if o := st.opened; o != nil && bytes.Equal(o.raw, raw) {
		raw = o.raw
	} else {
		raw = append([]byte(nil), raw...)
	}
	s.evidence = evidenceTicket{raw: raw, client: krbclient.Principal{Name: st.tkt.CName, Realm: st.tkt.CRealm}}
}

// credAttrOp is the QueryCredentialsAttributes id through which this package's own
// functions reach the package side of a Kerberos credentials handle; out is a *credOp.
const credAttrOp sspi.CredentialAttribute = 0x80000C71

// credOp runs on the package side of a credentials handle.
type credOp func(c *credentials) error

// withCredentials runs op on h's package side.
func withCredentials(h *sspi.Credentials, what string, op credOp) error {
	if h == nil {
		return sspi.Errorf(sspi.ErrInvalidHandle, "kerberos: %s: nil credentials", what)
	}
	if h.Package() != PackageName {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: %s needs Kerberos credentials, not %s ones", what, h.Package())
	}
	return sspi.QueryCredentialsAttributes(h, credAttrOp, &op)
}

// runCredOp answers credAttrOp (QueryCredentialsAttribute).
func (c *credentials) runCredOp(out any) error {
	op, ok := out.(*credOp)
	if !ok || op == nil || *op == nil {
		return sspi.Errorf(sspi.ErrInvalidParameter, "kerberos: credential attribute %#x is internal to package kerberos", uint32(credAttrOp))
	}
	return (*op)(c)
}

// serviceClient returns a copy of the service's own client (its principal, its secret and
// the TGTs it holds), from client credentials of a service: a password or keytab.
func serviceClient(service *sspi.Credentials, what string) (*krbclient.Client, *krbconf.Config, error) {
	var cl *krbclient.Client
	var conf *krbconf.Config
	err := withCredentials(service, what, func(c *credentials) error {
		if c.client == nil || c.client.cl == nil {
			return sspi.Errorf(sspi.ErrNoCredentials, "kerberos: %s needs the service's outbound credentials (its password or keytab in a *kerberos.ClientConfig), not server ones", what)
		}
		if _, ok := c.client.tickets.(*clientTickets); !ok {
			return sspi.Errorf(sspi.ErrNoCredentials, "kerberos: %s needs the service's own credentials, not credentials that already act for a user", what)
		}
		cl, conf = c.client.cl.Clone(), c.client.cl.Config()
		return nil
	})
	return cl, conf, err
}

// ImpersonateUser returns client credentials of user, obtained by the service whose own
// credentials service holds (a *ClientConfig with its password or keytab) through
// protocol transition (MS-SFU S4U2Self): for a user who signed in some other way (NTLM, a
// web form, a certificate). With them InitializeSecurityContext gets, through
// constrained delegation (S4U2Proxy), a ticket to the target for that user, if the realm
// allows this service to delegate to it: msDS-AllowedToDelegateTo with
// TrustedToAuthForDelegation (protocol transition) on the service's account, or the
// target's msDS-AllowedToActOnBehalfOfOtherIdentity naming the service (resource-based).
// A refusal fails with sspi.ErrDelegationPolicy. user is "name", "name@REALM" or
// "DOMAIN\name"; without a realm the service's. Free the credentials with
// FreeCredentialsHandle. opts may be nil.
func ImpersonateUser(service *sspi.Credentials, user string, opts *DelegationOptions) (*sspi.Credentials, error) {
	if opts == nil {
		opts = &DelegationOptions{}
	}
	cl, conf, err := serviceClient(service, "ImpersonateUser")
	if err != nil {
		return nil, err
	}
	ctx := opts.context()
	if _, err := cl.TGT(ctx); err != nil {
		cl.Destroy()
		return nil, kdcError("getting a TGT for "+cl.User().String(), err)
	}
	name, realm := splitUser(user, "")
	if name == "" {
		cl.Destroy()
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "kerberos: ImpersonateUser needs a user name")
	}
	switch {
	case realm == "":
		realm = cl.User().Realm
	case strings.Contains(user, `\`) && !strings.Contains(realm, "."):
		// DOMAIN\user: the NetBIOS domain's realm, as for logons.
		if realm, err = mapDomainToRealm(realm, conf); err != nil {
			cl.Destroy()
			return nil, err
		}
	}
	p := krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{name}}, Realm: conf.CanonicalRealm(realm)}
	ev, err := cl.S4U2Self(ctx, p)
	if err != nil {
		cl.Destroy()
		return nil, kdcError("protocol transition for "+user, err)
	}
	ev.Key.Destroy() // the evidence ticket is only passed on to the KDC
	return handOff(actingCreds(cl, conf, ev.Client, ev.Ticket))
}

// ProxyCredentials returns client credentials of the user of an established server
// context, for the service whose own credentials service holds (a *ClientConfig with its
// password or keytab; the principal the client's ticket was for): with them
// InitializeSecurityContext gets a ticket to the target for that user through
// constrained delegation (MS-SFU S4U2Proxy), the client's ticket serving as evidence, if
// the realm allows this service to delegate to the target (msDS-AllowedToDelegateTo on
// the service, which also needs the client's ticket to be forwardable, or the target's
// msDS-AllowedToActOnBehalfOfOtherIdentity). A refusal fails with
// sspi.ErrDelegationPolicy. accepted may be a Kerberos context or a Negotiate one that
// chose Kerberos. Free the credentials with FreeCredentialsHandle. opts may be nil.
func ProxyCredentials(service *sspi.Credentials, accepted *sspi.Context, opts *DelegationOptions) (*sspi.Credentials, error) {
	var ev evidenceTicket
	err := onServerContext(accepted, "ProxyCredentials", func(s *serverContext) error {
		ev = evidenceTicket{raw: append([]byte(nil), s.evidence.raw...), client: s.evidence.client}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var t wire.Ticket
	if err := t.Unmarshal(ev.raw); err != nil {
		return nil, malformed("evidence ticket", err)
	}
	cl, conf, err := serviceClient(service, "ProxyCredentials")
	if err != nil {
		return nil, err
	}
	return handOff(actingCreds(cl, conf, ev.client, t))
}

func (o *DelegationOptions) context() context.Context {
	if o.Context != nil {
		return o.Context
	}
	return context.Background()
}

// actingCreds makes client credentials of user whose tickets the service (cl) gets with
// S4U2Proxy and the evidence ticket. The credentials own cl.
func actingCreds(cl *krbclient.Client, conf *krbconf.Config, user krbclient.Principal, evidence wire.Ticket) *clientCreds {
	c := &clientCreds{cl: cl}
	c.user, c.realm = joinName(user.Name), user.Realm
	c.cname = wire.PrincipalName{Type: user.Name.Type, Components: user.Name.Components}
	c.name = c.user + "@" + c.realm
	c.tickets = &proxyTickets{svc: cl, user: user, evidence: evidence, names: clientTickets{creds: c, conf: conf}}
	// cl is the service's: the credentials' names stay the user's, and its TGT is got
	// when S4U2Proxy needs it, not by login.
	c.loggedIn.Store(true)
	return c
}

// proxyTickets is the ticket source of credentials acting for a user: each target's
// ticket comes from S4U2Proxy (krbclient caches them).
type proxyTickets struct {
	svc      *krbclient.Client
	user     krbclient.Principal
	evidence wire.Ticket
	names    clientTickets // parses and maps target names
}

func (t *proxyTickets) serviceTicket(ctx context.Context, target string) ([]byte, *krbcrypto.Key, time.Time, error) {
	ps, err := t.names.principals(ctx, target)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	var cr *krbclient.Credential
	for _, p := range ps { // more than one under dns_canonicalize_hostname = fallback
		cr, err = t.svc.S4U2Proxy(ctx, t.evidence, t.user, p)
		if err == nil || !errors.Is(err, sspi.ErrTargetUnknown) {
			break
		}
	}
	if err != nil {
		return nil, nil, time.Time{}, kdcError("constrained delegation of "+wiretext.Name(t.user.String())+" to "+target, err)
	}
	return cr.Ticket.Raw, cr.Key, cr.EndTime, nil
}
