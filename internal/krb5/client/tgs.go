package krbclient

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TicketOptions are the KDC options a service ticket request may add.
type TicketOptions struct {
	// Forwardable asks for a forwardable service ticket.
	Forwardable bool
	// NoCache skips the client's ticket cache (the ticket got is still cached).
	NoCache bool
}

// ServiceTicket returns a ticket for server (realm empty: the client's realm, following
// RFC 6806 referrals from there), from the cache when one is valid, otherwise through TGS
// exchanges: referrals and cross-realm TGTs are followed, at most MaxHops of them.
func (c *Client) ServiceTicket(ctx context.Context, server Principal, opts *TicketOptions) (*Credential, error) {
	if opts == nil {
		opts = &TicketOptions{}
	}
	if server.Realm != "" {
		server.Realm = c.conf.CanonicalRealm(server.Realm)
	}
	key := server.Name.String() + "@" + server.Realm
	if !opts.NoCache {
		c.mu.Lock()
		cr := c.tickets[key]
		c.mu.Unlock()
		if cr.valid(c.now(), c.skew()) && (!opts.Forwardable || cr.Flags&wire.FlagForwardable != 0) {
			return cr, nil
		}
	}
	tgt, err := c.TGT(ctx)
	if err != nil {
		return nil, err
	}
	var options uint32 = wire.KDCOptCanonicalize
	// As Windows does, a forwardable TGT gets forwardable service tickets: constrained
	// delegation (S4U2Proxy) needs the user's ticket to the service to be forwardable.
	if opts.Forwardable || tgt.Flags&wire.FlagForwardable != 0 {
		options |= wire.KDCOptForwardable
	}
	cr, hop, err := c.chase(ctx, tgt, server, options)
	var kerr *KDCError
	if err != nil && hop == 0 && server.Realm == "" && len(server.Name.Components) == 2 && errors.As(err, &kerr) {
		// MIT's try_fallback: the client's realm refused the referral request (it holds no
		// such service and knows no realm to refer it to), so the service is asked for,
		// without canonicalize, in the host's fallback realm, through a cross-realm TGT
		// when that is another realm.
		server.Realm = c.FallbackHostRealm(ctx, server.Name.Components[1])
		first := err
		if cr, _, err = c.chase(ctx, tgt, server, options&^wire.KDCOptCanonicalize); err != nil && server.Realm != kerr.Realm {
			// What the client's realm said is the news (the service is unknown there); the
			// fallback realm's failure is added to it.
			err = sspi.Errorf(sspi.StatusOf(first), "%w; in the host's fallback realm %s: %v", causeOf(first), bound(server.Realm), causeOf(err))
		}
	}
	if err != nil {
		return nil, err
	}
	c.keepTicket(key, cr)
	return cr, nil
}

// causeOf is the cause inside an *sspi.Error, so that a status is not printed twice.
func causeOf(err error) error {
	var se *sspi.Error
	if errors.As(err, &se) && se.Err != nil {
		return se.Err
	}
	return err
}

// FallbackHostRealm is the realm to ask for a service on host when the client's own
// realm refuses a referral request for it (see the package function FallbackHostRealm):
// a realm has KDCs when krb5.conf lists some or, with dns_lookup_kdc, DNS has SRV records.
func (c *Client) FallbackHostRealm(ctx context.Context, host string) string {
	hasKDC := func(realm string) bool {
		_, err := c.locate(ctx, realm)
		return err == nil
	}
	return FallbackHostRealm(ctx, c.conf, c.opts.HostResolver, hasKDC, host)
}

