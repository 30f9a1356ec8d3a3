package ntlmssp

import "encoding/binary"

// NegotiateMessage is the NEGOTIATE_MESSAGE a client sends first
// (MS-NLMP 2.2.1.1).
type NegotiateMessage struct {
	Flags NegotiateFlags
	// Domain and Workstation are OEM strings, sent only when Flags has
	// FlagOEMDomainSupplied / FlagOEMWorkstationSupplied. Windows clients
	// leave both empty.
	Domain      string
	Workstation string
	// Version is sent when Flags has FlagVersion; it is all zeros on the
	// wire otherwise.
	Version Version
}

// negotiateHeaderLen is the fixed part of the NEGOTIATE_MESSAGE including
// Version. Without Version it is 32 bytes.
const negotiateHeaderLen = 40

// Marshal returns the wire form of m.
func (m *NegotiateMessage) Marshal() []byte {
	return m.AppendMarshal(make([]byte, 0, negotiateHeaderLen+len(m.Domain)+len(m.Workstation)))
}

// AppendMarshal appends the wire form of m to dst. It always writes the
// 40-byte header with the Version field, as Windows does: some peers
// (gss-ntlmssp among them) reject the older 32-byte form.
func (m *NegotiateMessage) AppendMarshal(dst []byte) []byte {
	at := len(dst)
	dst = append(dst, signature[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, typeNegotiate)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(m.Flags))
	dst = append(dst, make([]byte, 16)...) // DomainNameFields, WorkstationFields
	if m.Flags&FlagVersion != 0 {
		dst = m.Version.append(dst)
	} else {
		dst = append(dst, make([]byte, 8)...)
	}
	w := payloadWriter{buf: dst, at: at}
	// The fields are OEM whatever the Unicode flag says (MS-NLMP 2.2.1.1),
	// and present only when their flag is.
	if m.Flags&FlagOEMDomainSupplied != 0 {
		w.putString(16, m.Domain, false)
	} else {
		w.putDesc(16, 0, len(w.buf)-at)
	}
	if m.Flags&FlagOEMWorkstationSupplied != 0 {
		w.putString(24, m.Workstation, false)
	} else {
		w.putDesc(24, 0, len(w.buf)-at)
	}
	return w.buf
}

// ParseNegotiate parses a NEGOTIATE_MESSAGE. It accepts both the 32-byte
// form (no Version, as sent by older and non-Windows clients) and the
// 40-byte one. Errors wrap ErrMalformed.
func ParseNegotiate(msg []byte) (*NegotiateMessage, error) {
	// A 16-byte message (signature, type, flags) was sent by very old
	// clients; MS-NLMP requires the two field descriptors, so 32 is the
	// minimum accepted here.
	if err := checkHeader(msg, typeNegotiate, 32); err != nil {
		return nil, err
	}
	m := &NegotiateMessage{Flags: NegotiateFlags(binary.LittleEndian.Uint32(msg[12:]))}
	// Only look at the names when their flags say they are there: clients
	// that do not set the flags may leave anything in the descriptors.
	hdr := negotiateHeaderLen
	if m.Flags&FlagOEMDomainSupplied != 0 {
		dom, err := readField(msg, 16)
		if err != nil {
			return nil, err
		}
		m.Domain = decodeOEM(dom)
		hdr = min(hdr, payloadStart(msg, hdr, 16))
	}
	if m.Flags&FlagOEMWorkstationSupplied != 0 {
		ws, err := readField(msg, 24)
		if err != nil {
			return nil, err
		}
		m.Workstation = decodeOEM(ws)
		hdr = min(hdr, payloadStart(msg, hdr, 24))
	}
	// The Version field exists only if the payload leaves room for it.
	if m.Flags&FlagVersion != 0 && len(msg) >= negotiateHeaderLen && hdr >= negotiateHeaderLen {
		m.Version = parseVersion(msg[32:40])
	}
	return m, nil
}

// payloadStart returns the smallest BufferOffset among the non-empty
// fields whose descriptors are at descs, or limit if none is smaller.
// It tells how long the fixed header of a message really is.
func payloadStart(msg []byte, limit int, descs ...int) int {
	start := limit
	for _, d := range descs {
		if o := fieldOffset(msg, d); o >= 0 && o < start {
			start = o
		}
	}
	return start
}
