package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestParseChallengeVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hex   string
		flags NegotiateFlags
		ti    string
		// exact: re-marshalling reproduces the bytes. The 4.2.2/4.2.3
		// messages have an all-zero TargetInfo descriptor where we write
		// the (empty) field's offset as the end of the message.
		exact bool
	}{
		{"4.2.2.3", challengeV1Hex, vFlagsV1, "", false},
		{"4.2.3.3", challengeV1ESSHex, vFlagsV1ESS, "", false},
		{"4.2.4.3", challengeV2Hex, vFlagsV2, targetInfoV2Hex, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := unhex(t, tc.hex)
			c, err := ParseChallenge(msg)
			if err != nil {
				t.Fatal(err)
			}
			if c.Flags != tc.flags || c.TargetName != vServer || c.ServerChallenge != vServerChallenge || c.Version != vSrvVer {
				t.Errorf("parsed %+v", c)
			}
			checkHex(t, "TargetInfo", c.TargetInfo, tc.ti)
			out := c.Marshal()
			if !tc.exact {
				// Normalise the empty descriptor the way the spec writes it.
				clear(out[40:48])
			}
			if !bytes.Equal(out, msg) {
				t.Errorf("re-marshal:\n got %x\nwant %x", out, msg)
			}
			c2, err := ParseChallenge(c.Marshal())
			if err != nil || c2.TargetName != c.TargetName || !bytes.Equal(c2.TargetInfo, c.TargetInfo) {
				t.Errorf("round trip: %+v, %v", c2, err)
			}
		})
	}
}

func TestChallengeShortForms(t *testing.T) {
	full := unhex(t, challengeV1Hex)
	// 32-byte form of old servers: no target name, info or version.
	old := bytes.Clone(full[:32])
	clear(old[12:20])
	c, err := ParseChallenge(old)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerChallenge != vServerChallenge || c.TargetName != "" || c.TargetInfo != nil || c.Version != (Version{}) {
		t.Errorf("parsed %+v", c)
	}
	// 48-byte header (no Version) with the target name right after it.
	m := append(bytes.Clone(full[:48]), full[56:]...)
	binary.LittleEndian.PutUint32(m[16:], 48)
	if c, err = ParseChallenge(m); err != nil || c.TargetName != vServer || c.Version != (Version{}) {
		t.Errorf("48-byte form: %+v, %v", c, err)
	}
	// OEM target name.
	c = &ChallengeMessage{Flags: FlagOEM | FlagTargetTypeServer, TargetName: "SERVER", ServerChallenge: vServerChallenge}
	if c2, err := ParseChallenge(c.Marshal()); err != nil || c2.TargetName != "SERVER" {
		t.Errorf("OEM: %+v, %v", c2, err)
	}
}

func TestParseAuthenticateVectors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hex   string
		flags NegotiateFlags
	}{
		{"4.2.2.3", authenticateV1Hex, vFlagsAuthV1},
		{"4.2.4.3", authenticateV2Hex, vFlagsAuthV2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := unhex(t, tc.hex)
			a, err := ParseAuthenticate(msg)
			if err != nil {
				t.Fatal(err)
			}
			if a.Flags != tc.flags || a.UserName != vUser || a.DomainName != vDomain || a.Workstation != vWorkstation ||
				a.Version != vVersion || a.MIC != nil || a.MICOffset != -1 ||
				len(a.LmChallengeResponse) != 24 || len(a.EncryptedRandomSessionKey) != 16 {
				t.Errorf("parsed %+v", a)
			}
			if out := a.Marshal(); !bytes.Equal(out, msg) {
				t.Errorf("re-marshal:\n got %x\nwant %x", out, msg)
			}
		})
	}
}

