package ntlmssp

import (
	"encoding/binary"
	"time"
)

// AvID identifies an AV_PAIR (MS-NLMP 2.2.2.1).
type AvID uint16

// The AV_PAIR identifiers of MS-NLMP 2.2.2.1.
const (
	MsvAvEOL             AvID = 0x0000 // end of list; never stored in an AVPairs
	MsvAvNbComputerName  AvID = 0x0001 // UTF-16 NetBIOS computer name
	MsvAvNbDomainName    AvID = 0x0002 // UTF-16 NetBIOS domain name
	MsvAvDnsComputerName AvID = 0x0003 // UTF-16 FQDN of the computer
	MsvAvDnsDomainName   AvID = 0x0004 // UTF-16 FQDN of the domain
	MsvAvDnsTreeName     AvID = 0x0005 // UTF-16 FQDN of the forest
	MsvAvFlags           AvID = 0x0006 // uint32, AvFlag* bits
	MsvAvTimestamp       AvID = 0x0007 // FILETIME of the server
	MsvAvSingleHost      AvID = 0x0008 // Single_Host_Data (MS-NLMP 2.2.2.2)
	MsvAvTargetName      AvID = 0x0009 // UTF-16 SPN the client targeted
	MsvAvChannelBindings AvID = 0x000A // MD5 of gss_channel_bindings_struct
)

// Bits of the MsvAvFlags value (MS-NLMP 2.2.2.1).
const (
	// AvFlagConstrained: the server's account authentication is constrained.
	AvFlagConstrained uint32 = 0x00000001
	// AvFlagMICPresent: the AUTHENTICATE_MESSAGE carries a MIC. The server
	// must then require and check it; this is what defeats MIC stripping,
	// since the flag is covered by NTProofStr.
	AvFlagMICPresent uint32 = 0x00000002
	// AvFlagUntrustedTarget: the SPN in MsvAvTargetName came from an
	// untrusted source.
	AvFlagUntrustedTarget uint32 = 0x00000004
)

// maxAVPairs bounds the number of pairs accepted by ParseAVPairs. A
// CHALLENGE from Windows carries about eight, an NTLMv2 client challenge
// about eleven.
const maxAVPairs = 64

// AVPair is one AV_PAIR. Value aliases the parsed buffer.
type AVPair struct {
	ID    AvID
	Value []byte
}

// AVPairs is an AV_PAIR list such as the TargetInfo of a CHALLENGE_MESSAGE or
// the AvPairs of an NTLMv2_CLIENT_CHALLENGE, without its terminating
// MsvAvEOL: the terminator is implied, and AppendMarshal always writes it
// last.
type AVPairs []AVPair

// ParseAVPairs parses an AV_PAIR list. The list must end with MsvAvEOL
// (with a zero length); bytes after it are ignored, since the NTLMv2 client
// challenge is followed by padding. Duplicates are kept in order, as the
// peer sent them; Get returns the first, Set keeps only one. Values alias b.
// Errors wrap ErrMalformed.
func ParseAVPairs(b []byte) (AVPairs, error) {
	n, err := countAVPairs(b)
	if err != nil {
		return nil, err
	}
	l := make(AVPairs, 0, n)
	for off := 0; ; {
		id := AvID(binary.LittleEndian.Uint16(b[off:]))
		vlen := int(binary.LittleEndian.Uint16(b[off+2:]))
		if id == MsvAvEOL {
			return l, nil
		}
		off += 4
		l = append(l, AVPair{ID: id, Value: b[off : off+vlen : off+vlen]})
		off += vlen
	}
}

// countAVPairs validates an AV_PAIR list and returns the number of pairs
// before MsvAvEOL.
func countAVPairs(b []byte) (int, error) {
	n := 0
	for off := 0; ; n++ {
		if off+4 > len(b) {
			return 0, malformed("AV_PAIR list: no MsvAvEOL in %d bytes", len(b))
		}
		id := AvID(binary.LittleEndian.Uint16(b[off:]))
		vlen := int(binary.LittleEndian.Uint16(b[off+2:]))
		if id == MsvAvEOL {
			if vlen != 0 {
				return 0, malformed("AV_PAIR list: MsvAvEOL with length %d", vlen)
			}
			return n, nil
		}
		if n == maxAVPairs {
			return 0, malformed("AV_PAIR list: more than %d pairs", maxAVPairs)
		}
		off += 4
		if off+vlen > len(b) {
			return 0, malformed("AV_PAIR %#x: %d bytes past end", id, vlen)
		}
		off += vlen
	}
}

// AppendMarshal appends the wire form of l, ending with MsvAvEOL, to dst.
// Pairs with ID MsvAvEOL are skipped so the terminator is always last.
func (l AVPairs) AppendMarshal(dst []byte) []byte {
	for _, p := range l {
		if p.ID == MsvAvEOL {
			continue
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(p.ID))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p.Value)))
		dst = append(dst, p.Value...)
	}
	return append(dst, 0, 0, 0, 0)
}

