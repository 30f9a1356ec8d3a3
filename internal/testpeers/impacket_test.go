package testpeers

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func impacketOpts() ImpacketNTLMOptions {
	return ImpacketNTLMOptions{User: testUser, Domain: testDomain, Password: testPassword, Workstation: "IMPKT"}
}

// Impacket's client against Samba's acceptor: the 32-byte NEGOTIATE is fine there.
func TestImpacketAgainstNTLMAuth(t *testing.T) {
	c := &ImpacketClient{TB: t, Opts: impacketOpts()}
	s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
	tokens, err := Handshake(c, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens[0]) != 32 {
		t.Errorf("Impacket NEGOTIATE is %d bytes, want 32 (no VERSION)", len(tokens[0]))
	}
	if s.User() != `TESTDOM\alice` {
		t.Errorf("acceptor authenticated %q", s.User())
	}
	key, err := s.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, c.Result.ExportedSessionKey) {
		t.Errorf("session keys: ntlm_auth %x, impacket %x", key, c.Result.ExportedSessionKey)
	}

	// The same with a wrong password is refused.
	c = &ImpacketClient{TB: t, Opts: impacketOpts()}
	c.Opts.Password = "wrong"
	s = StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
	var rej *NTLMAuthRejected
	if _, err := Handshake(c, s, 0); !errors.As(err, &rej) {
		t.Errorf("wrong password: %v, want a refusal", err)
	}
}

// peers-notes: gss-ntlmssp rejects the 32-byte NEGOTIATE; with VERSION (and the script's repair
// of Impacket's AUTHENTICATE) gss-ntlmssp accepts Impacket.
func TestImpacketAgainstGSSNTLMSSP(t *testing.T) {
	acc := NewGSSPeer(t, GSSPeerOptions{Role: Acceptor, NTLM: NTLMEnv{Users: testUsers}})
	c := &ImpacketClient{TB: t, Opts: impacketOpts()}
	if _, err := Handshake(c, acc, 0); err == nil {
		t.Error("gss-ntlmssp accepted the 32-byte NEGOTIATE")
	}

	acc = NewGSSPeer(t, GSSPeerOptions{Role: Acceptor, NTLM: NTLMEnv{Users: testUsers}})
	c = &ImpacketClient{TB: t, Opts: impacketOpts()}
	c.Opts.Version = true
	tokens, err := Handshake(c, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens[0]) != 40 {
		t.Errorf("NEGOTIATE with VERSION is %d bytes, want 40", len(tokens[0]))
	}
	info, err := acc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.PeerName != `TESTDOM\alice` || !bytes.Equal(info.SessionKey, c.Result.ExportedSessionKey) {
		t.Errorf("gss-ntlmssp: peer %q key %x; impacket key %x", info.PeerName, info.SessionKey, c.Result.ExportedSessionKey)
	}
}

// Impacket 0.10.0's AUTHENTICATE with VERSION and no repair: every payload offset is 24 bytes
// too far, so the user name read at its offset is not "alice".
func TestImpacketVersionBug(t *testing.T) {
	s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
	neg, err := ImpacketNegotiate(t, ImpacketNTLMOptions{Version: true})
	if err != nil {
		t.Fatal(err)
	}
	chal, err := s.Challenge(neg)
	if err != nil {
		t.Fatal(err)
	}
	opts := impacketOpts()
	opts.Version, opts.KeepVersionBug = true, true
	buggy, err := ImpacketAuthenticate(t, opts, chal)
	if err != nil {
		t.Fatal(err)
	}
	opts.KeepVersionBug = false
	fixed, err := ImpacketAuthenticate(t, opts, chal)
	if err != nil {
		t.Fatal(err)
	}
	if len(fixed.Authenticate)-len(buggy.Authenticate) != 24 {
		t.Errorf("repaired AUTHENTICATE is %d bytes longer, want 24 (VERSION + MIC)", len(fixed.Authenticate)-len(buggy.Authenticate))
	}
	userAt := func(msg []byte) []byte {
		ln := binary.LittleEndian.Uint16(msg[36:38])
		off := binary.LittleEndian.Uint32(msg[40:44])
		if int(off)+int(ln) > len(msg) {
			return nil
		}
		return msg[off : off+uint32(ln)]
	}
	alice := []byte{'a', 0, 'l', 0, 'i', 0, 'c', 0, 'e', 0}
	if bytes.Equal(userAt(buggy.Authenticate), alice) {
		t.Error("the buggy AUTHENTICATE has a correct user offset: is the bug gone?")
	}
	if !bytes.Equal(userAt(fixed.Authenticate), alice) {
		t.Errorf("the repaired AUTHENTICATE's user field is %q", userAt(fixed.Authenticate))
	}
	if _, err := s.Authenticate(buggy.Authenticate); err == nil {
		t.Error("ntlm_auth accepted the buggy AUTHENTICATE")
	}
}

