package ntlmssp

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"golang.org/x/crypto/md4"
)

func checkHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if g := hex.EncodeToString(got); g != want {
		t.Errorf("%s:\n got %s\nwant %s", name, g, want)
	}
}

func TestMD4Sanity(t *testing.T) {
	// RFC 1320 A.5, to be sure the MD4 in use is MD4.
	for in, want := range map[string]string{
		"":    "31d6cfe0d16ae931b73c59d7e0c089c0",
		"abc": "a448017aaf21d8525fc10ae87aa6729d",
	} {
		h := md4.New()
		h.Write([]byte(in))
		checkHex(t, "MD4("+in+")", h.Sum(nil), want)
	}
}

// TestNTLMv1 checks MS-NLMP 4.2.2.1 and 4.2.2.2.
func TestNTLMv1(t *testing.T) {
	lm := LMOWFv1(vPassword)
	nth := NTOWFv1(vPassword)
	checkHex(t, "LMOWFv1", lm[:], "e52cac67419a9a224a3b108f3fa6cb6d")
	checkHex(t, "NTOWFv1", nth[:], "a4f49c406510bdcab6824ee7c30fd852")
	sbk := SessionBaseKeyV1(nth)
	checkHex(t, "SessionBaseKey", sbk[:], "d87262b0cde4b1cb7499becccdf10784")
	ntResp, lmResp := NTLMv1Responses(vFlagsV1, nth, lm, vServerChallenge, vClientChallenge)
	checkHex(t, "NtChallengeResponse", ntResp[:], "67c43011f30298a2ad35ece64f16331c44bdbed927841f94")
	checkHex(t, "LmChallengeResponse", lmResp[:], "98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13")

	for _, tc := range []struct {
		name      string
		flags     NegotiateFlags
		kxkey     string
		encrypted string
	}{
		{"plain", vFlagsV1, "d87262b0cde4b1cb7499becccdf10784", "518822b1b3f350c8958682ecbb3e3cb7"},
		{"NON_NT_SESSION_KEY", vFlagsV1 | FlagRequestNonNTSessionKey, "e52cac67419a9a220000000000000000", "7452ca55c225a1ca04b48fae32cf56fc"},
		{"LM_KEY", vFlagsV1 | FlagLMKey, "b09e379f7fbecb1eaf0afdcb0383c8a0", "4cd7bb57d697ef9b549f02b8f9b37864"},
		// LM_KEY takes precedence over NON_NT_SESSION_KEY.
		{"LM_KEY+NON_NT", vFlagsV1 | FlagLMKey | FlagRequestNonNTSessionKey, "b09e379f7fbecb1eaf0afdcb0383c8a0", "4cd7bb57d697ef9b549f02b8f9b37864"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kx := KeyExchangeKeyV1(tc.flags, sbk, lm, lmResp[:], vServerChallenge)
			checkHex(t, "KeyExchangeKey", kx[:], tc.kxkey)
			enc := RC4K(kx, vRandomSessionKey)
			checkHex(t, "EncryptedRandomSessionKey", enc[:], tc.encrypted)
			if dec := RC4K(kx, enc); dec != vRandomSessionKey {
				t.Errorf("RC4K does not invert: %x", dec)
			}
		})
	}
}

// TestNTLMv1ESS checks MS-NLMP 4.2.3.1 and 4.2.3.2.
func TestNTLMv1ESS(t *testing.T) {
	nth := NTOWFv1(vPassword)
	ntResp, lmResp := NTLMv1Responses(vFlagsV1ESS, nth, LMOWFv1(vPassword), vServerChallenge, vClientChallenge)
	checkHex(t, "LmChallengeResponse", lmResp[:], "aaaaaaaaaaaaaaaa00000000000000000000000000000000")
	checkHex(t, "NtChallengeResponse", ntResp[:], "7537f803ae367128ca458204bde7caf81e97ed2683267232")
	sbk := SessionBaseKeyV1(nth)
	checkHex(t, "SessionBaseKey", sbk[:], "d87262b0cde4b1cb7499becccdf10784")
	kx := KeyExchangeKeyV1(vFlagsV1ESS, sbk, LMOWFv1(vPassword), lmResp[:], vServerChallenge)
	checkHex(t, "KeyExchangeKey", kx[:], "eb93429a8bd952f8b89c55b87f475edc")
	sk, n := sealKey(vFlagsV1ESS, &kx, true)
	checkHex(t, "client seal key (56-bit)", sk[:n], "04dd7f014d8504d265a25cc86a3a7c06")
	gk := signKey(&kx, true)
	checkHex(t, "client sign key", gk[:], "60e799be5c72fc92922ae8ebe961fb8d")
}