// chase asks KDCs for server, starting with tgt: when server's realm is another, a
// cross-realm TGT first (RFC 4120 1.2), and from any KDC a referral (RFC 6806 8, a TGT for
// another realm where the service was asked) is followed to that realm. hop counts the
// requests answered before the one that failed.
func (c *Client) chase(ctx context.Context, tgt *Credential, server Principal, options uint32) (cr *Credential, hop int, err error) {
	seen := map[string]bool{}
	referrals := server.Realm == "" // ask in whichever realm the current TGT is for
	if !referrals {
		// A TGT for the service's realm got earlier (a cross-realm step, a referral, a
		// fallback) saves asking the KDCs on the way again, as MIT's cache does: one that
		// tgt's realm issued (krbtgt/X@A), the first step of the path from there. One
		// that a realm further along some referral chain issued (krbtgt/X@B) is not
		// used: B was on that chain's path, not on every path to X.
		start, _ := isTGS(tgt.Server.Name)
		c.mu.Lock()
		if t := c.tgts[server.Realm]; t.valid(c.now(), c.skew()) && t.Server.Realm == start && t.Client.Realm == tgt.Client.Realm && t.Client.Name.Equal(tgt.Client.Name) {
			tgt = t
		}
		c.mu.Unlock()
	}
	for ; hop <= c.maxHops(); hop++ {
		kdcRealm, _ := isTGS(tgt.Server.Name)
		if seen[kdcRealm] {
			return nil, hop, sspi.Errorf(sspi.ErrKDCUnableToRefer, "krbclient: referrals for %s loop back to realm %s", bound(server.Name.String()), bound(kdcRealm))
		}
		seen[kdcRealm] = true
		want := Principal{Name: server.Name, Realm: kdcRealm}
		if !referrals && server.Realm != kdcRealm {
			want.Name = tgsName(server.Realm) // a cross-realm TGT on the way
		}
		if cr, err = c.tgsExchange(ctx, tgt, want, options); err != nil {
			return nil, hop, err
		}
		next, isTGT := isTGS(cr.Server.Name)
		crossTGT := isTGT && next != kdcRealm
		if isTGT && !crossTGT && !want.Name.Equal(cr.Server.Name) {
			// A "referral" to the KDC's own realm: a loop, as MIT's client sees it, not
			// the service's ticket.
			return nil, hop, sspi.Errorf(sspi.ErrKDCUnableToRefer, "krbclient: the KDC of %s answered a request for %s with its own TGT %s", bound(kdcRealm), bound(want.String()), bound(cr.Server.String()))
		}
		switch {
		case want.Name.Equal(server.Name) && crossTGT && !server.Name.Equal(cr.Server.Name):
			// RFC 6806 8: a referral; the service is to be asked in realm next.
			referrals = true
		case want.Name.Equal(server.Name):
			return cr, hop, nil
		case !crossTGT:
			return nil, hop, sspi.Errorf(sspi.ErrKDCUnableToRefer, "krbclient: the KDC of %s answered a request for %s with %s", bound(kdcRealm), bound(want.String()), bound(cr.Server.String()))
		}
		c.keepTGT(cr)
		tgt = cr
	}
	return nil, hop, sspi.Errorf(sspi.ErrMaxReferralsExceeded, "krbclient: reaching %s took more than %d referrals or cross-realm steps", bound(server.Name.String()), c.maxHops())
}

// tgsExchange is one TGS exchange (RFC 4120 3.3) with the KDC of tgt's realm.
func (c *Client) tgsExchange(ctx context.Context, tgt *Credential, server Principal, options uint32) (*Credential, error) {
	return c.tgsRequest(ctx, tgt, server, options, time.Time{})
}

func (c *Client) tgsRequest(ctx context.Context, tgt *Credential, server Principal, options uint32, till time.Time) (*Credential, error) {
	if till.IsZero() {
		till = tgt.EndTime
	}
	what := "getting a ticket for " + bound(server.String())
	sname := server.Name
	x, err := c.tgsRoundTrip(ctx, tgt, wire.KDCReqBody{Options: options, Realm: server.Realm, SName: &sname, Till: till}, nil, what, failure)
	if err != nil {
		return nil, err
	}
	defer clear(x.plain)
	if err := c.checkTGSReply(&x.rep, &x.enc, tgt, server, x.nonce, till, options); err != nil {
		return nil, err
	}
	return c.credential(&x.rep, &x.enc, x.etypes)
}

