package krbclient

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Key usages (RFC 4120 7.5.1).
const (
	usagePAEncTimestamp  = 1
	usageASRepEncPart    = 3
	usageTGSReqAuthCksum = 6
	usageTGSReqAuth      = 7
	usageTGSRepSessKey   = 8
	usageTGSRepSubkey    = 9
)

// asExchange is one AS exchange (RFC 4120 3.1): a first request, perhaps a second with
// PA-ENC-TIMESTAMP after KDC_ERR_PREAUTH_REQUIRED, perhaps a client referral to another
// realm (RFC 6806 7), then the reply's checks.
type asExchange struct {
	c      *Client
	cname  wire.PrincipalName
	realm  string
	etypes []krbcrypto.EType
	canon  bool

	nonce    uint32
	till     time.Time
	preauth  *wire.PAData // PA-ENC-TIMESTAMP once the KDC asked for it
	info     []wire.ETypeInfo2Entry
	key      *krbcrypto.Key // the key preauth was made with
	referred int
	fast     *fastState // the FAST channel, with Options.Armor
}

// Login runs an AS exchange for the client's principal with its password or keytab, keeps
// the TGT and returns it.
func (c *Client) Login(ctx context.Context) (*Credential, error) {
	c.mu.Lock()
	user, pw, kt := c.user, c.password, c.keytab
	c.mu.Unlock()
	if pw == "" && kt == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "krbclient: no TGT for %s and no password or keytab to get one", bound(user.String()))
	}
	x := &asExchange{
		c: c, cname: user.Name, realm: user.Realm,
		etypes: c.conf.LibDefaults.DefaultTktEnctypes,
		canon:  c.conf.LibDefaults.Canonicalize || user.Name.Type == wire.NameEnterprise,
	}
	if len(x.etypes) == 0 {
		return nil, sspi.Errorf(sspi.ErrKDCUnknownEtype, "krbclient: default_tkt_enctypes leaves no encryption type this client implements")
	}
	if c.opts.Armor != nil {
		var err error
		if x.fast, err = c.newFAST(c.opts.Armor); err != nil {
			return nil, err
		}
		defer x.fast.destroy()
		if x.fast.realm != x.realm {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "krbclient: the FAST armor ticket is a TGT of %s, not of %s, whose KDC %s asks", bound(x.fast.realm), bound(x.realm), x.who())
		}
	}
	cr, err := x.run(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.user = cr.Client // the canonical name, when the KDC changed it
	c.mu.Unlock()
	c.keepTGT(cr)
	return cr, nil
}

func (x *asExchange) run(ctx context.Context) (*Credential, error) {
	for step := 0; ; step++ {
		if step > 2+x.c.maxHops() {
			return nil, sspi.Errorf(sspi.ErrMaxReferralsExceeded, "krbclient: logging on as %s took more than %d requests", x.who(), step)
		}
		req, err := x.request()
		if err != nil {
			return nil, err
		}
		reply, err := x.c.send(ctx, x.realm, req, wire.MsgASRep)
		if err != nil {
			return nil, err
		}
		if wire.MessageType(reply) == wire.MsgASRep {
			return x.readReply(reply)
		}
		var k wire.KRBError
		if err := k.Unmarshal(reply); err != nil {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC's error for %s does not decode: %w", x.who(), err)
		}
		if err := x.handleError(&k); err != nil {
			return nil, err
		}
	}
}

func (x *asExchange) who() string {
	return bound(x.cname.String() + "@" + x.realm)
}

// request encodes the next AS-REQ, with a fresh nonce (RFC 4120 5.4.1).
func (x *asExchange) request() ([]byte, error) {
	l := &x.c.conf.LibDefaults
	n, err := x.c.nonce()
	if err != nil {
		return nil, err
	}
	x.nonce = n
	now := x.c.now()
	x.till = now.Add(l.TicketLifetime).Truncate(time.Second)
	cname := x.cname
	body := wire.KDCReqBody{
		CName: &cname, Realm: x.realm, SName: ptr(tgsName(x.realm)),
		Till: x.till, Nonce: n, ETypes: etypeInts(x.etypes),
	}
	if l.Forwardable || x.c.opts.Forwardable {
		body.Options |= wire.KDCOptForwardable
	}
	if x.canon {
		body.Options |= wire.KDCOptCanonicalize
	}
	if l.RenewLifetime > 0 {
		body.Options |= wire.KDCOptRenewable
		body.RTime = now.Add(l.RenewLifetime).Truncate(time.Second)
	}
	req := wire.KDCReq{MsgType: wire.MsgASReq, Body: body}
	if x.preauth != nil {
		req.PAData = append(req.PAData, *x.preauth)
	}
	switch x.c.opts.PAC {
	case PACInclude, PACExclude:
		req.PAData = append(req.PAData, wire.PAData{Type: wire.PAPACRequest, Value: wire.MarshalPACRequest(x.c.opts.PAC == PACInclude)})
	}
	if x.fast != nil {
		if req.PAData, err = x.fast.wrap(x.c, req.PAData, &req.Body); err != nil {
			return nil, err
		}
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInternalError, "krbclient: encoding the AS-REQ: %w", err)
	}
	return b, nil
}

