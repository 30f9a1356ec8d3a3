// Package dcerpc is the connection-oriented DCE/RPC transport (C706 chapter 12, with
// Microsoft's extensions in MS-RPCE 2.2.2) over TCP, as much of it as a Netlogon client
// needs: bind and bind_ack with one presentation context, requests and responses in
// fragments, faults, a security provider's verifier on every PDU after the bind (the
// Netlogon secure channel's, in internal/nrpc), and the endpoint mapper's ept_map
// (port 135) to find an interface's TCP port.
//
// Every PDU read from the wire is bounded (MaxFragment) and checked field by field
// before use: lengths against the fragment, the auth trailer against the body.
package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PDU types (C706 12.6.4).
const (
	ptypeRequest  = 0
	ptypeResponse = 2
	ptypeFault    = 3
	ptypeBind     = 11
	ptypeBindAck  = 12
	ptypeBindNak  = 13
)

// pfc_flags (C706 12.6.3.1; MS-RPCE 2.2.2.3).
const (
	pfcFirstFrag = 0x01
	pfcLastFrag  = 0x02
)

const (
	headerLen = 16
	// trailerLen is the sec_trailer before an auth value (MS-RPCE 2.2.2.11).
	trailerLen = 8
	// MaxFragment bounds a fragment we read, whatever the peer's max_xmit_frag says; it
	// is also the largest fragment we send.
	MaxFragment = 5840
	// MaxResponse bounds the stub data of one whole (reassembled) response.
	MaxResponse = 1 << 20
	// authPadAlign is the block the stub is padded to before a sec_trailer: MS-RPCE
	// requires 4, Windows and Samba use 16.
	authPadAlign = 16
)

// RecvFragment is the max_recv_frag a bind offers: Windows' 5840. It is a variable so
// that a test can make a server fragment a response that would otherwise fit in one; it
// must stay between 1432 (C706's minimum) and MaxFragment.
var RecvFragment = MaxFragment

// UUID is a DCE UUID in its NDR (little-endian fields) byte order.
type UUID [16]byte

// MustParseUUID parses "12345678-1234-abcd-ef00-01234567cffb"; it panics on a malformed
// constant.
func MustParseUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// ParseUUID parses a UUID's string form into its wire order.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	var raw [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("dcerpc: malformed UUID %q", s)
	}
	hex := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	for i := range raw {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return u, fmt.Errorf("dcerpc: malformed UUID %q", s)
		}
		raw[i] = hi<<4 | lo
	}
	// time_low, time_mid and time_hi_and_version are little-endian on the wire.
	u = raw
	u[0], u[1], u[2], u[3] = raw[3], raw[2], raw[1], raw[0]
	u[4], u[5] = raw[5], raw[4]
	u[6], u[7] = raw[7], raw[6]
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// SyntaxID is an interface or transfer syntax and its version (C706 12.6.3.1 p_syntax_id_t).
type SyntaxID struct {
	UUID         UUID
	Major, Minor uint16
}

func (s SyntaxID) append(b []byte) []byte {
	b = append(b, s.UUID[:]...)
	b = binary.LittleEndian.AppendUint16(b, s.Major)
	return binary.LittleEndian.AppendUint16(b, s.Minor)
}

// NDR20 is the NDR transfer syntax, 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2.
var NDR20 = SyntaxID{UUID: MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860"), Major: 2}

// header is the common header of a connection-oriented PDU (C706 12.6.3.1).
type header struct {
	ptype      uint8
	flags      uint8
	fragLength uint16
	authLength uint16
	callID     uint32
}

func (h header) append(b []byte) []byte {
	b = append(b, 5, 0, h.ptype, h.flags, 0x10, 0, 0, 0) // version 5.0, little-endian ASCII IEEE
	b = binary.LittleEndian.AppendUint16(b, h.fragLength)
	b = binary.LittleEndian.AppendUint16(b, h.authLength)
	return binary.LittleEndian.AppendUint32(b, h.callID)
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, errors.New("dcerpc: short PDU header")
	}
	if b[0] != 5 || b[1] != 0 {
		return header{}, fmt.Errorf("dcerpc: PDU version %d.%d, want 5.0", b[0], b[1])
	}
	if b[4]&0xf0 != 0x10 {
		return header{}, errors.New("dcerpc: the peer sends big-endian data, which this client does not read")
	}
	h := header{
		ptype:      b[2],
		flags:      b[3],
		fragLength: binary.LittleEndian.Uint16(b[8:]),
		authLength: binary.LittleEndian.Uint16(b[10:]),
		callID:     binary.LittleEndian.Uint32(b[12:]),
	}
	if h.fragLength < headerLen || int(h.fragLength) > MaxFragment {
		return header{}, fmt.Errorf("dcerpc: fragment length %d out of range", h.fragLength)
	}
	return h, nil
}

// authTrailer is a sec_trailer and its auth value (MS-RPCE 2.2.2.11).
type authTrailer struct {
	authType, authLevel, padLength uint8
	contextID                      uint32
	value                          []byte
}