// TestBuildAuthenticate builds the AUTHENTICATE messages of MS-NLMP 4.2.2.3
// and 4.2.4.3 from the inputs, the way a client does.
func TestBuildAuthenticate(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		ch, err := ParseChallenge(unhex(t, challengeV1Hex))
		if err != nil {
			t.Fatal(err)
		}
		nth, lmh := NTOWFv1(vPassword), LMOWFv1(vPassword)
		nt, lm := NTLMv1Responses(ch.Flags, nth, lmh, ch.ServerChallenge, vClientChallenge)
		kx := KeyExchangeKeyV1(ch.Flags, SessionBaseKeyV1(nth), lmh, lm[:], ch.ServerChallenge)
		enc := RC4K(kx, vRandomSessionKey)
		a := &AuthenticateMessage{
			Flags: vFlagsAuthV1, LmChallengeResponse: lm[:], NtChallengeResponse: nt[:],
			DomainName: vDomain, UserName: vUser, Workstation: vWorkstation,
			EncryptedRandomSessionKey: enc[:], Version: vVersion,
		}
		if got, want := a.Marshal(), unhex(t, authenticateV1Hex); !bytes.Equal(got, want) {
			t.Errorf("\n got %x\nwant %x", got, want)
		}
	})
	t.Run("v2", func(t *testing.T) {
		ch, err := ParseChallenge(unhex(t, challengeV2Hex))
		if err != nil {
			t.Fatal(err)
		}
		key := NTOWFv2(NTOWFv1(vPassword), vUser, vDomain)
		nt, sbk := NTLMv2Response(nil, key, ch.ServerChallenge, vClientChallenge, 0, ch.TargetInfo)
		lm := LMv2Response(key, ch.ServerChallenge, vClientChallenge)
		enc := RC4K(sbk, vRandomSessionKey)
		a := &AuthenticateMessage{
			Flags: vFlagsAuthV2, LmChallengeResponse: lm[:], NtChallengeResponse: nt,
			DomainName: vDomain, UserName: vUser, Workstation: vWorkstation,
			EncryptedRandomSessionKey: enc[:], Version: vVersion,
		}
		if got, want := a.Marshal(), unhex(t, authenticateV2Hex); !bytes.Equal(got, want) {
			t.Errorf("\n got %x\nwant %x", got, want)
		}
		// Appending to a prefix.
		if got := a.AppendMarshal([]byte("pre")); !bytes.Equal(got[3:], unhex(t, authenticateV2Hex)) {
			t.Errorf("AppendMarshal with prefix: %x", got)
		}
	})
}

func TestAuthenticateLayouts(t *testing.T) {
	base := &AuthenticateMessage{
		Flags: FlagUnicode | FlagNTLM | FlagVersion, LmChallengeResponse: make([]byte, 24),
		NtChallengeResponse: bytes.Repeat([]byte{7}, 60), UserName: "ü", DomainName: "D", Version: vVersion,
	}
	// With MIC.
	m := *base
	m.MIC = bytes.Repeat([]byte{9}, 16)
	a, err := ParseAuthenticate(m.Marshal())
	if err != nil || a.MICOffset != MICOffset || !bytes.Equal(a.MIC, m.MIC) || a.UserName != "ü" || a.Version != vVersion {
		t.Errorf("with MIC: %+v, %v", a, err)
	}
	// Without Version: 64-byte header, payload right after the flags.
	m = *base
	m.Flags &^= FlagVersion
	b := m.Marshal()
	b = append(b[:64], b[72:]...)
	for _, d := range []int{authLM, authNT, authDomain, authUser, authWorkstation, authSessionKey} {
		binary.LittleEndian.PutUint32(b[d+4:], binary.LittleEndian.Uint32(b[d+4:])-8)
	}
	if a, err = ParseAuthenticate(b); err != nil || a.MIC != nil || a.UserName != "ü" || a.Version != (Version{}) ||
		!bytes.Equal(a.NtChallengeResponse, m.NtChallengeResponse) {
		t.Errorf("without Version: %+v, %v", a, err)
	}
	// OEM strings.
	m = *base
	m.Flags = FlagOEM
	if a, err = ParseAuthenticate(m.Marshal()); err != nil || a.UserName != "ü" || a.DomainName != "D" {
		t.Errorf("OEM: %+v, %v", a, err)
	}
}

