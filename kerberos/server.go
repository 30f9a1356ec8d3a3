package kerberos

import (
	"crypto/subtle"
	"math/rand/v2"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/wiretext"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// serverContext is the acceptor's state.
type serverContext struct {
	creds *serverCreds
	established
}

func (s *serverContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	if s.done {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the handshake is over")
	}
	cr := s.creds
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: no AP-REQ token given")
	}
	tokID, msg, err := parseGSSFramed(in)
	if err != nil {
		return 0, malformed("AP-REQ token", err)
	}
	if tokID != tokAPReq {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: expected an AP-REQ, got TOK_ID % x", tokID[:])
	}
	var req messages.APReq
	if err := req.Unmarshal(msg); err != nil {
		return 0, undecodable("AP-REQ")
	}
	if len(req.Ticket.SName.NameString) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the ticket names no service")
	}
	sname := req.Ticket.SName.PrincipalNameString()
	// The names below come from the unauthenticated ticket: bounded in every error.
	service := wiretext.Name(sname + "@" + req.Ticket.Realm)
	if !cr.accepts(sname, req.Ticket.Realm) {
		return 0, sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: the ticket is for %s, this server is %s", service, cr.spn)
	}
	if types.IsFlagSet(&req.APOptions, flags.APOptionUseSessionKey) {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: user-to-user AP-REQs are not supported")
	}
	svcKey, _, err := cr.kt.GetEncryptionKey(req.Ticket.SName, req.Ticket.Realm, req.Ticket.EncPart.KVNO, req.Ticket.EncPart.EType)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: no key in the keytab for %s (kvno %d, type %d)", service, req.Ticket.EncPart.KVNO, req.Ticket.EncPart.EType)
	}
	tp, err := decryptEncPart(req.Ticket.EncPart, svcKey, keyusage.KDC_REP_TICKET)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s does not decrypt with the keytab's key: %s", service, wiretext.Bound(err.Error(), wiretext.MaxName))
	}
	var tkt messages.EncTicketPart
	if err := tkt.Unmarshal(tp); err != nil {
		return 0, undecodable("ticket")
	}
	now := cr.now().UTC()
	start := tkt.StartTime
	if start.IsZero() {
		start = tkt.AuthTime
	}
	if start.Sub(now) > cr.skew || types.IsFlagSet(&tkt.Flags, flags.Invalid) {
		return 0, sspi.Errorf(sspi.ErrTimeSkew, "kerberos: the ticket is not valid yet (starts %v, now %v)", start, now)
	}
	if now.Sub(tkt.EndTime) > cr.skew {
		return 0, sspi.Errorf(sspi.ErrContextExpired, "kerberos: the ticket expired at %v", tkt.EndTime)
	}
	ap, err := decryptEncPart(req.EncryptedAuthenticator, tkt.Key, keyusage.AP_REQ_AUTHENTICATOR)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator does not decrypt with the ticket's session key: %s", wiretext.Bound(err.Error(), wiretext.MaxName))
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(ap); err != nil {
		return 0, undecodable("authenticator")
	}
	if !auth.CName.Equal(tkt.CName) || auth.CRealm != tkt.CRealm {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator's client %s is not the ticket's %s",
			wiretext.Name(auth.CName.PrincipalNameString()+"@"+auth.CRealm), wiretext.Name(tkt.CName.PrincipalNameString()+"@"+tkt.CRealm))
	}
	ct := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := now.Sub(ct); d > cr.skew || -d > cr.skew {
		return 0, sspi.Errorf(sspi.ErrTimeSkew, "kerberos: the client's clock is %v off (more than %v)", d.Round(time.Second), cr.skew)
	}
	if auth.Cksum.CksumType != checksumType8003 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the authenticator checksum has type %d, not the GSS type 0x8003", auth.Cksum.CksumType)
	}
	ck, err := parseGSSChecksum(auth.Cksum.Checksum)
	if err != nil {
		return 0, malformed("authenticator checksum", err)
	}
	if err := cr.checkBindings(p, ck.bindings); err != nil {
		return 0, err
	}
	// Replay cache (RFC 4120 3.2.3): the authenticator ciphertext identifies it, per service.
	if err := cr.checkReplay(sname, req.Ticket.Realm, req.EncryptedAuthenticator.Cipher, now, ct, auth.CName.PrincipalNameString()+"@"+auth.CRealm); err != nil {
		return 0, err
	}

	mutual := ck.flags&gssMutual != 0 || types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired)
	key := tkt.Key
	if len(auth.SubKey.KeyValue) > 0 {
		key = auth.SubKey
	}
	peerSeq := uint64(uint32(auth.SeqNumber))
	sendSeq, acceptorSK := peerSeq, false
	if mutual {
		et, err := crypto.GetEtype(key.KeyType)
		if err != nil {
			return 0, sspi.Errorf(sspi.ErrKDCUnknownEtype, "kerberos: subkey type %d: %v", key.KeyType, err)
		}
		sub, err := newSubkey(et)
		if err != nil {
			return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making a subkey: %v", err)
		}
		sendSeq = uint64(rand.Uint32() & 0x3fffffff)
		rep, err := marshalAPRep(tkt.Key, auth.CTime, auth.Cusec, sub, int64(sendSeq))
		if err != nil {
			return 0, sspi.Errorf(sspi.ErrInternalError, "kerberos: making the AP-REP: %v", err)
		}
		p.Out = appendGSSFramed(p.Out, tokAPRep, rep)
		key, acceptorSK = sub, true
	}
	s.setup(key, true, acceptorSK, ck.flags&(gssSequence|gssReplay) != 0, sendSeq, peerSeq)
	client := tkt.CName.PrincipalNameString()
	s.identity = sspi.Identity{Package: PackageName, User: client, Domain: tkt.CRealm, Principal: client + "@" + tkt.CRealm,
		Server: sname + "@" + req.Ticket.Realm}
	p.Attr = s.granted(ck.flags, mutual, p.Req&sspi.ASCReqConnection != 0)
	p.Expiry = tkt.EndTime
	return sspi.OK, nil
}

