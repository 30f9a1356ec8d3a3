package krbclient

import (
	"context"
	"errors"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// usagePAForUser is MS-SFU 2.2.1's key usage of PA-FOR-USER's checksum
// (KERB_NON_KERB_CKSUM_SALT).
const usagePAForUser = 17

// Clone returns a Client for the same principal and secrets, holding its own copies of the
// TGTs c holds: destroying one leaves the other usable. Service tickets are not copied.
func (c *Client) Clone() *Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &Client{opts: c.opts, conf: c.conf, user: c.user, password: c.password, keytab: c.keytab,
		tgts: map[string]*Credential{}, tickets: map[string]*Credential{}, onAttempt: c.onAttempt}
	for realm, t := range c.tgts {
		kb := t.Key.Bytes()
		k, err := krbcrypto.NewKey(t.Key.EType(), kb)
		clear(kb)
		if err != nil {
			continue
		}
		cp := *t
		cp.Key = k
		n.tgts[realm] = &cp
	}
	return n
}

// s4uRequest is one TGS exchange of MS-SFU: S4U2Self (extra PA-FOR-USER) or S4U2Proxy
// (an additional ticket, cname-in-addl-tkt, PA-PAC-OPTIONS).
type s4uRequest struct {
	server  Principal // the ticket asked for
	client  Principal // the client the reply must name
	options uint32
	padata  []wire.PAData
	addl    []wire.Ticket
	what    string
}

// S4U2Self asks the KDC of the client's realm for a ticket to the client itself (a
// service) on behalf of user (MS-SFU 3.1.5.1.1, protocol transition): the ticket is
// forwardable only when the realm trusts the service to authenticate for delegation
// (TrustedToAuthForDelegation, MIT's ok_to_auth_as_delegate). The user must be of the
// service's realm (no cross-realm S4U referrals).
func (c *Client) S4U2Self(ctx context.Context, user Principal) (*Credential, error) {
	tgt, err := c.TGT(ctx)
	if err != nil {
		return nil, err
	}
	if user.Realm == "" {
		user.Realm = tgt.Client.Realm
	}
	kb := tgt.Key.Bytes()
	defer clear(kb)
	fu := wire.PAForUserData{UserName: user.Name, UserRealm: user.Realm, AuthPackage: "Kerberos"}
	fu.Cksum = wire.Checksum{Type: wire.ChecksumTypeHMACMD5, Value: krbcrypto.HMACMD5Checksum(kb, fu.ChecksumData(), usagePAForUser)}
	v, err := fu.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding PA-FOR-USER: %w", err)
	}
	return c.s4u(ctx, tgt, &s4uRequest{
		server: tgt.Client, client: user,
		// Not RENEWABLE: Heimdal refuses it (BADOPTION) when the TGT is not renewable.
		options: wire.KDCOptForwardable | wire.KDCOptCanonicalize,
		padata:  []wire.PAData{{Type: wire.PAForUser, Value: v}},
		what:    "getting a ticket to " + bound(tgt.Client.String()) + " for " + bound(user.String()) + " (S4U2Self)",
	})
}

// S4U2Proxy asks for a ticket to server for the client of evidence, a ticket to this
// client (a service) that the user presented or that S4U2Self gave (MS-SFU 3.1.5.2.1,
// constrained delegation). user is the evidence ticket's client, which the reply must
// name. PA-PAC-OPTIONS asks for resource-based constrained delegation as Windows does, so
// that the KDC also consults the target's msDS-AllowedToActOnBehalfOfOtherIdentity.
// server must be of the client's realm.
func (c *Client) S4U2Proxy(ctx context.Context, evidence wire.Ticket, user, server Principal) (*Credential, error) {
	tgt, err := c.TGT(ctx)
	if err != nil {
		return nil, err
	}
	if server.Realm == "" {
		server.Realm = tgt.Client.Realm
	}
	key := "s4u2proxy:" + user.String() + ":" + server.Name.String() + "@" + server.Realm
	c.mu.Lock()
	cr := c.tickets[key]
	c.mu.Unlock()
	if cr.valid(c.now(), c.skew()) {
		return cr, nil
	}
	cr, err = c.s4u(ctx, tgt, &s4uRequest{
		server: server, client: user,
		options: wire.KDCOptForwardable | wire.KDCOptCanonicalize | wire.KDCOptCNameInAddlTkt,
		padata:  []wire.PAData{{Type: wire.PAPACOptions, Value: wire.MarshalPACOptions(wire.PACOptionResourceBasedDelegn)}},
		addl:    []wire.Ticket{evidence},
		what:    "getting a ticket to " + bound(server.String()) + " for " + bound(user.String()) + " (S4U2Proxy)",
	})
	if err != nil {
		return nil, err
	}
	c.keepTicket(key, cr)
	return cr, nil
}

