package ntlmssp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"testing"

	"golang.org/x/crypto/md4"
)

// Benchmarks come in pairs: the operation, and its "floor", the standard
// library MD4 / HMAC-MD5 / RC4 work the operation cannot avoid, written the
// straightforward way, so the overhead of this package can be read off as
// a ratio.

// benchLogon is an NTLMv2 logon with MIC and KEY_EXCH, as a Windows client
// sends it.
type benchLogon struct {
	ntHash     [16]byte
	negotiate  []byte
	challenge  []byte
	chal       *ChallengeMessage
	auth       []byte
	targetInfo []byte
}

func newBenchLogon(b *testing.B) *benchLogon {
	l := &benchLogon{ntHash: NTOWFv1(vPassword)}
	l.negotiate = (&NegotiateMessage{Flags: 0xE20882B7, Version: vVersion}).Marshal()
	ti := AVPairs{}
	ti.SetString(MsvAvNbDomainName, "DOMAIN")
	ti.SetString(MsvAvNbComputerName, "SERVER")
	ti.SetString(MsvAvDnsDomainName, "domain.example.com")
	ti.SetString(MsvAvDnsComputerName, "server.domain.example.com")
	ti.SetString(MsvAvDnsTreeName, "domain.example.com")
	ti.SetTimestamp(chromeTimestamp)
	l.chal = &ChallengeMessage{
		Flags: 0xE28A8235, TargetName: "DOMAIN", ServerChallenge: vServerChallenge,
		TargetInfo: ti.Marshal(), Version: vSrvVer,
	}
	l.challenge = l.chal.Marshal()
	l.auth, _ = l.clientAuthenticate(nil)
	if err := l.serverCheck(); err != nil {
		b.Fatal(err)
	}
	return l
}

// clientAuthenticate is what a client computes from its password and the
// CHALLENGE: the NTLMv2 response, the session key exchange and the MIC.
func (l *benchLogon) clientAuthenticate(buf []byte) ([]byte, [16]byte) {
	key := NTOWFv2(NTOWFv1(vPassword), vUser, vDomain)
	ti, _ := ParseAVPairs(l.chal.TargetInfo)
	ts, _ := ti.Timestamp()
	ti.SetFlags(AvFlagMICPresent)
	ti.SetChannelBindings([16]byte{})
	ti.SetString(MsvAvTargetName, "HTTP/server.domain.example.com")
	l.targetInfo = ti.AppendMarshal(l.targetInfo[:0])
	nt, sbk := NTLMv2Response(buf[:0], key, l.chal.ServerChallenge, vClientChallenge, ts, l.targetInfo)
	enc := RC4K(sbk, vRandomSessionKey)
	a := &AuthenticateMessage{
		Flags: 0xE2888235, LmChallengeResponse: make([]byte, 24), NtChallengeResponse: nt,
		DomainName: vDomain, UserName: vUser, Workstation: vWorkstation,
		EncryptedRandomSessionKey: enc[:], Version: vVersion, MIC: make([]byte, 16),
	}
	msg := a.Marshal()
	mic := ComputeMIC(vRandomSessionKey, l.negotiate, l.challenge, msg, MICOffset)
	copy(msg[MICOffset:], mic[:])
	return msg, vRandomSessionKey
}

// serverCheck is the whole acceptor-side check of an AUTHENTICATE message
// given the user's NT hash: parse, NTLMv2 proof, MIC flag, key exchange,
// MIC.
func (l *benchLogon) serverCheck() error {
	a, err := ParseAuthenticate(l.auth)
	if err != nil {
		return err
	}
	key := NTOWFv2(l.ntHash, a.UserName, a.DomainName)
	sbk, ok := VerifyNTLMv2Response(key, l.chal.ServerChallenge, a.NtChallengeResponse)
	if !ok {
		return fmt.Errorf("bad response")
	}
	r, err := ParseNTLMv2Response(a.NtChallengeResponse)
	if err != nil {
		return err
	}
	if f, _ := r.AVPairs.Flags(); f&AvFlagMICPresent == 0 || a.MIC == nil {
		return fmt.Errorf("no MIC")
	}
	esk := RC4K(sbk, [16]byte(a.EncryptedRandomSessionKey))
	mic := ComputeMIC(esk, l.negotiate, l.challenge, l.auth, a.MICOffset)
	if !ConstantTimeEqual(mic[:], a.MIC) {
		return fmt.Errorf("bad MIC")
	}
	return nil
}

func BenchmarkServerVerifyNTLMv2(b *testing.B) {
	l := newBenchLogon(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.serverCheck(); err != nil {
			b.Fatal(err)
		}
	}
}

