package negotiate

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Bounds on what the parsers accept. Real tokens are far smaller (a Kerberos AP-REQ with a
// large PAC is the biggest, around 12 KB; Windows lists at most five mechanisms), so the
// bounds cost nothing and keep a hostile peer from making a server parse or store much.
const (
	maxTokenSize = 64 << 10
	maxMechTypes = 32
	maxHintName  = 256
)

// negState is NegTokenResp's negState (RFC 4178 4.2.2), or stateAbsent.
type negState int8

const (
	stateAbsent      negState = -1
	acceptCompleted  negState = 0
	acceptIncomplete negState = 1
	reject           negState = 2
	requestMIC       negState = 3
)

func (s negState) String() string {
	switch s {
	case stateAbsent:
		return "absent"
	case acceptCompleted:
		return "accept-completed"
	case acceptIncomplete:
		return "accept-incomplete"
	case reject:
		return "reject"
	case requestMIC:
		return "request-mic"
	}
	return fmt.Sprintf("negState(%d)", int(s))
}

// hintNameValue is the only hintName Windows servers send in NegTokenInit2 (MS-SPNG 2.2.1).
const hintNameValue = "not_defined_in_RFC4178@please_ignore"

// negTokenInit is NegTokenInit (RFC 4178 4.2.1) or Microsoft's NegTokenInit2 (MS-SPNG
// 2.2.1), which share the [0] choice of NegotiationToken and differ at [3]: mechListMIC in
// the former, negHints (a SEQUENCE) in the latter, whose mechListMIC moves to [4].
type negTokenInit struct {
	mechTypes    []der.OID // aliasing the token
	hasMechTypes bool
	// mechTypesDER is the MechTypeList SEQUENCE exactly as it came (or goes) on the wire,
	// without the [0] wrapper: the bytes the mechListMIC covers (RFC 4178 5).
	mechTypesDER []byte
	reqFlags     []byte // BIT STRING contents; kept only to re-encode, never trusted
	hasReqFlags  bool
	mechToken    []byte
	hasMechToken bool
	hasHints     bool // NegTokenInit2's negHints is present
	hintName     []byte
	hasHintName  bool
	hintAddress  []byte
	hasHintAddr  bool
	mechListMIC  []byte
	hasMIC       bool
}

// negTokenResp is NegTokenResp (RFC 4178 4.2.2).
type negTokenResp struct {
	negState         negState
	supportedMech    der.OID // nil when absent
	responseToken    []byte
	hasResponseToken bool
	mechListMIC      []byte
	hasMIC           bool
}

var (
	errTooBig    = fmt.Errorf("token is larger than %d bytes", maxTokenSize)
	errTooMany   = fmt.Errorf("more than %d mechanisms listed", maxMechTypes)
	errTrailing  = errors.New("trailing bytes")
	errNotSPNEGO = errors.New("not an SPNEGO token")
)

// malformed reports a token that is not strict DER SPNEGO: SEC_E_INVALID_TOKEN, which is
// what every peer gets for a token it cannot parse, whatever the reason.
func malformed(what string, err error) error {
	return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: malformed %s: %w", what, err)
}

// parseInitialToken parses the initiator's first token (or a server's unsolicited
// NegTokenInit2): the GSS InitialContextToken framing with the SPNEGO OID around a
// NegotiationToken that must be the negTokenInit choice. t's slices alias tok.
func parseInitialToken(tok []byte, t *negTokenInit) error {
	if len(tok) > maxTokenSize {
		return malformed("NegTokenInit", errTooBig)
	}
	mech, inner, err := der.ParseGSSToken(tok)
	if err != nil {
		return malformed("NegTokenInit", err)
	}
	if !mech.Equal(oidSPNEGO) {
		return malformed("NegTokenInit", fmt.Errorf("framed for mechanism %v, %w", mech, errNotSPNEGO))
	}
	if err := parseNegTokenInit(inner, t); err != nil {
		return malformed("NegTokenInit", err)
	}
	return nil
}

// parseNegTokenInit parses the NegotiationToken of an initial token, field by field in
// the order RFC 4178 4.2.1 (and MS-SPNG 2.2.1 for NegTokenInit2) lays them out. t's
// mechTypes backing array is reused, so a context parses without allocating.
func parseNegTokenInit(b []byte, t *negTokenInit) error {
	mechTypes := t.mechTypes[:0]
	*t = negTokenInit{}
	s := cryptobyte.String(b)
	var choice, seq cryptobyte.String
	if !s.ReadASN1(&choice, der.ContextTag(0)) {
		return errors.New("not the negTokenInit [0] choice")
	}
	if !s.Empty() {
		return errTrailing
	}
	if !choice.ReadASN1(&seq, asn1.SEQUENCE) || !choice.Empty() {
		return errors.New("negTokenInit is not one SEQUENCE")
	}
	if err := readMechTypes(&seq, t, mechTypes); err != nil {
		return err
	}
	if err := readReqFlags(&seq, t); err != nil {
		return err
	}
	// [2] mechToken OCTET STRING OPTIONAL
	if !readOptionalOctets(&seq, 2, &t.mechToken, &t.hasMechToken) {
		return errors.New("bad mechToken")
	}
	if err := readMICOrHints(&seq, t); err != nil {
		return err
	}
	// [4] mechListMIC of NegTokenInit2; only after negHints.
	if t.hasHints {
		if !readOptionalOctets(&seq, 4, &t.mechListMIC, &t.hasMIC) {
			return errors.New("bad mechListMIC")
		}
	}
	return skipExtensions(seq, 5)
}

// readMechTypes reads [0] mechTypes, OPTIONAL only in NegTokenInit2 (the callers insist
// where RFC 4178 does), into t, appending the OIDs to mechTypes. The DER of the list is
// kept as it came: it is what the mechListMIC covers (RFC 4178 5).
func readMechTypes(seq *cryptobyte.String, t *negTokenInit, mechTypes []der.OID) error {
	var f cryptobyte.String
	if !seq.ReadOptionalASN1(&f, &t.hasMechTypes, der.ContextTag(0)) {
		return errors.New("bad mechTypes")
	}
	if t.hasMechTypes {
		var list cryptobyte.String
		start := f
		if !f.ReadASN1(&list, asn1.SEQUENCE) || !f.Empty() {
			return errors.New("mechTypes is not one SEQUENCE OF MechType")
		}
		t.mechTypesDER = start
		for !list.Empty() {
			if len(mechTypes) == maxMechTypes {
				return errTooMany
			}
			var o der.OID
			if !der.ReadOID(&list, &o) {
				return errors.New("mechTypes holds something other than a well-formed OID")
			}
			mechTypes = append(mechTypes, o)
		}
	}
	t.mechTypes = mechTypes
	return nil
}

// readReqFlags reads [1] reqFlags ContextFlags OPTIONAL.
func readReqFlags(seq *cryptobyte.String, t *negTokenInit) error {
	var f cryptobyte.String
	if !seq.ReadOptionalASN1(&f, &t.hasReqFlags, der.ContextTag(1)) {
		return errors.New("bad reqFlags")
	}
	if t.hasReqFlags {
		var bits []byte
		if !readBitString(&f, &bits) {
			return errors.New("reqFlags is not a BIT STRING")
		}
		if !f.Empty() {
			return errors.New("reqFlags has trailing bytes")
		}
		t.reqFlags = bits
	}
	return nil
}

// readMICOrHints reads field [3], which is mechListMIC in RFC 4178's NegTokenInit and
// negHints in MS-SPNG's NegTokenInit2: the inner tag says which.
func readMICOrHints(seq *cryptobyte.String, t *negTokenInit) error {
	var f cryptobyte.String
	var ok bool
	if !seq.ReadOptionalASN1(&f, &ok, der.ContextTag(3)) {
		return errors.New("bad field [3]")
	}
	if !ok {
		return nil
	}
	switch {
	case f.PeekASN1Tag(asn1.OCTET_STRING):
		if !f.ReadASN1Bytes(&t.mechListMIC, asn1.OCTET_STRING) || !f.Empty() {
			return errors.New("bad mechListMIC")
		}
		t.hasMIC = true
	case f.PeekASN1Tag(asn1.SEQUENCE):
		return parseNegHints(f, t)
	default:
		return errors.New("field [3] is neither mechListMIC nor negHints")
	}
	return nil
}

func parseNegHints(f cryptobyte.String, t *negTokenInit) error {
	var h cryptobyte.String
	if !f.ReadASN1(&h, asn1.SEQUENCE) || !f.Empty() {
		return errors.New("negHints is not one SEQUENCE")
	}
	t.hasHints = true
	var g cryptobyte.String
	if !h.ReadOptionalASN1(&g, &t.hasHintName, der.ContextTag(0)) {
		return errors.New("bad hintName")
	}
	if t.hasHintName {
		if !g.ReadASN1Bytes(&t.hintName, asn1.Tag(der.TagGeneral)) || !g.Empty() || len(t.hintName) > maxHintName {
			return errors.New("hintName is not a GeneralString")
		}
	}
	if !readOptionalOctets(&h, 1, &t.hintAddress, &t.hasHintAddr) {
		return errors.New("bad hintAddress")
	}
	if !h.Empty() {
		return errors.New("negHints has unknown fields")
	}
	return nil
}

// readBitString reads a BIT STRING and keeps its contents raw, unused-bits octet first.
// cryptobyte's byte form refuses a non-zero unused-bits count, but ContextFlags is a named
// bit list, for which DER drops trailing zero bits: "03 02 07 80" (delegFlag alone) is a
// legal encoding.
func readBitString(s *cryptobyte.String, out *[]byte) bool {
	var bs cryptobyte.String
	if !s.ReadASN1(&bs, asn1.BIT_STRING) || len(bs) == 0 || bs[0] > 7 || (len(bs) == 1 && bs[0] != 0) {
		return false
	}
	if pad := bs[0]; pad > 0 && bs[len(bs)-1]&(1<<pad-1) != 0 {
		return false // DER: unused bits are zero
	}
	*out = bs
	return true
}

func readOptionalOctets(s *cryptobyte.String, tag int, out *[]byte, present *bool) bool {
	var f cryptobyte.String
	if !s.ReadOptionalASN1(&f, present, der.ContextTag(tag)) {
		return false
	}
	if !*present {
		*out = nil
		return true
	}
	return f.ReadASN1Bytes(out, asn1.OCTET_STRING) && f.Empty()
}

// skipExtensions allows what RFC 4178's extension markers ("...") allow: further fields
// with higher context tags, in increasing order, which this version ignores. Anything
// else left over is an error.
func skipExtensions(s cryptobyte.String, next int) error {
	for !s.Empty() {
		var tag asn1.Tag
		var f cryptobyte.String
		if !s.ReadAnyASN1(&f, &tag) {
			return errors.New("garbage after the known fields")
		}
		n := int(tag &^ (0xe0))
		if tag != der.ContextTag(n) || n < next {
			return fmt.Errorf("unexpected field with tag %#x", uint8(tag))
		}
		next = n + 1
	}
	return nil
}

// parseNegTokenResp parses a NegTokenResp: the bare [1] choice that every token after
// the first carries. Old Sun SPNEGO framed it like an initial token; that form is taken
// too, as MIT's acceptor takes it. t's slices alias tok.
func parseNegTokenResp(tok []byte, t *negTokenResp) error {
	*t = negTokenResp{negState: stateAbsent}
	if len(tok) > maxTokenSize {
		return malformed("NegTokenResp", errTooBig)
	}
	if len(tok) > 0 && tok[0] == der.TagApplication {
		mech, inner, err := der.ParseGSSToken(tok)
		if err != nil {
			return malformed("NegTokenResp", err)
		}
		if !mech.Equal(oidSPNEGO) {
			return malformed("NegTokenResp", fmt.Errorf("framed for mechanism %v, %w", mech, errNotSPNEGO))
		}
		tok = inner
	}
	if err := parseNegTokenRespBody(tok, t); err != nil {
		return malformed("NegTokenResp", err)
	}
	return nil
}

func parseNegTokenRespBody(b []byte, t *negTokenResp) error {
	s := cryptobyte.String(b)
	var choice, seq, f cryptobyte.String
	if !s.ReadASN1(&choice, der.ContextTag(1)) {
		return errors.New("not the negTokenResp [1] choice")
	}
	if !s.Empty() {
		return errTrailing
	}
	if !choice.ReadASN1(&seq, asn1.SEQUENCE) || !choice.Empty() {
		return errors.New("negTokenResp is not one SEQUENCE")
	}
	var ok bool
	if !seq.ReadOptionalASN1(&f, &ok, der.ContextTag(0)) {
		return errors.New("bad negState")
	}
	if ok {
		var e cryptobyte.String
		if !f.ReadASN1(&e, asn1.ENUM) || !f.Empty() || len(e) != 1 || e[0] > byte(requestMIC) {
			return errors.New("negState is not one of the four ENUMERATED values")
		}
		t.negState = negState(e[0])
	}
	if !seq.ReadOptionalASN1(&f, &ok, der.ContextTag(1)) {
		return errors.New("bad supportedMech")
	}
	if ok {
		if !der.ReadOID(&f, &t.supportedMech) || !f.Empty() {
			return errors.New("supportedMech is not a well-formed OID")
		}
	}
	if !readOptionalOctets(&seq, 2, &t.responseToken, &t.hasResponseToken) {
		return errors.New("bad responseToken")
	}
	if !readOptionalOctets(&seq, 3, &t.mechListMIC, &t.hasMIC) {
		return errors.New("bad mechListMIC")
	}
	return skipExtensions(seq, 4)
}

// Encoding. Sizes are computed bottom-up, then the token is appended top-down to the
// caller's buffer: one pass, no intermediate buffers.

// octetsSize is the size of [tag] { OCTET STRING b }.
func octetsSize(n int) int { return der.Size(der.Size(n)) }

func appendOctets(dst []byte, tag int, b []byte) []byte {
	dst = der.AppendHeader(dst, der.Context(tag), der.Size(len(b)))
	return der.AppendElement(dst, der.TagOctetString, b)
}

// appendMechTypeList appends the DER MechTypeList (SEQUENCE OF OID).
func appendMechTypeList(dst []byte, oids []der.OID) []byte {
	n := 0
	for _, o := range oids {
		n += o.Size()
	}
	dst = der.AppendHeader(dst, der.TagSequence, n)
	for _, o := range oids {
		dst = der.AppendOID(dst, o)
	}
	return dst
}

func (t *negTokenInit) bodySize() int {
	n := 0
	if t.hasMechTypes {
		n += der.Size(len(t.mechTypesDER))
	}
	if t.hasReqFlags {
		n += der.Size(der.Size(len(t.reqFlags)))
	}
	if t.hasMechToken {
		n += octetsSize(len(t.mechToken))
	}
	if t.hasHints {
		n += der.Size(der.Size(t.hintsSize()))
	}
	if t.hasMIC {
		n += octetsSize(len(t.mechListMIC))
	}
	return n
}

func (t *negTokenInit) hintsSize() int {
	n := 0
	if t.hasHintName {
		n += der.Size(der.Size(len(t.hintName)))
	}
	if t.hasHintAddr {
		n += octetsSize(len(t.hintAddress))
	}
	return n
}

// appendInitialToken appends t as a framed initial token. mechTypesDER must hold the
// encoded MechTypeList when hasMechTypes is set (the MIC covers those very bytes).
func appendInitialToken(dst []byte, t *negTokenInit) []byte {
	body := t.bodySize()
	choice := der.Size(body)
	dst = slices.Grow(dst, der.GSSTokenSize(oidSPNEGO, der.Size(choice)))
	dst = der.AppendHeader(dst, der.TagApplication, oidSPNEGO.Size()+der.Size(choice))
	dst = der.AppendOID(dst, oidSPNEGO)
	dst = der.AppendHeader(dst, der.Context(0), choice)
	dst = der.AppendHeader(dst, der.TagSequence, body)
	if t.hasMechTypes {
		dst = der.AppendHeader(dst, der.Context(0), len(t.mechTypesDER))
		dst = append(dst, t.mechTypesDER...)
	}
	if t.hasReqFlags {
		dst = der.AppendHeader(dst, der.Context(1), der.Size(len(t.reqFlags)))
		dst = der.AppendElement(dst, der.TagBitString, t.reqFlags)
	}
	if t.hasMechToken {
		dst = appendOctets(dst, 2, t.mechToken)
	}
	micTag := 3
	if t.hasHints {
		micTag = 4
		dst = der.AppendHeader(dst, der.Context(3), der.Size(t.hintsSize()))
		dst = der.AppendHeader(dst, der.TagSequence, t.hintsSize())
		if t.hasHintName {
			dst = der.AppendHeader(dst, der.Context(0), der.Size(len(t.hintName)))
			dst = der.AppendElement(dst, der.TagGeneral, t.hintName)
		}
		if t.hasHintAddr {
			dst = appendOctets(dst, 1, t.hintAddress)
		}
	}
	if t.hasMIC {
		dst = appendOctets(dst, micTag, t.mechListMIC)
	}
	return dst
}

func (t *negTokenResp) bodySize() int {
	n := 0
	if t.negState != stateAbsent {
		n += der.Size(3) // a0 03 0a 01 xx
	}
	if t.supportedMech != nil {
		n += der.Size(t.supportedMech.Size())
	}
	if t.hasResponseToken {
		n += octetsSize(len(t.responseToken))
	}
	if t.hasMIC {
		n += octetsSize(len(t.mechListMIC))
	}
	return n
}

// size returns the encoded size of t.
func (t *negTokenResp) size() int { return der.Size(der.Size(t.bodySize())) }

// appendNegTokenResp appends t as a bare NegTokenResp.
func appendNegTokenResp(dst []byte, t *negTokenResp) []byte {
	body := t.bodySize()
	dst = slices.Grow(dst, der.Size(der.Size(body)))
	dst = der.AppendHeader(dst, der.Context(1), der.Size(body))
	dst = der.AppendHeader(dst, der.TagSequence, body)
	if t.negState != stateAbsent {
		dst = append(dst, der.Context(0), 3, der.TagEnumerated, 1, byte(t.negState))
	}
	if t.supportedMech != nil {
		dst = der.AppendHeader(dst, der.Context(1), t.supportedMech.Size())
		dst = der.AppendOID(dst, t.supportedMech)
	}
	if t.hasResponseToken {
		dst = appendOctets(dst, 2, t.responseToken)
	}
	if t.hasMIC {
		dst = appendOctets(dst, 3, t.mechListMIC)
	}
	return dst
}
