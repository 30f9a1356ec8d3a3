package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// KDC options (RFC 4120 5.4.1, RFC 6806), as uint32 masks of the KerberosFlags.
const (
	KDCOptForwardable           = 1 << (31 - 1)
	KDCOptForwarded             = 1 << (31 - 2)
	KDCOptProxiable             = 1 << (31 - 3)
	KDCOptProxy                 = 1 << (31 - 4)
	KDCOptAllowPostdate         = 1 << (31 - 5)
	KDCOptPostdated             = 1 << (31 - 6)
	KDCOptRenewable             = 1 << (31 - 8)
	KDCOptCanonicalize          = 1 << (31 - 15)
	KDCOptDisableTransitedCheck = 1 << (31 - 26)
	KDCOptRenewableOK           = 1 << (31 - 27)
	KDCOptEncTktInSkey          = 1 << (31 - 28)
	KDCOptRenew                 = 1 << (31 - 30)
	KDCOptValidate              = 1 << (31 - 31)
)

// KDCReq is RFC 4120 5.4.1's KDC-REQ: an AS-REQ (MsgType MsgASReq) or TGS-REQ (MsgTGSReq).
type KDCReq struct {
	MsgType int32
	PAData  []PAData // nil when absent
	Body    KDCReqBody
}

// KDCReqBody is RFC 4120 5.4.1's KDC-REQ-BODY. A decoded body keeps its DER in Raw: the
// PA-TGS-REQ authenticator's checksum and FAST are computed over exactly those bytes.
// Unlike Ticket.Raw, Raw is never written back: encoders always encode the fields, and
// Marshal returns the bytes to checksum.
type KDCReqBody struct {
	Options           uint32
	CName             *PrincipalName // nil when absent (TGS-REQ)
	Realm             string
	SName             *PrincipalName // nil when absent
	From              time.Time      // zero when absent
	Till              time.Time
	RTime             time.Time // zero when absent
	Nonce             uint32
	ETypes            []int32
	Addresses         []HostAddress  // nil when absent
	EncAuthData       *EncryptedData // nil when absent
	AdditionalTickets []Ticket       // nil when absent
	Raw               []byte
}

// Unmarshal decodes an AS-REQ or TGS-REQ from b, which it must fill exactly.
func (r *KDCReq) Unmarshal(b []byte) error {
	const typ = "KDC-REQ"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	mt := MessageType(b)
	if mt != MsgASReq && mt != MsgTGSReq {
		return inMessage(malformed(typ, ""), typ)
	}
	msg := "AS-REQ"
	if mt == MsgTGSReq {
		msg = "TGS-REQ"
	}
	seq, err := unwrapApp(&s, mt, msg)
	if err != nil {
		return inMessage(err, msg)
	}
	r.MsgType = int32(mt)
	return inMessage(r.parse(&seq), msg)
}

