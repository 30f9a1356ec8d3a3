package kdctest

import (
	"crypto/md5"
	"crypto/subtle"
	"fmt"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// tgsExchange is the KDC's side of one TGS exchange (RFC 4120 3.3).
type tgsExchange struct {
	k     *KDC
	req   *wire.KDCReq
	now   time.Time
	canon bool

	ap      wire.APReq
	tgt     wire.EncTicketPart // the decrypted TGT; slices alias plains
	session *krbcrypto.Key     // the TGT's session key
	auth    wire.Authenticator
	subkey  *krbcrypto.Key // the authenticator's subkey, nil when none
	plains  [][]byte       // decrypted parts, cleared when the exchange ends
}

// tgs answers a TGS-REQ: the TGT and its authenticator, then the new ticket.
func (k *KDC) tgs(req *wire.KDCReq) ([]byte, *kdcError) {
	x := &tgsExchange{k: k, req: req, now: k.now().UTC().Truncate(time.Second),
		canon: req.Body.Options&wire.KDCOptCanonicalize != 0}
	defer x.wipe()
	if err := x.readTGT(); err != nil {
		return nil, err
	}
	if err := x.readAuthenticator(); err != nil {
		return nil, err
	}
	if err := x.checkTGT(); err != nil {
		return nil, err
	}
	if err := k.checkRealm(req.Body.Realm, x.canon); err != nil {
		return nil, err
	}
	if req.Body.Options&wire.KDCOptRenew != 0 {
		return x.renew()
	}
	return x.reply()
}

func (x *tgsExchange) wipe() {
	for _, p := range x.plains {
		clear(p)
	}
	if x.session != nil {
		x.session.Destroy()
	}
	if x.subkey != nil {
		x.subkey.Destroy()
	}
}

// readTGT finds PA-TGS-REQ (RFC 4120 5.5.1) and decrypts its ticket, which must be a TGT
// of this realm, with the KDC's key.
func (x *tgsExchange) readTGT() *kdcError {
	var pa *wire.PAData
	for i := range x.req.PAData {
		if x.req.PAData[i].Type == wire.PATGSReq {
			pa = &x.req.PAData[i]
		}
	}
	if pa == nil {
		return refuse(errPADataTypeNoSupp, "a TGS request without PA-TGS-REQ")
	}
	if err := x.ap.Unmarshal(pa.Value); err != nil {
		return refuse(wire.KRBErrGeneric, "the PA-TGS-REQ's AP-REQ does not decode")
	}
	t := &x.ap.Ticket
	if t.Realm != x.k.realm || len(t.SName.Components) != 2 || t.SName.Components[0] != "krbtgt" || t.SName.Components[1] != x.k.realm {
		return refuse(errNotUs, "the ticket is not a TGT of realm "+x.k.realm+" (no cross-realm trust here)")
	}
	tgs := x.k.krbtgt()
	key := tgs.key(krbcrypto.EType(t.EncPart.EType))
	if key == nil {
		return refuse(errETypeNoSupp, "the TGT is encrypted with a type the KDC has no key of")
	}
	if t.EncPart.HasKVNO && t.EncPart.KVNO != tgs.kvno {
		return refuse(errBadKeyVer, "the TGT is encrypted with another version of the KDC's key")
	}
	plain, err := key.Decrypt(nil, t.EncPart.Cipher, usageTicket)
	if err != nil {
		return refuse(errBadIntegrity, "the TGT does not decrypt with the KDC's key")
	}
	x.plains = append(x.plains, plain)
	if err := x.tgt.Unmarshal(plain); err != nil {
		return refuse(wire.KRBErrGeneric, "the TGT's encrypted part does not decode")
	}
	if x.session, err = krbcrypto.NewKey(krbcrypto.EType(x.tgt.Key.Type), x.tgt.Key.Value); err != nil {
		return refuse(errETypeNoSupp, "the TGT's session key is of an unsupported type")
	}
	return nil
}

// readAuthenticator decrypts the authenticator with the TGT's session key and checks it
// (RFC 4120 3.2.3, 3.3.2): same client as the TGT, within the clock skew, and a keyed
// checksum of the request body, so that no one can change what the TGT is used to ask.
func (x *tgsExchange) readAuthenticator() *kdcError {
	if x.ap.Authenticator.EType != int32(x.session.EType()) {
		return refuse(errBadIntegrity, "the authenticator is not encrypted with the session key's type")
	}
	plain, err := x.session.Decrypt(nil, x.ap.Authenticator.Cipher, usageTGSReqAuth)
	if err != nil {
		return refuse(errBadIntegrity, "the authenticator does not decrypt with the TGT's session key")
	}
	x.plains = append(x.plains, plain)
	a := &x.auth
	if err := a.Unmarshal(plain); err != nil {
		return refuse(wire.KRBErrGeneric, "the authenticator does not decode")
	}
	if a.CRealm != x.tgt.CRealm || !a.CName.Equal(x.tgt.CName) {
		return refuse(errBadMatch, "the authenticator and the TGT name different clients")
	}
	if !x.k.withinSkew(a.CTime.Add(time.Duration(a.CUsec)*time.Microsecond), x.k.now()) {
		return refuse(wire.KRBAPErrSkew, "Clock skew too great")
	}
	if err := x.checkBodyChecksum(); err != nil {
		return err
	}
	if a.SubKey != nil {
		if x.subkey, err = krbcrypto.NewKey(krbcrypto.EType(a.SubKey.Type), a.SubKey.Value); err != nil {
			return refuse(errETypeNoSupp, "the authenticator's subkey is of an unsupported type")
		}
	}
	return nil
}

// checksumRSAMD5 is RFC 3961's unkeyed rsa-md5 checksum type.
const checksumRSAMD5 = 7

// checkBodyChecksum checks the authenticator's checksum of the request body (RFC 4120
// 5.5.1): the session key's keyed checksum, or, with an RC4 session key, the unkeyed
// RSA-MD5 that Windows and Heimdal clients send there. MIT's KDC accepts that too: it sits
// inside the authenticator, which only the session key's holder could have encrypted, so
// changing the body unnoticed would take an MD5 second preimage.
func (x *tgsExchange) checkBodyChecksum() *kdcError {
	c, et := x.auth.Checksum, x.session.EType()
	switch {
	case c == nil:
		return refuse(errInappCksum, "the authenticator carries no checksum of the request")
	case c.Type == et.ChecksumType():
		if !x.session.VerifyChecksum(x.req.Body.Raw, c.Value, usageTGSReqCksum) {
			return refuse(errModified, "the request body does not match the authenticator's checksum")
		}
	case c.Type == checksumRSAMD5 && et == krbcrypto.RC4HMAC:
		sum := md5.Sum(x.req.Body.Raw)
		if subtle.ConstantTimeCompare(sum[:], c.Value) != 1 {
			return refuse(errModified, "the request body does not match the authenticator's checksum")
		}
	default:
		return refuse(errInappCksum, fmt.Sprintf("the authenticator's checksum of the request is of type %d, not one of the session key's", c.Type))
	}
	return nil
}

// checkTGT checks the TGT's times and flags (RFC 4120 3.3.2): an expired TGT can no
// longer be renewed either.
func (x *tgsExchange) checkTGT() *kdcError {
	start := x.tgt.StartTime
	if start.IsZero() {
		start = x.tgt.AuthTime
	}
	switch {
	case x.tgt.Flags&wire.FlagInvalid != 0 || start.After(x.now.Add(x.k.skew)):
		return refuse(errTktNotYetValid, "the TGT is not yet valid")
	case !x.now.Before(x.tgt.EndTime):
		return refuse(errTktExpired, "Ticket expired")
	}
	return nil
}

// replyKey is the key of the reply's encrypted part (RFC 4120 3.3.3): the authenticator's
// subkey when it has one, otherwise the TGT's session key.
func (x *tgsExchange) replyKey() (*krbcrypto.Key, uint32) {
	if x.subkey != nil {
		return x.subkey, usageTGSRepSubkey
	}
	return x.session, usageTGSRepSession
}

// reply issues a ticket for the server asked for (RFC 4120 3.3.3), forwarded when asked.
func (x *tgsExchange) reply() ([]byte, *kdcError) {
	b := &x.req.Body
	o := b.Options
	if o&(wire.KDCOptPostdated|wire.KDCOptAllowPostdate|wire.KDCOptValidate|wire.KDCOptEncTktInSkey|wire.KDCOptProxy) != 0 {
		return nil, refuse(errBadOption, "postdating, validation, proxies and user-to-user are not supported")
	}
	server, kerr := x.k.findServer(b.SName, x.canon)
	if kerr != nil {
		return nil, kerr
	}
	sname := *b.SName
	if x.canon {
		sname = server.name
	}
	t := &x.tgt
	g := &grant{
		flags:    t.Flags & (wire.FlagPreAuthent | wire.FlagHWAuthent | wire.FlagForwarded),
		authTime: t.AuthTime, start: x.now, crealm: t.CRealm, cname: t.CName, caddr: t.CAddr,
	}
	if server.okAsDelegate {
		g.flags |= wire.FlagOKAsDelegate
	}
	forwardable := t.Flags&wire.FlagForwardable != 0 && !x.k.noForwardable
	if o&wire.KDCOptForwardable != 0 && forwardable {
		g.flags |= wire.FlagForwardable
	}
	if o&wire.KDCOptForwarded != 0 {
		// RFC 4120 2.6: only a forwardable TGT can be forwarded, with the addresses asked.
		if !forwardable {
			return nil, refuse(errBadOption, "the TGT is not forwardable")
		}
		g.flags |= wire.FlagForwarded
		g.caddr = b.Addresses
	}
	if kerr := x.k.lifetimes(g, b, t.EndTime, t.RenewTill, t.Flags&wire.FlagRenewable != 0); kerr != nil {
		return nil, kerr
	}
	et, kerr := x.k.sessionEType(b.ETypes)
	if kerr != nil {
		return nil, kerr
	}
	session, kerr := x.k.newSessionKey(et)
	if kerr != nil {
		return nil, kerr
	}
	defer session.Destroy()
	rk, usage := x.replyKey()
	return x.k.issue(wire.MsgTGSRep, x.req, g, server, sname, session, rk, usage, nil)
}

// renew renews the TGT (RFC 4120 3.3.3.1): a new ticket with the same session key, flags
// and renew-till, valid from now for as long as the old one was, but never past renew-till.
func (x *tgsExchange) renew() ([]byte, *kdcError) {
	t := &x.tgt
	if t.Flags&wire.FlagRenewable == 0 {
		return nil, refuse(errBadOption, "the ticket is not renewable")
	}
	if !x.now.Before(t.RenewTill) {
		return nil, refuse(errTktExpired, "the ticket's renew-till has passed")
	}
	start := t.StartTime
	if start.IsZero() {
		start = t.AuthTime
	}
	g := &grant{
		flags: t.Flags, authTime: t.AuthTime, start: x.now,
		end:       earliest(x.now.Add(t.EndTime.Sub(start)), t.RenewTill),
		renewTill: t.RenewTill, crealm: t.CRealm, cname: t.CName, caddr: t.CAddr, authData: t.AuthData,
	}
	rk, usage := x.replyKey()
	return x.k.issue(wire.MsgTGSRep, x.req, g, x.k.krbtgt(), x.ap.Ticket.SName, x.session, rk, usage, nil)
}
