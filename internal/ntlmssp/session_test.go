package ntlmssp

import (
	"bytes"
	"errors"
	"testing"
)

// TestSealVectors checks the GSS_WrapEx examples of MS-NLMP 4.2.2.4, 4.2.3.4
// and 4.2.4.4 (client side, sequence number 0), and that the server side
// unseals them.
func TestSealVectors(t *testing.T) {
	kxESS := unhex16(t, "eb93429a8bd952f8b89c55b87f475edc") // 4.2.3: no KEY_EXCH, ESK = KXKEY
	for _, tc := range []struct {
		name   string
		flags  NegotiateFlags
		esk    [16]byte
		sealed string
		sig    string
	}{
		{"4.2.2.4 NTLMv1", vFlagsV1, vRandomSessionKey, "56fe04d861f9319af0d7238a2e3b4d457fb8", "010000000000000009dcd1df2e459d36"},
		{"4.2.3.4 NTLMv1 ESS", vFlagsV1ESS, kxESS, "a02372f6530273f3aa1eb90190ce5200c99d", "01000000ff2aeb52f681793a00000000"},
		{"4.2.4.4 NTLMv2", vFlagsV2, vRandomSessionKey, "54e50165bf1936dc996020c1811b0f06fb5f", "010000007fb38ec5c55d497600000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := NewSession(tc.flags, tc.esk, true)
			server := NewSession(tc.flags, tc.esk, false)
			msg := bytes.Clone(vPlaintext)
			sig := make([]byte, SignatureSize)
			if err := client.Seal(sig, Buffer{Data: msg}); err != nil {
				t.Fatal(err)
			}
			checkHex(t, "sealed", msg, tc.sealed)
			checkHex(t, "signature", sig, tc.sig)
			if err := server.Unseal(sig, Buffer{Data: msg}); err != nil {
				t.Fatalf("Unseal: %v", err)
			}
			if !bytes.Equal(msg, vPlaintext) {
				t.Errorf("unsealed %x", msg)
			}
		})
	}
}

// TestSignVectors checks signatures without sealing: the 4.2.4.4 checksum
// without KEY_EXCH, and the SPNEGO mechListMIC of spnego-credssp.md.
func TestSignVectors(t *testing.T) {
	// Without KEY_EXCH the HMAC is not RC4-encrypted.
	s := NewSession(vFlagsV2&^FlagKeyExch, vRandomSessionKey, true)
	sig := make([]byte, SignatureSize)
	if err := s.Sign(sig, vPlaintext); err != nil {
		t.Fatal(err)
	}
	checkHex(t, "signature without KEY_EXCH", sig, "0100000070352851f256430900000000")

	// mechListMIC over the NTLM-only MechTypeList with the 4.2.4 keys.
	mechList := unhex(t, "300c060a2b06010401823702020a")
	s = NewSession(vFlagsV2, vRandomSessionKey, true)
	if err := s.SignMechListMIC(sig, mechList); err != nil {
		t.Fatal(err)
	}
	checkHex(t, "mechListMIC", sig, "0100000022a3984fefbb9c3200000000")
	srv := NewSession(vFlagsV2, vRandomSessionKey, false)
	if err := srv.VerifyMechListMIC(sig, mechList); err != nil {
		t.Fatalf("VerifyMechListMIC: %v", err)
	}

	// After the reset, the first application message uses a freshly
	// keyed RC4 state and sequence number 1.
	msg := bytes.Clone(vPlaintext)
	if err := s.Seal(sig, Buffer{Data: msg}); err != nil {
		t.Fatal(err)
	}
	fresh := NewSession(vFlagsV2, vRandomSessionKey, true)
	msg2 := bytes.Clone(vPlaintext)
	sig2 := make([]byte, SignatureSize)
	if err := fresh.SealSeq(1, sig2, Buffer{Data: msg2}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg, msg2) || !bytes.Equal(sig, sig2) {
		t.Errorf("after reset: %x %x, fresh: %x %x", msg, sig, msg2, sig2)
	}
	if err := srv.Unseal(sig, Buffer{Data: msg}); err != nil || !bytes.Equal(msg, vPlaintext) {
		t.Errorf("server after reset: %v", err)
	}
}

