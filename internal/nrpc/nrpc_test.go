package nrpc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/gosspi/sspi/internal/ndr"
)

// AES-128-CFB8 against NIST SP 800-38A F.3.7 (CFB8-AES128.Encrypt).
func TestCFB8Vector(t *testing.T) {
	key, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c")
	iv, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	pt, _ := hex.DecodeString("6bc1bee22e409f96e93d7e117393172aae2d")
	want, _ := hex.DecodeString("3b79424c9c0dd436bace9e0ed4586a4f32b9")
	got := make([]byte, len(pt))
	newCFB8(key, [16]byte(iv), false).XORKeyStream(got, pt)
	if !bytes.Equal(got, want) {
		t.Fatalf("CFB8 encrypt %x, want %x", got, want)
	}
	newCFB8(key, [16]byte(iv), true).XORKeyStream(got, got)
	if !bytes.Equal(got, pt) {
		t.Fatalf("CFB8 decrypt %x, want %x", got, pt)
	}
}

// The authenticator chain (MS-NRPC 3.1.4.5): the client's credential is over the stored
// credential plus the time, the server's over one more, and the chain moves on.
func TestAuthenticatorChain(t *testing.T) {
	var h [16]byte
	c, clientCred, _ := NewCredentials(h, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, [8]byte{8, 7, 6, 5, 4, 3, 2, 1})
	a, ret := c.NextAuthenticator(1000)
	in := clientCred
	binary.LittleEndian.PutUint32(in[:4], binary.LittleEndian.Uint32(in[:4])+1000)
	if a.Credential != Credential(in, c.SessionKey) || a.Timestamp != 1000 {
		t.Fatal("client authenticator is not Cred(stored + time)")
	}
	binary.LittleEndian.PutUint32(in[:4], binary.LittleEndian.Uint32(in[:4])+1)
	if ret != Credential(in, c.SessionKey) {
		t.Fatal("expected return authenticator is not Cred(stored + time + 1)")
	}
}

func pair() (client, server *SecureChannel) {
	key := [16]byte{0x10, 0x20, 0x30}
	client = NewSecureChannel(key, "SAMDOM", "WEB1", true)
	server = NewSecureChannel(key, "SAMDOM", "WEB1", true)
	server.server = true
	return client, server
}

// A sealed PDU round-trips; one altered on the way (its data, its signature, or replayed)
// is refused.
func TestSecureChannelSealAndTamper(t *testing.T) {
	msg := []byte("NetrLogonSamLogonEx stub data, 16")
	tamper := []struct {
		name string
		mod  func(data, sig []byte)
	}{
		{"data", func(data, sig []byte) { data[3] ^= 1 }},
		{"checksum", func(data, sig []byte) { sig[17] ^= 1 }},
		{"sequence", func(data, sig []byte) { sig[9] ^= 1 }},
		{"confounder", func(data, sig []byte) { sig[confounderOfs] ^= 1 }},
		{"seal algorithm (downgrade to signing)", func(data, sig []byte) { sig[2], sig[3] = 0xff, 0xff }},
	}
	for _, tt := range tamper {
		c, s := pair()
		data := append([]byte(nil), msg...)
		sig, err := c.Protect(data)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("NetrLogon")) {
			t.Fatal("sealed data is plaintext")
		}
		tt.mod(data, sig)
		if err := s.Unprotect(data, sig); err == nil {
			t.Errorf("%s altered: accepted", tt.name)
		}
	}
	c, s := pair()
	for i := 0; i < 3; i++ { // both directions, the sequence advancing
		data := append([]byte(nil), msg...)
		sig, _ := c.Protect(data)
		if err := s.Unprotect(data, sig); err != nil || !bytes.Equal(data, msg) {
			t.Fatalf("round %d client→server: %v", i, err)
		}
		sig, _ = s.Protect(data)
		saved, savedSig := append([]byte(nil), data...), append([]byte(nil), sig...)
		if err := c.Unprotect(data, sig); err != nil || !bytes.Equal(data, msg) {
			t.Fatalf("round %d server→client: %v", i, err)
		}
		if i == 2 {
			if err := c.Unprotect(saved, savedSig); err == nil {
				t.Fatal("a replayed response was accepted")
			}
		}
	}
}

// A SAM_INFO4 made with the PAC encoder's common part decodes to the same values.
func TestParseSamLogonExResponse(t *testing.T) {
	dom, _ := ndr.ParseSID("S-1-5-21-1-2-3")
	var e ndr.Encoder
	e.Uint16(ValidationSamInfo4)
	e.Pointer(true, func(e *ndr.Encoder) {
		v := &Validation{}
		v.EffectiveName, v.LogonDomainName, v.LogonServer = "alice", "SAMDOM", "DC1"
		v.UserID, v.PrimaryGroupID = 1104, 513
		v.LogonDomainID = &dom
		v.UserSessionKey = [16]byte{9, 9}
		v.GroupIDs = append(v.GroupIDs, struct{ RID, Attributes uint32 }{513, 7})
		v.WriteCommon(e)
		e.UnicodeString("samdom.test")
		e.UnicodeString("alice@samdom.test")
		for range 10 {
			e.UnicodeString("")
		}
	})
	e.Flush()
	e.Uint8(1)
	e.Uint32(0)
	e.Uint32(0)
	r, err := ParseSamLogonExResponse(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	v := r.Validation
	if v.EffectiveName != "alice" || v.UPN != "alice@samdom.test" || v.DNSLogonDomainName != "samdom.test" || v.UserSessionKey[0] != 9 || len(v.Groups()) != 1 {
		t.Fatalf("%+v", v)
	}
	if sid, _ := v.UserSID(); sid.String() != "S-1-5-21-1-2-3-1104" {
		t.Fatalf("user SID %v", sid)
	}
	// A refusal carries its status; truncations of the answer never panic and fail.
	b := append([]byte(nil), e.Bytes()...)
	copy(b[len(b)-4:], []byte{0x6a, 0, 0, 0xc0})
	if _, err := ParseSamLogonExResponse(b); err != Status(0xc000006a) {
		t.Fatalf("refusal: %v", err)
	}
	for n := 0; n < len(e.Bytes()); n++ {
		if _, err := ParseSamLogonExResponse(e.Bytes()[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
}

func FuzzParseSamLogonExResponse(f *testing.F) {
	f.Add([]byte{6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSamLogonExResponse(b)
		if err == nil && (r == nil || r.Validation == nil) {
			t.Fatal("success without validation information")
		}
	})
}

func FuzzParseAuthenticate3Response(f *testing.F) {
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseAuthenticate3Response(b)
		ParseReqChallengeResponse(b)
	})
}
