package kdctest

import (
	"slices"
	"strings"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Key usages (RFC 4120 7.5.1).
const (
	usagePAEncTimestamp = 1
	usageTicket         = 2
	usageASRep          = 3
	usageTGSReqCksum    = 6
	usageTGSReqAuth     = 7
	usageTGSRepSession  = 8
	usageTGSRepSubkey   = 9
)

// handle answers one request, whatever its transport: the reply, or nil for none.
func (k *KDC) handle(b []byte) []byte {
	var req wire.KDCReq
	if err := req.Unmarshal(b); err != nil {
		code := int32(wire.KRBErrGeneric)
		if mt := wire.MessageType(b); mt != wire.MsgASReq && mt != wire.MsgTGSReq {
			code = errMsgType
		}
		k.log("request of %d bytes does not decode: %v", len(b), err)
		return k.errorReply(nil, refuse(code, "the request does not decode"))
	}
	var reply []byte
	var kerr *kdcError
	what := "AS-REQ"
	if req.MsgType == wire.MsgASReq {
		k.count(func(c *Counts) { c.AS++ })
		reply, kerr = k.as(&req)
	} else {
		what = "TGS-REQ"
		k.count(func(c *Counts) { c.TGS++ })
		reply, kerr = k.tgs(&req)
	}
	if kerr != nil {
		k.log("%s %s for %s: error %d: %s", what, nameOf(req.Body.CName), nameOf(req.Body.SName), kerr.code, kerr.text)
		return k.errorReply(&req, kerr)
	}
	k.log("%s %s for %s: issued", what, nameOf(req.Body.CName), nameOf(req.Body.SName))
	return reply
}

func nameOf(n *wire.PrincipalName) string {
	if n == nil {
		return "-"
	}
	return bound(n.String())
}

// checkRealm accepts the KDC's realm, in any case when the client asked for canonical
// names (RFC 6806 4: the reply then names the realm as the KDC spells it).
func (k *KDC) checkRealm(realm string, canon bool) *kdcError {
	if realm == k.realm || canon && strings.EqualFold(realm, k.realm) {
		return nil
	}
	return refuse(wire.KDCErrWrongRealm, "this KDC serves realm "+k.realm+" only, not "+bound(realm))
}

// findServer looks a server name up; krbtgt/<realm> may name the realm in any case with
// canonicalize.
func (k *KDC) findServer(n *wire.PrincipalName, canon bool) (*principal, *kdcError) {
	if n == nil {
		return nil, refuse(wire.KDCErrSPrincipalUnknown, "the request names no server")
	}
	if len(n.Components) == 2 && n.Components[0] == "krbtgt" && canon && strings.EqualFold(n.Components[1], k.realm) {
		return k.krbtgt(), nil
	}
	if p := k.lookup(*n); p != nil {
		return p, nil
	}
	return nil, refuse(wire.KDCErrSPrincipalUnknown, "server "+bound(n.String())+" not found in realm "+k.realm)
}

// findClient looks a client name up: an ordinary name, or an enterprise name
// ("alice@REALM" in one component, RFC 6806 5) of this realm.
func (k *KDC) findClient(n *wire.PrincipalName) (*principal, *kdcError) {
	if n == nil {
		return nil, refuse(wire.KDCErrCPrincipalUnknown, "the request names no client")
	}
	name := *n
	if n.Type == wire.NameEnterprise && len(n.Components) == 1 {
		if i := strings.LastIndexByte(n.Components[0], '@'); i > 0 && strings.EqualFold(n.Components[0][i+1:], k.realm) {
			parsed, err := k.parseName(n.Components[0][:i])
			if err == nil {
				name = parsed
			}
		}
	}
	if p := k.lookup(name); p != nil && p.name.Components[0] != "krbtgt" {
		return p, nil
	}
	return nil, refuse(wire.KDCErrCPrincipalUnknown, "client "+bound(n.String())+" not found in realm "+k.realm)
}

// sessionEType picks the session key's type: the client's most preferred type that the
// KDC issues (RFC 4120 3.1.3).
func (k *KDC) sessionEType(asked []int32) (krbcrypto.EType, *kdcError) {
	for _, e := range asked {
		if slices.Contains(k.etypes, krbcrypto.EType(e)) {
			return krbcrypto.EType(e), nil
		}
	}
	return 0, refuse(errETypeNoSupp, "none of the requested encryption types is supported")
}

// grant is what a new ticket says, before it is encrypted.
type grant struct {
	flags                           uint32
	authTime, start, end, renewTill time.Time
	crealm                          string
	cname                           wire.PrincipalName
	caddr                           []wire.HostAddress
	authData                        []wire.AuthorizationData
}

// lifetimes sets g's end and renew-till from the request (RFC 4120 3.1.3, 3.3.3): the
// end is the earliest of till, the maximum life and endLimit (the TGT's end in a TGS
// exchange); with RENEWABLE (or RENEWABLE-OK and a till beyond the end), renew-till is the
// earliest of rtime, the maximum renewable life and renewLimit, and the ticket is renewable
// when that is after its end. canRenew false (a TGT that is not renewable) grants none.
func (k *KDC) lifetimes(g *grant, b *wire.KDCReqBody, endLimit, renewLimit time.Time, canRenew bool) *kdcError {
	now := g.start
	forever := now.Add(100 * 365 * 24 * time.Hour)
	till := b.Till
	if till.IsZero() || till.Unix() <= 0 { // RFC 4120 5.4.1: zero means no limit
		till = forever
	}
	g.end = earliest(till, now.Add(k.maxLife), endLimit)
	if !g.end.After(now) {
		return refuse(errNeverValid, "the requested end time has passed")
	}
	if k.maxRenew < 0 || !canRenew {
		return nil
	}
	var rtill time.Time
	switch {
	case b.Options&wire.KDCOptRenewable != 0:
		rtill = b.RTime
		if rtill.IsZero() || rtill.Unix() <= 0 {
			rtill = forever
		}
	case b.Options&wire.KDCOptRenewableOK != 0 && till.After(g.end):
		rtill = till
	default:
		return nil
	}
	if rt := earliest(rtill, now.Add(k.maxRenew), renewLimit); rt.After(g.end) {
		g.renewTill = rt
		g.flags |= wire.FlagRenewable
	}
	return nil
}

// earliest returns the earliest of the non-zero times.
func earliest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if !u.IsZero() && u.Before(t) {
			t = u
		}
	}
	return t
}

