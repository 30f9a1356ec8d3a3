package wire

import (
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Bounds applied by every decoder (and checked by the encoders).
const (
	// MaxMessageSize bounds a whole message. A Ticket with a large Active Directory PAC
	// stays well under it (Windows' MaxTokenSize is 48,000 bytes by default, 65,535 at most);
	// MIT's KDC reads TCP requests of up to 1 MiB too.
	MaxMessageSize = 1 << 20
	// MaxStringLen bounds a KerberosString or Realm in bytes.
	MaxStringLen = 4096
	// MaxNameComponents bounds the components of a PrincipalName. Real names have one to
	// three (user, service/host, krbtgt/REALM, an enterprise name is one); neither MIT nor
	// Heimdal sets a limit of its own, so this is a sanity bound with room to spare.
	MaxNameComponents = 16
	// MaxSequence bounds every other SEQUENCE OF: PA-DATA, etypes, addresses, authorization
	// data elements, LastReq, ETYPE-INFO2, tickets in KRB-CRED or additional-tickets.
	MaxSequence = 64
)

// Message types (RFC 4120 7.5.7), which are also the APPLICATION tag numbers.
const (
	MsgASReq    = 10
	MsgASRep    = 11
	MsgTGSReq   = 12
	MsgTGSRep   = 13
	MsgAPReq    = 14
	MsgAPRep    = 15
	MsgKRBCred  = 22
	MsgKRBError = 30
)

// APPLICATION tags of the other types (RFC 4120 5.10).
const (
	appTicket         = 1
	appAuthenticator  = 2
	appEncTicketPart  = 3
	appEncASRepPart   = 25
	appEncTGSRepPart  = 26
	appEncAPRepPart   = 27
	appEncKrbCredPart = 29
)

// Name types (RFC 4120 6.2, RFC 6806 5).
const (
	NameUnknown    = 0
	NamePrincipal  = 1
	NameSrvInst    = 2
	NameSrvHost    = 3
	NameEnterprise = 10
)

// MessageType returns the msg-type a DER-encoded message announces in its first octet
// (MsgASReq ... MsgKRBError), or 0 when it is none of them. It checks nothing else.
func MessageType(b []byte) int {
	if len(b) == 0 || b[0]&0xe0 != 0x60 {
		return 0
	}
	switch t := int(b[0] & 0x1f); t {
	case MsgASReq, MsgASRep, MsgTGSReq, MsgTGSRep, MsgAPReq, MsgAPRep, MsgKRBCred, MsgKRBError:
		return t
	}
	return 0
}

// PrincipalName is RFC 4120 5.2.2's name without its realm.
type PrincipalName struct {
	Type       int32
	Components []string
}

// Equal reports whether n and o have the same components (the name type is advisory,
// RFC 4120 6.2).
func (n PrincipalName) Equal(o PrincipalName) bool {
	if len(n.Components) != len(o.Components) {
		return false
	}
	for i := range n.Components {
		if n.Components[i] != o.Components[i] {
			return false
		}
	}
	return true
}

// String joins the components with "/", escaping "/", "@" and "\" as MIT's
// krb5_unparse_name does.
func (n PrincipalName) String() string {
	// Sized first: an acceptor names the client and the service on every AP-REQ, and a
	// one-component name without escapes is returned as it is.
	size, esc := len(n.Components), 0
	for _, c := range n.Components {
		size += len(c)
		for j := 0; j < len(c); j++ {
			switch c[j] {
			case '/', '@', '\\':
				esc++
			}
		}
	}
	if len(n.Components) == 1 && esc == 0 {
		return n.Components[0]
	}
	var b strings.Builder
	b.Grow(size + esc)
	for i, c := range n.Components {
		if i > 0 {
			b.WriteByte('/')
		}
		for j := 0; j < len(c); j++ {
			switch c[j] {
			case '/', '@', '\\':
				b.WriteByte('\\')
			}
			b.WriteByte(c[j])
		}
	}
	return b.String()
}

// parsePrincipalName reads a PrincipalName SEQUENCE. The components share one allocated
// string, so a name costs two allocations however many components it has.
func parsePrincipalName(s *cryptobyte.String, out *PrincipalName) error {
	return parsePrincipalNameOf(s, out, false)
}

// parsePrincipalNameOf is parsePrincipalName; allowEmpty accepts a name-string of no
// components, which Heimdal's KDC sends as a KRB-ERROR's sname when it has no name to give
// (KDC_ERR_S_PRINCIPAL_UNKNOWN: name-type 0, name-string {}).
func parsePrincipalNameOf(s *cryptobyte.String, out *PrincipalName, allowEmpty bool) error {
	const typ = "PrincipalName"
	var seq, names, list cryptobyte.String
	if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &out.Type) {
		return malformed(typ, "name-type")
	}
	if !field(&seq, 1, &names) || !readASN1(&names, &list, tagSequence) || !names.Empty() || !seq.Empty() {
		return malformed(typ, "name-string")
	}
	if c := internedName(list); c != nil {
		out.Components = c
		return nil
	}
	// First pass: validate and measure.
	n, total := 0, 0
	for it := list; !it.Empty(); n++ {
		var c cryptobyte.String
		if n == MaxNameComponents {
			return tooLarge(typ, "name-string")
		}
		if !readASN1(&it, &c, tagGeneralStr) || len(c) > MaxStringLen || hasNUL(c) {
			return malformed(typ, "name-string")
		}
		total += len(c)
	}
	if n == 0 && !allowEmpty {
		return malformed(typ, "name-string")
	}
	var b strings.Builder
	b.Grow(total)
	for it := list; !it.Empty(); {
		var c cryptobyte.String
		readASN1(&it, &c, tagGeneralStr)
		b.Write(c)
	}
	all := b.String()
	out.Components = make([]string, n)
	off := 0
	for i, it := 0, list; !it.Empty(); i++ {
		var c cryptobyte.String
		readASN1(&it, &c, tagGeneralStr)
		out.Components[i] = all[off : off+len(c)]
		off += len(c)
	}
	if n > 0 {
		keepName(list, out.Components[:n:n])
	}
	return nil
}

func hasNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

func (e *encoder) principalName(n *PrincipalName) {
	const typ = "PrincipalName"
	if len(n.Components) == 0 || len(n.Components) > MaxNameComponents {
		e.fail(invalid(typ, "name-string"))
	}
	p := e.open(tagSequence)
	e.intField(0, int64(n.Type))
	q := e.open(ctx(1))
	r := e.open(tagSequence)
	for _, c := range n.Components {
		e.str(typ, "name-string", c)
	}
	e.close(r)
	e.close(q)
	e.close(p)
}

func parseNameField(s *cryptobyte.String, n int, out *PrincipalName) error {
	return parseNameFieldOf(s, n, out, false)
}

func parseNameFieldOf(s *cryptobyte.String, n int, out *PrincipalName, allowEmpty bool) error {
	var c cryptobyte.String
	if !field(s, n, &c) {
		return malformed("PrincipalName", "")
	}
	if err := parsePrincipalNameOf(&c, out, allowEmpty); err != nil {
		return err
	}
	if !c.Empty() {
		return malformed("PrincipalName", "")
	}
	return nil
}

func parseOptNameField(s *cryptobyte.String, n int, out **PrincipalName) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return nil
	}
	*out = new(PrincipalName)
	return parseNameField(s, n, *out)
}

func (e *encoder) nameField(n int, v *PrincipalName) {
	p := e.open(ctx(n))
	e.principalName(v)
	e.close(p)
}

// EncryptedData is RFC 4120 5.2.9's ciphertext. Cipher aliases the decoded input.
type EncryptedData struct {
	EType int32
	// KVNO is the key version number; HasKVNO says whether it was (or is to be) sent.
	KVNO    uint32
	HasKVNO bool
	Cipher  []byte
}

func parseEncryptedData(s *cryptobyte.String, out *EncryptedData) error {
	const typ = "EncryptedData"
	var seq, c cryptobyte.String
	if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &out.EType) {
		return malformed(typ, "etype")
	}
	if !optional(&seq, 1, &c, &out.HasKVNO) {
		return malformed(typ, "kvno")
	}
	if out.HasKVNO {
		if !readUint32(&c, &out.KVNO) || !c.Empty() {
			return malformed(typ, "kvno")
		}
	}
	if !octetsField(&seq, 2, &out.Cipher) || !seq.Empty() {
		return malformed(typ, "cipher")
	}
	return nil
}

func parseEncDataField(s *cryptobyte.String, n int, out *EncryptedData) error {
	var c cryptobyte.String
	if !field(s, n, &c) {
		return malformed("EncryptedData", "")
	}
	if err := parseEncryptedData(&c, out); err != nil {
		return err
	}
	if !c.Empty() {
		return malformed("EncryptedData", "")
	}
	return nil
}

