package testpeers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

const ntlmsspNegotiateVersion = 0x02000000

func TestNTLMAuthClientServer(t *testing.T) {
	c := StartNTLMAuthClient(t, NTLMAuthOptions{User: testUser, Domain: testDomain, Password: testPassword, Workstation: "WS1"})
	s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword, NetBIOSName: "SRV1", Workgroup: testDomain})

	tokens, err := Handshake(c, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 3 || ntlmMessageType(tokens[0]) != 1 || ntlmMessageType(tokens[1]) != 2 || ntlmMessageType(tokens[2]) != 3 {
		t.Fatalf("tokens are not NEGOTIATE, CHALLENGE, AUTHENTICATE: %d tokens", len(tokens))
	}
	// Samba's client sends the 40-byte NEGOTIATE with VERSION, as Windows does.
	if len(tokens[0]) != 40 || binary.LittleEndian.Uint32(tokens[0][12:16])&ntlmsspNegotiateVersion == 0 {
		t.Errorf("NEGOTIATE: %d bytes, flags %#x", len(tokens[0]), binary.LittleEndian.Uint32(tokens[0][12:16]))
	}
	// NTLMv2 by default: the NT response is longer than NTLMv1's 24 bytes.
	if ntLen := binary.LittleEndian.Uint16(tokens[2][20:22]); ntLen <= 24 {
		t.Errorf("NT response length %d: not NTLMv2", ntLen)
	}
	if s.User() != `TESTDOM\alice` {
		t.Errorf("acceptor authenticated %q", s.User())
	}
	ck, err := c.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := s.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(ck) != 16 || !bytes.Equal(ck, sk) {
		t.Errorf("session keys differ: client %x, server %x", ck, sk)
	}
	cf, err := c.Flags()
	if err != nil {
		t.Fatal(err)
	}
	sf, err := s.Flags()
	if err != nil {
		t.Fatal(err)
	}
	if cf != sf || cf == 0 {
		t.Errorf("negotiated flags: client %#x, server %#x", cf, sf)
	}
}

func TestNTLMAuthWrongPassword(t *testing.T) {
	c := StartNTLMAuthClient(t, NTLMAuthOptions{User: testUser, Domain: testDomain, Password: "wrong"})
	s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
	_, err := Handshake(c, s, 0)
	var rej *NTLMAuthRejected
	if !errors.As(err, &rej) || rej.Reason != "NT_STATUS_LOGON_FAILURE" {
		t.Fatalf("wrong password: %v, want NA NT_STATUS_LOGON_FAILURE", err)
	}
	if _, err := s.SessionKey(); err == nil {
		t.Error("acceptor gave a session key after a refusal")
	}
}

// Cross-implementation: gss-ntlmssp (through python3-gssapi) against Samba, both ways.
func TestNTLMAuthAgainstGSSNTLMSSP(t *testing.T) {
	t.Run("gss-ntlmssp initiator, ntlm_auth acceptor", func(t *testing.T) {
		ini := NewGSSPeer(t, GSSPeerOptions{Role: Initiator, User: `TESTDOM\alice`, Password: testPassword})
		s := StartNTLMAuthServer(t, NTLMAuthOptions{Password: testPassword})
		if _, err := Handshake(ini, s, 0); err != nil {
			t.Fatal(err)
		}
		if s.User() != `TESTDOM\alice` {
			t.Errorf("acceptor authenticated %q", s.User())
		}
		ik, err := ini.Info()
		if err != nil {
			t.Fatal(err)
		}
		sk, err := s.SessionKey()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ik.SessionKey, sk) {
			t.Errorf("session keys differ: gss-ntlmssp %x, ntlm_auth %x", ik.SessionKey, sk)
		}
	})
	t.Run("ntlm_auth client, gss-ntlmssp acceptor", func(t *testing.T) {
		c := StartNTLMAuthClient(t, NTLMAuthOptions{User: testUser, Domain: testDomain, Password: testPassword})
		acc := NewGSSPeer(t, GSSPeerOptions{Role: Acceptor, NTLM: NTLMEnv{Users: testUsers}})
		if _, err := Handshake(c, acc, 0); err != nil {
			t.Fatal(err)
		}
		ai, err := acc.Info()
		if err != nil {
			t.Fatal(err)
		}
		if ai.PeerName != `TESTDOM\alice` {
			t.Errorf("gss-ntlmssp authenticated %q", ai.PeerName)
		}
		ck, err := c.SessionKey()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ai.SessionKey, ck) {
			t.Errorf("session keys differ: gss-ntlmssp %x, ntlm_auth %x", ai.SessionKey, ck)
		}
	})
}
