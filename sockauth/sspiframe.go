package sockauth

import (
	"encoding/binary"
	"io"

	"github.com/gosspi/sspi"
)

// The Windows SDK sample's framing (FramingSSPI). Its SendMsg writes a DWORD length in
// the machine's byte order, which on every Windows machine is little-endian, then the
// bytes; it sends nothing at all for an empty buffer. ReceiveMsg reads the same.
//
//	+-------------------+------------------+
//	| n: uint32 LE      | n bytes          |
//	+-------------------+------------------+

// sspiHeaderLen is the size of a FramingSSPI frame header.
const sspiHeaderLen = 4

// readSSPIFrame reads one length-prefixed frame of at most limit bytes. A zero-length
// frame is returned as an empty, non-nil slice: the caller decides what it means.
func readSSPIFrame(r io.Reader, limit int, what string) ([]byte, error) {
	var hdr [sspiHeaderLen]byte
	if err := readHeader(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if uint64(n) > uint64(limit) {
		return nil, errTooLarge(what, uint64(n), limit)
	}
	return readBody(r, int(n))
}

// appendSSPIFrame appends payload as one frame.
func appendSSPIFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// The body of the greeting and of every later FramingSSPI message is the layout of the
// sample's EncryptThis: the size of the security token, the token, then the data.
//
//	+-------------------+------------------+------------------------+
//	| t: uint32 LE      | t bytes: token   | the rest: data         |
//	+-------------------+------------------+------------------------+
//
// token is EncryptMessage's SECBUFFER_TOKEN (the security trailer) and data the sealed
// bytes; or MakeSignature's signature and the data in the clear; or, with no protection,
// t = 0 and the data in the clear.

// appendSSPIBody appends token and data in the EncryptThis layout.
func appendSSPIBody(dst, token, data []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(token)))
	dst = append(dst, token...)
	return append(dst, data...)
}

// parseSSPIBody splits a body into its token and data; both alias b.
func parseSSPIBody(b []byte) (token, data []byte, err error) {
	if len(b) < 4 {
		return nil, nil, sspi.Errorf(sspi.ErrIncompleteMessage, "sockauth: a %d-byte message is shorter than its 4-byte token length", len(b))
	}
	t := binary.LittleEndian.Uint32(b)
	if uint64(t) > uint64(len(b)-4) {
		return nil, nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the message announces a %d-byte security token but holds only %d bytes after the length", t, len(b)-4)
	}
	return b[4 : 4+t], b[4+t:], nil
}