func (e *encoder) encryptedData(v *EncryptedData) {
	p := e.open(tagSequence)
	e.intField(0, int64(v.EType))
	if v.HasKVNO {
		e.intField(1, int64(v.KVNO))
	}
	e.octetsField(2, v.Cipher)
	e.close(p)
}

func (e *encoder) encDataField(n int, v *EncryptedData) {
	p := e.open(ctx(n))
	e.encryptedData(v)
	e.close(p)
}

// EncryptionKey is RFC 4120 5.2.9's key. Value aliases the decoded input (a decrypted
// plaintext), which the caller zeroes when done with it.
type EncryptionKey struct {
	Type  int32
	Value []byte
}

func parseKeyField(s *cryptobyte.String, n int, out *EncryptionKey) error {
	const typ = "EncryptionKey"
	var c, seq cryptobyte.String
	if !field(s, n, &c) || !readASN1(&c, &seq, tagSequence) || !c.Empty() {
		return malformed(typ, "")
	}
	if !int32Field(&seq, 0, &out.Type) {
		return malformed(typ, "keytype")
	}
	if !octetsField(&seq, 1, &out.Value) || !seq.Empty() {
		return malformed(typ, "keyvalue")
	}
	return nil
}

func parseOptKeyField(s *cryptobyte.String, n int, out **EncryptionKey) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return nil
	}
	*out = new(EncryptionKey)
	return parseKeyField(s, n, *out)
}

func (e *encoder) keyField(n int, v *EncryptionKey) {
	p := e.open(ctx(n))
	q := e.open(tagSequence)
	e.intField(0, int64(v.Type))
	e.octetsField(1, v.Value)
	e.close(q)
	e.close(p)
}

// Checksum is RFC 4120 5.2.9's checksum. Value aliases the decoded input.
type Checksum struct {
	Type  int32
	Value []byte
}

func parseOptChecksumField(s *cryptobyte.String, n int, out **Checksum) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return nil
	}
	v := new(Checksum)
	if err := parseChecksumField(s, n, v); err != nil {
		return err
	}
	*out = v
	return nil
}

// parseChecksumField reads [n] Checksum into v.
func parseChecksumField(s *cryptobyte.String, n int, v *Checksum) error {
	const typ = "Checksum"
	var c, seq cryptobyte.String
	if !field(s, n, &c) || !readASN1(&c, &seq, tagSequence) || !c.Empty() {
		return malformed(typ, "")
	}
	if !int32Field(&seq, 0, &v.Type) {
		return malformed(typ, "cksumtype")
	}
	if !octetsField(&seq, 1, &v.Value) || !seq.Empty() {
		return malformed(typ, "checksum")
	}
	return nil
}

func (e *encoder) checksumField(n int, v *Checksum) {
	p := e.open(ctx(n))
	q := e.open(tagSequence)
	e.intField(0, int64(v.Type))
	e.octetsField(1, v.Value)
	e.close(q)
	e.close(p)
}

// HostAddress is RFC 4120 5.2.5's address. Address aliases the decoded input.
type HostAddress struct {
	Type    int32
	Address []byte
}

// Address types (RFC 4120 7.5.3).
const (
	AddrIPv4        = 2
	AddrIPv6        = 24
	AddrNetBIOS     = 20
	AddrDirectional = 3
)

func parseHostAddress(s *cryptobyte.String, out *HostAddress) bool {
	var seq cryptobyte.String
	return readASN1(s, &seq, tagSequence) && int32Field(&seq, 0, &out.Type) &&
		octetsField(&seq, 1, &out.Address) && seq.Empty()
}

func (e *encoder) hostAddress(v *HostAddress) {
	p := e.open(tagSequence)
	e.intField(0, int64(v.Type))
	e.octetsField(1, v.Address)
	e.close(p)
}

// parseAddressesField reads an optional [n] HostAddresses; present distinguishes an empty
// list from an absent one.
func parseAddressesField(s *cryptobyte.String, n int, out *[]HostAddress) error {
	return listField(s, n, "HostAddresses", out, func(c *cryptobyte.String) ([]HostAddress, error) {
		return listOf(c, "HostAddresses", parseHostAddress)
	})
}

func (e *encoder) addressesField(n int, v []HostAddress) {
	if len(v) > MaxSequence {
		e.fail(tooLarge("HostAddresses", ""))
	}
	p := e.open(ctx(n))
	q := e.open(tagSequence)
	for i := range v {
		e.hostAddress(&v[i])
	}
	e.close(q)
	e.close(p)
}

