// Package rdp holds the few parts of the Remote Desktop Protocol that come before and
// around CredSSP when RDP's Network Level Authentication is used (MS-RDPBCGR): the TPKT
// framing, the X.224 Connection Request and Confirm with their RDP negotiation
// structures, the Early User Authorization Result of PROTOCOL_HYBRID_EX, and the reading
// of DER-delimited TSRequests from a stream. It is enough for an NLA gate (a server that
// authenticates an RDP client and stops) and for a client that authenticates to an RDP
// server; nothing of the RDP session itself is here.
//
// Every parser is bounded: an X.224 Connection Request or Confirm cannot be longer than
// its one-byte length indicator allows, and the readers refuse a length over their limit
// before they allocate.
package rdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gosspi/sspi"
)

// Security protocols of RDP_NEG_REQ.requestedProtocols and RDP_NEG_RSP.selectedProtocol
// (MS-RDPBCGR 2.2.1.1.1).
const (
	ProtocolRDP      uint32 = 0x00 // standard RDP security, no TLS
	ProtocolSSL      uint32 = 0x01 // TLS
	ProtocolHybrid   uint32 = 0x02 // TLS then CredSSP
	ProtocolRDSTLS   uint32 = 0x04
	ProtocolHybridEx uint32 = 0x08 // CredSSP then the Early User Authorization Result
	ProtocolRDSAAD   uint32 = 0x10
)

// RDP_NEG_REQ flags.
const (
	RestrictedAdminModeRequired      uint8 = 0x01
	RedirectedAuthenticationRequired uint8 = 0x02
	CorrelationInfoPresent           uint8 = 0x08
)

// RDP_NEG_RSP flags.
const (
	ExtendedClientDataSupported           uint8 = 0x01
	DynVCGFXProtocolSupported             uint8 = 0x02
	RestrictedAdminModeSupported          uint8 = 0x08
	RedirectedAuthenticationModeSupported uint8 = 0x10
)

// RDP_NEG_FAILURE failure codes (MS-RDPBCGR 2.2.1.2.2).
const (
	SSLRequiredByServer             uint32 = 1
	SSLNotAllowedByServer           uint32 = 2
	SSLCertNotOnServer              uint32 = 3
	InconsistentFlags               uint32 = 4
	HybridRequiredByServer          uint32 = 5
	SSLWithUserAuthRequiredByServer uint32 = 6
)

// Types of the RDP negotiation structures.
const (
	typeNegReq     = 0x01
	typeNegRsp     = 0x02
	typeNegFailure = 0x03
)

// X.224 TPDU codes (ITU-T X.224 13.3, 13.4), upper nibble.
const (
	tpduConnectionRequest = 0xE0
	tpduConnectionConfirm = 0xD0
)

const (
	tpktHeaderLen = 4
	tpktVersion   = 3
	// x224FixedLen is the fixed part of a CR or CC TPDU after the length indicator:
	// code, DST-REF (2), SRC-REF (2), class option.
	x224FixedLen   = 6
	negLen         = 8
	correlationLen = 36
	// MaxConnectionPDU is the largest X.224 Connection Request or Confirm: a TPKT header,
	// and a length indicator that counts at most 254 bytes after itself.
	MaxConnectionPDU = tpktHeaderLen + 1 + 254
)

func illegal(format string, args ...any) error {
	return sspi.Errorf(sspi.ErrIllegalMessage, "rdp: "+format, args...)
}

// ReadTPKT reads one TPKT-framed PDU (RFC 1006: version 3, reserved, 16-bit big-endian
// length including the 4-byte header) of at most max bytes, and returns it whole.
func ReadTPKT(r io.Reader, max int) ([]byte, error) {
	var hdr [tpktHeaderLen]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the peer closed the connection inside a TPKT header: %w", err)
		}
		// A time-out or another I/O error stays what it is.
		return nil, err
	}
	if hdr[0] != tpktVersion {
		return nil, illegal("not a TPKT header (version %d, want 3): the peer does not speak RDP", hdr[0])
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n < tpktHeaderLen+1 {
		return nil, illegal("TPKT length %d is shorter than its header", n)
	}
	if n > max {
		return nil, illegal("TPKT length %d exceeds the %d-byte limit", n, max)
	}
	pdu := make([]byte, n)
	copy(pdu, hdr[:])
	if _, err := io.ReadFull(r, pdu[tpktHeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the peer closed the connection inside a %d-byte TPKT PDU: %w", n, err)
		}
		return nil, fmt.Errorf("rdp: reading a %d-byte TPKT PDU: %w", n, err)
	}
	return pdu, nil
}

