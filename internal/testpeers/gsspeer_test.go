package testpeers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

const (
	testDomain   = "TESTDOM"
	testUser     = "alice"
	testPassword = "Passw0rd!"
)

var testUsers = []NTLMUser{{Domain: testDomain, User: testUser, Password: testPassword}}

// ntlmPair starts a gss-ntlmssp initiator with a password (no users file in its process) and a
// gss-ntlmssp acceptor with the users file.
func ntlmPair(t *testing.T, ini, acc GSSPeerOptions) (*GSSPeer, *GSSPeer) {
	t.Helper()
	ini.Role = Initiator
	if ini.NTLM.User == "" { // NTLMUSER set means: test default credentials, no name, no password
		if ini.User == "" {
			ini.User = testDomain + `\` + testUser
		}
		if ini.Password == "" {
			ini.Password = testPassword
		}
	}
	acc.Role = Acceptor
	if acc.NTLM.Users == nil {
		acc.NTLM.Users = testUsers
	}
	return NewGSSPeer(t, ini), NewGSSPeer(t, acc)
}

// ntlmMessageType returns the MessageType of a raw NTLMSSP message, or 0.
func ntlmMessageType(tok []byte) uint32 {
	if len(tok) < 12 || !bytes.Equal(tok[:8], []byte("NTLMSSP\x00")) {
		return 0
	}
	return binary.LittleEndian.Uint32(tok[8:12])
}

func TestGSSPeerNTLMHandshakeAndProtection(t *testing.T) {
	flags := uint32(GSSIntegFlag | GSSConfFlag | GSSReplayFlag | GSSSequenceFlag)
	ini, acc := ntlmPair(t, GSSPeerOptions{Flags: flags}, GSSPeerOptions{})
	tokens, err := Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	// NTLM through gss-ntlmssp is exactly NEGOTIATE, CHALLENGE, AUTHENTICATE.
	if len(tokens) != 3 {
		t.Fatalf("got %d tokens, want 3", len(tokens))
	}
	for i, want := range []uint32{1, 2, 3} {
		if got := ntlmMessageType(tokens[i]); got != want {
			t.Errorf("token %d: NTLM message type %d, want %d (% x)", i, got, want, tokens[i][:min(16, len(tokens[i]))])
		}
	}
	// peers-notes: gss-ntlmssp sends the 40-byte NEGOTIATE with a VERSION field.
	if len(tokens[0]) != 40 {
		t.Errorf("NEGOTIATE is %d bytes, want 40", len(tokens[0]))
	}
	checkNTLMContext(t, ini, acc)
	checkNTLMWrap(t, ini, acc)
	checkNTLMMIC(t, ini, acc)
	checkNTLMTampering(t, ini, acc)
}

// checkNTLMContext checks what both ends of an established context say about it.
func checkNTLMContext(t *testing.T, ini, acc *GSSPeer) {
	t.Helper()
	ai, err := acc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !ai.Established || ai.PeerName != testDomain+`\`+testUser || ai.Mech != MechNTLM {
		t.Errorf("acceptor info = %+v", ai)
	}
	if name, err := acc.PeerName(); err != nil || name != `TESTDOM\alice` {
		t.Errorf("PeerName = %q, %v", name, err)
	}
	ii, err := ini.Info()
	if err != nil {
		t.Fatal(err)
	}
	if len(ai.SessionKey) != 16 || !bytes.Equal(ai.SessionKey, ii.SessionKey) {
		t.Errorf("session keys: acceptor %x, initiator %x; want equal 16-byte keys", ai.SessionKey, ii.SessionKey)
	}
	if ai.Flags&(GSSConfFlag|GSSIntegFlag) != GSSConfFlag|GSSIntegFlag {
		t.Errorf("acceptor flags %#x lack conf|integ", ai.Flags)
	}
}

// checkNTLMWrap checks wrap and unwrap both ways.
func checkNTLMWrap(t *testing.T, ini, acc *GSSPeer) {
	t.Helper()
	for _, conf := range []bool{true, false} {
		msg := []byte("hello from the initiator")
		tok, applied, err := ini.Wrap(msg, conf)
		if err != nil {
			t.Fatal(err)
		}
		// gss-ntlmssp 1.2 ignores conf_req_flag and always seals; its token is the 16-byte
		// NTLM signature followed by the sealed message (ntlm/interop_test.go pins the order).
		if !applied || bytes.Contains(tok, msg) || len(tok) != len(msg)+16 {
			t.Errorf("wrap(conf=%v): applied=%v, plaintext visible=%v, len %d; want sealed msg+16",
				conf, applied, bytes.Contains(tok, msg), len(tok))
		}
		got, enc, err := acc.Unwrap(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) || !enc {
			t.Errorf("unwrap = %q, encrypted %v; want %q, true", got, enc, msg)
		}
	}
	// And the other way, acceptor to initiator.
	tok, _, err := acc.Wrap([]byte("reply"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := ini.Unwrap(tok); err != nil || string(got) != "reply" {
		t.Errorf("initiator unwrap = %q, %v", got, err)
	}
}

// checkNTLMMIC checks a good and a tampered MIC.
func checkNTLMMIC(t *testing.T, ini, acc *GSSPeer) {
	t.Helper()
	mic, err := acc.GetMIC([]byte("signed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ini.VerifyMIC([]byte("signed"), mic); err != nil {
		t.Errorf("VerifyMIC of a good MIC: %v", err)
	}
	mic2, err := acc.GetMIC([]byte("signed"))
	if err != nil {
		t.Fatal(err)
	}
	err = ini.VerifyMIC([]byte("tampered"), mic2)
	var ge *GSSError
	if !errors.As(err, &ge) || RoutineError(ge.Major) != GSSBadSig {
		t.Errorf("VerifyMIC of a tampered message: %v, want GSS_S_BAD_SIG", err)
	}
}

// checkNTLMTampering checks that an empty message does not wrap and a tampered token does
// not unwrap.
func checkNTLMTampering(t *testing.T, ini, acc *GSSPeer) {
	t.Helper()
	// gss-ntlmssp refuses to wrap an empty message.
	if _, _, err := ini.Wrap(nil, true); err == nil {
		t.Error("gss-ntlmssp wrapped an empty message")
	}
	// A tampered wrap token must not unwrap.
	tok, _, err := ini.Wrap([]byte("integrity"), true)
	if err != nil {
		t.Fatal(err)
	}
	tok[len(tok)-1] ^= 1
	if _, _, err := acc.Unwrap(tok); err == nil {
		t.Error("unwrap of a tampered token succeeded")
	}
}

func TestGSSPeerNTLMWrongPassword(t *testing.T) {
	ini, acc := ntlmPair(t, GSSPeerOptions{Password: "not the password"}, GSSPeerOptions{})
	_, err := Handshake(ini, acc, 0)
	var ge *GSSError
	if !errors.As(err, &ge) || RoutineError(ge.Major) != GSSFailure {
		t.Fatalf("handshake with a wrong password: %v, want GSS_S_FAILURE from the acceptor", err)
	}
	if !strings.Contains(err.Error(), "acceptor") {
		t.Errorf("error %v should come from the acceptor", err)
	}
}

// The initiator's second way to get credentials: no password, NTLMUSER names the user and
// gss-ntlmssp reads the password from NTLM_USER_FILE in the initiator's own process.
func TestGSSPeerNTLMDefaultCredentials(t *testing.T) {
	ini, acc := ntlmPair(t,
		GSSPeerOptions{NTLM: NTLMEnv{Users: testUsers, User: testDomain + `\` + testUser}},
		GSSPeerOptions{})
	if _, err := Handshake(ini, acc, 0); err != nil {
		t.Fatal(err)
	}
	if name, err := acc.PeerName(); err != nil || name != `TESTDOM\alice` {
		t.Errorf("PeerName = %q, %v", name, err)
	}
}

func TestGSSPeerNTLMEnvKnobs(t *testing.T) {
	ini, acc := ntlmPair(t,
		GSSPeerOptions{NTLM: NTLMEnv{ComputerName: "CLIENTPC"}},
		GSSPeerOptions{NTLM: NTLMEnv{ComputerName: "SERVERPC", DomainName: "SRVDOM"}})
	tokens, err := Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	utf16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	if !bytes.Contains(tokens[1], utf16("SERVERPC")) || !bytes.Contains(tokens[1], utf16("SRVDOM")) {
		t.Errorf("CHALLENGE lacks NETBIOS_COMPUTER_NAME/NETBIOS_DOMAIN_NAME: % x", tokens[1])
	}
	if !bytes.Contains(tokens[2], utf16("CLIENTPC")) {
		t.Errorf("AUTHENTICATE lacks the initiator's NETBIOS_COMPUTER_NAME")
	}
}

// LM_COMPAT_LEVEL 2 makes gss-ntlmssp's initiator send NTLMv1: a 24-byte NT response instead
// of an NTLMv2 blob. gss-ntlmssp's acceptor takes NTLMv1 only at levels 0-2: from 3 up (its
// default) it refuses it, stricter than Windows, which refuses NTLMv1 only at 5.
func TestGSSPeerNTLMLMCompatLevel(t *testing.T) {
	v1 := NTLMEnv{LMCompatLevel: "2"}
	ini, acc := ntlmPair(t, GSSPeerOptions{NTLM: v1}, GSSPeerOptions{NTLM: v1})
	tokens, err := Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	auth := tokens[2]
	if ntLen := binary.LittleEndian.Uint16(auth[20:22]); ntLen != 24 {
		t.Errorf("NTLMv1 NT response length %d, want 24", ntLen)
	}
	for _, level := range []string{"", "3", "4", "5"} {
		ini, acc = ntlmPair(t, GSSPeerOptions{NTLM: v1}, GSSPeerOptions{NTLM: NTLMEnv{LMCompatLevel: level}})
		_, err := Handshake(ini, acc, 0)
		if err == nil || !strings.Contains(err.Error(), "NTLM version 1 not allowed") {
			t.Errorf("acceptor at LM_COMPAT_LEVEL %q with an NTLMv1 initiator: %v, want refusal", level, err)
		}
	}
}

func TestGSSPeerSPNEGONTLM(t *testing.T) {
	ini, acc := ntlmPair(t,
		GSSPeerOptions{Mech: MechSPNEGO, NegMechs: []string{MechNTLM}, Flags: GSSIntegFlag | GSSConfFlag},
		GSSPeerOptions{Mech: MechSPNEGO, NegMechs: []string{MechNTLM}})
	tokens, err := Handshake(ini, acc, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first SPNEGO token is an InitialContextToken with the SPNEGO OID (60 .. 06 06 2b 06
	// 01 05 05 02); the rest are bare NegTokenResp (a1 ..).
	if len(tokens) < 3 || tokens[0][0] != 0x60 || !bytes.Contains(tokens[0][:16], []byte{6, 6, 0x2b, 6, 1, 5, 5, 2}) {
		t.Fatalf("first token % x is not a SPNEGO InitialContextToken", tokens[0][:min(16, len(tokens[0]))])
	}
	for i, tok := range tokens[1:] {
		if tok[0] != 0xa1 {
			t.Errorf("token %d starts with %#x, want a NegTokenResp (0xa1)", i+1, tok[0])
		}
	}
	ai, err := acc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if ai.Mech != MechNTLM || ai.PeerName != `TESTDOM\alice` {
		t.Errorf("acceptor info %+v: want NTLM under SPNEGO, peer TESTDOM\\alice", ai)
	}
	tok, _, err := ini.Wrap([]byte("through spnego"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := acc.Unwrap(tok); err != nil || string(got) != "through spnego" {
		t.Errorf("unwrap = %q, %v", got, err)
	}

	// NegMechs really narrows the offer: limited to Kerberos, for which this initiator has no
	// credentials, SPNEGO has nothing to offer and fails at once.
	only, err := StartGSSPeer(t, GSSPeerOptions{Role: Initiator, Mech: MechSPNEGO, NegMechs: []string{MechKerberos},
		User: `TESTDOM\alice`, Password: testPassword})
	if err == nil {
		if tok, _, err := only.Step(nil); err == nil {
			t.Errorf("SPNEGO limited to Kerberos without Kerberos credentials produced % x", tok)
		}
	}
}

func TestGSSPeerNTLMChannelBindings(t *testing.T) {
	cb := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	ini, acc := ntlmPair(t, GSSPeerOptions{ChannelBindings: cb}, GSSPeerOptions{ChannelBindings: cb})
	if _, err := Handshake(ini, acc, 0); err != nil {
		t.Fatalf("matching channel bindings: %v", err)
	}
	ini, acc = ntlmPair(t,
		GSSPeerOptions{ChannelBindings: cb},
		GSSPeerOptions{ChannelBindings: []byte("tls-server-end-point:something else entirely!!")})
	_, err := Handshake(ini, acc, 0)
	var ge *GSSError
	if !errors.As(err, &ge) || RoutineError(ge.Major) != GSSDefectiveToken {
		t.Errorf("mismatched channel bindings: %v, want GSS_S_DEFECTIVE_TOKEN from the acceptor", err)
	}
	// gss-ntlmssp does not insist on bindings: one side alone is accepted either way.
	ini, acc = ntlmPair(t, GSSPeerOptions{ChannelBindings: cb}, GSSPeerOptions{})
	if _, err := Handshake(ini, acc, 0); err != nil {
		t.Errorf("bindings on the initiator only: %v", err)
	}
}

func TestGSSPeerStepBeforeEstablished(t *testing.T) {
	ini, _ := ntlmPair(t, GSSPeerOptions{}, GSSPeerOptions{})
	if _, _, err := ini.Wrap([]byte("x"), true); err == nil {
		t.Error("Wrap before the handshake succeeded")
	}
	if _, err := ini.PeerName(); err == nil {
		t.Error("PeerName before the handshake succeeded")
	}
}