// Marshal returns the wire form of l, ending with MsvAvEOL.
func (l AVPairs) Marshal() []byte {
	n := 4
	for _, p := range l {
		n += 4 + len(p.Value)
	}
	return l.AppendMarshal(make([]byte, 0, n))
}

// Get returns the value of the first pair with the given id.
func (l AVPairs) Get(id AvID) ([]byte, bool) {
	for _, p := range l {
		if p.ID == id {
			return p.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of the pair with the given id, or appends the pair
// if there is none. Later duplicates are removed, so the list says one
// thing about id. Values longer than 65535 bytes are truncated, which
// only a caller bug could produce.
func (l *AVPairs) Set(id AvID, value []byte) {
	if id == MsvAvEOL {
		return
	}
	if len(value) > 0xffff {
		value = value[:0xffff]
	}
	found := false
	out := (*l)[:0]
	for _, p := range *l {
		if p.ID == id {
			if found {
				continue
			}
			found = true
			p.Value = value
		}
		out = append(out, p)
	}
	if len(out) < len(*l) {
		clear((*l)[len(out):]) // drop references held by removed pairs
	}
	if !found {
		out = append(out, AVPair{ID: id, Value: value})
	}
	*l = out
}

// Delete removes every pair with the given id.
func (l *AVPairs) Delete(id AvID) {
	out := (*l)[:0]
	for _, p := range *l {
		if p.ID != id {
			out = append(out, p)
		}
	}
	clear((*l)[len(out):])
	*l = out
}

// GetString returns the first pair with the given id decoded from UTF-16LE,
// the encoding of every string-valued AV_PAIR.
func (l AVPairs) GetString(id AvID) (string, bool) {
	v, ok := l.Get(id)
	if !ok {
		return "", false
	}
	s, err := decodeUTF16(v)
	return s, err == nil
}

// SetString sets the pair with the given id to s encoded as UTF-16LE.
func (l *AVPairs) SetString(id AvID, s string) {
	l.Set(id, appendUTF16(nil, s))
}

// Flags returns the MsvAvFlags value; ok is false when the pair is absent
// or not 4 bytes long.
func (l AVPairs) Flags() (flags uint32, ok bool) {
	v, ok := l.Get(MsvAvFlags)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(v), true
}

// SetFlags sets MsvAvFlags to flags. A client adding AvFlagMICPresent
// should OR it into the server's value: f, _ := l.Flags(); l.SetFlags(f|AvFlagMICPresent).
func (l *AVPairs) SetFlags(flags uint32) {
	l.Set(MsvAvFlags, binary.LittleEndian.AppendUint32(nil, flags))
}

// Timestamp returns the MsvAvTimestamp value as a FILETIME; ok is false when
// the pair is absent or not 8 bytes long.
func (l AVPairs) Timestamp() (filetime uint64, ok bool) {
	v, ok := l.Get(MsvAvTimestamp)
	if !ok || len(v) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(v), true
}

// SetTimestamp sets MsvAvTimestamp to a FILETIME.
func (l *AVPairs) SetTimestamp(filetime uint64) {
	l.Set(MsvAvTimestamp, binary.LittleEndian.AppendUint64(nil, filetime))
}

// ChannelBindings returns the 16-byte MsvAvChannelBindings value.
func (l AVPairs) ChannelBindings() (hash [16]byte, ok bool) {
	v, ok := l.Get(MsvAvChannelBindings)
	if !ok || len(v) != 16 {
		return hash, false
	}
	return [16]byte(v), true
}

// SetChannelBindings sets MsvAvChannelBindings. A client without channel
// bindings sends 16 zero bytes (not the hash of an empty structure).
func (l *AVPairs) SetChannelBindings(hash [16]byte) {
	l.Set(MsvAvChannelBindings, append([]byte(nil), hash[:]...))
}

// filetimeEpochDelta is the number of 100 ns intervals between the FILETIME
// epoch (1601-01-01 UTC) and the Unix epoch.
const filetimeEpochDelta = 116444736000000000

// Filetime converts t to a Windows FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC, the format of MsvAvTimestamp and of the NTLMv2 client
// challenge TimeStamp.
func Filetime(t time.Time) uint64 {
	// Split seconds and nanoseconds so times far from 1970 do not
	// overflow UnixNano's int64.
	return uint64(t.Unix())*1e7 + uint64(t.Nanosecond())/100 + filetimeEpochDelta
}

// FiletimeToTime converts a FILETIME to a time.Time in UTC.
func FiletimeToTime(ft uint64) time.Time {
	d := int64(ft - filetimeEpochDelta) // wraps to negative for pre-1970
	return time.Unix(d/1e7, (d%1e7)*100).UTC()
}