// x224Body checks the TPKT header and the X.224 length indicator and fixed part of a CR
// or CC TPDU of type code, and returns the variable part after them.
func x224Body(pdu []byte, code byte, what string) ([]byte, error) {
	if len(pdu) < tpktHeaderLen+1+x224FixedLen || len(pdu) > MaxConnectionPDU {
		return nil, illegal("%s of %d bytes: not an X.224 connection PDU", what, len(pdu))
	}
	if pdu[0] != tpktVersion || int(binary.BigEndian.Uint16(pdu[2:])) != len(pdu) {
		return nil, illegal("%s: TPKT header does not match the PDU", what)
	}
	li := int(pdu[tpktHeaderLen])
	if li != len(pdu)-tpktHeaderLen-1 {
		return nil, illegal("%s: X.224 length indicator %d does not match the %d bytes that follow", what, li, len(pdu)-tpktHeaderLen-1)
	}
	x := pdu[tpktHeaderLen+1:]
	if x[0]&0xF0 != code {
		return nil, illegal("%s: X.224 TPDU code %#02x, want %#02x", what, x[0], code)
	}
	if x[5] != 0 {
		return nil, illegal("%s: X.224 class option %#02x, want class 0", what, x[5])
	}
	return x[x224FixedLen:], nil
}

func appendX224(dst []byte, code byte, varLen int) []byte {
	total := tpktHeaderLen + 1 + x224FixedLen + varLen
	dst = append(dst, tpktVersion, 0, byte(total>>8), byte(total))
	dst = append(dst, byte(1+x224FixedLen+varLen-1), code, 0, 0)
	// SRC-REF: Windows sends 0x1234 in its confirm and 0 in requests; nothing checks it.
	if code == tpduConnectionConfirm {
		dst = append(dst, 0x12, 0x34)
	} else {
		dst = append(dst, 0, 0)
	}
	return append(dst, 0)
}

// ConnectionRequest is the Client X.224 Connection Request PDU (MS-RDPBCGR 2.2.1.1).
type ConnectionRequest struct {
	// Cookie is the routingToken or cookie line without its CR LF, such as
	// "Cookie: mstshash=alice"; empty when absent.
	Cookie string
	// NegReq is false for a client that sends no RDP_NEG_REQ (one that speaks only
	// standard RDP security).
	NegReq             bool
	Flags              uint8
	RequestedProtocols uint32
	// Correlation is the 36-byte RDP_NEG_CORRELATION_INFO when Flags has
	// CorrelationInfoPresent.
	Correlation []byte
}

// Marshal returns the PDU with its TPKT header.
func (c *ConnectionRequest) Marshal() []byte {
	n := 0
	if c.Cookie != "" {
		n += len(c.Cookie) + 2
	}
	if c.NegReq {
		n += negLen
		if c.Flags&CorrelationInfoPresent != 0 {
			n += correlationLen
		}
	}
	b := appendX224(make([]byte, 0, tpktHeaderLen+1+x224FixedLen+n), tpduConnectionRequest, n)
	if c.Cookie != "" {
		b = append(append(b, c.Cookie...), '\r', '\n')
	}
	if c.NegReq {
		b = append(b, typeNegReq, c.Flags, negLen, 0)
		b = binary.LittleEndian.AppendUint32(b, c.RequestedProtocols)
		if c.Flags&CorrelationInfoPresent != 0 {
			var ci [correlationLen]byte
			copy(ci[:], c.Correlation)
			b = append(b, ci[:]...)
		}
	}
	return b
}

