package ntlmssp

import (
	"crypto/md5"
	"encoding/binary"
)

// ChannelBindings is a GSS-API channel binding (RFC 2744 3.11), the
// gss_channel_bindings_struct that SSPI passes as SEC_CHANNEL_BINDINGS. For
// TLS only ApplicationData is set (e.g. "tls-server-end-point:" followed by
// the certificate hash, RFC 5929).
type ChannelBindings struct {
	InitiatorAddrType uint32
	InitiatorAddress  []byte
	AcceptorAddrType  uint32
	AcceptorAddress   []byte
	ApplicationData   []byte
}

// secChannelBindingsHeaderLen is the size of the fixed SEC_CHANNEL_BINDINGS
// header: eight uint32 fields.
const secChannelBindingsHeaderLen = 32

// ParseChannelBindings parses the SSPI SEC_CHANNEL_BINDINGS structure: a
// 32-byte header of (type, length, offset) for the initiator and acceptor
// addresses, (length, offset) for the application data, and the data at
// offsets counted from the start of b. Every range is checked against b.
// The returned slices alias b. Errors wrap ErrMalformed.
func ParseChannelBindings(b []byte) (*ChannelBindings, error) {
	if len(b) < secChannelBindingsHeaderLen {
		return nil, malformed("SEC_CHANNEL_BINDINGS is %d bytes, need 32", len(b))
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	part := func(name string, n, off uint32) ([]byte, error) {
		if n == 0 {
			return nil, nil
		}
		if uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, malformed("SEC_CHANNEL_BINDINGS %s: %d bytes at %d outside %d", name, n, off, len(b))
		}
		return b[off : off+n : off+n], nil
	}
	cb := &ChannelBindings{InitiatorAddrType: u32(0), AcceptorAddrType: u32(3)}
	var err error
	if cb.InitiatorAddress, err = part("initiator address", u32(1), u32(2)); err != nil {
		return nil, err
	}
	if cb.AcceptorAddress, err = part("acceptor address", u32(4), u32(5)); err != nil {
		return nil, err
	}
	if cb.ApplicationData, err = part("application data", u32(6), u32(7)); err != nil {
		return nil, err
	}
	return cb, nil
}

// Marshal returns cb as a SEC_CHANNEL_BINDINGS structure, with the data
// parts following the header in the order initiator, acceptor, application.
func (cb *ChannelBindings) Marshal() []byte {
	b := make([]byte, secChannelBindingsHeaderLen,
		secChannelBindingsHeaderLen+len(cb.InitiatorAddress)+len(cb.AcceptorAddress)+len(cb.ApplicationData))
	put := func(i int, v uint32) { binary.LittleEndian.PutUint32(b[4*i:], v) }
	add := func(lenIdx int, data []byte) {
		if len(data) == 0 {
			return // length and offset stay 0, as Schannel leaves them
		}
		put(lenIdx, uint32(len(data)))
		put(lenIdx+1, uint32(len(b)))
		b = append(b, data...)
	}
	put(0, cb.InitiatorAddrType)
	put(3, cb.AcceptorAddrType)
	add(1, cb.InitiatorAddress)
	add(4, cb.AcceptorAddress)
	add(6, cb.ApplicationData)
	return b
}

// Hash returns the MD5 hash NTLM puts in MsvAvChannelBindings (and Kerberos
// in the Bnd field of its authenticator checksum). See ChannelBindingsHash.
func (cb *ChannelBindings) Hash() [16]byte {
	return ChannelBindingsHash(cb.InitiatorAddrType, cb.InitiatorAddress,
		cb.AcceptorAddrType, cb.AcceptorAddress, cb.ApplicationData)
}

// ChannelBindingsHash returns MD5 of the gss_channel_bindings_struct
// serialization used by NTLM (MS-NLMP 2.2.2.1, MsvAvChannelBindings) and
// Kerberos (RFC 4121 4.1.1.2): each address as uint32 type, uint32 length
// and bytes, then uint32 length and bytes of the application data, all
// little-endian. When a caller has no channel bindings at all the AV pair
// carries 16 zero bytes instead, not this function of empty inputs.
func ChannelBindingsHash(initiatorAddrType uint32, initiatorAddr []byte, acceptorAddrType uint32, acceptorAddr []byte, appData []byte) [16]byte {
	h := md5.New()
	var w [8]byte
	binary.LittleEndian.PutUint32(w[0:], initiatorAddrType)
	binary.LittleEndian.PutUint32(w[4:], uint32(len(initiatorAddr)))
	h.Write(w[:])
	h.Write(initiatorAddr)
	binary.LittleEndian.PutUint32(w[0:], acceptorAddrType)
	binary.LittleEndian.PutUint32(w[4:], uint32(len(acceptorAddr)))
	h.Write(w[:])
	h.Write(acceptorAddr)
	binary.LittleEndian.PutUint32(w[0:], uint32(len(appData)))
	h.Write(w[:4])
	h.Write(appData)
	var out [16]byte
	h.Sum(out[:0])
	return out
}
