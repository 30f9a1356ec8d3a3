package ntlmssp

import "encoding/binary"

// AuthenticateMessage is the AUTHENTICATE_MESSAGE a client sends last
// (MS-NLMP 2.2.1.3).
type AuthenticateMessage struct {
	Flags NegotiateFlags
	// LmChallengeResponse and NtChallengeResponse are the responses of
	// MS-NLMP 3.3: 24 bytes each for NTLMv1; for NTLMv2 the LM response
	// is 24 bytes and the NT response an NTLMv2_RESPONSE.
	LmChallengeResponse []byte
	NtChallengeResponse []byte
	// DomainName, UserName and Workstation are UTF-16 if Flags has
	// FlagUnicode and OEM otherwise.
	DomainName  string
	UserName    string
	Workstation string
	// EncryptedRandomSessionKey is set when FlagKeyExch is negotiated.
	EncryptedRandomSessionKey []byte
	// Version is sent when Flags has FlagVersion.
	Version Version
	// MIC is the 16-byte message integrity code, or nil. When marshalling,
	// a non-nil MIC (normally 16 zero bytes, filled in afterwards with
	// ComputeMIC) makes room for it at MICOffset. When parsing, MIC is set
	// whenever the header is long enough to hold one; whether the client
	// meant it is told by AvFlagMICPresent in the NTLMv2 response, which
	// a server must consult instead of guessing from the layout.
	MIC []byte
	// MICOffset is where MIC lies in a parsed message (always 72, see the
	// constant MICOffset), or -1 if the message has no room for one.
	MICOffset int
}

// MICOffset is the offset of the MIC field in an AUTHENTICATE_MESSAGE: it
// follows the Version field, whether or not Version is meaningful
// (MS-NLMP 2.2.1.3).
const MICOffset = 72

const (
	authenticateHeaderLen    = 72 // through Version
	authenticateHeaderLenMIC = 88 // through MIC
)

// Field descriptor offsets in the AUTHENTICATE_MESSAGE header.
const (
	authLM          = 12
	authNT          = 20
	authDomain      = 28
	authUser        = 36
	authWorkstation = 44
	authSessionKey  = 52
)

// Marshal returns the wire form of m.
func (m *AuthenticateMessage) Marshal() []byte {
	n := authenticateHeaderLenMIC + len(m.LmChallengeResponse) + len(m.NtChallengeResponse) +
		2*(len(m.DomainName)+len(m.UserName)+len(m.Workstation)) + len(m.EncryptedRandomSessionKey)
	return m.AppendMarshal(make([]byte, 0, n))
}

// AppendMarshal appends the wire form of m to dst. The header always
// includes the Version field, and the MIC field when m.MIC is not nil; the
// payload follows in the order of the MS-NLMP 4.2 examples: domain, user,
// workstation, LM response, NT response, encrypted session key.
func (m *AuthenticateMessage) AppendMarshal(dst []byte) []byte {
	at := len(dst)
	dst = append(dst, signature[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, typeAuthenticate)
	dst = append(dst, make([]byte, 48)...) // six field descriptors
	dst = binary.LittleEndian.AppendUint32(dst, uint32(m.Flags))
	if m.Flags&FlagVersion != 0 {
		dst = m.Version.append(dst)
	} else {
		dst = append(dst, make([]byte, 8)...)
	}
	if m.MIC != nil {
		var mic [16]byte
		copy(mic[:], m.MIC)
		dst = append(dst, mic[:]...)
	}
	w := payloadWriter{buf: dst, at: at}
	unicode := m.Flags&FlagUnicode != 0
	w.putString(authDomain, m.DomainName, unicode)
	w.putString(authUser, m.UserName, unicode)
	w.putString(authWorkstation, m.Workstation, unicode)
	w.put(authLM, m.LmChallengeResponse)
	w.put(authNT, m.NtChallengeResponse)
	w.put(authSessionKey, m.EncryptedRandomSessionKey)
	return w.buf
}

// ParseAuthenticate parses an AUTHENTICATE_MESSAGE, with or without Version
// and MIC and with its payload in any order. The header length is inferred
// from the lowest payload offset. The result aliases msg. Errors wrap
// ErrMalformed.
func ParseAuthenticate(msg []byte) (*AuthenticateMessage, error) {
	if err := checkHeader(msg, typeAuthenticate, 64); err != nil {
		return nil, err
	}
	m := &AuthenticateMessage{
		Flags:     NegotiateFlags(binary.LittleEndian.Uint32(msg[60:])),
		MICOffset: -1,
	}
	var err error
	if m.LmChallengeResponse, err = readField(msg, authLM); err != nil {
		return nil, err
	}
	if m.NtChallengeResponse, err = readField(msg, authNT); err != nil {
		return nil, err
	}
	if m.EncryptedRandomSessionKey, err = readField(msg, authSessionKey); err != nil {
		return nil, err
	}
	unicode := m.Flags&FlagUnicode != 0
	for _, f := range [...]struct {
		desc int
		dst  *string
	}{{authDomain, &m.DomainName}, {authUser, &m.UserName}, {authWorkstation, &m.Workstation}} {
		b, err := readField(msg, f.desc)
		if err != nil {
			return nil, err
		}
		if *f.dst, err = decodeString(b, unicode); err != nil {
			return nil, err
		}
	}
	hdr := payloadStart(msg, len(msg), authLM, authNT, authDomain, authUser, authWorkstation, authSessionKey)
	if m.Flags&FlagVersion != 0 && hdr >= authenticateHeaderLen {
		m.Version = parseVersion(msg[64:72])
	}
	if hdr >= authenticateHeaderLenMIC {
		m.MIC = msg[MICOffset : MICOffset+16 : MICOffset+16]
		m.MICOffset = MICOffset
	}
	return m, nil
}
