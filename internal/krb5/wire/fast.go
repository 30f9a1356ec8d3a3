package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// FAST (RFC 6113 5.4): the armored request and reply carried in PA-FX-FAST, and the
// encrypted challenge of PA-ENCRYPTED-CHALLENGE (an EncryptedData of PA-ENC-TS-ENC, which
// EncryptedData and PAEncTSEnc encode).

// FastArmorAPRequest is RFC 6113 5.4.1.1's FX_FAST_ARMOR_AP_REQUEST: the armor is an
// AP-REQ whose ticket's session key and authenticator subkey make the armor key.
const FastArmorAPRequest = 1

// FAST options (RFC 6113 5.4.2), as uint32 masks of the KerberosFlags.
const (
	FastOptHideClientNames   = 1 << (31 - 1)
	FastOptKDCFollowReferral = 1 << (31 - 16)
)

// FastArmor is RFC 6113's KrbFastArmor. Value aliases the decoded input.
type FastArmor struct {
	Type  int32
	Value []byte
}

// FastArmoredReq is RFC 6113's PA-FX-FAST-REQUEST, whose one alternative, armored-data
// [0], is a KrbFastArmoredReq: the armor (absent when the TGS-REQ's own ticket armors it),
// a checksum of the outer request in the armor key, and the KrbFastReq encrypted in it.
type FastArmoredReq struct {
	Armor       *FastArmor // nil when absent
	ReqChecksum Checksum
	EncFastReq  EncryptedData
}

// Unmarshal decodes a PA-FX-FAST-REQUEST from b, which it must fill exactly.
func (r *FastArmoredReq) Unmarshal(b []byte) error {
	const typ = "PA-FX-FAST-REQUEST"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var choice, seq cryptobyte.String
	if !readASN1(&s, &choice, ctx(0)) || !s.Empty() || !readASN1(&choice, &seq, tagSequence) || !choice.Empty() {
		return inMessage(malformed(typ, "armored-data"), typ)
	}
	*r = FastArmoredReq{}
	if seq.PeekASN1Tag(ctx(0)) {
		var c, a cryptobyte.String
		r.Armor = new(FastArmor)
		if !field(&seq, 0, &c) || !readASN1(&c, &a, tagSequence) || !c.Empty() ||
			!int32Field(&a, 0, &r.Armor.Type) || !octetsField(&a, 1, &r.Armor.Value) || !a.Empty() {
			return inMessage(malformed("KrbFastArmor", ""), typ)
		}
	}
	var ck *Checksum
	if !seq.PeekASN1Tag(ctx(1)) {
		return inMessage(malformed("KrbFastArmoredReq", "req-checksum"), typ)
	}
	if err := parseOptChecksumField(&seq, 1, &ck); err != nil {
		return inMessage(err, typ)
	}
	r.ReqChecksum = *ck
	if err := parseEncDataField(&seq, 2, &r.EncFastReq); err != nil {
		return inMessage(err, typ)
	}
	if !seq.Empty() {
		return inMessage(malformed("KrbFastArmoredReq", ""), typ)
	}
	return nil
}

// Marshal encodes r as a PA-FX-FAST-REQUEST.
func (r *FastArmoredReq) Marshal() ([]byte, error) {
	var e encoder
	p := e.open(ctx(0))
	q := e.open(tagSequence)
	if r.Armor != nil {
		a := e.open(ctx(0))
		s := e.open(tagSequence)
		e.intField(0, int64(r.Armor.Type))
		e.octetsField(1, r.Armor.Value)
		e.close(s)
		e.close(a)
	}
	e.checksumField(1, &r.ReqChecksum)
	e.encDataField(2, &r.EncFastReq)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "PA-FX-FAST-REQUEST")
}

// FastReq is RFC 6113's KrbFastReq, the plaintext of FastArmoredReq.EncFastReq: the
// request's real padata and body.
type FastReq struct {
	Options uint32
	PAData  []PAData // never absent on the wire; nil encodes as an empty list
	ReqBody KDCReqBody
}

// Unmarshal decodes a KrbFastReq from b, which it must fill exactly.
func (r *FastReq) Unmarshal(b []byte) error {
	const typ = "KrbFastReq"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	*r = FastReq{}
	if !flagsField(&seq, 0, &r.Options) {
		return inMessage(malformed(typ, "fast-options"), typ)
	}
	if err := requiredPAData(&seq, 1, typ, &r.PAData); err != nil {
		return inMessage(err, typ)
	}
	var c cryptobyte.String
	if !field(&seq, 2, &c) {
		return inMessage(malformed(typ, "req-body"), typ)
	}
	if err := r.ReqBody.parse(&c); err != nil {
		return inMessage(err, typ)
	}
	if !c.Empty() || !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

// requiredPAData reads a mandatory [n] SEQUENCE OF PA-DATA, which may be empty; an empty
// one decodes as an empty, non-nil slice.
func requiredPAData(s *cryptobyte.String, n int, typ string, out *[]PAData) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return malformed(typ, "padata")
	}
	if err := parsePADataField(s, n, out); err != nil {
		return err
	}
	if *out == nil {
		*out = []PAData{}
	}
	return nil
}

// Marshal encodes r.
func (r *FastReq) Marshal() ([]byte, error) {
	var e encoder
	p := e.open(tagSequence)
	e.flagsField(0, r.Options)
	e.paDataField(1, r.PAData)
	q := e.open(ctx(2))
	e.kdcReqBody(&r.ReqBody)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "KrbFastReq")
}

