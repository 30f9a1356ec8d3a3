package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Ticket is RFC 4120 5.3's Ticket. A decoded Ticket keeps its DER in Raw (aliasing the input),
// and encoders that embed a Ticket write Raw back unchanged when it is set, so a ticket read
// from a KDC reply or a ccache reaches an AP-REQ or TGS-REQ byte for byte, never re-encoded.
type Ticket struct {
	Realm   string
	SName   PrincipalName
	EncPart EncryptedData
	// Raw is the Ticket's DER as received. When it is set, it is what gets encoded and the
	// other fields are not consulted: clear it after changing them.
	Raw []byte
}

// Ticket flags (RFC 4120 5.3, bit 0 the most significant), as uint32 masks.
const (
	FlagForwardable            = 1 << (31 - 1)
	FlagForwarded              = 1 << (31 - 2)
	FlagProxiable              = 1 << (31 - 3)
	FlagProxy                  = 1 << (31 - 4)
	FlagMayPostdate            = 1 << (31 - 5)
	FlagPostdated              = 1 << (31 - 6)
	FlagInvalid                = 1 << (31 - 7)
	FlagRenewable              = 1 << (31 - 8)
	FlagInitial                = 1 << (31 - 9)
	FlagPreAuthent             = 1 << (31 - 10)
	FlagHWAuthent              = 1 << (31 - 11)
	FlagTransitedPolicyChecked = 1 << (31 - 12)
	FlagOKAsDelegate           = 1 << (31 - 13)
	FlagEncPARep               = 1 << (31 - 15)
	FlagAnonymous              = 1 << (31 - 16)
)

// Unmarshal decodes a Ticket from b, which it must fill exactly.
func (t *Ticket) Unmarshal(b []byte) error {
	s, err := top(b, "Ticket")
	if err != nil {
		return err
	}
	if err := parseTicket(&s, t); err != nil {
		return inMessage(err, "Ticket")
	}
	if !s.Empty() {
		return &Error{Message: "Ticket", Err: ErrMalformed, Field: "trailing data"}
	}
	return nil
}

func parseTicket(s *cryptobyte.String, t *Ticket) error {
	const typ = "Ticket"
	var elem, body, seq cryptobyte.String
	if !s.ReadASN1Element(&elem, app(appTicket)) {
		return malformed(typ, "")
	}
	t.Raw = elem
	body = elem
	if !readASN1(&body, &seq, app(appTicket)) {
		return malformed(typ, "")
	}
	if !body.Empty() {
		return malformed(typ, "")
	}
	if !readASN1(&seq, &body, tagSequence) || !seq.Empty() {
		return malformed(typ, "")
	}
	var vno int32
	if !int32Field(&body, 0, &vno) {
		return malformed(typ, "tkt-vno")
	}
	if vno != 5 {
		return &Error{Type: typ, Field: "tkt-vno", Err: ErrVersion}
	}
	if !realmField(&body, 1, &t.Realm) {
		return malformed(typ, "realm")
	}
	if err := parseNameField(&body, 2, &t.SName); err != nil {
		return err
	}
	if err := parseEncDataField(&body, 3, &t.EncPart); err != nil {
		return err
	}
	if !body.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes t: Raw when set, else the fields.
func (t *Ticket) Marshal() ([]byte, error) {
	var e encoder
	e.ticket(t)
	return e.b, inMessage(e.err, "Ticket")
}

func (e *encoder) ticket(t *Ticket) {
	if t.Raw != nil {
		e.raw(t.Raw)
		return
	}
	p := e.open(app(appTicket))
	q := e.open(tagSequence)
	e.intField(0, 5)
	e.stringField("Ticket", "realm", 1, t.Realm)
	e.nameField(2, &t.SName)
	e.encDataField(3, &t.EncPart)
	e.close(q)
	e.close(p)
}

func (e *encoder) ticketField(n int, t *Ticket) {
	p := e.open(ctx(n))
	e.ticket(t)
	e.close(p)
}

func parseTicketField(s *cryptobyte.String, n int, t *Ticket) error {
	var c cryptobyte.String
	if !field(s, n, &c) {
		return malformed("Ticket", "")
	}
	if err := parseTicket(&c, t); err != nil {
		return err
	}
	if !c.Empty() {
		return malformed("Ticket", "")
	}
	return nil
}

// parseTickets reads SEQUENCE OF Ticket.
func parseTickets(c *cryptobyte.String) ([]Ticket, error) {
	var list []Ticket
	var ferr error
	ok, tooMany := seqOf(c, MaxSequence, func(s *cryptobyte.String) bool {
		var t Ticket
		if ferr = parseTicket(s, &t); ferr != nil {
			return false
		}
		list = append(list, t)
		return true
	})
	if tooMany {
		return nil, tooLarge("Ticket", "")
	}
	if ferr != nil {
		return nil, ferr
	}
	if !ok || !c.Empty() {
		return nil, malformed("Ticket", "")
	}
	return list, nil
}

func (e *encoder) ticketsField(n int, v []Ticket) {
	if len(v) > MaxSequence {
		e.fail(tooLarge("Ticket", ""))
	}
	p := e.open(ctx(n))
	q := e.open(tagSequence)
	for i := range v {
		e.ticket(&v[i])
	}
	e.close(q)
	e.close(p)
}

// EncTicketPart is RFC 4120 5.3's decrypted ticket part. Byte slices alias the plaintext.
type EncTicketPart struct {
	Flags     uint32
	Key       EncryptionKey
	CRealm    string
	CName     PrincipalName
	Transited TransitedEncoding
	AuthTime  time.Time
	StartTime time.Time // zero when absent
	EndTime   time.Time
	RenewTill time.Time // zero when absent
	// CAddr is nil when absent (an empty non-nil list is encoded as an empty SEQUENCE).
	CAddr    []HostAddress
	AuthData []AuthorizationData // nil when absent
}

// Unmarshal decodes an EncTicketPart from b, which it must fill exactly.
func (t *EncTicketPart) Unmarshal(b []byte) error {
	const typ = "EncTicketPart"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, app(appEncTicketPart)) || !s.Empty() || !readASN1(&seq, &s, tagSequence) || !seq.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	return inMessage(t.parse(&s), typ)
}