func TestNegotiate(t *testing.T) {
	// Chromium's 32-byte NEGOTIATE.
	n, err := ParseNegotiate(unhex(t, negotiateChromeHex))
	if err != nil {
		t.Fatal(err)
	}
	if n.Flags != vFlagsChromeN || n.Domain != "" || n.Workstation != "" || n.Version != (Version{}) {
		t.Errorf("parsed %+v", n)
	}
	// What Windows sends: 40 bytes with VERSION, here with OEM names too.
	m := &NegotiateMessage{
		Flags:  0xE20882B7 | FlagOEMDomainSupplied | FlagOEMWorkstationSupplied,
		Domain: "WORKGROUP", Workstation: "JACK", Version: vVersion,
	}
	b := m.Marshal()
	if binary.LittleEndian.Uint32(b[20:]) != 40 || len(b) != 40+9+4 {
		t.Errorf("layout %x", b)
	}
	n, err = ParseNegotiate(b)
	if err != nil || *n != *m {
		t.Errorf("round trip %+v, %v", n, err)
	}
	// Without names the message is exactly 40 bytes.
	m = &NegotiateMessage{Flags: 0xE20882B7, Version: vVersion}
	if b = m.Marshal(); len(b) != 40 {
		t.Errorf("len %d", len(b))
	}
	if n, err = ParseNegotiate(b); err != nil || *n != *m {
		t.Errorf("round trip %+v, %v", n, err)
	}
	// Names are ignored when their flags are not set, even if the
	// descriptors are garbage.
	binary.LittleEndian.PutUint32(b[20:], 0xffffffff)
	binary.LittleEndian.PutUint16(b[16:], 100)
	if n, err = ParseNegotiate(b); err != nil || n.Domain != "" {
		t.Errorf("garbage descriptor: %+v, %v", n, err)
	}
	// impacket's NEGOTIATE (spnego-credssp.md 4.2) fills in the names
	// without setting OEM_*_SUPPLIED; like Windows, ignore them then.
	imp := unhex(t, "4e544c4d53535000010000001582086009000900200000000400040029000000574f524b47524f55504a41434b")
	if n, err = ParseNegotiate(imp); err != nil || n.Flags != 0x60088215 || n.Domain != "" || n.Version != (Version{}) {
		t.Errorf("impacket negotiate: %+v, %v", n, err)
	}
	imp[13] |= 0x30 // now with OEM_DOMAIN_SUPPLIED and OEM_WORKSTATION_SUPPLIED
	if n, err = ParseNegotiate(imp); err != nil || n.Domain != "WORKGROUP" || n.Workstation != "JACK" {
		t.Errorf("impacket negotiate with flags: %+v, %v", n, err)
	}
}

func TestVersionString(t *testing.T) {
	if s := vVersion.String(); s != "5.1.2600 (NTLM revision 15)" {
		t.Errorf("%q", s)
	}
	if s := (FlagUnicode | FlagSign | 0x8).String(); s != "UNICODE|SIGN|0x8" {
		t.Errorf("%q", s)
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{"", "abc", "Ünïcødé", "\U0001F600x"} {
		got, err := decodeUTF16(appendUTF16(nil, s))
		if err != nil || got != s {
			t.Errorf("UTF-16 round trip %q -> %q, %v", s, got, err)
		}
	}
	if _, err := decodeUTF16([]byte{1, 0, 2}); !errors.Is(err, ErrMalformed) {
		t.Errorf("odd UTF-16: %v", err)
	}
	if got := decodeOEM(appendOEM(nil, "añb€")); got != "añb?" {
		t.Errorf("OEM: %q", got)
	}
}