func stdHMAC(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func stdRC4(key, data []byte) {
	c, _ := rc4.NewCipher(key)
	c.XORKeyStream(data, data)
}

// BenchmarkServerVerifyNTLMv2Floor: NTOWFv2, NTProofStr, SessionBaseKey
// and MIC HMACs and the 16-byte RC4 of the same inputs, with crypto/hmac.
func BenchmarkServerVerifyNTLMv2Floor(b *testing.B) {
	l := newBenchLogon(b)
	a, _ := ParseAuthenticate(l.auth)
	userDom := appendUTF16(nil, "USER"+vDomain)
	enc := [16]byte(a.EncryptedRandomSessionKey)
	b.ReportAllocs()
	for b.Loop() {
		key := stdHMAC(l.ntHash[:], userDom)
		proof := stdHMAC(key, l.chal.ServerChallenge[:], a.NtChallengeResponse[16:])
		sbk := stdHMAC(key, proof)
		esk := enc
		stdRC4(sbk, esk[:])
		stdHMAC(esk[:], l.negotiate, l.challenge, l.auth)
	}
}

func BenchmarkClientNTLMv2(b *testing.B) {
	l := newBenchLogon(b)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		l.clientAuthenticate(buf)
	}
}

// BenchmarkClientNTLMv2Floor: MD4 of the password, the NTOWFv2,
// NTProofStr, SessionBaseKey and MIC HMACs and the RC4 key exchange.
func BenchmarkClientNTLMv2Floor(b *testing.B) {
	l := newBenchLogon(b)
	a, _ := ParseAuthenticate(l.auth)
	pw := appendUTF16(nil, vPassword)
	userDom := appendUTF16(nil, "USER"+vDomain)
	b.ReportAllocs()
	for b.Loop() {
		h := md4.New()
		h.Write(pw)
		nt := h.Sum(nil)
		key := stdHMAC(nt, userDom)
		proof := stdHMAC(key, l.chal.ServerChallenge[:], a.NtChallengeResponse[16:])
		sbk := stdHMAC(key, proof)
		esk := vRandomSessionKey
		stdRC4(sbk, esk[:])
		stdHMAC(esk[:], l.negotiate, l.challenge, l.auth)
	}
}

var benchSizes = []int{1 << 10, 16 << 10}

func BenchmarkSealUnseal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			client, server := sessionPair(vFlagsV2)
			msg := make([]byte, n)
			sig := make([]byte, SignatureSize)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				client.Seal(sig, Buffer{Data: msg})
				if err := server.Unseal(sig, Buffer{Data: msg}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSignVerify(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			client, server := sessionPair(vFlagsV2)
			msg := make([]byte, n)
			sig := make([]byte, SignatureSize)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				client.Sign(sig, msg)
				if err := server.Verify(sig, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sessionFloor is the best the standard library offers for one direction:
// a long-lived HMAC and RC4 state, reset per message.
type sessionFloor struct {
	mac interface {
		Reset()
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	rc4 *rc4.Cipher
	sum []byte
}

func newSessionFloor() *sessionFloor {
	c, _ := rc4.NewCipher(vRandomSessionKey[:])
	return &sessionFloor{mac: hmac.New(md5.New, vRandomSessionKey[:]), rc4: c, sum: make([]byte, 0, 16)}
}

func (f *sessionFloor) mac8(seq, msg []byte) {
	f.mac.Reset()
	f.mac.Write(seq)
	f.mac.Write(msg)
	f.sum = f.mac.Sum(f.sum[:0])
	f.rc4.XORKeyStream(f.sum[:8], f.sum[:8])
}

// BenchmarkSealUnsealFloor: RC4 over the message and HMAC-MD5 over
// sequence number and message, on each side, plus the 8-byte checksum RC4.
func BenchmarkSealUnsealFloor(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			snd, rcv := newSessionFloor(), newSessionFloor()
			msg := make([]byte, n)
			seq := make([]byte, 4)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				snd.mac8(seq, msg)
				snd.rc4.XORKeyStream(msg, msg)
				rcv.rc4.XORKeyStream(msg, msg)
				rcv.mac8(seq, msg)
			}
		})
	}
}

// BenchmarkSignVerifyFloor: HMAC-MD5 over sequence number and message on
// each side, plus the 8-byte checksum RC4.
func BenchmarkSignVerifyFloor(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) {
			snd, rcv := newSessionFloor(), newSessionFloor()
			msg := make([]byte, n)
			seq := make([]byte, 4)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				snd.mac8(seq, msg)
				rcv.mac8(seq, msg)
			}
		})
	}
}