// handleError decides what a KRB-ERROR means for the exchange: ask again with preauth, or
// in another realm, or fail.
func (x *asExchange) handleError(k *wire.KRBError) error {
	var md []wire.PAData // the METHOD-DATA that comes with the error, FAST's or the e-data
	if x.fast != nil {
		inner, padata, err := x.fast.openError(k, x.nonce, "logging on as "+x.who())
		if err != nil {
			return err
		}
		k, md = inner, padata
	} else if k.Code == wire.KDCErrPreauthRequired {
		var err error
		if md, err = wire.ParseMethodData(k.EData); err != nil {
			return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC's preauthentication data for %s does not decode: %w", x.who(), err)
		}
	}
	e := kdcError(k, x.realm)
	switch k.Code {
	case wire.KDCErrPreauthRequired:
		if x.preauth != nil {
			// RFC 4120 3.1.1: the KDC refused our timestamp without saying why.
			return failure("logging on as "+x.who(), &KDCError{Code: wire.KDCErrPreauthFailed, Realm: e.Realm, Text: e.Text})
		}
		return x.addPreauth(md)
	case wire.KDCErrWrongRealm:
		// RFC 6806 7: a client referral names the client's realm in crealm. The armor
		// TGT is of this realm only, so an armored exchange does not follow it.
		if x.fast == nil && x.canon && k.HasCRealm && k.CRealm != "" && k.CRealm != x.realm && x.referred < x.c.maxHops() {
			x.referred++
			x.realm, x.preauth, x.key, x.info = k.CRealm, nil, nil, nil
			return nil
		}
	}
	return failure("logging on as "+x.who(), e)
}

// addPreauth reads the METHOD-DATA of KDC_ERR_PREAUTH_REQUIRED (RFC 4120 5.2.7), takes the
// salt and s2kparams the KDC gives for the first of our etypes it lists in ETYPE-INFO2
// (RFC 4120 5.2.7.5), and makes PA-ENC-TIMESTAMP with the key.
func (x *asExchange) addPreauth(md []wire.PAData) error {
	var err error
	encTS, encChallenge := false, false
	for _, pa := range md {
		switch pa.Type {
		case wire.PAEncryptedChallenge:
			encChallenge = true
		case wire.PAEncTimestamp:
			encTS = true
		case wire.PAETypeInfo2:
			if x.info, err = wire.ParseETypeInfo2(pa.Value); err != nil {
				return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: ETYPE-INFO2 for %s: %w", x.who(), err)
			}
		case wire.PAETypeInfo:
			if x.info == nil {
				x.info = fromETypeInfo(pa.Value)
			}
		}
	}
	if x.fast != nil {
		return x.addChallenge(encChallenge)
	}
	if !encTS {
		return sspi.Errorf(sspi.ErrUnsupportedPreauth, "krbclient: the KDC wants preauthentication for %s other than an encrypted timestamp (FAST, PKINIT or OTP), which this client does not do", x.who())
	}
	key, err := x.userKey(0)
	if err != nil {
		return err
	}
	now := x.c.now()
	ts := wire.PAEncTSEnc{Timestamp: now.Truncate(time.Second), Usec: int32(now.Nanosecond() / 1000), HasUsec: true}
	plain, err := ts.Marshal()
	if err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	ct, err := key.Encrypt(nil, plain, usagePAEncTimestamp, x.c.rand())
	if err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "krbclient: encrypting the timestamp: %w", err)
	}
	ed := wire.EncryptedData{EType: int32(key.EType()), Cipher: ct}
	v, err := ed.Marshal()
	if err != nil {
		return sspi.Errorf(sspi.ErrInternalError, "krbclient: %w", err)
	}
	x.preauth = &wire.PAData{Type: wire.PAEncTimestamp, Value: v}
	x.key = key
	return nil
}

// addChallenge makes the preauthentication of an armored exchange: PA-ENCRYPTED-CHALLENGE
// (RFC 6113 6.5), which, unlike PA-ENC-TIMESTAMP, proves the key to the KDC only through
// the armor, so that an eavesdropper has nothing to guess the password from.
func (x *asExchange) addChallenge(offered bool) error {
	if !offered {
		return sspi.Errorf(sspi.ErrUnsupportedPreauth, "krbclient: the KDC wants preauthentication for %s other than an encrypted challenge (PKINIT or OTP), which this client does not do with FAST", x.who())
	}
	key, err := x.userKey(0)
	if err != nil {
		return err
	}
	pa, err := x.fast.encryptedChallenge(x.c, key)
	if err != nil {
		return err
	}
	x.preauth, x.key = &pa, key
	return nil
}

