package kerberos

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gosspi/sspi"
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
		return 0, malformed("AP-REQ", err)
	}
	if len(req.Ticket.SName.NameString) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "kerberos: the ticket names no service")
	}
	sname := req.Ticket.SName.PrincipalNameString()
	if cr.spn != "" && (!strings.EqualFold(sname, cr.spn) || (cr.spnRlm != "" && req.Ticket.Realm != cr.spnRlm)) {
		return 0, sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: the ticket is for %s@%s, this server is %s", sname, req.Ticket.Realm, cr.spn)
	}
	if types.IsFlagSet(&req.APOptions, flags.APOptionUseSessionKey) {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "kerberos: user-to-user AP-REQs are not supported")
	}
	svcKey, _, err := cr.kt.GetEncryptionKey(req.Ticket.SName, req.Ticket.Realm, req.Ticket.EncPart.KVNO, req.Ticket.EncPart.EType)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrWrongPrincipal, "kerberos: no key in the keytab for %s@%s (kvno %d, type %d): %v", sname, req.Ticket.Realm, req.Ticket.EncPart.KVNO, req.Ticket.EncPart.EType, err)
	}
	tp, err := decryptEncPart(req.Ticket.EncPart, svcKey, keyusage.KDC_REP_TICKET)
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the ticket for %s does not decrypt with the keytab's key: %v", sname, err)
	}
	var tkt messages.EncTicketPart
	if err := tkt.Unmarshal(tp); err != nil {
		return 0, malformed("ticket", err)
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
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator does not decrypt with the ticket's session key: %v", err)
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(ap); err != nil {
		return 0, malformed("authenticator", err)
	}
	if !auth.CName.Equal(tkt.CName) || auth.CRealm != tkt.CRealm {
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "kerberos: the authenticator's client %s@%s is not the ticket's %s@%s", auth.CName.PrincipalNameString(), auth.CRealm, tkt.CName.PrincipalNameString(), tkt.CRealm)
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
	cb, err := channelBindingHash(p.In)
	if err != nil {
		return 0, err
	}
	if ck.bindings != ([16]byte{}) && cb != ([16]byte{}) && ck.bindings != cb {
		return 0, sspi.Errorf(sspi.ErrBadBindings, "kerberos: the client's channel bindings do not match")
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
		sub, err := types.GenerateEncryptionKey(et)
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
	s.identity = sspi.Identity{Package: PackageName, User: client, Domain: tkt.CRealm, Principal: client + "@" + tkt.CRealm, Server: sname}
	p.Attr = granted(ck.flags, mutual, p.Req&sspi.ASCReqConnection != 0, true)
	p.Expiry = tkt.EndTime
	return sspi.OK, nil
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