// AuthorizationData is one element of RFC 4120 5.2.6's AuthorizationData. Data aliases the
// decoded input; an AD-IF-RELEVANT's Data is itself an AuthorizationData
// (ParseAuthorizationData).
type AuthorizationData struct {
	Type int32
	Data []byte
}

// Authorization data types (RFC 4120 7.5.4, MS-PAC).
const (
	ADIfRelevant        = 1
	ADWin2kPAC          = 128
	ADAuthDataAPOptions = 143
)

// parseAuthData is listOf written out for AuthorizationData, which every ticket with a
// PAC carries: without the indirect call nothing but the list escapes to the heap.
func parseAuthData(c *cryptobyte.String) ([]AuthorizationData, error) {
	const typ = "AuthorizationData"
	var seq cryptobyte.String
	if !readASN1(c, &seq, tagSequence) || !c.Empty() {
		return nil, malformed(typ, "")
	}
	n, err := countElements(seq, typ)
	if err != nil {
		return nil, err
	}
	list := make([]AuthorizationData, n)
	for i := range list {
		var e cryptobyte.String
		a := &list[i]
		if !readASN1(&seq, &e, tagSequence) || !int32Field(&e, 0, &a.Type) || !octetsField(&e, 1, &a.Data) || !e.Empty() {
			return nil, malformed(typ, "")
		}
	}
	if !seq.Empty() {
		return nil, malformed(typ, "")
	}
	return list, nil
}

// ParseAuthorizationData decodes an AuthorizationData SEQUENCE, such as the content of an
// AD-IF-RELEVANT element; the elements' Data alias b.
func ParseAuthorizationData(b []byte) ([]AuthorizationData, error) {
	s := cryptobyte.String(b)
	return parseAuthData(&s)
}

// MarshalAuthorizationData encodes ad as an AuthorizationData SEQUENCE (for AD-IF-RELEVANT).
func MarshalAuthorizationData(ad []AuthorizationData) ([]byte, error) {
	var e encoder
	e.authData(ad)
	return e.b, e.err
}

func parseAuthDataField(s *cryptobyte.String, n int, out *[]AuthorizationData) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return nil // absent: nil, not empty
	}
	var c cryptobyte.String
	if !field(s, n, &c) {
		return malformed("AuthorizationData", "")
	}
	list, err := parseAuthData(&c)
	if err != nil {
		return err
	}
	*out = list
	return nil
}

func (e *encoder) authData(v []AuthorizationData) {
	e.typedOctetsList("AuthorizationData", 0, len(v), func(i int) (int32, []byte) { return v[i].Type, v[i].Data })
}

// typedOctetsList encodes a SEQUENCE OF n SEQUENCEs of an Int32 type at [first] and an
// OCTET STRING at [first+1] (AuthorizationData, PA-DATA), element i given by at.
func (e *encoder) typedOctetsList(typ string, first, n int, at func(i int) (int32, []byte)) {
	if n > MaxSequence {
		e.fail(tooLarge(typ, ""))
	}
	q := e.open(tagSequence)
	for i := 0; i < n; i++ {
		t, b := at(i)
		r := e.open(tagSequence)
		e.intField(first, int64(t))
		e.octetsField(first+1, b)
		e.close(r)
	}
	e.close(q)
}

func (e *encoder) authDataField(n int, v []AuthorizationData) {
	p := e.open(ctx(n))
	e.authData(v)
	e.close(p)
}

// PAData is RFC 4120 5.2.7's pre-authentication element. Value aliases the decoded input.
type PAData struct {
	Type  int32
	Value []byte
}

// PA-DATA types in use (RFC 4120 7.5.2, RFC 6113, MS-KILE).
const (
	PATGSReq             = 1
	PAEncTimestamp       = 2
	PAPWSalt             = 3
	PAETypeInfo          = 11
	PAETypeInfo2         = 19
	PAPACRequest         = 128
	PAFXFast             = 136
	PAEncryptedChallenge = 138
	PAFXCookie           = 133
	PAFXError            = 137
	PAReqEncPAREP        = 149
)

// parsePAData reads SEQUENCE OF PA-DATA (METHOD-DATA); note PA-DATA's tags start at [1].
func parsePAData(c *cryptobyte.String) ([]PAData, error) {
	return listOf(c, "PA-DATA", func(s *cryptobyte.String, p *PAData) bool {
		var seq cryptobyte.String
		return readASN1(s, &seq, tagSequence) && int32Field(&seq, 1, &p.Type) &&
			octetsField(&seq, 2, &p.Value) && seq.Empty()
	})
}

