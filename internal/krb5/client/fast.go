package krbclient

import (
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Key usages of FAST (RFC 6113 5.4, 6.5) and of the armor's AP-REQ (RFC 4120 7.5.1).
const (
	usageAPReqAuth           = 11
	usageFastReqChecksum     = 50
	usageFastEnc             = 51
	usageFastRep             = 52
	usageFastFinished        = 53
	usageEncChallengeClient  = 54
	usageEncChallengeKDC     = 55
	fastArmorTicketPepper    = "ticketarmor"
	fastArmorSubkeyPepper    = "subkeyarmor"
	fastClientChallenge      = "clientchallengearmor"
	fastKDCChallenge         = "kdcchallengearmor"
	fastChallengeLongTerm    = "challengelongterm"
	fastStrengthenKeyPepper  = "strengthenkey"
	fastStrengthenReplyKeyPp = "replykey"
)

// fastState is the FAST channel (RFC 6113 5.4) of one AS exchange: the armor AP-REQ
// made with the armor TGT, the armor key it yields, and the KDC's cookie to echo.
type fastState struct {
	armor    wire.FastArmor
	armorKey *krbcrypto.Key
	realm    string // the realm whose KDC can read the armor
	cookie   []byte // PA-FX-COOKIE of the last FAST error, echoed in the next request
	// challenge says the request carried PA-ENCRYPTED-CHALLENGE, so the reply must carry
	// the KDC's.
	challenge bool
}

// newFAST makes the explicit armor of RFC 6113 5.4.1.1 with tgt: an AP-REQ whose
// authenticator carries a fresh subkey, and armor key KRB-FX-CF2(subkey, ticket session
// key, "subkeyarmor", "ticketarmor").
func (c *Client) newFAST(tgt *Credential) (*fastState, error) {
	realm, ok := isTGS(tgt.Server.Name)
	if !ok || realm != tgt.Server.Realm {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "krbclient: the FAST armor ticket is for %s, not a TGT of its own realm", bound(tgt.Server.String()))
	}
	et := tgt.Key.EType()
	subkey, raw, err := c.newSubkey(et)
	if err != nil {
		return nil, err
	}
	defer subkey.Destroy()
	now := c.now()
	auth := wire.Authenticator{
		CRealm: tgt.Client.Realm, CName: tgt.Client.Name,
		CTime: now.Truncate(time.Second), CUsec: int32(now.Nanosecond() / 1000),
		SubKey: &wire.EncryptionKey{Type: int32(et), Value: raw},
	}
	plain, err := auth.Marshal()
	clear(raw)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the armor authenticator: %w", err)
	}
	ct, err := tgt.Key.Encrypt(nil, plain, usageAPReqAuth, c.rand())
	clear(plain)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	ap := wire.APReq{Ticket: tgt.Ticket, Authenticator: wire.EncryptedData{EType: int32(et), Cipher: ct}}
	v, err := ap.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the armor AP-REQ: %w", err)
	}
	key, err := krbcrypto.CF2(subkey, tgt.Key, fastArmorSubkeyPepper, fastArmorTicketPepper)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: the FAST armor key: %w", err)
	}
	return &fastState{armor: wire.FastArmor{Type: wire.FastArmorAPRequest, Value: v}, armorKey: key, realm: realm}, nil
}

// newTGSFAST makes the implicit armor of a TGS request (RFC 6113 5.4.1.1): no armor
// field, and armor key KRB-FX-CF2(authenticator subkey, TGT session key, "subkeyarmor",
// "ticketarmor").
func newTGSFAST(subkey *krbcrypto.Key, tgt *Credential, realm string) (*fastState, error) {
	key, err := krbcrypto.CF2(subkey, tgt.Key, fastArmorSubkeyPepper, fastArmorTicketPepper)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: the FAST armor key: %w", err)
	}
	return &fastState{armorKey: key, realm: realm}, nil
}

// destroy zeroes the armor key.
func (f *fastState) destroy() {
	if f != nil {
		f.armorKey.Destroy()
	}
}