// issue makes the ticket for server with g and a session key (the given one, or a new
// one of type et), and encrypts the reply's part with replyKey (RFC 4120 5.4.2).
func (k *KDC) issue(msgType int32, req *wire.KDCReq, g *grant, server *principal, sname wire.PrincipalName,
	session *krbcrypto.Key, replyKey *krbcrypto.Key, usage uint32, padata []wire.PAData) ([]byte, *kdcError) {
	tkey := server.keys[0] // the server's strongest key
	ad, kerr := k.pacFor(g, server)
	if kerr != nil {
		return nil, kerr
	}
	g.authData = append(g.authData, ad...)
	etp := wire.EncTicketPart{
		Flags: g.flags, Key: wire.EncryptionKey{Type: int32(session.EType()), Value: session.Bytes()},
		CRealm: g.crealm, CName: g.cname,
		// RFC 4120 3.3.3.2: no realm was transited; DOMAIN-X500-COMPRESS, as MIT writes it.
		Transited: wire.TransitedEncoding{Type: 1, Contents: []byte{}},
		AuthTime:  g.authTime, StartTime: g.start, EndTime: g.end, RenewTill: g.renewTill,
		CAddr: g.caddr, AuthData: g.authData,
	}
	defer clear(etp.Key.Value)
	plain, err := etp.Marshal()
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "the ticket does not encode: "+err.Error())
	}
	ct, err := tkey.Encrypt(nil, plain, usageTicket, k.rand)
	clear(plain)
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "encrypting the ticket failed")
	}
	tag := 25
	if msgType == wire.MsgTGSRep {
		tag = 26
	}
	enc := wire.EncKDCRepPart{
		Tag: tag, Key: etp.Key, LastReq: []wire.LastReq{{Type: 0, Value: g.authTime}},
		Nonce: req.Body.Nonce, Flags: g.flags, AuthTime: g.authTime, StartTime: g.start,
		EndTime: g.end, RenewTill: g.renewTill, SRealm: k.realm, SName: sname, CAddr: g.caddr,
	}
	if plain, err = enc.Marshal(); err != nil {
		return nil, refuse(wire.KRBErrGeneric, "the reply does not encode: "+err.Error())
	}
	encPart, err := replyKey.Encrypt(nil, plain, usage, k.rand)
	clear(plain)
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "encrypting the reply failed")
	}
	rep := wire.KDCRep{
		MsgType: msgType, PAData: padata, CRealm: g.crealm, CName: g.cname,
		Ticket: wire.Ticket{Realm: k.realm, SName: sname, EncPart: wire.EncryptedData{
			EType: int32(tkey.EType()), KVNO: server.kvno, HasKVNO: true, Cipher: ct}},
		EncPart: wire.EncryptedData{EType: int32(replyKey.EType()), Cipher: encPart},
	}
	b, err := rep.Marshal()
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "the reply does not encode: "+err.Error())
	}
	return b, nil
}

func (k *KDC) newSessionKey(et krbcrypto.EType) (*krbcrypto.Key, *kdcError) {
	key, err := k.randomKey(et)
	if err != nil {
		return nil, refuse(wire.KRBErrGeneric, "no random bytes for a session key")
	}
	return key, nil
}

// withinSkew reports whether t is within the KDC's clock skew of now.
func (k *KDC) withinSkew(t, now time.Time) bool {
	d := t.Sub(now)
	return d <= k.skew && d >= -k.skew
}
