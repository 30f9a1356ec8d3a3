package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// AP options (RFC 4120 5.5.1), as uint32 masks of the KerberosFlags.
const (
	APOptionUseSessionKey  = 1 << (31 - 1)
	APOptionMutualRequired = 1 << (31 - 2)
)

// unwrapApp reads [APPLICATION tag] SEQUENCE { ... } that must fill s, returning the
// SEQUENCE's content.
func unwrapApp(s *cryptobyte.String, tag int, typ string) (cryptobyte.String, error) {
	var a, seq cryptobyte.String
	if !readASN1(s, &a, app(tag)) || !s.Empty() || !readASN1(&a, &seq, tagSequence) || !a.Empty() {
		return nil, malformed(typ, "")
	}
	return seq, nil
}

// header checks pvno [p] and msg-type [p+1].
func header(s *cryptobyte.String, p int, msgType int32, typ string) error {
	var v int32
	if !int32Field(s, p, &v) {
		return malformed(typ, "pvno")
	}
	if v != 5 {
		return &Error{Type: typ, Field: "pvno", Err: ErrVersion}
	}
	if !int32Field(s, p+1, &v) {
		return malformed(typ, "msg-type")
	}
	if v != msgType {
		return &Error{Type: typ, Field: "msg-type", Err: ErrVersion}
	}
	return nil
}

// Authenticator is RFC 4120 5.5.1's decrypted authenticator. Slices alias the plaintext.
type Authenticator struct {
	CRealm    string
	CName     PrincipalName
	Checksum  *Checksum // nil when absent
	CUsec     int32
	CTime     time.Time
	SubKey    *EncryptionKey // nil when absent
	SeqNumber uint32
	HasSeq    bool
	AuthData  []AuthorizationData // nil when absent
}

// authOptional holds an Authenticator's checksum and subkey.
type authOptional struct {
	cksum  Checksum
	subkey EncryptionKey
}

// Unmarshal decodes an Authenticator from b, which it must fill exactly.
func (a *Authenticator) Unmarshal(b []byte) error {
	const typ = "Authenticator"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, appAuthenticator, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	return inMessage(a.parse(&seq), typ)
}

