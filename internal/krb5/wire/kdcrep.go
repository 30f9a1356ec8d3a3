package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// KDCRep is RFC 4120 5.4.2's KDC-REP: an AS-REP (MsgType MsgASRep) or TGS-REP (MsgTGSRep).
// The Ticket keeps its DER, to be stored in a ccache and sent on unchanged.
type KDCRep struct {
	MsgType int32
	PAData  []PAData // nil when absent
	CRealm  string
	CName   PrincipalName
	Ticket  Ticket
	EncPart EncryptedData
}

// Unmarshal decodes an AS-REP or TGS-REP from b, which it must fill exactly.
func (r *KDCRep) Unmarshal(b []byte) error {
	const typ = "KDC-REP"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	mt := MessageType(b)
	if mt != MsgASRep && mt != MsgTGSRep {
		return inMessage(malformed(typ, ""), typ)
	}
	msg := "AS-REP"
	if mt == MsgTGSRep {
		msg = "TGS-REP"
	}
	seq, err := unwrapApp(&s, mt, msg)
	if err != nil {
		return inMessage(err, msg)
	}
	r.MsgType = int32(mt)
	return inMessage(r.parse(&seq), msg)
}

func (r *KDCRep) parse(s *cryptobyte.String) error {
	const typ = "KDC-REP"
	if err := header(s, 0, r.MsgType, typ); err != nil {
		return err
	}
	if err := parsePADataField(s, 2, &r.PAData); err != nil {
		return err
	}
	if !realmField(s, 3, &r.CRealm) {
		return malformed(typ, "crealm")
	}
	// An empty cname (name-string {}) and crealm are accepted: Heimdal's KDC hides the
	// client's name so in a FAST reply, whose KrbFastFinished carries the real one.
	if err := parseNameFieldOf(s, 4, &r.CName, true); err != nil {
		return err
	}
	if err := parseTicketField(s, 5, &r.Ticket); err != nil {
		return err
	}
	if err := parseEncDataField(s, 6, &r.EncPart); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes r.
func (r *KDCRep) Marshal() ([]byte, error) {
	msg := "AS-REP"
	if r.MsgType == MsgTGSRep {
		msg = "TGS-REP"
	}
	var e encoder
	if r.MsgType != MsgASRep && r.MsgType != MsgTGSRep {
		e.fail(invalid("KDC-REP", "msg-type"))
	}
	p := e.open(app(int(r.MsgType) & 0x1f))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.intField(1, int64(r.MsgType))
	if r.PAData != nil {
		e.paDataField(2, r.PAData)
	}
	e.stringField(msg, "crealm", 3, r.CRealm)
	e.nameField(4, &r.CName)
	e.ticketField(5, &r.Ticket)
	e.encDataField(6, &r.EncPart)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, msg)
}

// EncKDCRepPart is RFC 4120 5.4.2's decrypted reply part, EncASRepPart or EncTGSRepPart.
// Slices alias the plaintext.
type EncKDCRepPart struct {
	// Tag is the APPLICATION tag it came with or is to be encoded with: 25 (EncASRepPart) or
	// 26 (EncTGSRepPart). RFC 4120 5.4.2 notes that some KDCs send 25 in TGS replies, so
	// either is accepted in either reply, as MIT does; zero encodes as 25.
	Tag           int
	Key           EncryptionKey
	LastReq       []LastReq
	Nonce         uint32
	KeyExpiration time.Time // zero when absent
	Flags         uint32
	AuthTime      time.Time
	StartTime     time.Time // zero when absent
	EndTime       time.Time
	RenewTill     time.Time // zero when absent
	SRealm        string
	SName         PrincipalName
	CAddr         []HostAddress // nil when absent
	// EncryptedPAData is RFC 6806 11's encrypted-pa-data [12] (nil when absent).
	EncryptedPAData []PAData
}

