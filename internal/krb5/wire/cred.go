package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// KRBCred is RFC 4120 5.8.1's KRB-CRED, as a delegated TGT travels in the GSS authenticator
// checksum (RFC 4121 4.1.1). Tickets keep their DER (Ticket.Raw).
type KRBCred struct {
	Tickets []Ticket
	EncPart EncryptedData
}

// Unmarshal decodes a KRB-CRED from b, which it must fill exactly.
func (k *KRBCred) Unmarshal(b []byte) error {
	const typ = "KRB-CRED"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, MsgKRBCred, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	if err := header(&seq, 0, MsgKRBCred, typ); err != nil {
		return inMessage(err, typ)
	}
	var c cryptobyte.String
	if !field(&seq, 2, &c) {
		return inMessage(malformed(typ, "tickets"), typ)
	}
	if k.Tickets, err = parseTickets(&c); err != nil {
		return inMessage(err, typ)
	}
	if err := parseEncDataField(&seq, 3, &k.EncPart); err != nil {
		return inMessage(err, typ)
	}
	if !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return nil
}

// Marshal encodes k.
func (k *KRBCred) Marshal() ([]byte, error) {
	var e encoder
	p := e.open(app(MsgKRBCred))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.intField(1, MsgKRBCred)
	e.ticketsField(2, k.Tickets)
	e.encDataField(3, &k.EncPart)
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, "KRB-CRED")
}

// KrbCredInfo is one element of RFC 4120 5.8.1's ticket-info; every field but Key is
// optional (zero, nil or empty when absent).
type KrbCredInfo struct {
	Key       EncryptionKey
	PRealm    string
	PName     *PrincipalName
	Flags     uint32
	HasFlags  bool
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time
	SRealm    string
	SName     *PrincipalName
	CAddr     []HostAddress
}

// EncKrbCredPart is RFC 4120 5.8.1's decrypted KRB-CRED part. Slices alias the plaintext.
type EncKrbCredPart struct {
	TicketInfo []KrbCredInfo
	Nonce      uint32
	HasNonce   bool
	Timestamp  time.Time // zero when absent
	Usec       int32
	HasUsec    bool
	SAddress   *HostAddress
	RAddress   *HostAddress
}

// Unmarshal decodes an EncKrbCredPart from b, which it must fill exactly.
func (k *EncKrbCredPart) Unmarshal(b []byte) error {
	const typ = "EncKrbCredPart"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	seq, err := unwrapApp(&s, appEncKrbCredPart, typ)
	if err != nil {
		return inMessage(err, typ)
	}
	return inMessage(k.parse(&seq), typ)
}