// md5ChannelBindings is MsvAvChannelBindings for a gss_channel_bindings_struct holding only
// application data (MS-NLMP 2.2.2.1, RFC 4121 4.1.1.2): MD5 over four zero 32-bit address
// fields, the data length and the data.
func md5ChannelBindings(app []byte) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 16))
	binary.Write(&b, binary.LittleEndian, uint32(len(app)))
	b.Write(app)
	h := md5.Sum(b.Bytes())
	return h[:]
}

// Impacket verifies what gss-ntlmssp produced, independently: the proof, the session key the
// acceptor ended up with, the MIC, the channel bindings hash and the target name.
func TestImpacketVerifiesGSSNTLMSSP(t *testing.T) {
	// Plain gss-ntlmssp NTLM carries no MIC.
	ini, acc := ntlmPair(t, GSSPeerOptions{}, GSSPeerOptions{})
	tokens, err := Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ImpacketVerifyNTLMv2(t, ImpacketVerifyInput{Negotiate: tokens[0], Challenge: tokens[1], Authenticate: tokens[2], Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if !r.NTProofOK || r.MICPresent {
		t.Errorf("plain gss-ntlmssp: proof ok %v, MIC present %v; want true, false", r.NTProofOK, r.MICPresent)
	}

	cb := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	ini, acc = ntlmPair(t, GSSPeerOptions{ChannelBindings: cb, RequestMIC: true}, GSSPeerOptions{ChannelBindings: cb})
	tokens, err = Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := ImpacketVerifyInput{Negotiate: tokens[0], Challenge: tokens[1], Authenticate: tokens[2], Password: testPassword}
	r, err = ImpacketVerifyNTLMv2(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if !r.NTLMv2 || !r.NTProofOK || r.User != testUser || r.Domain != testDomain {
		t.Fatalf("verify: %+v", r)
	}
	info, err := acc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.ExportedSessionKey, info.SessionKey) {
		t.Errorf("exported session key: impacket %x, gss-ntlmssp acceptor %x", r.ExportedSessionKey, info.SessionKey)
	}
	if !r.MICPresent || r.MICOK == nil || !*r.MICOK {
		t.Errorf("MIC: present %v ok %v; gss-ntlmssp sends one when asked", r.MICPresent, r.MICOK)
	}
	if want := md5ChannelBindings(cb); !bytes.Equal(r.ChannelBindings, want) {
		t.Errorf("MsvAvChannelBindings %x, want %x", r.ChannelBindings, want)
	}
	if r.TargetName == nil || *r.TargetName != "host/localhost" {
		t.Errorf("MsvAvTargetName %v, want host/localhost", r.TargetName)
	}

	in.Password = "wrong"
	r, err = ImpacketVerifyNTLMv2(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.NTProofOK {
		t.Error("NTProofStr verified with the wrong password")
	}
	// A MIC check must notice a changed NEGOTIATE.
	in.Password = testPassword
	in.Negotiate = append([]byte(nil), tokens[0]...)
	in.Negotiate[12] ^= 1
	r, err = ImpacketVerifyNTLMv2(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.MICOK == nil || *r.MICOK {
		t.Error("MIC verified over a changed NEGOTIATE")
	}
}

func TestImpacketVerifiesNTLMAuthClient(t *testing.T) {
	c := StartNTLMAuthClient(t, NTLMAuthOptions{User: testUser, Domain: testDomain, Password: testPassword, Workstation: "WS1"})
	s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
	tokens, err := Handshake(c, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ImpacketVerifyNTLMv2(t, ImpacketVerifyInput{Negotiate: tokens[0], Challenge: tokens[1], Authenticate: tokens[2], Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if !r.NTProofOK || !bytes.Equal(r.ExportedSessionKey, key) || !strings.EqualFold(r.Workstation, "WS1") {
		t.Errorf("verify of ntlm_auth's AUTHENTICATE: %+v (client key %x)", r, key)
	}
}
