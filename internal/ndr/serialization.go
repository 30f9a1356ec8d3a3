package ndr

import (
	"encoding/binary"
	"fmt"
)

// Type serialization version 1 (MS-RPCE 2.2.6): an 8-byte common header (version 1,
// little-endian, header length 8, filler 0xcccccccc) and an 8-byte private header (the
// length of the serialized data, a multiple of 8, and 4 filler bytes), then the data.
const serializationHeaderSize = 16

// ParseSerialization1 checks the headers of a version 1 type-serialized buffer and returns
// the serialized data that follows them (which alignment is relative to).
func ParseSerialization1(b []byte) ([]byte, error) {
	if len(b) < serializationHeaderSize {
		return nil, fmt.Errorf("ndr: type serialization header truncated (%d bytes)", len(b))
	}
	if b[0] != 1 || b[1] != 0x10 || binary.LittleEndian.Uint16(b[2:]) != 8 {
		return nil, fmt.Errorf("ndr: not a little-endian version 1 type serialization (header % x)", b[:4])
	}
	n := binary.LittleEndian.Uint32(b[8:])
	body := b[serializationHeaderSize:]
	if uint64(n) > uint64(len(body)) {
		return nil, fmt.Errorf("ndr: type serialization says %d bytes of data, %d follow", n, len(body))
	}
	return body[:n], nil
}

// AppendSerialization1 appends to dst the version 1 type serialization of data: the
// headers, then data padded with zeros to a multiple of 8.
func AppendSerialization1(dst, data []byte) []byte {
	n := (len(data) + 7) &^ 7
	dst = append(dst, 1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, data...)
	for i := len(data); i < n; i++ {
		dst = append(dst, 0)
	}
	return dst
}
