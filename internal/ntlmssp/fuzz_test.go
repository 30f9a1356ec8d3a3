package ntlmssp

import (
	"bytes"
	"errors"
	"testing"
)

func addSeeds(f *testing.F, hexes ...string) {
	for _, h := range hexes {
		f.Add(unhex(f, h))
	}
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("error does not wrap ErrMalformed: %v", err)
	}
}

func FuzzParseNegotiate(f *testing.F) {
	addSeeds(f, negotiateChromeHex,
		"4e544c4d53535000010000001582086009000900200000000400040029000000574f524b47524f55504a41434b")
	f.Add((&NegotiateMessage{Flags: 0xE20882B7 | FlagOEMDomainSupplied, Domain: "DOM", Version: vVersion}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseNegotiate(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		m2, err := ParseNegotiate(m.Marshal())
		if err != nil || *m2 != *m {
			t.Fatalf("round trip: %+v -> %+v, %v", m, m2, err)
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	addSeeds(f, challengeV1Hex, challengeV1ESSHex, challengeV2Hex)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseChallenge(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		out := m.Marshal()
		if len(out) > maxMessageSize {
			return // a bigger header pushed it over the limit
		}
		m2, err := ParseChallenge(out)
		if err != nil || m2.Flags != m.Flags || m2.TargetName != m.TargetName || m2.ServerChallenge != m.ServerChallenge ||
			!bytes.Equal(m2.TargetInfo, m.TargetInfo) || m2.Version != m.Version {
			t.Fatalf("round trip: %+v -> %+v, %v", m, m2, err)
		}
		if len(m.TargetInfo) > 0 {
			if _, err := ParseAVPairs(m.TargetInfo); err != nil {
				t.Fatalf("accepted target info does not parse: %v", err)
			}
		}
	})
}

func FuzzParseAuthenticate(f *testing.F) {
	addSeeds(f, authenticateV1Hex, authenticateV2Hex, authenticateChromeHex)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAuthenticate(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if m.MIC != nil {
			// The MIC helper must cope with whatever offset parsing gave.
			ComputeMIC([16]byte{}, nil, nil, b, m.MICOffset)
		}
		if len(m.NtChallengeResponse) > 24 {
			if r, err := ParseNTLMv2Response(m.NtChallengeResponse); err == nil {
				r.AVPairs.Flags()
				r.AVPairs.GetString(MsvAvTargetName)
			} else {
				checkErr(t, err)
			}
			VerifyNTLMv2Response([16]byte{}, [8]byte{}, m.NtChallengeResponse)
		}
		out := m.Marshal()
		if len(out) > maxMessageSize {
			return
		}
		m2, err := ParseAuthenticate(out)
		if err != nil || m2.Flags != m.Flags || m2.UserName != m.UserName || m2.DomainName != m.DomainName ||
			m2.Workstation != m.Workstation || m2.Version != m.Version || m2.MICOffset != m.MICOffset ||
			!bytes.Equal(m2.MIC, m.MIC) || !bytes.Equal(m2.LmChallengeResponse, m.LmChallengeResponse) ||
			!bytes.Equal(m2.NtChallengeResponse, m.NtChallengeResponse) ||
			!bytes.Equal(m2.EncryptedRandomSessionKey, m.EncryptedRandomSessionKey) {
			t.Fatalf("round trip: %+v -> %+v, %v", m, m2, err)
		}
	})
}

func FuzzParseAVPairs(f *testing.F) {
	addSeeds(f, targetInfoV2Hex, "00000000")
	a, _ := ParseAuthenticate(unhex(f, authenticateChromeHex))
	f.Add(a.NtChallengeResponse[v2AvPairsOff:])
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseAVPairs(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if out := l.Marshal(); !bytes.HasPrefix(b, out) {
			t.Fatalf("re-marshal %x is not a prefix of %x", out, b)
		}
		l.Flags()
		l.Timestamp()
		l.ChannelBindings()
		l.GetString(MsvAvDnsComputerName)
		if len(l) > maxAVPairs-2 {
			return // extending it could pass the pair limit
		}
		l.SetFlags(AvFlagMICPresent)
		l.SetString(MsvAvTargetName, "HTTP/x")
		l2, err := ParseAVPairs(l.Marshal())
		if err != nil {
			t.Fatalf("extended list does not parse: %v", err)
		}
		if f, _ := l2.Flags(); f != AvFlagMICPresent {
			t.Fatalf("flags %#x", f)
		}
	})
}