func sessionPair(flags NegotiateFlags) (client, server *Session) {
	return NewSession(flags, vRandomSessionKey, true), NewSession(flags, vRandomSessionKey, false)
}

var sessionFlags = []struct {
	name  string
	flags NegotiateFlags
}{
	{"ESS KEY_EXCH 128", vFlagsV2},
	{"ESS 128 no KEY_EXCH", vFlagsV2 &^ FlagKeyExch},
	{"ESS 56", vFlagsV1ESS},
	{"ESS 40", vFlagsV1ESS &^ Flag56},
	{"no ESS 128", vFlagsV1},
	{"no ESS LM_KEY 56", vFlagsV1 | FlagLMKey},
	{"no ESS LM_KEY 40", (vFlagsV1 | FlagLMKey) &^ Flag56},
}

// TestSessionConversation runs messages both ways, alternating as a
// half-duplex protocol does, with every kind of session.
func TestSessionConversation(t *testing.T) {
	for _, tc := range sessionFlags {
		t.Run(tc.name, func(t *testing.T) {
			client, server := sessionPair(tc.flags)
			sig := make([]byte, SignatureSize)
			for i := 0; i < 5; i++ {
				for _, dir := range []struct{ from, to *Session }{{client, server}, {server, client}} {
					hdr := []byte("header")
					body := bytes.Repeat([]byte{byte(i)}, 100+i)
					plain := bytes.Clone(body)
					if err := dir.from.Seal(sig, Buffer{Data: hdr, SignOnly: true}, Buffer{Data: body}); err != nil {
						t.Fatal(err)
					}
					if bytes.Equal(body, plain) || string(hdr) != "header" {
						t.Fatalf("seal did not encrypt only the body")
					}
					if err := dir.to.Unseal(sig, Buffer{Data: hdr, SignOnly: true}, Buffer{Data: body}); err != nil {
						t.Fatalf("message %d: Unseal: %v", i, err)
					}
					if !bytes.Equal(body, plain) {
						t.Fatalf("unsealed data differs")
					}
					if err := dir.from.Sign(sig, hdr, body); err != nil {
						t.Fatal(err)
					}
					if err := dir.to.Verify(sig, hdr, body); err != nil {
						t.Fatalf("message %d: Verify: %v", i, err)
					}
				}
			}
		})
	}
}

func TestSessionErrors(t *testing.T) {
	for _, tc := range sessionFlags {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte("some message")
			sig := make([]byte, SignatureSize)

			// Altered message.
			client, server := sessionPair(tc.flags)
			client.Sign(sig, msg)
			if err := server.Verify(sig, []byte("some massage")); !errors.Is(err, ErrMessageAltered) {
				t.Errorf("altered message: %v", err)
			}
			// Altered checksum.
			client, server = sessionPair(tc.flags)
			client.Sign(sig, msg)
			sig[9] ^= 1
			if err := server.Verify(sig, msg); !errors.Is(err, ErrMessageAltered) {
				t.Errorf("altered checksum: %v", err)
			}
			// Replayed / skipped message.
			client, server = sessionPair(tc.flags)
			client.Sign(sig, msg)
			client.Sign(sig, msg) // seq 1, but the server expects 0
			if err := server.Verify(sig, msg); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("wrong sequence number: %v", err)
			}
			// Explicit sequence numbers.
			client, server = sessionPair(tc.flags)
			client.SignSeq(7, sig, msg)
			if err := server.VerifySeq(7, sig, msg); err != nil {
				t.Errorf("VerifySeq(7): %v", err)
			}
			client, server = sessionPair(tc.flags)
			client.SignSeq(7, sig, msg)
			if err := server.VerifySeq(8, sig, msg); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("VerifySeq(8) of seq 7: %v", err)
			}
			// Sealed data altered in transit.
			client, server = sessionPair(tc.flags)
			data := bytes.Clone(msg)
			client.Seal(sig, Buffer{Data: data})
			data[0] ^= 1
			if err := server.Unseal(sig, Buffer{Data: data}); !errors.Is(err, ErrMessageAltered) {
				t.Errorf("altered sealed data: %v", err)
			}
			// Bad signature sizes.
			if err := server.Verify(sig[:15], msg); !errors.Is(err, ErrMalformed) {
				t.Errorf("short signature: %v", err)
			}
			if err := client.Sign(sig[:15], msg); err == nil {
				t.Errorf("short signature buffer accepted")
			}
			// Bad version.
			client, server = sessionPair(tc.flags)
			client.Sign(sig, msg)
			sig[0] = 2
			if err := server.Verify(sig, msg); !errors.Is(err, ErrMessageAltered) {
				t.Errorf("bad version: %v", err)
			}
		})
	}
}