// Unmarshal decodes an EncASRepPart or EncTGSRepPart from b, which it must fill exactly.
func (r *EncKDCRepPart) Unmarshal(b []byte) error {
	const typ = "EncKDCRepPart"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var tag int
	switch {
	case len(b) > 0 && b[0] == byte(app(appEncASRepPart)):
		tag = appEncASRepPart
	case len(b) > 0 && b[0] == byte(app(appEncTGSRepPart)):
		tag = appEncTGSRepPart
	default:
		return inMessage(malformed(typ, ""), typ)
	}
	seq, err := unwrapApp(&s, tag, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	r.Tag = tag
	return inMessage(r.parse(&seq), typ)
}

func (r *EncKDCRepPart) parse(s *cryptobyte.String) error {
	const typ = "EncKDCRepPart"
	if err := parseKeyField(s, 0, &r.Key); err != nil {
		return err
	}
	if err := r.parseLastReq(s); err != nil {
		return err
	}
	if !uint32Field(s, 2, &r.Nonce) {
		return malformed(typ, "nonce")
	}
	if !optTimeField(s, 3, &r.KeyExpiration) {
		return malformed(typ, "key-expiration")
	}
	if !flagsField(s, 4, &r.Flags) {
		return malformed(typ, "flags")
	}
	if !timeField(s, 5, &r.AuthTime) {
		return malformed(typ, "authtime")
	}
	if !optTimeField(s, 6, &r.StartTime) {
		return malformed(typ, "starttime")
	}
	if !timeField(s, 7, &r.EndTime) {
		return malformed(typ, "endtime")
	}
	if !optTimeField(s, 8, &r.RenewTill) {
		return malformed(typ, "renew-till")
	}
	if !realmField(s, 9, &r.SRealm) {
		return malformed(typ, "srealm")
	}
	if err := parseNameField(s, 10, &r.SName); err != nil {
		return err
	}
	if err := parseAddressesField(s, 11, &r.CAddr); err != nil {
		return err
	}
	if err := parsePADataField(s, 12, &r.EncryptedPAData); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

func (r *EncKDCRepPart) parseLastReq(s *cryptobyte.String) error {
	const typ = "LastReq"
	var c cryptobyte.String
	if !field(s, 1, &c) {
		return malformed(typ, "")
	}
	r.LastReq = make([]LastReq, 0, 1)
	ok, tooMany := seqOf(&c, MaxSequence, func(s *cryptobyte.String) bool {
		var seq cryptobyte.String
		var l LastReq
		if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &l.Type) ||
			!timeField(&seq, 1, &l.Value) || !seq.Empty() {
			return false
		}
		r.LastReq = append(r.LastReq, l)
		return true
	})
	if tooMany {
		return tooLarge(typ, "")
	}
	if !ok || !c.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes r.
func (r *EncKDCRepPart) Marshal() ([]byte, error) {
	const typ = "EncKDCRepPart"
	var e encoder
	tag := r.Tag
	switch tag {
	case 0:
		tag = appEncASRepPart
	case appEncASRepPart, appEncTGSRepPart:
	default:
		e.fail(invalid(typ, "tag"))
	}
	if len(r.LastReq) > MaxSequence {
		e.fail(tooLarge(typ, "last-req"))
	}
	p := e.open(app(tag & 0x1f))
	q := e.open(tagSequence)
	e.keyField(0, &r.Key)
	u := e.open(ctx(1))
	w := e.open(tagSequence)
	for i := range r.LastReq {
		x := e.open(tagSequence)
		e.intField(0, int64(r.LastReq[i].Type))
		e.timeField(typ, "last-req", 1, r.LastReq[i].Value)
		e.close(x)
	}
	e.close(w)
	e.close(u)
	e.intField(2, int64(r.Nonce))
	e.optTimeField(typ, "key-expiration", 3, r.KeyExpiration)
	e.flagsField(4, r.Flags)
	e.timeField(typ, "authtime", 5, r.AuthTime)
	e.optTimeField(typ, "starttime", 6, r.StartTime)
	e.timeField(typ, "endtime", 7, r.EndTime)
	e.optTimeField(typ, "renew-till", 8, r.RenewTill)
	e.stringField(typ, "srealm", 9, r.SRealm)
	e.nameField(10, &r.SName)
	if r.CAddr != nil {
		e.addressesField(11, r.CAddr)
	}
	if r.EncryptedPAData != nil {
		e.paDataField(12, r.EncryptedPAData)
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}
