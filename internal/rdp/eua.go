package rdp

import (
	"encoding/binary"
	"io"

	"github.com/gosspi/sspi"
)

// Early User Authorization Result values (MS-RDPBCGR 2.2.10.2).
const (
	AuthzSuccess      uint32 = 0x00000000
	AuthzAccessDenied uint32 = 0x00000005
)

// EarlyUserAuthResultLen is the size of the Early User Authorization Result PDU: a
// little-endian 32-bit authorizationResult, sent by the server over TLS after CredSSP
// when PROTOCOL_HYBRID_EX was selected.
const EarlyUserAuthResultLen = 4

// AppendEarlyUserAuthResult appends the PDU carrying result.
func AppendEarlyUserAuthResult(dst []byte, result uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, result)
}

// ParseEarlyUserAuthResult parses the PDU; anything but exactly four bytes is malformed.
func ParseEarlyUserAuthResult(b []byte) (uint32, error) {
	if len(b) != EarlyUserAuthResultLen {
		return 0, illegal("Early User Authorization Result of %d bytes, want 4", len(b))
	}
	return binary.LittleEndian.Uint32(b), nil
}

// ReadEarlyUserAuthResult reads the PDU from a stream.
func ReadEarlyUserAuthResult(r io.Reader) (uint32, error) {
	var b [EarlyUserAuthResultLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the server closed the connection before the Early User Authorization Result: %w", err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}
