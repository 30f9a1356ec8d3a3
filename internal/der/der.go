// Package der holds the small, strict DER helpers that gosspi's ASN.1 protocols share:
// SPNEGO (negotiate) and the GSS-API InitialContextToken framing that wraps SPNEGO and
// Kerberos tokens.
//
// Parsing is done with golang.org/x/crypto/cryptobyte, which already insists on DER's
// minimal, definite lengths; this package adds what cryptobyte leaves to the caller (object
// identifiers kept as raw content octets, checked for DER's minimal base-128 arcs, and the
// GSS framing). Encoding appends to a caller's slice so that a token can be built in one
// buffer with no intermediate allocation: callers compute the content length of each
// element bottom-up with Size and write it top-down with AppendHeader.
//
// Nothing here is API: the packages that use it keep their wire structs unexported.
package der

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Identifier octets used by the gosspi protocols (X.690 8.1.2).
const (
	TagInteger     = 0x02
	TagBitString   = 0x03
	TagOctetString = 0x04
	TagOID         = 0x06
	TagEnumerated  = 0x0a
	TagGeneral     = 0x1b // GeneralString
	TagSequence    = 0x30 // SEQUENCE, constructed
	TagApplication = 0x60 // [APPLICATION 0], constructed: the GSS InitialContextToken
)

// Context returns the identifier octet of the constructed context-specific tag [n]
// (0 <= n <= 30), the form every explicit tag in SPNEGO takes.
func Context(n int) byte { return 0xa0 | byte(n) }

// ContextTag is Context as a cryptobyte tag, for reading.
func ContextTag(n int) asn1.Tag { return asn1.Tag(n).ContextSpecific().Constructed() }

// HeaderLen returns the number of identifier and length octets of an element whose
// content is n bytes long, in DER's minimal length form.
func HeaderLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n <= 0xff:
		return 3
	case n <= 0xffff:
		return 4
	case n <= 0xffffff:
		return 5
	}
	return 6
}

// Size returns the encoded size of an element whose content is n bytes long.
func Size(n int) int { return HeaderLen(n) + n }

// AppendHeader appends the identifier octet tag and the DER length of n content bytes.
func AppendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendElement appends a primitive element: tag, length and content.
func AppendElement(dst []byte, tag byte, content []byte) []byte {
	return append(AppendHeader(dst, tag, len(content)), content...)
}

// OID is an OBJECT IDENTIFIER as its DER content octets, without tag and length: the form
// in which tokens carry it, so comparing two is a byte comparison and reading one from a
// token allocates nothing.
type OID []byte

var errBadOID = errors.New("der: malformed object identifier")

// ParseOID encodes a dotted OID ("1.2.840.113554.1.2.2").
func ParseOID(dotted string) (OID, error) {
	parts := strings.Split(dotted, ".")
	if len(parts) < 2 {
		return nil, errBadOID
	}
	arcs := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 63)
		if err != nil {
			return nil, errBadOID
		}
		arcs[i] = v
	}
	if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
		return nil, errBadOID
	}
	var o OID
	o = appendBase128(o, arcs[0]*40+arcs[1])
	for _, a := range arcs[2:] {
		o = appendBase128(o, a)
	}
	return o, nil
}

// MustOID is ParseOID for package-level constants; it panics on a malformed OID.
func MustOID(dotted string) OID {
	o, err := ParseOID(dotted)
	if err != nil {
		panic("der: bad OID constant " + dotted)
	}
	return o
}

func appendBase128(dst []byte, v uint64) []byte {
	n := 1
	for t := v >> 7; t != 0; t >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		b := byte(v>>(7*uint(i))) & 0x7f
		if i > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
	}
	return dst
}

