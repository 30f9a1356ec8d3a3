package ntlmssp

import (
	"strconv"
	"strings"
)

// NegotiateFlags is the NegotiateFlags field shared by all three NTLM
// messages (MS-NLMP 2.2.2.5). The bit names follow the specification with the
// NTLMSSP_NEGOTIATE_ prefix dropped.
type NegotiateFlags uint32

// The NegotiateFlags bits, least significant first (MS-NLMP 2.2.2.5, bit
// letters A..W). Reserved bits that once had a meaning carry no constant: a
// sender must leave them zero and a receiver must ignore them.
const (
	FlagUnicode                 NegotiateFlags = 0x00000001 // A: strings are UTF-16LE
	FlagOEM                     NegotiateFlags = 0x00000002 // B: strings use the OEM code page
	FlagRequestTarget           NegotiateFlags = 0x00000004 // C: the server must send TargetName
	FlagSign                    NegotiateFlags = 0x00000010 // D: message integrity
	FlagSeal                    NegotiateFlags = 0x00000020 // E: message confidentiality
	FlagDatagram                NegotiateFlags = 0x00000040 // F: connectionless authentication
	FlagLMKey                   NegotiateFlags = 0x00000080 // G: LAN Manager session key
	FlagNTLM                    NegotiateFlags = 0x00000200 // H: NTLM v1 protocol
	FlagAnonymous               NegotiateFlags = 0x00000800 // J: anonymous connection
	FlagOEMDomainSupplied       NegotiateFlags = 0x00001000 // K: NEGOTIATE carries a domain name
	FlagOEMWorkstationSupplied  NegotiateFlags = 0x00002000 // L: NEGOTIATE carries a workstation name
	FlagAlwaysSign              NegotiateFlags = 0x00008000 // M: dummy signatures when SIGN is off
	FlagTargetTypeDomain        NegotiateFlags = 0x00010000 // N: TargetName is a domain
	FlagTargetTypeServer        NegotiateFlags = 0x00020000 // O: TargetName is a server
	FlagExtendedSessionSecurity NegotiateFlags = 0x00080000 // P: NTLM2 session security
	FlagIdentify                NegotiateFlags = 0x00100000 // Q: identify-level token
	FlagRequestNonNTSessionKey  NegotiateFlags = 0x00400000 // R: LMOWF-based session key
	FlagTargetInfo              NegotiateFlags = 0x00800000 // S: CHALLENGE carries TargetInfo
	FlagVersion                 NegotiateFlags = 0x02000000 // T: the Version field is meaningful
	Flag128                     NegotiateFlags = 0x20000000 // U: 128-bit session keys
	FlagKeyExch                 NegotiateFlags = 0x40000000 // V: explicit session key exchange
	Flag56                      NegotiateFlags = 0x80000000 // W: 56-bit session keys
)

var flagNames = [...]struct {
	f    NegotiateFlags
	name string
}{
	{FlagUnicode, "UNICODE"},
	{FlagOEM, "OEM"},
	{FlagRequestTarget, "REQUEST_TARGET"},
	{FlagSign, "SIGN"},
	{FlagSeal, "SEAL"},
	{FlagDatagram, "DATAGRAM"},
	{FlagLMKey, "LM_KEY"},
	{FlagNTLM, "NTLM"},
	{FlagAnonymous, "ANONYMOUS"},
	{FlagOEMDomainSupplied, "OEM_DOMAIN_SUPPLIED"},
	{FlagOEMWorkstationSupplied, "OEM_WORKSTATION_SUPPLIED"},
	{FlagAlwaysSign, "ALWAYS_SIGN"},
	{FlagTargetTypeDomain, "TARGET_TYPE_DOMAIN"},
	{FlagTargetTypeServer, "TARGET_TYPE_SERVER"},
	{FlagExtendedSessionSecurity, "EXTENDED_SESSIONSECURITY"},
	{FlagIdentify, "IDENTIFY"},
	{FlagRequestNonNTSessionKey, "REQUEST_NON_NT_SESSION_KEY"},
	{FlagTargetInfo, "TARGET_INFO"},
	{FlagVersion, "VERSION"},
	{Flag128, "128"},
	{FlagKeyExch, "KEY_EXCH"},
	{Flag56, "56"},
}

// String returns the set bits as spec names joined by "|", for logs.
// Reserved bits are shown as one trailing hexadecimal value.
func (f NegotiateFlags) String() string {
	if f == 0 {
		return "0"
	}
	var sb strings.Builder
	rest := f
	for _, n := range flagNames {
		if f&n.f == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('|')
		}
		sb.WriteString(n.name)
		rest &^= n.f
	}
	if rest != 0 {
		if sb.Len() > 0 {
			sb.WriteByte('|')
		}
		sb.WriteString("0x")
		sb.WriteString(strconv.FormatUint(uint64(rest), 16))
	}
	return sb.String()
}