// wrap returns the outer padata of an AS request whose real padata and body are inner
// and body: PA-FX-FAST alone, whose checksum covers the outer body (RFC 6113 5.4.2). The
// outer body is the inner one (MIT sends a copy without nonce and till; the KDC reads the
// inner body only).
func (f *fastState) wrap(c *Client, inner []wire.PAData, body *wire.KDCReqBody) ([]wire.PAData, error) {
	bodyDER, err := body.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the AS-REQ: %w", err)
	}
	fx, err := f.armoredPA(c, inner, body, bodyDER)
	if err != nil {
		return nil, err
	}
	return []wire.PAData{fx}, nil
}

// wrapTGS returns the outer padata of a TGS request (RFC 6113 5.4.2), as MIT sends it:
// PA-TGS-REQ, then PA-FX-FAST, whose checksum covers PA-TGS-REQ's AP-REQ, then the other
// padata, which the KrbFastReq carries too.
func (f *fastState) wrapTGS(c *Client, tgs wire.PAData, inner []wire.PAData, body *wire.KDCReqBody) ([]wire.PAData, error) {
	fx, err := f.armoredPA(c, inner, body, tgs.Value)
	if err != nil {
		return nil, err
	}
	return append([]wire.PAData{tgs, fx}, inner...), nil
}

// armoredPA makes PA-FX-FAST: the KrbFastReq of inner, with the cookie, and body,
// encrypted in the armor key, the armor (when explicit) and the armor key's checksum of
// checksummed.
func (f *fastState) armoredPA(c *Client, inner []wire.PAData, body *wire.KDCReqBody, checksummed []byte) (wire.PAData, error) {
	if f.cookie != nil {
		inner = append([]wire.PAData{{Type: wire.PAFXCookie, Value: f.cookie}}, inner...)
	}
	fr := wire.FastReq{PAData: inner, ReqBody: *body}
	plain, err := fr.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the FAST request: %w", err)
	}
	ct, err := f.armorKey.Encrypt(nil, plain, usageFastEnc, c.rand())
	clear(plain)
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	et := f.armorKey.EType()
	ar := wire.FastArmoredReq{
		ReqChecksum: wire.Checksum{Type: et.ChecksumType(), Value: f.armorKey.Checksum(nil, checksummed, usageFastReqChecksum)},
		EncFastReq:  wire.EncryptedData{EType: int32(et), Cipher: ct},
	}
	if f.armor.Value != nil {
		ar.Armor = &f.armor
	}
	v, err := ar.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding PA-FX-FAST: %w", err)
	}
	return wire.PAData{Type: wire.PAFXFast, Value: v}, nil
}

// open decrypts the PA-FX-FAST of padata (a reply's, or an error's METHOD-DATA) and
// checks that it answers the request of nonce. Without one the reply was not armored:
// a KDC that does not do FAST, or an attacker who stripped it to downgrade the exchange,
// and either way the exchange stops (RFC 6113 5.4.3: the client that armored its
// request must not accept an unarmored reply).
func (f *fastState) open(padata []wire.PAData, nonce uint32, what string) (*wire.FastResponse, []byte, error) {
	pa := wire.FindPAData(padata, wire.PAFXFast)
	if pa == nil {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC answered the armored (FAST) request without FAST; the KDC does not do FAST or the reply was altered", what)
	}
	var ar wire.FastArmoredRep
	if err := ar.Unmarshal(pa.Value); err != nil {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's PA-FX-FAST does not decode: %w", what, err)
	}
	plain, err := f.armorKey.Decrypt(nil, ar.EncFastRep.Cipher, usageFastRep)
	if err != nil || ar.EncFastRep.EType != int32(f.armorKey.EType()) {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's FAST reply does not decrypt with the armor key; the reply was altered", what)
	}
	var r wire.FastResponse
	if err := r.Unmarshal(plain); err != nil {
		clear(plain)
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's FAST reply does not decode: %w", what, err)
	}
	if r.Nonce != nonce {
		clear(plain)
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's FAST reply answers another request (nonce mismatch); the reply was altered or replayed", what)
	}
	return &r, plain, nil
}