// tgsReply is a TGS reply decoded and decrypted, with what its request used.
type tgsReply struct {
	rep      wire.KDCRep
	enc      wire.EncKDCRepPart
	plain    []byte // enc's encoding: the caller clears it once done with enc
	nonce    uint32
	etypes   []krbcrypto.EType
	kdcRealm string
}

// tgsRoundTrip sends a TGS-REQ (RFC 4120 3.3) for body, to which it adds the nonce and
// the enctypes, to the KDC of tgt's realm, with PA-TGS-REQ and then padata, and returns the
// reply decrypted but not yet checked against the request. A KRB-ERROR becomes fail's
// error; what names the request in errors.
func (c *Client) tgsRoundTrip(ctx context.Context, tgt *Credential, body wire.KDCReqBody, padata []wire.PAData, what string, fail func(string, *KDCError) error) (*tgsReply, error) {
	x := &tgsReply{etypes: c.conf.LibDefaults.DefaultTGSEnctypes}
	x.kdcRealm, _ = isTGS(tgt.Server.Name)
	if len(x.etypes) == 0 {
		return nil, sspi.Errorf(sspi.ErrKDCUnknownEtype, "krbclient: default_tgs_enctypes leaves no encryption type this client implements")
	}
	var err error
	if x.nonce, err = c.nonce(); err != nil {
		return nil, err
	}
	body.Nonce, body.ETypes = x.nonce, etypeInts(x.etypes)
	bodyDER, err := body.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the TGS-REQ: %w", err)
	}
	subkey, pa, err := c.paTGSReq(tgt, bodyDER)
	if err != nil {
		return nil, err
	}
	if subkey != nil {
		defer subkey.Destroy()
	}
	req := wire.KDCReq{MsgType: wire.MsgTGSReq, PAData: append([]wire.PAData{pa}, padata...), Body: body}
	var fast *fastState
	if tgt.armored && subkey != nil && tgt.Client.Realm == x.kdcRealm {
		// The TGT came from an armored logon: its KDC does FAST, and its TGS requests
		// are armored too, with the TGT itself (RFC 6113 5.4.1.1), as MIT armors them.
		if fast, err = newTGSFAST(subkey, tgt, x.kdcRealm); err != nil {
			return nil, err
		}
		defer fast.destroy()
		if req.PAData, err = fast.wrapTGS(c, pa, padata, &body); err != nil {
			return nil, err
		}
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the TGS-REQ: %w", err)
	}
	reply, err := c.send(ctx, x.kdcRealm, b, wire.MsgTGSRep)
	if err != nil {
		return nil, err
	}
	if wire.MessageType(reply) == wire.MsgKRBError {
		return nil, x.tgsError(reply, fast, what, fail)
	}
	if err := x.rep.Unmarshal(reply); err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP does not decode: %w", what, err)
	}
	// RFC 4120 3.3.3: the reply is encrypted in the authenticator's subkey (usage 9), or
	// without one in the TGT's session key (usage 8).
	replyKey, usage := tgt.Key, uint32(usageTGSRepSessKey)
	if subkey != nil {
		replyKey, usage = subkey, usageTGSRepSubkey
	}
	if fast != nil && wire.FindPAData(x.rep.PAData, wire.PAFXFast) != nil {
		// RFC 6113 5.4.3: the subkey strengthened with the FAST reply's strengthen key.
		// A reply without FAST is read as MIT reads it, as an ordinary reply (Heimdal
		// 7.8's KDC answers armored TGS requests so): unlike the AS exchange, nothing
		// here can be guessed offline, and a FAST reply stripped of its FAST does not
		// decrypt in the bare subkey.
		sk, plain, err := fast.openReply(&x.rep, x.nonce, what)
		if err != nil {
			return nil, err
		}
		replyKey, err = strengthenedKey(subkey, sk)
		clear(plain)
		if err != nil {
			return nil, err
		}
		if replyKey != subkey {
			defer replyKey.Destroy()
		}
	}
	if x.plain, err = replyKey.Decrypt(nil, x.rep.EncPart.Cipher, usage); err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP does not decrypt with the request's key", what)
	}
	if err := x.enc.Unmarshal(x.plain); err != nil {
		clear(x.plain)
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the TGS-REP's encrypted part does not decode: %w", what, err)
	}
	return x, nil
}