// FastArmoredRep is RFC 6113's PA-FX-FAST-REPLY, whose one alternative, armored-data [0],
// is a KrbFastArmoredRep: the KrbFastResponse encrypted in the armor key.
type FastArmoredRep struct {
	EncFastRep EncryptedData
}

// Unmarshal decodes a PA-FX-FAST-REPLY from b, which it must fill exactly.
func (r *FastArmoredRep) Unmarshal(b []byte) error {
	const typ = "PA-FX-FAST-REPLY"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var choice, seq cryptobyte.String
	if !readASN1(&s, &choice, ctx(0)) || !s.Empty() || !readASN1(&choice, &seq, tagSequence) || !choice.Empty() {
		return inMessage(malformed(typ, "armored-data"), typ)
	}
	if err := parseEncDataField(&seq, 0, &r.EncFastRep); err != nil {
		return inMessage(err, typ)
	}
	if !seq.Empty() {
		return inMessage(malformed("KrbFastArmoredRep", ""), typ)
	}
	return nil
}

// Marshal encodes r as a PA-FX-FAST-REPLY.
func (r *FastArmoredRep) Marshal() ([]byte, error) {
	var e encoder
	p := e.open(ctx(0))
	q := e.open(tagSequence)
	e.encDataField(0, &r.EncFastRep)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "PA-FX-FAST-REPLY")
}

// FastResponse is RFC 6113's KrbFastResponse, the plaintext of FastArmoredRep.EncFastRep:
// the reply's real padata, the key that strengthens the reply key, and, in a KDC-REP, the
// finished message that binds the ticket to the armor.
type FastResponse struct {
	PAData        []PAData       // never absent on the wire; nil encodes as an empty list
	StrengthenKey *EncryptionKey // nil when absent
	Finished      *FastFinished  // nil when absent (in errors)
	Nonce         uint32
}

// FastFinished is RFC 6113's KrbFastFinished.
type FastFinished struct {
	Timestamp      time.Time
	Usec           int32
	CRealm         string
	CName          PrincipalName
	TicketChecksum Checksum
}

// Unmarshal decodes a KrbFastResponse from b, which it must fill exactly. Its slices
// alias b (a decrypted plaintext: the strengthen key's bytes too), which the caller
// zeroes when done.
func (r *FastResponse) Unmarshal(b []byte) error {
	const typ = "KrbFastResponse"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	*r = FastResponse{}
	if err := requiredPAData(&seq, 0, typ, &r.PAData); err != nil {
		return inMessage(err, typ)
	}
	if err := parseOptKeyField(&seq, 1, &r.StrengthenKey); err != nil {
		return inMessage(err, typ)
	}
	if seq.PeekASN1Tag(ctx(2)) {
		var c cryptobyte.String
		r.Finished = new(FastFinished)
		if !field(&seq, 2, &c) {
			return inMessage(malformed(typ, "finished"), typ)
		}
		if err := r.Finished.parse(&c); err != nil {
			return inMessage(err, typ)
		}
		if !c.Empty() {
			return inMessage(malformed(typ, "finished"), typ)
		}
	}
	if !uint32Field(&seq, 3, &r.Nonce) {
		return inMessage(malformed(typ, "nonce"), typ)
	}
	if !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

func (f *FastFinished) parse(s *cryptobyte.String) error {
	const typ = "KrbFastFinished"
	var seq cryptobyte.String
	if !readASN1(s, &seq, tagSequence) {
		return malformed(typ, "")
	}
	if !timeField(&seq, 0, &f.Timestamp) {
		return malformed(typ, "timestamp")
	}
	if !int32Field(&seq, 1, &f.Usec) || !microseconds(f.Usec) {
		return malformed(typ, "usec")
	}
	if !stringField(&seq, 2, &f.CRealm) {
		return malformed(typ, "crealm")
	}
	if err := parseNameField(&seq, 3, &f.CName); err != nil {
		return err
	}
	var ck *Checksum
	if !seq.PeekASN1Tag(ctx(4)) {
		return malformed(typ, "ticket-checksum")
	}
	if err := parseOptChecksumField(&seq, 4, &ck); err != nil {
		return err
	}
	f.TicketChecksum = *ck
	if !seq.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes r.
func (r *FastResponse) Marshal() ([]byte, error) {
	const typ = "KrbFastResponse"
	var e encoder
	p := e.open(tagSequence)
	e.paDataField(0, r.PAData)
	if r.StrengthenKey != nil {
		e.keyField(1, r.StrengthenKey)
	}
	if f := r.Finished; f != nil {
		if !microseconds(f.Usec) {
			e.fail(invalid("KrbFastFinished", "usec"))
		}
		q := e.open(ctx(2))
		s := e.open(tagSequence)
		e.timeField("KrbFastFinished", "timestamp", 0, f.Timestamp)
		e.intField(1, int64(f.Usec))
		e.stringField("KrbFastFinished", "crealm", 2, f.CRealm)
		e.nameField(3, &f.CName)
		e.checksumField(4, &f.TicketChecksum)
		e.close(s)
		e.close(q)
	}
	e.intField(3, int64(r.Nonce))
	e.close(p)
	return e.b, inMessage(e.err, typ)
}

// FindPAData returns the first element of list of type t, or nil.
func FindPAData(list []PAData, t int32) *PAData {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}
