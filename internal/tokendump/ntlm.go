package tokendump

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/gosspi/sspi/internal/ntlmssp"
)

// ntlm decodes an NTLM message (MS-NLMP 2.2.1) by its MessageType.
func (d *builder) ntlm(b []byte) {
	if len(b) < 12 {
		d.n.Type = "NTLM message"
		d.fail("%d bytes, shorter than the 12-byte header", len(b))
		return
	}
	switch t := binary.LittleEndian.Uint32(b[8:]); t {
	case 1:
		d.ntlmNegotiate(b)
	case 2:
		d.ntlmChallenge(b)
	case 3:
		d.ntlmAuthenticate(b)
	default:
		d.n.Type = "NTLM message"
		d.addf("messageType", "%d (unknown)", t)
	}
}

func (d *builder) ntlmNegotiate(b []byte) {
	d.n.Type = "NTLM NEGOTIATE"
	m, err := ntlmssp.ParseNegotiate(b)
	if err != nil {
		d.fail("%v", err)
		return
	}
	d.ntlmFlags(m.Flags)
	if m.Domain != "" || m.Flags&ntlmssp.FlagOEMDomainSupplied != 0 {
		d.add("domain", m.Domain)
	}
	if m.Workstation != "" || m.Flags&ntlmssp.FlagOEMWorkstationSupplied != 0 {
		d.add("workstation", m.Workstation)
	}
	d.ntlmVersion(m.Flags, m.Version)
}

func (d *builder) ntlmChallenge(b []byte) {
	d.n.Type = "NTLM CHALLENGE"
	m, err := ntlmssp.ParseChallenge(b)
	if err != nil {
		d.fail("%v", err)
		return
	}
	d.ntlmFlags(m.Flags)
	d.add("targetName", m.TargetName)
	d.addHex("serverChallenge", m.ServerChallenge[:])
	if len(m.TargetInfo) > 0 {
		d.avPairs(d.child("targetInfo", "AV pairs"), m.TargetInfo)
	}
	d.ntlmVersion(m.Flags, m.Version)
}

func (d *builder) ntlmAuthenticate(b []byte) {
	d.n.Type = "NTLM AUTHENTICATE"
	m, err := ntlmssp.ParseAuthenticate(b)
	if err != nil {
		d.fail("%v", err)
		return
	}
	d.ntlmFlags(m.Flags)
	d.add("domain", m.DomainName)
	d.add("user", m.UserName)
	d.add("workstation", m.Workstation)
	d.addHex("lmChallengeResponse", m.LmChallengeResponse)
	d.ntResponse(m.NtChallengeResponse)
	if len(m.EncryptedRandomSessionKey) > 0 {
		d.addHex("encryptedRandomSessionKey", m.EncryptedRandomSessionKey)
	}
	d.ntlmVersion(m.Flags, m.Version)
	// Whether the MIC field is one is told by MsvAvFlags in the NTLMv2 response (MS-NLMP
	// 2.2.1.3), not by the layout.
	micMeant := false
	if v2, err := ntlmssp.ParseNTLMv2Response(m.NtChallengeResponse); err == nil {
		if f, ok := avFlags(v2.AVPairs); ok && f&ntlmssp.AvFlagMICPresent != 0 {
			micMeant = true
		}
	}
	switch {
	case m.MIC != nil && micMeant:
		d.addHex("MIC", m.MIC)
	case micMeant:
		d.add("MIC", "announced by MsvAvFlags but the header has no room for it")
	default:
		d.add("MIC", "absent")
	}
}

// ntResponse shows an NT response: NTLMv1's 24 bytes, or NTLMv2's structure.
func (d *builder) ntResponse(r []byte) {
	if len(r) == 24 || len(r) == 0 {
		d.addHex("ntChallengeResponse (NTLMv1)", r)
		return
	}
	c := d.child("ntChallengeResponse", "NTLMv2 response")
	v2, err := ntlmssp.ParseNTLMv2Response(r)
	if err != nil {
		c.addHex("bytes", r)
		c.fail("%v", err)
		return
	}
	c.addHex("NTProofStr", v2.NTProofStr[:])
	c.add("timestamp", filetime(v2.Timestamp))
	c.addHex("clientChallenge", v2.ClientChallenge[:])
	pairs := c.child("avPairs", "AV pairs")
	for _, p := range v2.AVPairs {
		pairs.avPair(p)
	}
}

func avFlags(pairs ntlmssp.AVPairs) (uint32, bool) {
	for _, p := range pairs {
		if p.ID == ntlmssp.MsvAvFlags && len(p.Value) == 4 {
			return binary.LittleEndian.Uint32(p.Value), true
		}
	}
	return 0, false
}

func (d *builder) avPairs(c *builder, raw []byte) {
	pairs, err := ntlmssp.ParseAVPairs(raw)
	if err != nil {
		c.fail("%v", err)
	}
	for _, p := range pairs {
		c.avPair(p)
	}
}

var avNames = map[ntlmssp.AvID]string{
	ntlmssp.MsvAvNbComputerName: "MsvAvNbComputerName", ntlmssp.MsvAvNbDomainName: "MsvAvNbDomainName",
	ntlmssp.MsvAvDnsComputerName: "MsvAvDnsComputerName", ntlmssp.MsvAvDnsDomainName: "MsvAvDnsDomainName",
	ntlmssp.MsvAvDnsTreeName: "MsvAvDnsTreeName", ntlmssp.MsvAvFlags: "MsvAvFlags",
	ntlmssp.MsvAvTimestamp: "MsvAvTimestamp", ntlmssp.MsvAvSingleHost: "MsvAvSingleHost",
	ntlmssp.MsvAvTargetName: "MsvAvTargetName", ntlmssp.MsvAvChannelBindings: "MsvAvChannelBindings",
}

var avFlagNames = []bitName{{1, "CONSTRAINED"}, {2, "MIC_PRESENT"}, {4, "UNTRUSTED_TARGET"}}

func (d *builder) avPair(p ntlmssp.AVPair) {
	name, ok := avNames[p.ID]
	if !ok {
		d.addHex(fmtID(p.ID), p.Value)
		return
	}
	switch p.ID {
	case ntlmssp.MsvAvFlags:
		if len(p.Value) == 4 {
			d.add(name, names(uint64(binary.LittleEndian.Uint32(p.Value)), avFlagNames))
			return
		}
	case ntlmssp.MsvAvTimestamp:
		if len(p.Value) == 8 {
			d.add(name, filetime(binary.LittleEndian.Uint64(p.Value)))
			return
		}
	case ntlmssp.MsvAvSingleHost, ntlmssp.MsvAvChannelBindings:
		if p.ID == ntlmssp.MsvAvChannelBindings && isZero(p.Value) {
			d.add(name, hexValue(p.Value)+" (no channel bindings)")
			return
		}
	default:
		d.add(name, utf16String(p.Value))
		return
	}
	d.addHex(name, p.Value)
}

func fmtID(id ntlmssp.AvID) string { return "AvId " + strconv.Itoa(int(id)) }

func (d *builder) ntlmFlags(f ntlmssp.NegotiateFlags) {
	d.addf("flags", "0x%08x (%s)", uint32(f), f.String())
}

func (d *builder) ntlmVersion(f ntlmssp.NegotiateFlags, v ntlmssp.Version) {
	if f&ntlmssp.FlagVersion != 0 {
		d.add("version", v.String())
	}
}

func filetime(ft uint64) string {
	if ft == 0 {
		return "0"
	}
	return ntlmssp.FiletimeToTime(ft).UTC().Format(time.RFC3339Nano)
}

func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
