package ntlmssp

import "encoding/binary"

// ChallengeMessage is the CHALLENGE_MESSAGE a server answers with
// (MS-NLMP 2.2.1.2).
type ChallengeMessage struct {
	Flags NegotiateFlags
	// TargetName is the server's domain or computer name, UTF-16 if Flags
	// has FlagUnicode and OEM otherwise.
	TargetName      string
	ServerChallenge [8]byte
	// TargetInfo is the raw AV_PAIR list, terminator included (parse it
	// with ParseAVPairs). It is kept raw because an NTLMv2 client echoes
	// it into its response. ParseChallenge has checked that it is a
	// well-formed list; it aliases the parsed message.
	TargetInfo []byte
	// Version is sent when Flags has FlagVersion.
	Version Version
}

// challengeHeaderLen is the fixed part of a CHALLENGE_MESSAGE with Version.
const challengeHeaderLen = 56

// Marshal returns the wire form of m.
func (m *ChallengeMessage) Marshal() []byte {
	return m.AppendMarshal(make([]byte, 0, challengeHeaderLen+2*len(m.TargetName)+len(m.TargetInfo)))
}

// AppendMarshal appends the wire form of m to dst: the 56-byte header, then
// TargetName, then TargetInfo. TargetInfo is written as given; callers
// build it with AVPairs.Marshal.
func (m *ChallengeMessage) AppendMarshal(dst []byte) []byte {
	at := len(dst)
	dst = append(dst, signature[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, typeChallenge)
	dst = append(dst, make([]byte, 8)...) // TargetNameFields
	dst = binary.LittleEndian.AppendUint32(dst, uint32(m.Flags))
	dst = append(dst, m.ServerChallenge[:]...)
	dst = append(dst, make([]byte, 16)...) // Reserved, TargetInfoFields
	if m.Flags&FlagVersion != 0 {
		dst = m.Version.append(dst)
	} else {
		dst = append(dst, make([]byte, 8)...)
	}
	w := payloadWriter{buf: dst, at: at}
	w.putString(12, m.TargetName, m.Flags&FlagUnicode != 0)
	w.put(40, m.TargetInfo)
	return w.buf
}

// ParseChallenge parses a CHALLENGE_MESSAGE. It accepts the 32-byte form of
// old servers (no TargetInfo, no Version), the 48-byte form without Version
// and the current 56-byte one. The result aliases msg. Errors wrap
// ErrMalformed.
func ParseChallenge(msg []byte) (*ChallengeMessage, error) {
	if err := checkHeader(msg, typeChallenge, 32); err != nil {
		return nil, err
	}
	m := &ChallengeMessage{
		Flags:           NegotiateFlags(binary.LittleEndian.Uint32(msg[20:])),
		ServerChallenge: [8]byte(msg[24:32]),
	}
	name, err := readField(msg, 12)
	if err != nil {
		return nil, err
	}
	if m.TargetName, err = decodeString(name, m.Flags&FlagUnicode != 0); err != nil {
		return nil, err
	}
	hdr := min(len(msg), challengeHeaderLen)
	hdr = payloadStart(msg, hdr, 12)
	if hdr >= 48 {
		if m.TargetInfo, err = readField(msg, 40); err != nil {
			return nil, err
		}
		if len(m.TargetInfo) > 0 {
			if _, err := countAVPairs(m.TargetInfo); err != nil {
				return nil, err
			}
		}
		hdr = payloadStart(msg, hdr, 40)
	}
	if m.Flags&FlagVersion != 0 && hdr >= challengeHeaderLen {
		m.Version = parseVersion(msg[48:56])
	}
	return m, nil
}