func (k *EncKrbCredPart) parse(s *cryptobyte.String) error {
	const typ = "EncKrbCredPart"
	var c cryptobyte.String
	if !field(s, 0, &c) {
		return malformed(typ, "ticket-info")
	}
	var ferr error
	ok, tooMany := seqOf(&c, MaxSequence, func(s *cryptobyte.String) bool {
		var info KrbCredInfo
		if ferr = info.parse(s); ferr != nil {
			return false
		}
		k.TicketInfo = append(k.TicketInfo, info)
		return true
	})
	switch {
	case tooMany:
		return tooLarge(typ, "ticket-info")
	case ferr != nil:
		return ferr
	case !ok || !c.Empty():
		return malformed(typ, "ticket-info")
	}
	if k.HasNonce = s.PeekASN1Tag(ctx(1)); k.HasNonce && !uint32Field(s, 1, &k.Nonce) {
		return malformed(typ, "nonce")
	}
	if !optTimeField(s, 2, &k.Timestamp) {
		return malformed(typ, "timestamp")
	}
	if k.HasUsec = s.PeekASN1Tag(ctx(3)); k.HasUsec && (!int32Field(s, 3, &k.Usec) || !microseconds(k.Usec)) {
		return malformed(typ, "usec")
	}
	for i, dst := range []**HostAddress{&k.SAddress, &k.RAddress} {
		if !s.PeekASN1Tag(ctx(4 + i)) {
			continue
		}
		a := new(HostAddress)
		if !field(s, 4+i, &c) || !parseHostAddress(&c, a) || !c.Empty() {
			return malformed(typ, "address")
		}
		*dst = a
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

func (k *KrbCredInfo) parse(s *cryptobyte.String) error {
	const typ = "KrbCredInfo"
	var seq cryptobyte.String
	if !readASN1(s, &seq, tagSequence) {
		return malformed(typ, "")
	}
	if err := parseKeyField(&seq, 0, &k.Key); err != nil {
		return err
	}
	if seq.PeekASN1Tag(ctx(1)) && !stringField(&seq, 1, &k.PRealm) {
		return malformed(typ, "prealm")
	}
	if err := parseOptNameField(&seq, 2, &k.PName); err != nil {
		return err
	}
	if k.HasFlags = seq.PeekASN1Tag(ctx(3)); k.HasFlags && !flagsField(&seq, 3, &k.Flags) {
		return malformed(typ, "flags")
	}
	times := []*time.Time{&k.AuthTime, &k.StartTime, &k.EndTime, &k.RenewTill}
	for i, t := range times {
		if !optTimeField(&seq, 4+i, t) {
			return malformed(typ, "times")
		}
	}
	if seq.PeekASN1Tag(ctx(8)) && !stringField(&seq, 8, &k.SRealm) {
		return malformed(typ, "srealm")
	}
	if err := parseOptNameField(&seq, 9, &k.SName); err != nil {
		return err
	}
	if err := parseAddressesField(&seq, 10, &k.CAddr); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes k.
func (k *EncKrbCredPart) Marshal() ([]byte, error) {
	const typ = "EncKrbCredPart"
	var e encoder
	if len(k.TicketInfo) > MaxSequence {
		e.fail(tooLarge(typ, "ticket-info"))
	}
	if k.HasUsec && !microseconds(k.Usec) {
		e.fail(invalid(typ, "usec"))
	}
	p := e.open(app(appEncKrbCredPart))
	q := e.open(tagSequence)
	r := e.open(ctx(0))
	u := e.open(tagSequence)
	for i := range k.TicketInfo {
		e.krbCredInfo(&k.TicketInfo[i])
	}
	e.close(u)
	e.close(r)
	if k.HasNonce {
		e.intField(1, int64(k.Nonce))
	}
	e.optTimeField(typ, "timestamp", 2, k.Timestamp)
	if k.HasUsec {
		e.intField(3, int64(k.Usec))
	}
	for i, a := range []*HostAddress{k.SAddress, k.RAddress} {
		if a != nil {
			r := e.open(ctx(4 + i))
			e.hostAddress(a)
			e.close(r)
		}
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}

func (e *encoder) krbCredInfo(k *KrbCredInfo) {
	const typ = "KrbCredInfo"
	p := e.open(tagSequence)
	e.keyField(0, &k.Key)
	if k.PRealm != "" {
		e.stringField(typ, "prealm", 1, k.PRealm)
	}
	if k.PName != nil {
		e.nameField(2, k.PName)
	}
	if k.HasFlags {
		e.flagsField(3, k.Flags)
	}
	e.optTimeField(typ, "authtime", 4, k.AuthTime)
	e.optTimeField(typ, "starttime", 5, k.StartTime)
	e.optTimeField(typ, "endtime", 6, k.EndTime)
	e.optTimeField(typ, "renew-till", 7, k.RenewTill)
	if k.SRealm != "" {
		e.stringField(typ, "srealm", 8, k.SRealm)
	}
	if k.SName != nil {
		e.nameField(9, k.SName)
	}
	if k.CAddr != nil {
		e.addressesField(10, k.CAddr)
	}
	e.close(p)
}
