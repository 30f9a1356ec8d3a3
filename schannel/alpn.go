package schannel

import (
	"encoding/binary"

	"github.com/gosspi/sspi"
)

// This file is SEC_APPLICATION_PROTOCOLS, the content of a
// SECBUFFER_APPLICATION_PROTOCOLS buffer (sspi.h): a uint32 ProtocolListsSize, then
// SEC_APPLICATION_PROTOCOL_LIST entries of a uint32 ProtoNegoExt, a uint16
// ProtocolListSize and ProtocolList, the list as the TLS extension carries it (each
// protocol a length byte and its name). Integers are little-endian.

// protoNegoExtALPN is SecApplicationProtocolNegotiationExt_ALPN.
const protoNegoExtALPN = 2

// ApplicationProtocols returns the SEC_APPLICATION_PROTOCOLS structure that offers the
// given ALPN protocols, for a BufferApplicationProtocols buffer of the first
// InitializeSecurityContext or AcceptSecurityContext call. Protocols of 0 or more than
// 255 bytes are an error with ErrInvalidParameter.
func ApplicationProtocols(protos ...string) ([]byte, error) {
	var list []byte
	for _, p := range protos {
		if len(p) == 0 || len(p) > 255 {
			return nil, sspi.Errorf(sspi.ErrInvalidParameter, "schannel: an ALPN protocol name has 1 to 255 bytes, not %d", len(p))
		}
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	if len(list) > 0xFFFF-2 {
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "schannel: the ALPN protocol list is too long (%d bytes)", len(list))
	}
	b := make([]byte, 4, 4+6+len(list))
	binary.LittleEndian.PutUint32(b, uint32(6+len(list)))
	b = binary.LittleEndian.AppendUint32(b, protoNegoExtALPN)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(list)))
	return append(b, list...), nil
}

// applicationProtocols reads the ALPN protocols of the BufferApplicationProtocols buffer
// of in, if any. Lists of other extensions (NPN) are skipped.
func applicationProtocols(in []sspi.Buffer) ([]string, error) {
	buf := sspi.FindBuffer(in, sspi.BufferApplicationProtocols)
	if buf == nil {
		return nil, nil
	}
	return parseApplicationProtocols(buf.Data)
}

func parseApplicationProtocols(b []byte) ([]string, error) {
	bad := func(why string) error {
		return sspi.Errorf(sspi.ErrInvalidParameter, "schannel: the application-protocols buffer is not a SEC_APPLICATION_PROTOCOLS structure: %s (build it with ApplicationProtocols)", why)
	}
	if len(b) < 4 {
		return nil, bad("shorter than its size field")
	}
	size := binary.LittleEndian.Uint32(b)
	if uint64(size) > uint64(len(b)-4) {
		return nil, bad("its size runs past the buffer")
	}
	b = b[4 : 4+size]
	var protos []string
	for len(b) > 0 {
		if len(b) < 6 {
			return nil, bad("a list header is cut short")
		}
		ext := binary.LittleEndian.Uint32(b)
		n := int(binary.LittleEndian.Uint16(b[4:]))
		if n > len(b)-6 {
			return nil, bad("a list runs past the buffer")
		}
		list := b[6 : 6+n]
		b = b[6+n:]
		if ext != protoNegoExtALPN {
			continue
		}
		for len(list) > 0 {
			l := int(list[0])
			if l == 0 || l > len(list)-1 {
				return nil, bad("a protocol name is empty or runs past its list")
			}
			protos = append(protos, string(list[1:1+l]))
			list = list[1+l:]
		}
	}
	return protos, nil
}
