package ntlmssp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every error that reports a message or
// structure which does not follow the MS-NLMP wire format (bad signature,
// wrong message type, lengths or offsets outside the buffer, ...). Callers
// that implement SSPI map it to SEC_E_INVALID_TOKEN.
var ErrMalformed = errors.New("ntlmssp: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// signature is the 8-byte "NTLMSSP\0" that starts every message (MS-NLMP 2.2.1).
var signature = [8]byte{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0}

// Message types of MS-NLMP 2.2.1.
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

// maxMessageSize bounds every message this package parses. Real
// messages are a few hundred bytes (Windows caps NTLM tokens at 2888 bytes,
// the cbMaxToken it reports); 64 KiB leaves room for any plausible target
// info while keeping a hostile length field from mattering.
const maxMessageSize = 0xffff

// A field descriptor (Len, MaxLen, BufferOffset) locates one payload item
// (MS-NLMP 2.2.1.1-3). It is read as 8 bytes at off.
func readField(msg []byte, off int) ([]byte, error) {
	if off+8 > len(msg) {
		return nil, malformed("field descriptor at %d past end of %d-byte message", off, len(msg))
	}
	n := int(binary.LittleEndian.Uint16(msg[off:]))
	// MaxLen is ignored: the spec says it SHOULD equal Len and receivers
	// must not depend on it.
	start := int64(binary.LittleEndian.Uint32(msg[off+4:]))
	if n == 0 {
		// Empty fields carry arbitrary offsets in the wild (0, the end of
		// the message, the start of the payload); none of them matters.
		return nil, nil
	}
	if start+int64(n) > int64(len(msg)) {
		return nil, malformed("field at %d: %d bytes at offset %d outside %d-byte message", off, n, start, len(msg))
	}
	return msg[start : start+int64(n) : start+int64(n)], nil
}

// fieldOffset returns the BufferOffset of a non-empty field, or -1.
func fieldOffset(msg []byte, off int) int {
	if binary.LittleEndian.Uint16(msg[off:]) == 0 {
		return -1
	}
	return int(binary.LittleEndian.Uint32(msg[off+4:]))
}

// checkHeader verifies the signature and message type (MS-NLMP 2.2.1).
func checkHeader(msg []byte, typ uint32, min int) error {
	if len(msg) < min {
		return malformed("message is %d bytes, need at least %d", len(msg), min)
	}
	if len(msg) > maxMessageSize {
		return malformed("message is %d bytes, limit %d", len(msg), maxMessageSize)
	}
	if [8]byte(msg[:8]) != signature {
		return malformed("bad signature % x", msg[:8])
	}
	if t := binary.LittleEndian.Uint32(msg[8:]); t != typ {
		return malformed("message type %d, want %d", t, typ)
	}
	return nil
}

// payloadWriter lays out the variable part of a message: each put writes a
// field descriptor into the header at desc and appends the data.
type payloadWriter struct {
	buf []byte // the whole message built so far
	at  int    // where the message starts within buf (AppendMarshal)
}

func (w *payloadWriter) put(desc int, data []byte) {
	off := len(w.buf) - w.at
	w.buf = append(w.buf, data...)
	w.putDesc(desc, len(data), off)
}

func (w *payloadWriter) putDesc(desc, n, off int) {
	h := w.buf[w.at+desc:]
	binary.LittleEndian.PutUint16(h[0:], uint16(n))
	binary.LittleEndian.PutUint16(h[2:], uint16(n))
	binary.LittleEndian.PutUint32(h[4:], uint32(off))
}

// putString appends s in the encoding chosen by flags.
func (w *payloadWriter) putString(desc int, s string, unicode bool) {
	off := len(w.buf) - w.at
	if unicode {
		w.buf = appendUTF16(w.buf, s)
	} else {
		w.buf = appendOEM(w.buf, s)
	}
	w.putDesc(desc, len(w.buf)-w.at-off, off)
}

// Version is the VERSION structure (MS-NLMP 2.2.2.10). It is informational
// only and must not influence protocol decisions.
type Version struct {
	ProductMajor uint8  // e.g. 10 for Windows 10 / Server 2016+
	ProductMinor uint8  // e.g. 0
	ProductBuild uint16 // e.g. 20348
	// NTLMRevision is NTLMRevisionCurrent; senders use NTLMRevisionW2K3.
	NTLMRevision uint8
}

// NTLMRevisionW2K3 is NTLMSSP_REVISION_W2K3, the only NTLM revision in
// current use (MS-NLMP 2.2.2.10).
const NTLMRevisionW2K3 = 0x0F

func (v Version) append(b []byte) []byte {
	return append(b, v.ProductMajor, v.ProductMinor,
		byte(v.ProductBuild), byte(v.ProductBuild>>8), 0, 0, 0, v.NTLMRevision)
}

func parseVersion(b []byte) Version {
	return Version{
		ProductMajor: b[0],
		ProductMinor: b[1],
		ProductBuild: binary.LittleEndian.Uint16(b[2:]),
		NTLMRevision: b[7],
	}
}

// String formats v as "major.minor.build (revision)".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d (NTLM revision %d)", v.ProductMajor, v.ProductMinor, v.ProductBuild, v.NTLMRevision)
}

// appendUTF16 appends s as UTF-16LE, the "Unicode" encoding of MS-NLMP.
// Invalid UTF-8 becomes U+FFFD, as in a Go range loop.
func appendUTF16(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = append(b, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// decodeUTF16 decodes UTF-16LE. An odd trailing byte is malformed: every
// Unicode field in MS-NLMP has an even length.
func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", malformed("odd length %d for a UTF-16 string", len(b))
	}
	// Fast path for the common all-ASCII case: one allocation.
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		s := make([]byte, len(b)/2)
		for i := range s {
			s[i] = b[2*i]
		}
		return string(s), nil
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// appendOEM appends s in the "OEM" encoding. The OEM code page is a property
// of the sending machine that the protocol does not transmit; this package
// uses ISO 8859-1 (which agrees with every OEM code page on ASCII, all that
// interoperates in practice) and replaces anything else by '?', as Windows
// does for unmappable characters.
func appendOEM(b []byte, s string) []byte {
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// decodeOEM is the inverse of appendOEM.
func decodeOEM(b []byte) string {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			r := make([]rune, len(b))
			for i, c := range b {
				r[i] = rune(c)
			}
			return string(r)
		}
	}
	return string(b)
}

func decodeString(b []byte, unicode bool) (string, error) {
	if unicode {
		return decodeUTF16(b)
	}
	return decodeOEM(b), nil
}