// ParseConnectionRequest parses a whole Connection Request PDU as ReadTPKT returns it.
func ParseConnectionRequest(pdu []byte) (*ConnectionRequest, error) {
	v, err := x224Body(pdu, tpduConnectionRequest, "X.224 Connection Request")
	if err != nil {
		return nil, err
	}
	c := new(ConnectionRequest)
	// The cookie or routing token runs to CR LF (2.2.1.1); it is text, never 0x01 first.
	if len(v) > 0 && v[0] != typeNegReq {
		i := strings.Index(string(v), "\r\n")
		if i < 0 {
			return nil, illegal("X.224 Connection Request: routing token or cookie without CR LF")
		}
		c.Cookie = string(v[:i])
		v = v[i+2:]
	}
	if len(v) == 0 {
		return c, nil
	}
	if len(v) < negLen || v[0] != typeNegReq || binary.LittleEndian.Uint16(v[2:]) != negLen {
		return nil, illegal("X.224 Connection Request: malformed RDP_NEG_REQ")
	}
	c.NegReq = true
	c.Flags = v[1]
	c.RequestedProtocols = binary.LittleEndian.Uint32(v[4:])
	v = v[negLen:]
	if c.Flags&CorrelationInfoPresent != 0 {
		if len(v) != correlationLen || v[0] != 0x06 || binary.LittleEndian.Uint16(v[2:]) != correlationLen {
			return nil, illegal("X.224 Connection Request: malformed RDP_NEG_CORRELATION_INFO")
		}
		c.Correlation = append([]byte(nil), v...)
		v = nil
	}
	if len(v) != 0 {
		return nil, illegal("X.224 Connection Request: %d bytes after RDP_NEG_REQ", len(v))
	}
	return c, nil
}

// ConnectionConfirm is the Server X.224 Connection Confirm PDU (MS-RDPBCGR 2.2.1.2)
// with an RDP_NEG_RSP, or an RDP_NEG_FAILURE when Failure is set.
type ConnectionConfirm struct {
	Failure bool
	Flags   uint8 // RDP_NEG_RSP flags; zero in a failure
	// Protocol is selectedProtocol, or failureCode when Failure is set.
	Protocol uint32
	// NoNegotiation is a confirm without RDP_NEG_RSP: the server speaks only standard
	// RDP security.
	NoNegotiation bool
}

// Marshal returns the PDU with its TPKT header.
func (c *ConnectionConfirm) Marshal() []byte {
	if c.NoNegotiation {
		return appendX224(nil, tpduConnectionConfirm, 0)
	}
	b := appendX224(make([]byte, 0, tpktHeaderLen+1+x224FixedLen+negLen), tpduConnectionConfirm, negLen)
	typ, flags := byte(typeNegRsp), c.Flags
	if c.Failure {
		typ, flags = typeNegFailure, 0
	}
	b = append(b, typ, flags, negLen, 0)
	return binary.LittleEndian.AppendUint32(b, c.Protocol)
}

// ParseConnectionConfirm parses a whole Connection Confirm PDU.
func ParseConnectionConfirm(pdu []byte) (*ConnectionConfirm, error) {
	v, err := x224Body(pdu, tpduConnectionConfirm, "X.224 Connection Confirm")
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return &ConnectionConfirm{NoNegotiation: true}, nil
	}
	if len(v) != negLen || binary.LittleEndian.Uint16(v[2:]) != negLen || (v[0] != typeNegRsp && v[0] != typeNegFailure) {
		return nil, illegal("X.224 Connection Confirm: malformed RDP_NEG_RSP or RDP_NEG_FAILURE")
	}
	return &ConnectionConfirm{Failure: v[0] == typeNegFailure, Flags: v[1], Protocol: binary.LittleEndian.Uint32(v[4:])}, nil
}

// FailureText names an RDP_NEG_FAILURE code, for error messages.
func FailureText(code uint32) string {
	switch code {
	case SSLRequiredByServer:
		return "SSL_REQUIRED_BY_SERVER"
	case SSLNotAllowedByServer:
		return "SSL_NOT_ALLOWED_BY_SERVER"
	case SSLCertNotOnServer:
		return "SSL_CERT_NOT_ON_SERVER"
	case InconsistentFlags:
		return "INCONSISTENT_FLAGS"
	case HybridRequiredByServer:
		return "HYBRID_REQUIRED_BY_SERVER"
	case SSLWithUserAuthRequiredByServer:
		return "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"
	}
	return fmt.Sprintf("failure code %d", code)
}