func fromETypeInfo(b []byte) []wire.ETypeInfo2Entry {
	list, err := wire.ParseETypeInfo(b)
	if err != nil {
		return nil
	}
	out := make([]wire.ETypeInfo2Entry, 0, len(list))
	for _, e := range list {
		out = append(out, wire.ETypeInfo2Entry{EType: e.EType, Salt: string(e.Salt), HasSalt: e.Salt != nil})
	}
	return out
}

// userKey returns the client's key of etype (0: the first etype the KDC's ETYPE-INFO2
// offers that we asked for and hold a key of).
func (x *asExchange) userKey(etype krbcrypto.EType) (*krbcrypto.Key, error) {
	if x.key != nil && (etype == 0 || x.key.EType() == etype) {
		return x.key, nil
	}
	var candidates []wire.ETypeInfo2Entry
	for _, e := range x.info {
		if slices.Contains(x.etypes, krbcrypto.EType(e.EType)) && (etype == 0 || krbcrypto.EType(e.EType) == etype) {
			candidates = append(candidates, e)
		}
	}
	if len(candidates) == 0 {
		if etype == 0 {
			// No ETYPE-INFO2: RFC 4120 5.2.7.5 says to use the first requested type and the
			// default salt.
			etype = x.etypes[0]
		}
		candidates = []wire.ETypeInfo2Entry{{EType: int32(etype)}}
	}
	x.c.mu.Lock()
	pw, kt := x.c.password, x.c.keytab
	x.c.mu.Unlock()
	for _, e := range candidates {
		et := krbcrypto.EType(e.EType)
		if kt != nil {
			if ent, ok := kt.Find(x.cname, x.realm, 0, e.EType); ok {
				return krbcrypto.NewKey(et, ent.Key.Value)
			}
			continue
		}
		salt := e.Salt
		if !e.HasSalt {
			salt = x.realm + strings.Join(x.cname.Components, "")
		}
		k, err := krbcrypto.StringToKey(et, pw, salt, e.S2KParams)
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC's key parameters for %s: %w", x.who(), err)
		}
		return k, nil
	}
	return nil, sspi.Errorf(sspi.ErrNoKerbKey, "krbclient: the keytab holds no key of %s for the encryption types the KDC offers (%v)", x.who(), etypesOf(candidates))
}

func etypesOf(l []wire.ETypeInfo2Entry) []krbcrypto.EType {
	out := make([]krbcrypto.EType, len(l))
	for i, e := range l {
		out[i] = krbcrypto.EType(e.EType)
	}
	return out
}

// readReply decrypts and checks an AS-REP (RFC 4120 3.1.5).
func (x *asExchange) readReply(b []byte) (*Credential, error) {
	var rep wire.KDCRep
	if err := rep.Unmarshal(b); err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP for %s does not decode: %w", x.who(), err)
	}
	var strengthen *wire.EncryptionKey
	if x.fast != nil {
		sk, plain, err := x.fast.openReply(&rep, x.nonce, "logging on as "+x.who())
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		strengthen = sk
	}
	et := krbcrypto.EType(rep.EncPart.EType)
	if !slices.Contains(x.etypes, et) {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC encrypted the AS-REP for %s with %s, which was not asked for", x.who(), et)
	}
	// A reply without preauth carries the salt in its own PA-DATA.
	for _, pa := range rep.PAData {
		if pa.Type == wire.PAETypeInfo2 && x.key == nil {
			if info, err := wire.ParseETypeInfo2(pa.Value); err == nil {
				x.info = info
			}
		}
	}
	key, err := x.userKey(et)
	if err != nil {
		return nil, err
	}
	if x.fast != nil {
		if key, err = x.fastReplyKey(&rep, key, strengthen); err != nil {
			return nil, err
		}
		defer key.Destroy()
	}
	plain, err := key.Decrypt(nil, rep.EncPart.Cipher, usageASRepEncPart)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrLogonDenied, "krbclient: the AS-REP for %s does not decrypt with the user's key: the password or key is wrong", x.who())
	}
	defer clear(plain)
	var enc wire.EncKDCRepPart
	if err := enc.Unmarshal(plain); err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP's encrypted part for %s does not decode: %w", x.who(), err)
	}
	if err := x.check(&rep, &enc); err != nil {
		return nil, err
	}
	cr, err := x.c.credential(&rep, &enc, x.etypes)
	if err == nil {
		cr.armored = x.fast != nil
	}
	return cr, err
}