func (t *EncTicketPart) parse(s *cryptobyte.String) error {
	const typ = "EncTicketPart"
	if !flagsField(s, 0, &t.Flags) {
		return malformed(typ, "flags")
	}
	if err := parseKeyField(s, 1, &t.Key); err != nil {
		return err
	}
	if !realmField(s, 2, &t.CRealm) {
		return malformed(typ, "crealm")
	}
	if err := parseNameField(s, 3, &t.CName); err != nil {
		return err
	}
	var c, seq cryptobyte.String
	if !field(s, 4, &c) || !readASN1(&c, &seq, tagSequence) || !c.Empty() ||
		!int32Field(&seq, 0, &t.Transited.Type) || !octetsField(&seq, 1, &t.Transited.Contents) || !seq.Empty() {
		return malformed(typ, "transited")
	}
	if !timeField(s, 5, &t.AuthTime) {
		return malformed(typ, "authtime")
	}
	if !optTimeField(s, 6, &t.StartTime) {
		return malformed(typ, "starttime")
	}
	if !timeField(s, 7, &t.EndTime) {
		return malformed(typ, "endtime")
	}
	if !optTimeField(s, 8, &t.RenewTill) {
		return malformed(typ, "renew-till")
	}
	if err := parseAddressesField(s, 9, &t.CAddr); err != nil {
		return err
	}
	if err := parseAuthDataField(s, 10, &t.AuthData); err != nil {
		return err
	}
	if !s.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// Marshal encodes t.
func (t *EncTicketPart) Marshal() ([]byte, error) {
	const typ = "EncTicketPart"
	var e encoder
	p := e.open(app(appEncTicketPart))
	q := e.open(tagSequence)
	e.flagsField(0, t.Flags)
	e.keyField(1, &t.Key)
	e.stringField(typ, "crealm", 2, t.CRealm)
	e.nameField(3, &t.CName)
	r := e.open(ctx(4))
	u := e.open(tagSequence)
	e.intField(0, int64(t.Transited.Type))
	e.octetsField(1, t.Transited.Contents)
	e.close(u)
	e.close(r)
	e.timeField(typ, "authtime", 5, t.AuthTime)
	e.optTimeField(typ, "starttime", 6, t.StartTime)
	e.timeField(typ, "endtime", 7, t.EndTime)
	e.optTimeField(typ, "renew-till", 8, t.RenewTill)
	if t.CAddr != nil {
		e.addressesField(9, t.CAddr)
	}
	if t.AuthData != nil {
		e.authDataField(10, t.AuthData)
	}
	e.close(q)
	e.close(p)
	return e.b, inMessage(e.err, typ)
}