// openError reads the FAST error inside a KRB-ERROR (RFC 6113 5.4.3): the real error in
// PA-FX-ERROR and the METHOD-DATA beside it, which may carry a new cookie.
func (f *fastState) openError(k *wire.KRBError, nonce uint32, what string) (*wire.KRBError, []wire.PAData, error) {
	md, err := wire.ParseMethodData(k.EData)
	if err != nil {
		md = nil
	}
	r, plain, err := f.open(md, nonce, what)
	if err != nil {
		// An error the KDC could not armor (the armor ticket itself refused, say) is
		// reported as the KDC's, but nothing in it is acted upon: the KDCError is text
		// only (%v), not reachable with errors.As, through which callers act on a KDC's
		// code (ServiceTicket's fallback realm).
		e := kdcError(k, f.realm)
		return nil, nil, sspi.Errorf(e.Status(), "krbclient: %s: %v, an error not FAST-protected: the KDC could not read the armor (an expired armor ticket, or one of another KDC), does not do FAST, or the answer was altered; nothing in it was acted upon", what, e)
	}
	defer clear(plain)
	fx := wire.FindPAData(r.PAData, wire.PAFXError)
	if fx == nil {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's FAST error holds no PA-FX-ERROR", what)
	}
	var inner wire.KRBError
	if err := inner.Unmarshal(append([]byte(nil), fx.Value...)); err != nil {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's PA-FX-ERROR does not decode: %w", what, err)
	}
	out := make([]wire.PAData, 0, len(r.PAData))
	for _, p := range r.PAData {
		if p.Type == wire.PAFXError {
			continue
		}
		p.Value = append([]byte(nil), p.Value...)
		if p.Type == wire.PAFXCookie {
			f.cookie = p.Value
		}
		out = append(out, p)
	}
	return &inner, out, nil
}

// encryptedChallenge makes PA-ENCRYPTED-CHALLENGE (RFC 6113 6.5): the current time in
// the client challenge key, KRB-FX-CF2(armor key, long-term key, "clientchallengearmor",
// "challengelongterm").
func (f *fastState) encryptedChallenge(c *Client, longTerm *krbcrypto.Key) (wire.PAData, error) {
	ck, err := krbcrypto.CF2(f.armorKey, longTerm, fastClientChallenge, fastChallengeLongTerm)
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: the FAST challenge key: %w", err)
	}
	defer ck.Destroy()
	now := c.now()
	ts := wire.PAEncTSEnc{Timestamp: now.Truncate(time.Second), Usec: int32(now.Nanosecond() / 1000), HasUsec: true}
	plain, err := ts.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	ct, err := ck.Encrypt(nil, plain, usageEncChallengeClient, c.rand())
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	ed := wire.EncryptedData{EType: int32(ck.EType()), Cipher: ct}
	v, err := ed.Marshal()
	if err != nil {
		return wire.PAData{}, sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	f.challenge = true
	return wire.PAData{Type: wire.PAEncryptedChallenge, Value: v}, nil
}

// openReply checks the FAST part of an AS-REP (RFC 6113 5.4.3): the KrbFastFinished
// must be there, its checksum in the armor key must cover the ticket the reply carries,
// and its client name replaces the outer one, which nothing protects. The FAST reply's
// padata replace the outer padata. The strengthen key is returned (nil if none) with the
// plaintext it aliases, which the caller clears.
func (f *fastState) openReply(rep *wire.KDCRep, nonce uint32, what string) (*wire.EncryptionKey, []byte, error) {
	r, plain, err := f.open(rep.PAData, nonce, what)
	if err != nil {
		return nil, nil, err
	}
	fin := r.Finished
	if fin == nil {
		clear(plain)
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's FAST reply has no finished message; the reply was altered", what)
	}
	ck := fin.TicketChecksum
	if ck.Type != f.armorKey.EType().ChecksumType() || !f.armorKey.VerifyChecksum(rep.Ticket.Raw, ck.Value, usageFastFinished) {
		clear(plain)
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the ticket in the AS-REP is not the one the KDC's FAST reply vouches for; the reply was altered", what)
	}
	rep.CName, rep.CRealm = clone(fin.CName), fin.CRealm
	// Copies: the plaintext they come from is cleared before the reply is done with.
	rep.PAData = make([]wire.PAData, len(r.PAData))
	for i, p := range r.PAData {
		rep.PAData[i] = wire.PAData{Type: p.Type, Value: append([]byte(nil), p.Value...)}
	}
	return r.StrengthenKey, plain, nil
}