// checkBindings applies the server's channel-binding policy to the bindings hash of the
// client's 0x8003 checksum (all zero when the client had none), against the
// BufferChannelBindings buffer the server was given.
func (cr *serverCreds) checkBindings(p *sspi.StepParams, theirs [16]byte) error {
	if cr.bindings == sspi.BindingsOff {
		return nil
	}
	ours, err := channelBindingHash(p.In)
	if err != nil {
		return err
	}
	sent, have := theirs != [16]byte{}, ours != [16]byte{}
	switch {
	case cr.bindings == sspi.BindingsRequired && !have:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: channel bindings are required but the server was given none to check (pass a BufferChannelBindings buffer)")
	case cr.bindings == sspi.BindingsRequired && !sent:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: the client sent no channel bindings and they are required")
	case sent && have && subtle.ConstantTimeCompare(theirs[:], ours[:]) != 1:
		return sspi.Errorf(sspi.ErrBadBindings, "kerberos: the client's channel bindings do not match")
	}
	return nil
}

// encAPRepPart is EncAPRepPart (RFC 4120 5.5.2) for encoding.
type encAPRepPart struct {
	CTime          time.Time           `asn1:"generalized,explicit,tag:0"`
	Cusec          int                 `asn1:"explicit,tag:1"`
	Subkey         types.EncryptionKey `asn1:"optional,explicit,tag:2"`
	SequenceNumber int64               `asn1:"optional,explicit,tag:3"`
}

type apRep struct {
	PVNO    int                 `asn1:"explicit,tag:0"`
	MsgType int                 `asn1:"explicit,tag:1"`
	EncPart types.EncryptedData `asn1:"explicit,tag:2"`
}

func marshalAPRep(sessionKey types.EncryptionKey, ctime time.Time, cusec int, sub types.EncryptionKey, seq int64) ([]byte, error) {
	part, err := asn1.Marshal(encAPRepPart{CTime: ctime.UTC(), Cusec: cusec, Subkey: sub, SequenceNumber: seq})
	if err != nil {
		return nil, err
	}
	part = asn1tools.AddASNAppTag(part, asnAppTag.EncAPRepPart)
	ed, err := crypto.GetEncryptedData(part, sessionKey, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, err
	}
	b, err := asn1.Marshal(apRep{PVNO: 5, MsgType: 15, EncPart: ed})
	if err != nil {
		return nil, err
	}
	return asn1tools.AddASNAppTag(b, asnAppTag.APREP), nil
}
