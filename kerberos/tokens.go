package kerberos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The DER of the mechanism OIDs (RFC 1964 and Microsoft's variant).
var (
	oidKRB5   = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	oidMSKRB5 = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
)

// Context-establishment TOK_IDs (RFC 1964 1.1).
var (
	tokAPReq = [2]byte{0x01, 0x00}
	tokAPRep = [2]byte{0x02, 0x00}
	tokError = [2]byte{0x03, 0x00}
)

const (
	// maxHandshakeToken bounds what the parser looks at: tickets with large PACs reach
	// tens of kilobytes, never this.
	maxHandshakeToken = 1 << 20
)

// GSS context flags (RFC 2744) carried in the 0x8003 checksum.
const (
	gssDeleg    = 0x01
	gssMutual   = 0x02
	gssReplay   = 0x04
	gssSequence = 0x08
	gssConf     = 0x10
	gssInteg    = 0x20
)

var errShort = errors.New("truncated")

// appendGSSFramed appends the InitialContextToken framing of RFC 2743 3.1 (RFC 1964 1.1)
// around a Kerberos message with its TOK_ID.
func appendGSSFramed(dst []byte, tokID [2]byte, msg []byte) []byte {
	dst = slices.Grow(dst, gssHeaderMax+len(msg)) // one allocation at most
	dst = appendGSSHeader(dst, tokID, len(msg))
	return append(dst, msg...)
}

// gssHeaderMax is the longest header appendGSSHeader writes.
const gssHeaderMax = 1 + 5 + 11 + 2

// appendGSSHeader appends what comes before a Kerberos message of n bytes in its
// InitialContextToken framing: tag, length, OID, TOK_ID.
func appendGSSHeader(dst []byte, tokID [2]byte, n int) []byte {
	dst = append(dst, 0x60)
	dst = appendDERLength(dst, len(oidKRB5)+2+n)
	dst = append(dst, oidKRB5...)
	return append(dst, tokID[:]...)
}

func appendDERLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// parseGSSFramed undoes appendGSSFramed. It accepts either Kerberos OID, requires strict
// DER lengths, and never reads past b.
func parseGSSFramed(b []byte) (tokID [2]byte, msg []byte, err error) {
	if len(b) > maxHandshakeToken {
		return tokID, nil, fmt.Errorf("token of %d bytes is larger than %d", len(b), maxHandshakeToken)
	}
	if len(b) < 2 || b[0] != 0x60 {
		return tokID, nil, errors.New("not a GSS InitialContextToken (no 0x60 tag)")
	}
	n, hdr, err := parseDERLength(b[1:])
	if err != nil {
		return tokID, nil, err
	}
	body := b[1+hdr:]
	if n != len(body) {
		return tokID, nil, fmt.Errorf("InitialContextToken length %d does not match the %d bytes present", n, len(body))
	}
	if len(body) < len(oidKRB5)+2 {
		return tokID, nil, errShort
	}
	oid := body[:len(oidKRB5)]
	if !bytes.Equal(oid, oidKRB5) && !bytes.Equal(oid, oidMSKRB5) {
		return tokID, nil, fmt.Errorf("mechanism OID % x is not Kerberos", oid)
	}
	copy(tokID[:], body[len(oidKRB5):])
	return tokID, body[len(oidKRB5)+2:], nil
}

func parseDERLength(b []byte) (n, used int, err error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, errors.New("bad DER length")
	}
	if b[1] == 0 {
		return 0, 0, errors.New("non-minimal DER length")
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n < 0x80 || n > maxHandshakeToken {
		return 0, 0, errors.New("non-minimal or oversized DER length")
	}
	return n, 1 + k, nil
}

// gssChecksum is the content of the authenticator checksum of type 0x8003 (RFC 4121 4.1.1).
type gssChecksum struct {
	bindings [16]byte
	flags    uint32
	// deleg is the Deleg field: a KRB-CRED with a forwarded TGT (DlgOpt 1), present only
	// with gssDeleg. A parsed one aliases the authenticator's plaintext.
	deleg []byte
}

const checksumType8003 = 0x8003

func (c *gssChecksum) marshal() []byte {
	var b [24]byte
	return append([]byte(nil), c.put(&b)...)
}

// put writes the checksum into b (Lgth, Bnd, Flags; no delegation).
func (c *gssChecksum) put(b *[24]byte) []byte {
	binary.LittleEndian.PutUint32(b[0:], 16)
	copy(b[4:20], c.bindings[:])
	binary.LittleEndian.PutUint32(b[20:], c.flags)
	return b[:]
}

func parseGSSChecksum(b []byte) (gssChecksum, error) {
	var c gssChecksum
	if len(b) < 24 {
		return c, fmt.Errorf("0x8003 checksum of %d bytes is shorter than 24", len(b))
	}
	if l := binary.LittleEndian.Uint32(b); l != 16 {
		return c, fmt.Errorf("0x8003 checksum binding length %d, want 16", l)
	}
	copy(c.bindings[:], b[4:20])
	c.flags = binary.LittleEndian.Uint32(b[20:])
	if c.flags&gssDeleg == 0 {
		return c, nil
	}
	// RFC 4121 4.1.1: DlgOpt (1), Dlgth and Deleg follow the flags when GSS_C_DELEG_FLAG is
	// set; extensions may follow them.
	if len(b) < 28 {
		// The flag without the field delegates nothing: accept the rest, as MIT does.
		c.flags &^= gssDeleg
		return c, nil
	}
	if o := binary.LittleEndian.Uint16(b[24:]); o != 1 {
		return c, fmt.Errorf("0x8003 checksum DlgOpt %d, want 1", o)
	}
	dl := int(binary.LittleEndian.Uint16(b[26:]))
	if 28+dl > len(b) {
		return c, errors.New("0x8003 checksum delegation field runs past its end")
	}
	c.deleg = b[28 : 28+dl]
	return c, nil
}

// appendDeleg appends the checksum with its delegation field (RFC 4121 4.1.1: Lgth, Bnd,
// Flags with GSS_C_DELEG_FLAG, DlgOpt 1, Dlgth, Deleg).
func (c *gssChecksum) appendDeleg(dst []byte) ([]byte, error) {
	if len(c.deleg) > 0xffff {
		return nil, fmt.Errorf("KRB-CRED of %d bytes does not fit the 0x8003 checksum's 16-bit length", len(c.deleg))
	}
	var b [24]byte
	ck := *c
	ck.flags |= gssDeleg
	dst = append(dst, ck.put(&b)...)
	dst = binary.LittleEndian.AppendUint16(dst, 1)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(c.deleg)))
	return append(dst, c.deleg...), nil
}

// framingLen is the length of the InitialContextToken framing (tag, length and OID, no
// TOK_ID) around an inner token of n bytes, as RFC 4757's per-message tokens carry it.
func framingLen(n int) int {
	var b [6]byte
	return 1 + len(appendDERLength(b[:0], len(oidKRB5)+n)) + len(oidKRB5)
}

// appendGSSFraming appends that framing.
func appendGSSFraming(dst []byte, n int) []byte {
	dst = append(dst, 0x60)
	dst = appendDERLength(dst, len(oidKRB5)+n)
	return append(dst, oidKRB5...)
}

// parseFramingLen reads the framing's tag and DER length and returns the length of the
// tag and length octets and the length they claim.
func parseFramingLen(b []byte) (hdr, n int, err error) {
	if len(b) < 2 || b[0] != 0x60 {
		return 0, 0, errors.New("no 0x60 tag")
	}
	n, used, err := parseDERLength(b[1:])
	return 1 + used, n, err
}
