package pac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Contents is what Build puts in a PAC.
type Contents struct {
	// LogonInfo is the KERB_VALIDATION_INFO; nil for none (as MIT's KDC issues).
	LogonInfo *ValidationInfo
	// ClientName and AuthTime make the PAC_CLIENT_INFO, always written: the ticket's
	// client name without the realm and its authtime.
	ClientName string
	AuthTime   time.Time
	// UPNDNSInfo is written when not nil.
	UPNDNSInfo *UPNDNSInfo
	// ClientClaims, when not nil, is written as the client claims buffer as is.
	ClientClaims []byte
	// Extra buffers are written as they are, after the ones above (their Offset is
	// ignored).
	Extra []Buffer
}

// Build encodes c as a PAC and signs it (MS-PAC 2.8): the server signature with
// serverKey, the key the ticket will be encrypted in, and the KDC signature with kdcKey.
func Build(c *Contents, serverKey, kdcKey *krbcrypto.Key) ([]byte, error) {
	if serverKey == nil || kdcKey == nil {
		return nil, errors.New("pac: Build needs the server and the KDC key")
	}
	var bufs []Buffer
	if c.LogonInfo != nil {
		bufs = append(bufs, Buffer{Type: TypeLogonInfo, Data: MarshalLogonInfo(c.LogonInfo)})
	}
	ci := ClientInfo{ClientID: FileTimeOf(c.AuthTime.Truncate(time.Second)), Name: c.ClientName}
	bufs = append(bufs, Buffer{Type: TypeClientInfo, Data: ci.marshal()})
	if c.UPNDNSInfo != nil {
		bufs = append(bufs, Buffer{Type: TypeUPNDNSInfo, Data: c.UPNDNSInfo.marshal()})
	}
	if c.ClientClaims != nil {
		bufs = append(bufs, Buffer{Type: TypeClientClaims, Data: c.ClientClaims})
	}
	for _, b := range c.Extra {
		switch b.Type {
		case TypeServerChecksum, TypeKDCChecksum:
			return nil, fmt.Errorf("pac: Build makes the signatures itself; an extra buffer has type %d", b.Type)
		}
		bufs = append(bufs, b)
	}
	srvType, kdcType := serverKey.EType().ChecksumType(), kdcKey.EType().ChecksumType()
	srvSize, kdcSize := checksumSize(srvType), checksumSize(kdcType)
	if srvSize == 0 || kdcSize == 0 {
		return nil, fmt.Errorf("pac: no PAC checksum for key types %v and %v", serverKey.EType(), kdcKey.EType())
	}
	bufs = append(bufs,
		Buffer{Type: TypeServerChecksum, Data: binary.LittleEndian.AppendUint32(make([]byte, 0, 4+srvSize), uint32(srvType))[:4+srvSize]},
		Buffer{Type: TypeKDCChecksum, Data: binary.LittleEndian.AppendUint32(make([]byte, 0, 4+kdcSize), uint32(kdcType))[:4+kdcSize]})

	out := layout(bufs)
	srvAt, kdcAt := bufs[len(bufs)-2].Offset+4, bufs[len(bufs)-1].Offset+4
	sum := serverKey.Usage(usageNonKerbChecksum).Checksum(nil, out)
	copy(out[srvAt:srvAt+srvSize], sum)
	sum = kdcKey.Usage(usageNonKerbChecksum).Checksum(nil, out[srvAt:srvAt+srvSize])
	copy(out[kdcAt:kdcAt+kdcSize], sum)
	return out, nil
}

// layout writes the PACTYPE: the header, the buffer table, and each buffer at an 8-byte
// aligned offset, zero-padded. It sets each buffer's Offset.
func layout(bufs []Buffer) []byte {
	off := headerSize + len(bufs)*infoEntrySize
	for i := range bufs {
		bufs[i].Offset = off
		off += (len(bufs[i].Data) + 7) &^ 7
	}
	out := make([]byte, off)
	binary.LittleEndian.PutUint32(out, uint32(len(bufs)))
	for i, b := range bufs {
		e := out[headerSize+i*infoEntrySize:]
		binary.LittleEndian.PutUint32(e, b.Type)
		binary.LittleEndian.PutUint32(e[4:], uint32(len(b.Data)))
		binary.LittleEndian.PutUint64(e[8:], uint64(b.Offset))
		copy(out[b.Offset:], b.Data)
	}
	return out
}

// AuthorizationData wraps a PAC as a ticket carries it: an AD-IF-RELEVANT element holding
// one AD-WIN2K-PAC element (MS-PAC 3.1).
func AuthorizationData(pac []byte) (wire.AuthorizationData, error) {
	inner, err := wire.MarshalAuthorizationData([]wire.AuthorizationData{{Type: wire.ADWin2kPAC, Data: pac}})
	if err != nil {
		return wire.AuthorizationData{}, err
	}
	return wire.AuthorizationData{Type: wire.ADIfRelevant, Data: inner}, nil
}

// Find returns the AD-WIN2K-PAC in a ticket's authorization data, looking inside
// AD-IF-RELEVANT elements as MS-PAC 3.1 places it; ok is false when there is none. More
// than one PAC is an error: which of them would count?
func Find(ad []wire.AuthorizationData) (pac []byte, ok bool, err error) {
	var found []byte
	n := 0
	for _, e := range ad {
		if e.Type != wire.ADIfRelevant {
			if e.Type == wire.ADWin2kPAC {
				return nil, false, errors.New("pac: an AD-WIN2K-PAC outside AD-IF-RELEVANT")
			}
			continue
		}
		inner, err := wire.ParseAuthorizationData(e.Data)
		if err != nil {
			return nil, false, fmt.Errorf("pac: AD-IF-RELEVANT: %w", err)
		}
		for _, in := range inner {
			if in.Type == wire.ADWin2kPAC {
				found = in.Data
				n++
			}
		}
	}
	if n > 1 {
		return nil, false, fmt.Errorf("pac: the ticket holds %d PACs", n)
	}
	return found, n == 1, nil
}
