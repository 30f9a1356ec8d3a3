package pac

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gosspi/sspi/internal/ndr"
)

// PAC buffer types (MS-PAC 2.4).
const (
	TypeLogonInfo       = 1  // KERB_VALIDATION_INFO
	TypeCredentials     = 2  // PAC_CREDENTIAL_INFO (PKINIT only)
	TypeServerChecksum  = 6  // PAC_SIGNATURE_DATA, service key
	TypeKDCChecksum     = 7  // PAC_SIGNATURE_DATA, KDC key, over the server checksum
	TypeClientInfo      = 10 // PAC_CLIENT_INFO
	TypeDelegationInfo  = 11 // S4U_DELEGATION_INFO
	TypeUPNDNSInfo      = 12 // UPN_DNS_INFO
	TypeClientClaims    = 13 // PAC_CLIENT_CLAIMS_INFO
	TypeDeviceInfo      = 14 // PAC_DEVICE_INFO
	TypeDeviceClaims    = 15 // PAC_DEVICE_CLAIMS_INFO
	TypeTicketChecksum  = 16 // PAC_SIGNATURE_DATA, KDC key, over the ticket
	TypeAttributesInfo  = 17 // PAC_ATTRIBUTES_INFO
	TypeRequestor       = 18 // PAC_REQUESTOR
	TypeFullPACChecksum = 19 // PAC_SIGNATURE_DATA, KDC key, over the whole PAC
)

// Limits on what Parse accepts.
const (
	// MaxSize bounds a PAC. Windows caps the token a PAC may make at 64 KiB of groups by
	// default (MaxTokenSize); a PAC of many thousand groups still fits in 1 MiB.
	MaxSize = 1 << 20
	// MaxBuffers bounds the buffer count; Windows writes about ten.
	MaxBuffers = 64
)

const (
	headerSize    = 8  // cBuffers, Version
	infoEntrySize = 16 // ulType, cbBufferSize, Offset
)

// Buffer is one PAC_INFO_BUFFER and its data, which aliases the parsed PAC.
type Buffer struct {
	Type   uint32
	Offset int
	Data   []byte
}

// PAC is a parsed PACTYPE. The decoded fields are nil when their buffer is absent.
type PAC struct {
	// Raw is the PAC as given to Parse (the checksums are over it).
	Raw []byte
	// Buffers lists every buffer in order, the decoded ones too.
	Buffers []Buffer

	LogonInfo    *ValidationInfo
	ClientInfo   *ClientInfo
	UPNDNSInfo   *UPNDNSInfo
	RequestorSID *ndr.SID
	// ClientClaims and DeviceClaims are the claims buffers as sent (NDR-serialized and
	// possibly compressed CLAIMS_SET_METADATA), not decoded.
	ClientClaims, DeviceClaims []byte

	ServerSignature *Signature
	KDCSignature    *Signature
	// TicketSignature and FullSignature are kept, not verified: both are made with the
	// KDC's key, the first over the ticket as it was before the PAC was added.
	TicketSignature *Signature
	FullSignature   *Signature
}

// Parse decodes a PACTYPE (the data of an AD-WIN2K-PAC element). It checks the buffer
// table and decodes the buffers it knows; it does not verify anything.
func Parse(b []byte) (*PAC, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("pac: %d bytes, more than the %d accepted", len(b), MaxSize)
	}
	if len(b) < headerSize {
		return nil, errors.New("pac: PACTYPE header truncated")
	}
	n := binary.LittleEndian.Uint32(b)
	if v := binary.LittleEndian.Uint32(b[4:]); v != 0 {
		return nil, fmt.Errorf("pac: PACTYPE version %d, not 0", v)
	}
	if n == 0 || n > MaxBuffers {
		return nil, fmt.Errorf("pac: %d buffers (1 to %d accepted)", n, MaxBuffers)
	}
	end := headerSize + int(n)*infoEntrySize
	if end > len(b) {
		return nil, fmt.Errorf("pac: the table of %d buffers does not fit in %d bytes", n, len(b))
	}
	p := &PAC{Raw: b, Buffers: make([]Buffer, n)}
	seen := map[uint32]bool{}
	for i := range p.Buffers {
		e := b[headerSize+i*infoEntrySize:]
		typ, size, off := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint64(e[8:])
		if off%8 != 0 || off < uint64(end) || off > uint64(len(b)) || uint64(size) > uint64(len(b))-off {
			return nil, fmt.Errorf("pac: buffer %d (type %d) at offset %d, size %d lies outside the %d-byte PAC or is misaligned", i, typ, off, size, len(b))
		}
		if seen[typ] && unique(typ) {
			return nil, fmt.Errorf("pac: more than one buffer of type %d", typ)
		}
		seen[typ] = true
		p.Buffers[i] = Buffer{Type: typ, Offset: int(off), Data: b[off : off+uint64(size) : off+uint64(size)]}
		if err := p.decode(&p.Buffers[i]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// unique says whether a PAC may hold only one buffer of type t: the ones this package
// decodes (a second one could say something else than the first).
func unique(t uint32) bool {
	switch t {
	case TypeLogonInfo, TypeServerChecksum, TypeKDCChecksum, TypeClientInfo, TypeUPNDNSInfo,
		TypeClientClaims, TypeDeviceClaims, TypeTicketChecksum, TypeFullPACChecksum, TypeRequestor:
		return true
	}
	return false
}

func (p *PAC) decode(buf *Buffer) error {
	var err error
	switch buf.Type {
	case TypeLogonInfo:
		p.LogonInfo, err = ParseLogonInfo(buf.Data)
	case TypeClientInfo:
		p.ClientInfo, err = parseClientInfo(buf.Data)
	case TypeUPNDNSInfo:
		p.UPNDNSInfo, err = parseUPNDNSInfo(buf.Data)
	case TypeRequestor:
		var s ndr.SID
		if s, err = ndr.ParseBinarySID(buf.Data); err == nil {
			p.RequestorSID = &s
		}
	case TypeClientClaims:
		p.ClientClaims = buf.Data
	case TypeDeviceClaims:
		p.DeviceClaims = buf.Data
	case TypeServerChecksum:
		p.ServerSignature, err = parseSignature(buf)
	case TypeKDCChecksum:
		p.KDCSignature, err = parseSignature(buf)
	case TypeTicketChecksum:
		p.TicketSignature, err = parseSignature(buf)
	case TypeFullPACChecksum:
		p.FullSignature, err = parseSignature(buf)
	}
	if err != nil {
		return fmt.Errorf("pac: buffer type %d: %w", buf.Type, err)
	}
	return nil
}

// Buffer returns the data of the first buffer of type t, or nil.
func (p *PAC) Buffer(t uint32) []byte {
	for _, b := range p.Buffers {
		if b.Type == t {
			return b.Data
		}
	}
	return nil
}