// s4u runs r with tgt, checks the reply (RFC 4120 3.3.4, with the client r names) and
// returns the ticket.
func (c *Client) s4u(ctx context.Context, tgt *Credential, r *s4uRequest) (*Credential, error) {
	sname := r.server.Name
	body := wire.KDCReqBody{Options: r.options, Realm: r.server.Realm, SName: &sname, Till: tgt.EndTime, AdditionalTickets: r.addl}
	x, err := c.tgsRoundTrip(ctx, tgt, body, r.padata, r.what, s4uFailure)
	if err != nil {
		return nil, err
	}
	defer clear(x.plain)
	if err := c.checkS4UReply(&x.rep, &x.enc, r, x.nonce, x.kdcRealm); err != nil {
		return nil, err
	}
	if err := c.checkTimes(&x.enc, tgt.EndTime, false); err != nil {
		return nil, err
	}
	return c.credential(&x.rep, &x.enc, x.etypes)
}

// checkS4UReply checks that the reply answers this request, for the user asked for, with
// a ticket for the service asked for (its canonical name allowed, of the KDC's realm).
func (c *Client) checkS4UReply(rep *wire.KDCRep, enc *wire.EncKDCRepPart, r *s4uRequest, nonce uint32, kdcRealm string) error {
	if enc.Nonce != nonce {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP answers another request (nonce mismatch); it may be a replay", r.what)
	}
	// A KDC may canonicalize the user's name (an enterprise name, another case); the realm
	// must be the one asked for.
	if r.client.Name.Type != wire.NameEnterprise && !rep.CName.Equal(r.client.Name) && !equalFoldName(rep.CName, r.client.Name) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP names client %s", r.what, bound(rep.CName.String()+"@"+rep.CRealm))
	}
	if rep.Ticket.Realm != enc.SRealm || !rep.Ticket.SName.Equal(enc.SName) || enc.SRealm != kdcRealm {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP's ticket and encrypted part name different services", r.what)
	}
	return nil
}

func equalFoldName(a, b wire.PrincipalName) bool {
	if len(a.Components) != len(b.Components) {
		return false
	}
	for i := range a.Components {
		if !equalFold(a.Components[i], b.Components[i]) {
			return false
		}
	}
	return true
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ErrDelegationNotAllowed is the cause of an S4U refusal: the KDC answered
// KDC_ERR_BADOPTION or KDC_ERR_POLICY, which is how Active Directory and MIT say that the
// account's delegation settings do not allow the request.
var ErrDelegationNotAllowed = errors.New("delegation is not allowed")

// s4uFailure maps a KDC's refusal of an S4U request: BADOPTION and POLICY say the
// delegation is not allowed (SEC_E_DELEGATION_POLICY), with what to change.
func s4uFailure(what string, e *KDCError) error {
	switch e.Code {
	case errBadOption, errPolicy:
		return sspi.Errorf(sspi.ErrDelegationPolicy, "krbclient: %s: %w: %w; the service account must be allowed to delegate to the target (msDS-AllowedToDelegateTo, with protocol transition for S4U2Self tickets: TrustedToAuthForDelegation), or the target must allow it (msDS-AllowedToActOnBehalfOfOtherIdentity)", what, ErrDelegationNotAllowed, e)
	}
	return failure(what, e)
}