// checkKDCChallenge checks the KDC's PA-ENCRYPTED-CHALLENGE of the FAST reply's padata
// (RFC 6113 6.5): the KDC's time in KRB-FX-CF2(armor key, long-term key,
// "kdcchallengearmor", "challengelongterm"), which proves the KDC knows the client's
// key. It is required when the request carried the client's challenge.
func (f *fastState) checkKDCChallenge(c *Client, padata []wire.PAData, longTerm *krbcrypto.Key, what string) error {
	pa := wire.FindPAData(padata, wire.PAEncryptedChallenge)
	if pa == nil {
		if f.challenge {
			return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's reply lacks its encrypted challenge; the reply was altered", what)
		}
		return nil
	}
	var ed wire.EncryptedData
	if err := ed.Unmarshal(pa.Value); err != nil {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's encrypted challenge does not decode: %w", what, err)
	}
	plain, err := f.openKDCChallenge(longTerm, ed.Cipher)
	if err != nil {
		return sspi.Errorf(sspi.ErrLogonDenied, "krbclient: %s: the KDC's encrypted challenge does not decrypt with the user's key: the password or key is wrong, or the reply is not the KDC's", what)
	}
	var ts wire.PAEncTSEnc
	err = ts.Unmarshal(plain)
	clear(plain)
	if err != nil {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: %s: the KDC's encrypted challenge does not decode: %w", what, err)
	}
	if d := c.now().Sub(ts.Timestamp); d > c.skew() || -d > c.skew() {
		return sspi.Errorf(sspi.ErrTimeSkew, "krbclient: %s: the KDC's clock (%s) and this machine's differ by more than %v; synchronise them", what, ts.Timestamp.UTC().Format(time.RFC3339), c.skew())
	}
	return nil
}

// openKDCChallenge decrypts the KDC's encrypted challenge: in the KDC challenge key, as
// RFC 6113 6.5 and MIT do it, or else, as Heimdal 7.8's KDC does it, in the client
// challenge key (with the KDC's usage 55). Either proves the KDC knows the long-term key:
// both keys are made of it, and the client encrypts with usage 54 only, so nothing the
// client sent can be reflected as the KDC's challenge.
func (f *fastState) openKDCChallenge(longTerm *krbcrypto.Key, ct []byte) ([]byte, error) {
	var err error
	for _, pepper := range []string{fastKDCChallenge, fastClientChallenge} {
		var k *krbcrypto.Key
		if k, err = krbcrypto.CF2(f.armorKey, longTerm, pepper, fastChallengeLongTerm); err != nil {
			return nil, err
		}
		plain, derr := k.Decrypt(nil, ct, usageEncChallengeKDC)
		k.Destroy()
		if derr == nil {
			return plain, nil
		}
		err = derr
	}
	return nil, err
}

// strengthenedKey is the key a FAST reply is encrypted in: the reply key (the long-term
// key of an AS exchange, the subkey of a TGS exchange), strengthened with the FAST reply's
// strengthen key when there is one (RFC 6113 5.4.3): KRB-FX-CF2(strengthen key, reply
// key, "strengthenkey", "replykey"). Without one it is key itself.
func strengthenedKey(key *krbcrypto.Key, strengthen *wire.EncryptionKey) (*krbcrypto.Key, error) {
	if strengthen == nil {
		return key, nil
	}
	sk, err := krbcrypto.NewKey(krbcrypto.EType(strengthen.Type), strengthen.Value)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC's FAST strengthen key: %w", err)
	}
	defer sk.Destroy()
	k, err := krbcrypto.CF2(sk, key, fastStrengthenKeyPepper, fastStrengthenReplyKeyPp)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: the FAST reply key: %w", err)
	}
	return k, nil
}

// ArmorTGT returns the TGT of the FILE: credential cache at path (CCachePath's rules)
// for FAST armor: the TGT of the cache's principal for its own realm, such as a host's
// TGT got with its keytab (MIT's kinit -k; kinit -T names such a cache).
func ArmorTGT(opts *Options, path string) (*Credential, error) {
	cl, err := LoadCCache(opts, path)
	if err != nil {
		return nil, err
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.tgts[cl.user.Realm], nil
}