func TestSessionDummySignature(t *testing.T) {
	s := NewSession(FlagNTLM|FlagAlwaysSign|FlagUnicode, [16]byte{}, true)
	sig := make([]byte, SignatureSize)
	for i := 0; i < 2; i++ {
		if err := s.Sign(sig, []byte("x")); err != nil {
			t.Fatal(err)
		}
		checkHex(t, "dummy signature", sig, "01000000000000000000000000000000")
		if err := s.Verify(sig, []byte("y")); err != nil {
			t.Errorf("dummy Verify: %v", err)
		}
	}
	sig[5] = 1
	if err := s.Verify(sig, []byte("y")); !errors.Is(err, ErrMessageAltered) {
		t.Errorf("bad dummy: %v", err)
	}
	if err := s.Seal(sig, Buffer{Data: []byte("x")}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Seal without SEAL: %v", err)
	}
	s = NewSession(FlagNTLM, [16]byte{}, true)
	if err := s.Sign(sig, []byte("x")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Sign without SIGN or ALWAYS_SIGN: %v", err)
	}
}

func TestSessionDatagram(t *testing.T) {
	for _, flags := range []NegotiateFlags{vFlagsV2 | FlagDatagram, vFlagsV1 | FlagDatagram} {
		client, server := sessionPair(flags)
		sig := make([]byte, SignatureSize)
		// Out of order delivery works when each message is re-keyed from
		// its sequence number (ESS); without ESS only in order.
		msgs := map[uint32][]byte{}
		sigs := map[uint32][]byte{}
		for seq := uint32(10); seq < 13; seq++ {
			m := []byte{byte(seq), 1, 2, 3}
			if err := client.SealSeq(seq, sig, Buffer{Data: m}); err != nil {
				t.Fatal(err)
			}
			msgs[seq], sigs[seq] = m, bytes.Clone(sig)
		}
		order := []uint32{12, 10, 11}
		if flags&FlagExtendedSessionSecurity == 0 {
			order = []uint32{10, 11, 12}
		}
		for _, seq := range order {
			if err := server.UnsealSeq(seq, sigs[seq], Buffer{Data: msgs[seq]}); err != nil || msgs[seq][0] != byte(seq) {
				t.Errorf("flags %v seq %d: %v", flags, seq, err)
			}
		}
	}
}

func TestSessionClose(t *testing.T) {
	s := NewSession(vFlagsV2, vRandomSessionKey, true)
	s.Close()
	for _, h := range s.halves {
		if h.sealKey != ([16]byte{}) || h.innerState != nil || h.rc4 != nil {
			t.Errorf("state left after Close: %+v", h)
		}
	}
	sig := make([]byte, SignatureSize)
	if err := s.Sign(sig, []byte("x")); err == nil {
		t.Errorf("Sign after Close succeeded")
	}
}

func TestSessionNoAllocs(t *testing.T) {
	client, server := sessionPair(vFlagsV2)
	msg := make([]byte, 1024)
	sig := make([]byte, SignatureSize)
	allocs := testing.AllocsPerRun(100, func() {
		client.Seal(sig, Buffer{Data: msg})
		server.Unseal(sig, Buffer{Data: msg})
		client.Sign(sig, msg)
		server.Verify(sig, msg)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per seal/unseal/sign/verify", allocs)
	}
}