// tgsError reads a TGS exchange's KRB-ERROR, opening its FAST error when the request was
// armored, and returns fail's error.
func (x *tgsReply) tgsError(reply []byte, fast *fastState, what string, fail func(string, *KDCError) error) error {
	var k wire.KRBError
	if err := k.Unmarshal(reply); err != nil {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's error does not decode: %w", what, err)
	}
	kerr := &k
	if fast != nil {
		inner, _, err := fast.openError(&k, x.nonce, what)
		if err != nil {
			return err
		}
		kerr = inner
	}
	return fail(what, kdcError(kerr, x.kdcRealm))
}

// paTGSReq makes PA-TGS-REQ (RFC 4120 5.5.1, 7.5.1): an AP-REQ with tgt whose
// authenticator carries the checksum of the request body's DER and a fresh subkey.
//
// With an RC4 session key no subkey is sent: RFC 4757's table maps the subkey usage 9 to
// message type 8 (Windows, Heimdal) where MIT's KDC uses 9, so only the session key's usage
// 8, which both read alike, decrypts the same everywhere.
func (c *Client) paTGSReq(tgt *Credential, bodyDER []byte) (*krbcrypto.Key, wire.PAData, error) {
	et := tgt.Key.EType()
	var subkey *krbcrypto.Key
	var raw []byte
	if et != krbcrypto.RC4HMAC {
		var err error
		if subkey, raw, err = c.newSubkey(et); err != nil {
			return nil, wire.PAData{}, err
		}
	}
	now := c.now()
	auth := wire.Authenticator{
		CRealm:   tgt.Client.Realm,
		CName:    tgt.Client.Name,
		Checksum: &wire.Checksum{Type: et.ChecksumType(), Value: tgt.Key.Checksum(nil, bodyDER, usageTGSReqAuthCksum)},
		CTime:    now.Truncate(time.Second),
		CUsec:    int32(now.Nanosecond() / 1000),
	}
	if subkey != nil {
		auth.SubKey = &wire.EncryptionKey{Type: int32(et), Value: raw}
	}
	pa, err := c.apReq(tgt, &auth)
	clear(raw)
	if err != nil && subkey != nil {
		subkey.Destroy()
		subkey = nil
	}
	return subkey, pa, err
}

func (c *Client) newSubkey(et krbcrypto.EType) (*krbcrypto.Key, []byte, error) {
	raw := make([]byte, et.KeySize())
	if _, err := io.ReadFull(c.rand(), raw); err != nil {
		return nil, nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: reading random bytes: %w", err)
	}
	subkey, err := krbcrypto.RandomToKey(et, raw)
	if err != nil {
		return nil, nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	return subkey, raw, nil
}

// apReq encrypts auth in tgt's session key and makes the PA-TGS-REQ.
func (c *Client) apReq(tgt *Credential, auth *wire.Authenticator) (wire.PAData, error) {
	et := tgt.Key.EType()
	plain, err := auth.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the authenticator: %w", err)
	}
	ct, err := tgt.Key.Encrypt(nil, plain, usageTGSReqAuth, c.rand())
	clear(plain)
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	ap := wire.APReq{Ticket: tgt.Ticket, Authenticator: wire.EncryptedData{EType: int32(et), Cipher: ct}}
	v, err := ap.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the AP-REQ: %w", err)
	}
	return wire.PAData{Type: wire.PATGSReq, Value: v}, nil
}