func parsePADataField(s *cryptobyte.String, n int, out *[]PAData) error {
	return listField(s, n, "PA-DATA", out, parsePAData)
}

func (e *encoder) paData(v []PAData) {
	e.typedOctetsList("PA-DATA", 1, len(v), func(i int) (int32, []byte) { return v[i].Type, v[i].Value })
}

func (e *encoder) paDataField(n int, v []PAData) {
	p := e.open(ctx(n))
	e.paData(v)
	e.close(p)
}

// ParseMethodData decodes METHOD-DATA (SEQUENCE OF PA-DATA), the e-data of a
// KDC_ERR_PREAUTH_REQUIRED error.
func ParseMethodData(b []byte) ([]PAData, error) {
	if len(b) > MaxMessageSize {
		return nil, inMessage(tooLarge("METHOD-DATA", ""), "METHOD-DATA")
	}
	s := cryptobyte.String(b)
	list, err := parsePAData(&s)
	return list, inMessage(err, "METHOD-DATA")
}

// MarshalMethodData encodes METHOD-DATA.
func MarshalMethodData(pa []PAData) ([]byte, error) {
	var e encoder
	e.paData(pa)
	return e.b, inMessage(e.err, "METHOD-DATA")
}

// TypedData is one element of RFC 4120 5.9.1's TYPED-DATA. Value aliases the decoded input.
type TypedData struct {
	Type     int32
	Value    []byte
	HasValue bool
}

// ParseTypedData decodes TYPED-DATA, another form of KRB-ERROR e-data.
func ParseTypedData(b []byte) ([]TypedData, error) {
	const typ = "TYPED-DATA"
	if len(b) > MaxMessageSize {
		return nil, inMessage(tooLarge(typ, ""), typ)
	}
	s := cryptobyte.String(b)
	var list []TypedData
	ok, tooMany := seqOf(&s, MaxSequence, func(s *cryptobyte.String) bool {
		var seq cryptobyte.String
		var t TypedData
		if !readASN1(s, &seq, tagSequence) || !int32Field(&seq, 0, &t.Type) {
			return false
		}
		if seq.PeekASN1Tag(ctx(1)) {
			if !octetsField(&seq, 1, &t.Value) {
				return false
			}
			t.HasValue = true
		}
		list = append(list, t)
		return seq.Empty()
	})
	if tooMany {
		return nil, inMessage(tooLarge(typ, ""), typ)
	}
	if !ok || !s.Empty() || len(list) == 0 {
		return nil, inMessage(malformed(typ, ""), typ)
	}
	return list, nil
}

// MarshalTypedData encodes TYPED-DATA.
func MarshalTypedData(td []TypedData) ([]byte, error) {
	var e encoder
	if len(td) == 0 || len(td) > MaxSequence {
		e.fail(invalid("TYPED-DATA", ""))
	}
	q := e.open(tagSequence)
	for i := range td {
		r := e.open(tagSequence)
		e.intField(0, int64(td[i].Type))
		if td[i].HasValue {
			e.octetsField(1, td[i].Value)
		}
		e.close(r)
	}
	e.close(q)
	return e.b, inMessage(e.err, "TYPED-DATA")
}

// TransitedEncoding is RFC 4120 5.3's list of transited realms. Contents aliases the input.
type TransitedEncoding struct {
	Type     int32
	Contents []byte
}

// LastReq is one element of RFC 4120 5.4.2's LastReq.
type LastReq struct {
	Type  int32
	Value time.Time
}

// Marshal encodes v on its own, as the value of a PA-ENC-TIMESTAMP.
func (v *EncryptedData) Marshal() ([]byte, error) {
	var e encoder
	e.encryptedData(v)
	return e.b, inMessage(e.err, "EncryptedData")
}

// Unmarshal decodes an EncryptedData from b (a PA-ENC-TIMESTAMP value), which it must fill
// exactly. Cipher aliases b.
func (v *EncryptedData) Unmarshal(b []byte) error {
	s, err := top(b, "EncryptedData")
	if err != nil {
		return err
	}
	if err := parseEncryptedData(&s, v); err != nil {
		return inMessage(err, "EncryptedData")
	}
	if !s.Empty() {
		return inMessage(malformed("EncryptedData", ""), "EncryptedData")
	}
	return nil
}