// TestNTLMv2 checks MS-NLMP 4.2.4.1 and 4.2.4.2.
func TestNTLMv2(t *testing.T) {
	key := NTOWFv2(NTOWFv1(vPassword), vUser, vDomain)
	checkHex(t, "NTOWFv2", key[:], "0c868a403bfd7a93a3001ef22ef02e3f")
	// The user name is upper-cased, the domain is not.
	if k := NTOWFv2(NTOWFv1(vPassword), "uSeR", vDomain); k != key {
		t.Errorf("NTOWFv2 is case-sensitive in the user name")
	}
	if k := NTOWFv2(NTOWFv1(vPassword), vUser, "DOMAIN"); k == key {
		t.Errorf("NTOWFv2 ignores the case of the domain")
	}
	ti := unhex(t, targetInfoV2Hex)
	resp, sbk := NTLMv2Response(nil, key, vServerChallenge, vClientChallenge, 0, ti)
	checkHex(t, "temp", resp[16:], "01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000")
	checkHex(t, "NTProofStr", resp[:16], "68cd0ab851e51c96aabc927bebef6a1c")
	checkHex(t, "SessionBaseKey", sbk[:], "8de40ccadbc14a82f15cb0ad0de95ca3")
	lm := LMv2Response(key, vServerChallenge, vClientChallenge)
	checkHex(t, "LmChallengeResponse", lm[:], "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
	enc := RC4K(sbk, vRandomSessionKey)
	checkHex(t, "EncryptedRandomSessionKey", enc[:], "c5dad2544fc9799094ce1ce90bc9d03e")

	// Appending to a non-empty dst leaves the prefix alone.
	resp2, _ := NTLMv2Response([]byte("xyz"), key, vServerChallenge, vClientChallenge, 0, ti)
	if !bytes.Equal(resp2[:3], []byte("xyz")) || !bytes.Equal(resp2[3:], resp) {
		t.Errorf("NTLMv2Response with a prefix: %x", resp2)
	}

	// Server side.
	got, ok := VerifyNTLMv2Response(key, vServerChallenge, resp)
	if !ok || got != sbk {
		t.Fatalf("VerifyNTLMv2Response = %x, %v", got, ok)
	}
	if !VerifyLMv2Response(key, vServerChallenge, lm[:]) {
		t.Errorf("VerifyLMv2Response failed")
	}
	bad := bytes.Clone(resp)
	bad[len(bad)-5] ^= 1 // inside the AV pairs: covered by NTProofStr
	if _, ok := VerifyNTLMv2Response(key, vServerChallenge, bad); ok {
		t.Errorf("modified response verified")
	}
	if _, ok := VerifyNTLMv2Response(key, [8]byte{}, resp); ok {
		t.Errorf("response verified against another challenge")
	}
	if _, ok := VerifyNTLMv2Response(key, vServerChallenge, resp[:47]); ok {
		t.Errorf("truncated response verified")
	}
	if VerifyLMv2Response(NTOWFv2(NTOWFv1("x"), vUser, vDomain), vServerChallenge, lm[:]) {
		t.Errorf("LMv2 verified with the wrong key")
	}

	cc, err := ParseNTLMv2Response(resp)
	if err != nil {
		t.Fatal(err)
	}
	if cc.ClientChallenge != vClientChallenge || cc.Timestamp != 0 || cc.RespType != 1 || cc.HiRespType != 1 ||
		!bytes.Equal(cc.NTProofStr[:], resp[:16]) {
		t.Errorf("ParseNTLMv2Response = %+v", cc)
	}
	if s, _ := cc.AVPairs.GetString(MsvAvNbDomainName); s != vDomain {
		t.Errorf("domain AV pair = %q", s)
	}
	if s, _ := cc.AVPairs.GetString(MsvAvNbComputerName); s != vServer {
		t.Errorf("server AV pair = %q", s)
	}
}

// TestSessionKeys checks SIGNKEY and SEALKEY from ExportedSessionKey = 55..55
// (ntlm-test-vectors.md section 4).
func TestSessionKeys(t *testing.T) {
	esk := vRandomSessionKey
	ess := FlagExtendedSessionSecurity
	for _, tc := range []struct {
		name   string
		flags  NegotiateFlags
		client bool
		want   string
	}{
		{"client 128", ess | Flag128 | Flag56, true, "59f600973cc4960a25480a7c196e4c58"},
		{"server 128", ess | Flag128, false, "9355f3a957c1583d25c4c2f11e40390e"},
		{"client 56", ess | Flag56, true, "a5f7253c1065e8d3d68642040e71cfe0"},
		{"server 56", ess | Flag56, false, "583e2f98959b385cd158f3734b5f5d3f"},
		{"client 40", ess, true, "42f964a471091a02ff4a77455366e4e5"},
		{"server 40", ess, false, "c5d3853b406b7c1241c595f0ce0750e2"},
		{"no ESS, LM_KEY, 56", FlagLMKey | Flag56, true, "55555555555555a0"},
		{"no ESS, LM_KEY, 40", FlagLMKey, false, "5555555555e538b0"},
		{"no ESS, DATAGRAM, 56", FlagDatagram | Flag56, true, "55555555555555a0"},
		{"no ESS, DATAGRAM, 40", FlagDatagram | Flag128, true, "5555555555e538b0"},
		{"no ESS, 128", Flag128 | Flag56, true, "55555555555555555555555555555555"},
		{"no ESS, 40", 0, false, "55555555555555555555555555555555"},
	} {
		k, n := sealKey(tc.flags, &esk, tc.client)
		checkHex(t, tc.name, k[:n], tc.want)
	}
	c := signKey(&esk, true)
	checkHex(t, "client sign key", c[:], "4788dc861b4782f35d43fd98fe1a2d39")
	s := signKey(&esk, false)
	checkHex(t, "server sign key", s[:], "d04d6f10741041d1d246d64188d7a8ad")
}

// TestChromiumMIC checks the MIC and channel-binding example of
// ntlm-test-vectors.md section 5, building the client's target info the way
// a client must and verifying the message as a server.
func TestChromiumMIC(t *testing.T) {
	key := NTOWFv2(NTOWFv1(vPassword), vUser, vDomain)
	ch, err := ParseChallenge(unhex(t, challengeV2Hex))
	if err != nil {
		t.Fatal(err)
	}
	ti, err := ParseAVPairs(ch.TargetInfo)
	if err != nil {
		t.Fatal(err)
	}
	flags, _ := ti.Flags()
	ti.SetFlags(flags | AvFlagMICPresent)
	// MsvAvChannelBindings of the EPA example: MD5 over four zero uint32s, the data
	// length and the data (sspi.ChannelBindings.Hash, whose vectors live with it).
	app := unhex(t, epaAppDataHex)
	cbt := md5.Sum(append(binary.LittleEndian.AppendUint32(make([]byte, 16, 20+len(app)), uint32(len(app))), app...))
	checkHex(t, "channel bindings", cbt[:], "6586e99d81c2fc984e47172fd4dd0310")
	ti.SetChannelBindings(cbt)
	ti.SetString(MsvAvTargetName, "HTTP/Server")
	tib := ti.Marshal()

	resp0, _ := NTLMv2Response(nil, key, ch.ServerChallenge, vClientChallenge, 0, tib)
	checkHex(t, "NTProofStr (time 0)", resp0[:16], "010c0bd14ef7a29689c0c19ceae8b7df")
	resp, sbk := NTLMv2Response(nil, key, ch.ServerChallenge, vClientChallenge, chromeTimestamp, tib)
	checkHex(t, "NTProofStr", resp[:16], "8c0260dbef690662af9c42d50782d2ed")
	checkHex(t, "SessionBaseKey", sbk[:], "623dbd071be7a530b6a95c2eb4982470")

	neg := unhex(t, negotiateChromeHex)
	chal := unhex(t, challengeV2Hex)
	want := unhex(t, authenticateChromeHex)

	// The MIC of the recorded message (computed over its own layout, with
	// the MIC field taken as zero).
	mic := ComputeMIC(sbk, neg, chal, want, MICOffset)
	checkHex(t, "MIC", mic[:], "f7361633f0ad9bdf4a7c421bc6b824a3")

	checkChromiumClient(t, sbk, resp, neg, chal, want, mic)
	checkChromiumServer(t, ch.ServerChallenge, cbt, neg, chal, want)
}

// checkChromiumClient builds the example's AUTHENTICATE as a client: resp and the base key
// sbk, its MIC over neg, chal and the message; it and the recording want (whose MIC is
// mic) must parse to the same fields and verify.
func checkChromiumClient(t *testing.T, sbk [16]byte, resp, neg, chal, want []byte, mic [16]byte) {
	t.Helper()
	// Client: build with a zero MIC, then fill it in. Chromium orders the
	// payload differently from us (and the MS-NLMP examples), so our
	// message and its MIC differ from the recording; compare semantically.
	am := &AuthenticateMessage{
		Flags:               vFlagsChromeA,
		LmChallengeResponse: make([]byte, 24),
		NtChallengeResponse: resp,
		DomainName:          vDomain,
		UserName:            vUser,
		Workstation:         vWorkstation,
		MIC:                 make([]byte, 16),
	}
	out := am.Marshal()
	ourMIC := ComputeMIC(sbk, neg, chal, out, MICOffset)
	copy(out[MICOffset:], ourMIC[:])
	for i, msg := range [][]byte{out, want} {
		a, err := ParseAuthenticate(msg)
		if err != nil {
			t.Fatal(err)
		}
		if wantMIC := [][16]byte{ourMIC, mic}[i]; a.MICOffset != MICOffset || !bytes.Equal(a.MIC, wantMIC[:]) {
			t.Errorf("MIC = %x at %d", a.MIC, a.MICOffset)
		}
		if m := ComputeMIC(sbk, neg, chal, msg, a.MICOffset); !ConstantTimeEqual(m[:], a.MIC) {
			t.Errorf("message %d: MIC does not verify", i)
		}
		if !bytes.Equal(a.NtChallengeResponse, resp) || !bytes.Equal(a.LmChallengeResponse, make([]byte, 24)) ||
			a.UserName != vUser || a.DomainName != vDomain || a.Workstation != vWorkstation ||
			a.Flags != vFlagsChromeA || len(a.EncryptedRandomSessionKey) != 0 || a.Version != (Version{}) {
			t.Errorf("parsed %+v", a)
		}
	}
}

// checkChromiumServer verifies the recorded AUTHENTICATE want as a server that sent
// serverChallenge and expects the channel bindings cbt.
func checkChromiumServer(t *testing.T, serverChallenge [8]byte, cbt [16]byte, neg, chal, want []byte) {
	t.Helper()
	// Server: verify the recorded message.
	a, _ := ParseAuthenticate(want)
	sk, ok := VerifyNTLMv2Response(NTOWFv2(NTOWFv1(vPassword), a.UserName, a.DomainName), serverChallenge, a.NtChallengeResponse)
	if !ok {
		t.Fatal("NTLMv2 response does not verify")
	}
	cc, err := ParseNTLMv2Response(a.NtChallengeResponse)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := cc.AVPairs.Flags(); !ok || f&AvFlagMICPresent == 0 {
		t.Errorf("MsvAvFlags = %#x, %v", f, ok)
	}
	if got, ok := cc.AVPairs.ChannelBindings(); !ok || got != cbt {
		t.Errorf("channel bindings = %x", got)
	}
	if s, _ := cc.AVPairs.GetString(MsvAvTargetName); s != "HTTP/Server" {
		t.Errorf("target name = %q", s)
	}
	if cc.Timestamp != chromeTimestamp {
		t.Errorf("timestamp = %d", cc.Timestamp)
	}
	m := ComputeMIC(sk, neg, chal, want, a.MICOffset)
	if !ConstantTimeEqual(m[:], a.MIC) {
		t.Errorf("server MIC = %x", m)
	}
	// The helper must not have modified the message.
	if !bytes.Equal(want, unhex(t, authenticateChromeHex)) {
		t.Errorf("ComputeMIC modified its input")
	}
	// A tampered message fails the MIC.
	bad := bytes.Clone(want)
	bad[0x3c] ^= 0x20 // a flag bit
	if m := ComputeMIC(sk, neg, chal, bad, MICOffset); ConstantTimeEqual(m[:], a.MIC) {
		t.Errorf("tampered message passes the MIC")
	}
}

func TestFiletime(t *testing.T) {
	if got := Filetime(time.Unix(0, 0)); got != 116444736000000000 {
		t.Errorf("Filetime(Unix epoch) = %d", got)
	}
	tm := FiletimeToTime(chromeTimestamp)
	if got := Filetime(tm); got != chromeTimestamp {
		t.Errorf("round trip: %d", got)
	}
	if tm.Year() != 2017 {
		t.Errorf("FiletimeToTime(%d) = %v", uint64(chromeTimestamp), tm)
	}
	old := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Filetime(old); got != 0 {
		t.Errorf("Filetime(1601) = %d", got)
	}
	if got := FiletimeToTime(0); !got.Equal(old) {
		t.Errorf("FiletimeToTime(0) = %v", got)
	}
}

func TestUTF16Chunking(t *testing.T) {
	// Long and non-BMP names cross chunk boundaries; compare with a
	// straightforward encoding.
	long := ""
	for i := 0; i < 100; i++ {
		long += "ab\U0001F600é"
	}
	for _, s := range []string{"", "a", long, "\U0001F600", "ǆungla"} {
		want := md4.New()
		want.Write(appendUTF16(nil, s))
		if got := NTOWFv1(s); !bytes.Equal(got[:], want.Sum(nil)) {
			t.Errorf("NTOWFv1(%q) mismatch", s)
		}
	}
	nt := NTOWFv1("pw")
	if NTOWFv2(nt, long, long) != hmacMD5(nt[:], appendUTF16(appendUTF16(nil, upperSimple(long)), long)) {
		t.Errorf("NTOWFv2 with a long name mismatch")
	}
}

func upperSimple(s string) string {
	r := []rune(s)
	for i := range r {
		r[i] = toUpper(r[i])
	}
	return string(r)
}