func (r *KDCReq) parse(s *cryptobyte.String) error {
	const typ = "KDC-REQ"
	if err := header(s, 1, r.MsgType, typ); err != nil {
		return err
	}
	if err := parsePADataField(s, 3, &r.PAData); err != nil {
		return err
	}
	var c cryptobyte.String
	if !field(s, 4, &c) {
		return malformed(typ, "req-body")
	}
	if err := r.Body.parse(&c); err != nil {
		return err
	}
	if !c.Empty() || !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

func (b *KDCReqBody) parse(s *cryptobyte.String) error {
	const typ = "KDC-REQ-BODY"
	var raw, seq cryptobyte.String
	if !s.ReadASN1Element(&raw, tagSequence) {
		return malformed(typ, "")
	}
	b.Raw = raw
	if !readASN1(&raw, &seq, tagSequence) {
		return malformed(typ, "")
	}
	if !flagsField(&seq, 0, &b.Options) {
		return malformed(typ, "kdc-options")
	}
	if err := parseOptNameField(&seq, 1, &b.CName); err != nil {
		return err
	}
	if !stringField(&seq, 2, &b.Realm) {
		return malformed(typ, "realm")
	}
	if err := parseOptNameField(&seq, 3, &b.SName); err != nil {
		return err
	}
	if !optTimeField(&seq, 4, &b.From) {
		return malformed(typ, "from")
	}
	if !timeField(&seq, 5, &b.Till) {
		return malformed(typ, "till")
	}
	if !optTimeField(&seq, 6, &b.RTime) {
		return malformed(typ, "rtime")
	}
	if !uint32Field(&seq, 7, &b.Nonce) {
		return malformed(typ, "nonce")
	}
	if err := b.parseETypes(&seq); err != nil {
		return err
	}
	if err := parseAddressesField(&seq, 9, &b.Addresses); err != nil {
		return err
	}
	if seq.PeekASN1Tag(ctx(10)) {
		b.EncAuthData = new(EncryptedData)
		if err := parseEncDataField(&seq, 10, b.EncAuthData); err != nil {
			return err
		}
	}
	if seq.PeekASN1Tag(ctx(11)) {
		var c cryptobyte.String
		if !field(&seq, 11, &c) {
			return malformed(typ, "additional-tickets")
		}
		var err error
		if b.AdditionalTickets, err = parseTickets(&c); err != nil {
			return err
		}
	}
	if !seq.Empty() {
		return malformed(typ, "")
	}
	return nil
}

func (b *KDCReqBody) parseETypes(s *cryptobyte.String) error {
	const typ = "KDC-REQ-BODY"
	var c cryptobyte.String
	if !field(s, 8, &c) {
		return malformed(typ, "etype")
	}
	b.ETypes = make([]int32, 0, 8)
	ok, tooMany := seqOf(&c, MaxSequence, func(s *cryptobyte.String) bool {
		var v int64
		if !readInteger(s, &v) || v != int64(int32(v)) {
			return false
		}
		b.ETypes = append(b.ETypes, int32(v))
		return true
	})
	if tooMany {
		return tooLarge(typ, "etype")
	}
	if !ok || !c.Empty() {
		return malformed(typ, "etype")
	}
	return nil
}

// Marshal encodes r.
func (r *KDCReq) Marshal() ([]byte, error) {
	msg := "AS-REQ"
	if r.MsgType == MsgTGSReq {
		msg = "TGS-REQ"
	}
	var e encoder
	if r.MsgType != MsgASReq && r.MsgType != MsgTGSReq {
		e.fail(invalid("KDC-REQ", "msg-type"))
	}
	p := e.open(app(int(r.MsgType) & 0x1f))
	q := e.open(tagSequence)
	e.intField(1, 5)
	e.intField(2, int64(r.MsgType))
	if r.PAData != nil {
		e.paDataField(3, r.PAData)
	}
	u := e.open(ctx(4))
	e.kdcReqBody(&r.Body)
	e.close(u)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, msg)
}

// Marshal encodes the body alone: the bytes a PA-TGS-REQ checksum covers.
func (b *KDCReqBody) Marshal() ([]byte, error) {
	var e encoder
	e.kdcReqBody(b)
	return e.b, inMessage(e.err, "KDC-REQ-BODY")
}

func (e *encoder) kdcReqBody(b *KDCReqBody) {
	const typ = "KDC-REQ-BODY"
	p := e.open(tagSequence)
	e.flagsField(0, b.Options)
	if b.CName != nil {
		e.nameField(1, b.CName)
	}
	e.stringField(typ, "realm", 2, b.Realm)
	if b.SName != nil {
		e.nameField(3, b.SName)
	}
	e.optTimeField(typ, "from", 4, b.From)
	e.timeField(typ, "till", 5, b.Till)
	e.optTimeField(typ, "rtime", 6, b.RTime)
	e.intField(7, int64(b.Nonce))
	if len(b.ETypes) > MaxSequence {
		e.fail(tooLarge(typ, "etype"))
	}
	q := e.open(ctx(8))
	r := e.open(tagSequence)
	for _, t := range b.ETypes {
		e.integer(int64(t))
	}
	e.close(r)
	e.close(q)
	if b.Addresses != nil {
		e.addressesField(9, b.Addresses)
	}
	if b.EncAuthData != nil {
		e.encDataField(10, b.EncAuthData)
	}
	if b.AdditionalTickets != nil {
		e.ticketsField(11, b.AdditionalTickets)
	}
	e.close(p)
}