func (t *authTrailer) append(b []byte) []byte {
	b = append(b, t.authType, t.authLevel, t.padLength, 0)
	b = binary.LittleEndian.AppendUint32(b, t.contextID)
	return append(b, t.value...)
}

// splitAuth separates a PDU body (after the header and the type's fixed fields) into the
// data and the trailer an auth_length announces.
func splitAuth(body []byte, authLength int) (data []byte, t *authTrailer, err error) {
	if authLength == 0 {
		return body, nil, nil
	}
	if authLength+trailerLen > len(body) {
		return nil, nil, fmt.Errorf("dcerpc: auth length %d does not fit in a %d-byte body", authLength, len(body))
	}
	at := len(body) - authLength - trailerLen
	tb := body[at:]
	t = &authTrailer{authType: tb[0], authLevel: tb[1], padLength: tb[2], contextID: binary.LittleEndian.Uint32(tb[4:]), value: tb[trailerLen:]}
	return body[:at], t, nil
}

// bindBody is the body of a bind with one presentation context (C706 12.6.4.3).
func bindBody(maxXmit, maxRecv uint16, contextID uint16, iface SyntaxID) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint16(b, maxXmit)
	b = binary.LittleEndian.AppendUint16(b, maxRecv)
	b = binary.LittleEndian.AppendUint32(b, 0) // a new association group
	b = append(b, 1, 0, 0, 0)                  // one context element
	b = binary.LittleEndian.AppendUint16(b, contextID)
	b = append(b, 1, 0) // one transfer syntax
	b = iface.append(b)
	return NDR20.append(b)
}

// bindAck is what a bind_ack says (C706 12.6.4.4).
type bindAck struct {
	maxXmit, maxRecv uint16
	result, reason   uint16
	transfer         SyntaxID
}

func parseBindAck(body []byte) (*bindAck, error) {
	bad := errors.New("dcerpc: malformed bind_ack")
	if len(body) < 10 {
		return nil, bad
	}
	a := &bindAck{maxXmit: binary.LittleEndian.Uint16(body), maxRecv: binary.LittleEndian.Uint16(body[2:])}
	n := int(binary.LittleEndian.Uint16(body[8:])) // sec_addr's port_spec, NUL included
	off := 10 + n
	off += (4 - (headerLen+off)%4) % 4 // the result list is 4-aligned in the PDU
	if off+4 > len(body) {
		return nil, bad
	}
	if body[off] < 1 {
		return nil, errors.New("dcerpc: bind_ack has no result for the presentation context")
	}
	off += 4
	if off+24 > len(body) {
		return nil, bad
	}
	a.result = binary.LittleEndian.Uint16(body[off:])
	a.reason = binary.LittleEndian.Uint16(body[off+2:])
	copy(a.transfer.UUID[:], body[off+4:off+20])
	a.transfer.Major = binary.LittleEndian.Uint16(body[off+20:])
	a.transfer.Minor = binary.LittleEndian.Uint16(body[off+22:])
	return a, nil
}

// Fault is a DCE/RPC fault PDU's status (C706 12.6.4.7; MS-RPCE 2.2.2.6): the server
// could not run the call (nca_s_op_rng_error, access denied, ...).
type Fault uint32

// Faults a Netlogon client may meet (C706 appendix E, MS-RPCE 3.1.1.5.5).
const (
	FaultAccessDenied     Fault = 0x00000005
	FaultOpRangeError     Fault = 0x1c010002 // nca_s_op_rng_error: no such operation
	FaultUnknownInterface Fault = 0x1c010003 // nca_s_unk_if
	FaultProtoError       Fault = 0x1c01000b
	FaultSecPkgError      Fault = 0x00000721 // RPC_S_SEC_PKG_ERROR
	FaultInvalidTag       Fault = 0x1c000006
	FaultRemoteDisabled   Fault = 0x1c00001c
)

func (f Fault) Error() string {
	names := map[Fault]string{
		FaultAccessDenied: "access denied", FaultOpRangeError: "operation out of range",
		FaultUnknownInterface: "unknown interface", FaultProtoError: "protocol error",
		FaultSecPkgError: "security package error", FaultInvalidTag: "invalid tag",
		FaultRemoteDisabled: "remote disabled",
	}
	if n, ok := names[f]; ok {
		return fmt.Sprintf("dcerpc: fault 0x%08x (%s)", uint32(f), n)
	}
	return fmt.Sprintf("dcerpc: fault 0x%08x", uint32(f))
}

// bindNakReasons are the reasons of a bind_nak (C706 12.6.3.1 p_reject_reason_t).
func bindNakError(body []byte) error {
	if len(body) < 2 {
		return errors.New("dcerpc: the server refused the bind (bind_nak)")
	}
	reason := binary.LittleEndian.Uint16(body)
	names := map[uint16]string{0: "not specified", 1: "temporary congestion", 2: "local limit exceeded",
		4: "protocol version not supported", 8: "authentication type not recognized", 9: "invalid checksum"}
	return fmt.Errorf("dcerpc: the server refused the bind (bind_nak, reason %d: %s)", reason, names[reason])
}