// Valid reports whether o is well-formed DER content: at least one arc, every arc in
// minimal base-128 form (no leading 0x80 octet) and the last octet ending an arc.
func (o OID) Valid() bool {
	if len(o) == 0 || o[len(o)-1]&0x80 != 0 {
		return false
	}
	start := true
	for _, b := range o {
		if start && b == 0x80 {
			return false
		}
		start = b&0x80 == 0
	}
	return true
}

// Equal reports whether o and p are the same OID.
func (o OID) Equal(p OID) bool { return string(o) == string(p) }

// String returns o in dotted form, or "<malformed OID xx..>" when it is not Valid. Arcs
// larger than 63 bits are shown as "?", which no real mechanism OID has.
func (o OID) String() string {
	if !o.Valid() {
		return "<malformed OID " + hexString(o) + ">"
	}
	var b strings.Builder
	var v uint64
	first, overflow := true, false
	for _, c := range o {
		if v > 1<<56 {
			overflow = true
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			x, y := v/40, v%40
			if x > 2 {
				x, y = 2, v-80
			}
			b.WriteString(strconv.FormatUint(x, 10))
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(y, 10))
			first = false
		} else {
			b.WriteByte('.')
			if overflow {
				b.WriteByte('?')
			} else {
				b.WriteString(strconv.FormatUint(v, 10))
			}
		}
		v, overflow = 0, false
	}
	return b.String()
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	if len(b) > 16 {
		b = b[:16]
	}
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// Size returns the encoded size of o as an element.
func (o OID) Size() int { return Size(len(o)) }

// AppendOID appends o as an OBJECT IDENTIFIER element.
func AppendOID(dst []byte, o OID) []byte { return AppendElement(dst, TagOID, o) }

// ReadOID reads an OBJECT IDENTIFIER element from s into out, which then aliases s's
// bytes, and reports whether it was present and well-formed.
func ReadOID(s *cryptobyte.String, out *OID) bool {
	var c cryptobyte.String
	if !s.ReadASN1(&c, asn1.OBJECT_IDENTIFIER) || !OID(c).Valid() {
		return false
	}
	*out = OID(c)
	return true
}

// GSSTokenSize returns the size of a GSS-API InitialContextToken framing an inner token of
// n bytes for mech (RFC 2743 3.1).
func GSSTokenSize(mech OID, n int) int { return Size(mech.Size() + n) }

// AppendGSSToken appends the GSS-API InitialContextToken framing of RFC 2743 3.1,
// [APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerContextToken ANY }, around
// inner. SPNEGO's first token and every Kerberos initial token are framed this way.
func AppendGSSToken(dst []byte, mech OID, inner []byte) []byte {
	dst = AppendHeader(dst, TagApplication, mech.Size()+len(inner))
	dst = AppendOID(dst, mech)
	return append(dst, inner...)
}

// Errors from ParseGSSToken.
var (
	ErrNotGSSToken = errors.New("der: not a GSS-API initial context token (no [APPLICATION 0] framing)")
	ErrTrailing    = errors.New("der: trailing bytes after the token")
)

// ParseGSSToken undoes AppendGSSToken: it returns the mechanism OID and the inner token,
// both aliasing tok. The framing's length must cover tok exactly.
func ParseGSSToken(tok []byte) (mech OID, inner []byte, err error) {
	s := cryptobyte.String(tok)
	var body cryptobyte.String
	if !s.ReadASN1(&body, asn1.Tag(TagApplication)) {
		return nil, nil, ErrNotGSSToken
	}
	if !s.Empty() {
		return nil, nil, ErrTrailing
	}
	if !ReadOID(&body, &mech) {
		return nil, nil, errBadOID
	}
	return mech, body, nil
}

// PeekGSSMech returns the mechanism OID of a GSS-framed token without checking the rest,
// for telling Kerberos from SPNEGO before either parser runs. ok is false when tok does
// not start with a well-formed framing header and OID.
func PeekGSSMech(tok []byte) (mech OID, ok bool) {
	mech, _, err := ParseGSSToken(tok)
	return mech, err == nil
}