// fastReplyKey checks the KDC's encrypted challenge of an armored AS-REP and returns the
// key its encrypted part is in (a new key, which the caller destroys).
func (x *asExchange) fastReplyKey(rep *wire.KDCRep, longTerm *krbcrypto.Key, strengthen *wire.EncryptionKey) (*krbcrypto.Key, error) {
	if err := x.fast.checkKDCChallenge(x.c, rep.PAData, longTerm, "logging on as "+x.who()); err != nil {
		return nil, err
	}
	if strengthen == nil {
		// Destroyed by the caller: a copy, since the long-term key is kept.
		return krbcrypto.NewKey(longTerm.EType(), longTerm.Bytes())
	}
	if strengthen.Type != rep.EncPart.EType {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC's FAST strengthen key is a %s key, its reply is in %s", krbcrypto.EType(strengthen.Type), krbcrypto.EType(rep.EncPart.EType))
	}
	return strengthenedKey(longTerm, strengthen)
}

// check applies RFC 4120 3.1.5's checks of an AS-REP against the request.
func (x *asExchange) check(rep *wire.KDCRep, enc *wire.EncKDCRepPart) error {
	if len(rep.CName.Components) == 0 {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP for %s names no client (a reply hiding the name outside FAST)", x.who())
	}
	if enc.Nonce != x.nonce {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP for %s answers another request (nonce mismatch); it may be a replay", x.who())
	}
	if !x.canon && (rep.CRealm != x.realm || !rep.CName.Equal(x.cname)) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP names client %s, not %s", bound(rep.CName.String()+"@"+rep.CRealm), x.who())
	}
	srealm, ok := isTGS(enc.SName)
	if !ok || srealm != enc.SRealm || (!x.canon && srealm != x.realm) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP for %s is for %s, not a TGT of %s", x.who(), bound(enc.SName.String()+"@"+enc.SRealm), bound(x.realm))
	}
	if rep.Ticket.Realm != enc.SRealm || !rep.Ticket.SName.Equal(enc.SName) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the AS-REP's ticket and encrypted part name different services")
	}
	return x.c.checkTimes(enc, x.till, true)
}

// checkTimes checks a reply's ticket times against the clock and the request.
func (c *Client) checkTimes(enc *wire.EncKDCRepPart, till time.Time, initial bool) error {
	now, skew := c.now(), c.skew()
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	if initial && (start.Sub(now) > skew || now.Sub(start) > skew) {
		return sspi.Errorf(sspi.ErrTimeSkew, "krbclient: the KDC's clock (%s) and this machine's (%s) differ by more than %v; synchronise them",
			start.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	}
	if !enc.EndTime.After(now) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC issued a ticket that has already expired (%s)", enc.EndTime.UTC().Format(time.RFC3339))
	}
	if !till.IsZero() && enc.EndTime.After(till.Add(skew)) {
		return sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: the KDC issued a ticket ending after the time asked for (reply modified?)")
	}
	return nil
}

// credential makes a Credential of a checked reply.
func (c *Client) credential(rep *wire.KDCRep, enc *wire.EncKDCRepPart, etypes []krbcrypto.EType) (*Credential, error) {
	skt := krbcrypto.EType(enc.Key.Type)
	if !skt.Supported() || !slices.Contains(c.conf.LibDefaults.PermittedEnctypes, skt) && !slices.Contains(etypes, skt) {
		return nil, sspi.Errorf(sspi.ErrKDCUnknownEtype, "krbclient: the KDC chose session key type %s, which permitted_enctypes does not allow", skt)
	}
	key, err := krbcrypto.NewKey(skt, enc.Key.Value)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "krbclient: session key: %w", err)
	}
	t := rep.Ticket
	t.Raw = append([]byte(nil), t.Raw...)
	t.EncPart.Cipher = nil // Raw is what is sent; the parts alias the reply
	return &Credential{
		Client:    Principal{Name: clone(rep.CName), Realm: rep.CRealm},
		Server:    Principal{Name: clone(enc.SName), Realm: enc.SRealm},
		Ticket:    t,
		Key:       key,
		Flags:     enc.Flags,
		AuthTime:  enc.AuthTime,
		StartTime: enc.StartTime,
		EndTime:   enc.EndTime,
		RenewTill: enc.RenewTill,
	}, nil
}

func clone(n wire.PrincipalName) wire.PrincipalName {
	return wire.PrincipalName{Type: n.Type, Components: slices.Clone(n.Components)}
}

func ptr[T any](v T) *T { return &v }

func etypeInts(l []krbcrypto.EType) []int32 {
	out := make([]int32, len(l))
	for i, e := range l {
		out[i] = int32(e)
	}
	return out
}