func (a *Authenticator) parse(s *cryptobyte.String) error {
	const typ = "Authenticator"
	var vno int32
	if !int32Field(s, 0, &vno) {
		return malformed(typ, "authenticator-vno")
	}
	if vno != 5 {
		return &Error{Type: typ, Field: "authenticator-vno", Err: ErrVersion}
	}
	if !realmField(s, 1, &a.CRealm) {
		return malformed(typ, "crealm")
	}
	if err := parseNameField(s, 2, &a.CName); err != nil {
		return err
	}
	// The checksum and the subkey, which an AP-REQ's authenticator nearly always has,
	// share one allocation.
	var opt *authOptional
	if s.PeekASN1Tag(ctx(3)) {
		opt = new(authOptional)
		if err := parseChecksumField(s, 3, &opt.cksum); err != nil {
			return err
		}
		a.Checksum = &opt.cksum
	}
	if !int32Field(s, 4, &a.CUsec) || !microseconds(a.CUsec) {
		return malformed(typ, "cusec")
	}
	if !timeField(s, 5, &a.CTime) {
		return malformed(typ, "ctime")
	}
	if s.PeekASN1Tag(ctx(6)) {
		if opt == nil {
			opt = new(authOptional)
		}
		a.SubKey = &opt.subkey
		if err := parseKeyField(s, 6, a.SubKey); err != nil {
			return err
		}
	}
	if a.HasSeq = s.PeekASN1Tag(ctx(7)); a.HasSeq && !uint32Field(s, 7, &a.SeqNumber) {
		return malformed(typ, "seq-number")
	}
	if err := parseAuthDataField(s, 8, &a.AuthData); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes a.
func (a *Authenticator) Marshal() ([]byte, error) { return a.Append(nil) }

// Append appends a's encoding to dst.
func (a *Authenticator) Append(dst []byte) ([]byte, error) {
	const typ = "Authenticator"
	e := encoder{b: dst}
	if !microseconds(a.CUsec) {
		e.fail(invalid(typ, "cusec"))
	}
	p := e.open(app(appAuthenticator))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.stringField(typ, "crealm", 1, a.CRealm)
	e.nameField(2, &a.CName)
	if a.Checksum != nil {
		e.checksumField(3, a.Checksum)
	}
	e.intField(4, int64(a.CUsec))
	e.timeField(typ, "ctime", 5, a.CTime)
	if a.SubKey != nil {
		e.keyField(6, a.SubKey)
	}
	if a.HasSeq {
		e.intField(7, int64(a.SeqNumber))
	}
	if a.AuthData != nil {
		e.authDataField(8, a.AuthData)
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}

// APReq is RFC 4120 5.5.1's KRB_AP_REQ. Decoding allocates only the ticket's realm and
// server name: Ticket.Raw and the ciphertexts alias the input.
type APReq struct {
	Options       uint32
	Ticket        Ticket
	Authenticator EncryptedData
}

// Unmarshal decodes an AP-REQ from b, which it must fill exactly.
func (r *APReq) Unmarshal(b []byte) error {
	const typ = "AP-REQ"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, MsgAPReq, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	return inMessage(r.parse(&seq), typ)
}

func (r *APReq) parse(s *cryptobyte.String) error {
	const typ = "AP-REQ"
	if err := header(s, 0, MsgAPReq, typ); err != nil {
		return err
	}
	if !flagsField(s, 2, &r.Options) {
		return malformed(typ, "ap-options")
	}
	if err := parseTicketField(s, 3, &r.Ticket); err != nil {
		return err
	}
	if err := parseEncDataField(s, 4, &r.Authenticator); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes r.
func (r *APReq) Marshal() ([]byte, error) {
	n := len(r.Ticket.Raw) + len(r.Ticket.EncPart.Cipher) + len(r.Authenticator.Cipher) + 256
	return r.Append(make([]byte, 0, n))
}

// Append appends r's encoding to dst.
func (r *APReq) Append(dst []byte) ([]byte, error) {
	e := encoder{b: dst}
	p := e.open(app(MsgAPReq))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.intField(1, MsgAPReq)
	e.flagsField(2, r.Options)
	e.ticketField(3, &r.Ticket)
	e.encDataField(4, &r.Authenticator)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "AP-REQ")
}

// APRep is RFC 4120 5.5.2's KRB_AP_REP.
type APRep struct {
	EncPart EncryptedData
}

// Unmarshal decodes an AP-REP from b, which it must fill exactly.
func (r *APRep) Unmarshal(b []byte) error {
	const typ = "AP-REP"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, MsgAPRep, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	if err := header(&seq, 0, MsgAPRep, typ); err != nil {
		return inMessage(err, typ)
	}
	if err := parseEncDataField(&seq, 2, &r.EncPart); err != nil {
		return inMessage(err, typ)
	}
	if !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

// Marshal encodes r.
func (r *APRep) Marshal() ([]byte, error) { return r.Append(nil) }

// Append appends r's encoding to dst.
func (r *APRep) Append(dst []byte) ([]byte, error) {
	e := encoder{b: dst}
	p := e.open(app(MsgAPRep))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.intField(1, MsgAPRep)
	e.encDataField(2, &r.EncPart)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "AP-REP")
}

// EncAPRepPart is RFC 4120 5.5.2's decrypted AP-REP part.
type EncAPRepPart struct {
	CTime     time.Time
	CUsec     int32
	SubKey    *EncryptionKey // nil when absent
	SeqNumber uint32
	HasSeq    bool
}

// Unmarshal decodes an EncAPRepPart from b, which it must fill exactly.
func (r *EncAPRepPart) Unmarshal(b []byte) error {
	const typ = "EncAPRepPart"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, appEncAPRepPart, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	if !timeField(&seq, 0, &r.CTime) {
		return inMessage(malformed(typ, "ctime"), typ)
	}
	if !int32Field(&seq, 1, &r.CUsec) || !microseconds(r.CUsec) {
		return inMessage(malformed(typ, "cusec"), typ)
	}
	if err := parseOptKeyField(&seq, 2, &r.SubKey); err != nil {
		return inMessage(err, typ)
	}
	if r.HasSeq = seq.PeekASN1Tag(ctx(3)); r.HasSeq && !uint32Field(&seq, 3, &r.SeqNumber) {
		return inMessage(malformed(typ, "seq-number"), typ)
	}
	if !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

// Marshal encodes r.
func (r *EncAPRepPart) Marshal() ([]byte, error) { return r.Append(nil) }

// Append appends r's encoding to dst.
func (r *EncAPRepPart) Append(dst []byte) ([]byte, error) {
	const typ = "EncAPRepPart"
	e := encoder{b: dst}
	if !microseconds(r.CUsec) {
		e.fail(invalid(typ, "cusec"))
	}
	p := e.open(app(appEncAPRepPart))
	q := e.open(tagSequence)
	e.timeField(typ, "ctime", 0, r.CTime)
	e.intField(1, int64(r.CUsec))
	if r.SubKey != nil {
		e.keyField(2, r.SubKey)
	}
	if r.HasSeq {
		e.intField(3, int64(r.SeqNumber))
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}