// checkTGSReply applies RFC 4120 3.3.4's checks; with canonicalize, RFC 6806 lets the KDC
// name another service (a referral TGT, or the service's canonical name).
func (c *Client) checkTGSReply(rep *wire.KDCRep, enc *wire.EncKDCRepPart, tgt *Credential, server Principal, nonce uint32, till time.Time, options uint32) error {
	if enc.Nonce != nonce {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the TGS-REP for %s answers another request (nonce mismatch); it may be a replay", bound(server.String()))
	}
	if rep.CRealm != tgt.Client.Realm || !rep.CName.Equal(tgt.Client.Name) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the TGS-REP names client %s, not %s", bound(rep.CName.String()+"@"+rep.CRealm), bound(tgt.Client.String()))
	}
	if rep.Ticket.Realm != enc.SRealm || !rep.Ticket.SName.Equal(enc.SName) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the TGS-REP's ticket and encrypted part name different services")
	}
	kdcRealm, _ := isTGS(tgt.Server.Name)
	if enc.SRealm != kdcRealm {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC of %s issued a ticket of realm %s", bound(kdcRealm), bound(enc.SRealm))
	}
	// Without canonicalize the name must be the one asked for; with it (RFC 6806 5, 8) the
	// KDC may answer with the canonical name or a referral TGT, which chase follows.
	if !enc.SName.Equal(server.Name) && options&wire.KDCOptCanonicalize == 0 {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: asked for %s, the KDC issued a ticket for %s", bound(server.String()), bound(enc.SName.String()))
	}
	return c.checkTimes(enc, till, false)
}

// ForwardedTGT returns a forwarded TGT of the client's realm (RFC 4120 2.6), for
// delegation in a KRB-CRED. The TGT must be forwardable (Options.Forwardable or krb5.conf's
// forwardable when it was got).
func (c *Client) ForwardedTGT(ctx context.Context) (*Credential, error) {
	tgt, err := c.TGT(ctx)
	if err != nil {
		return nil, err
	}
	if tgt.Flags&wire.FlagForwardable == 0 {
		return nil, sspi.Errorf(sspi.ErrDelegationRequired, "krbclient: the TGT of %s is not forwardable, so it cannot be delegated; set forwardable = true in krb5.conf", bound(tgt.Client.String()))
	}
	realm, _ := isTGS(tgt.Server.Name)
	return c.tgsRequest(ctx, tgt, Principal{Name: tgsName(realm), Realm: realm}, wire.KDCOptForwardable|wire.KDCOptForwarded, tgt.EndTime)
}

// Renew renews a renewable ticket (RFC 4120 3.3.1, the RENEW option), got from the KDC of
// the realm of tgt.
func (c *Client) Renew(ctx context.Context, cr *Credential) (*Credential, error) {
	if cr.Flags&wire.FlagRenewable == 0 {
		return nil, sspi.Errorf(sspi.ErrContextExpired, "krbclient: the ticket for %s is not renewable", bound(cr.Server.String()))
	}
	if !c.now().Before(cr.RenewTill) {
		return nil, sspi.Errorf(sspi.ErrContextExpired, "krbclient: the ticket for %s could be renewed until %s only", bound(cr.Server.String()), cr.RenewTill.UTC().Format(time.RFC3339))
	}
	realm, ok := isTGS(cr.Server.Name)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "krbclient: only TGTs are renewed here")
	}
	out, err := c.tgsRequest(ctx, cr, Principal{Name: cr.Server.Name, Realm: realm}, wire.KDCOptRenew|wire.KDCOptRenewable, cr.RenewTill)
	if err != nil {
		return nil, err
	}
	// The renewed TGT is the same logon's: if that was armored, its TGS requests stay so.
	out.armored = cr.armored
	c.keepTGT(out)
	return out, nil
}
