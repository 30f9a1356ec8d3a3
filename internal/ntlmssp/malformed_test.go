package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

type parser func([]byte) error

var parsers = map[string]struct {
	parse parser
	seeds []string
	descs []int // field descriptor offsets
}{
	"NEGOTIATE": {
		func(b []byte) error { _, err := ParseNegotiate(b); return err },
		[]string{negotiateChromeHex},
		nil,
	},
	"CHALLENGE": {
		func(b []byte) error { _, err := ParseChallenge(b); return err },
		[]string{challengeV1Hex, challengeV1ESSHex, challengeV2Hex},
		[]int{12, 40},
	},
	"AUTHENTICATE": {
		func(b []byte) error { _, err := ParseAuthenticate(b); return err },
		[]string{authenticateV1Hex, authenticateV2Hex, authenticateChromeHex},
		[]int{authLM, authNT, authDomain, authUser, authWorkstation, authSessionKey},
	},
}

// TestTruncated cuts every valid message at every length: each must either
// parse or fail with ErrMalformed, never panic. Cuts through the header or
// through a field must fail.
func TestTruncated(t *testing.T) {
	for name, p := range parsers {
		for _, seed := range p.seeds {
			msg := unhex(t, seed)
			for n := 0; n < len(msg); n++ {
				err := p.parse(bytes.Clone(msg[:n]))
				if err == nil {
					t.Errorf("%s truncated to %d of %d bytes parsed", name, n, len(msg))
				} else if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s truncated to %d: %v does not wrap ErrMalformed", name, n, err)
				}
			}
		}
	}
}

func TestMalformedMessages(t *testing.T) {
	for name, p := range parsers {
		for _, seed := range p.seeds {
			msg := unhex(t, seed)
			mutate := func(what string, f func(b []byte) []byte) {
				t.Helper()
				b := f(bytes.Clone(msg))
				if err := p.parse(b); !errors.Is(err, ErrMalformed) {
					t.Errorf("%s, %s: %v", name, what, err)
				}
			}
			mutate("bad signature", func(b []byte) []byte { b[7] = 'x'; return b })
			mutate("wrong type", func(b []byte) []byte { b[8] ^= 3; return b })
			mutate("huge type", func(b []byte) []byte { b[11] = 0x80; return b })
			mutate("oversized", func(b []byte) []byte { return append(b, make([]byte, maxMessageSize)...) })
			for _, d := range p.descs {
				mutate("offset outside", func(b []byte) []byte {
					binary.LittleEndian.PutUint16(b[d:], 4)
					binary.LittleEndian.PutUint32(b[d+4:], uint32(len(b)-3))
					return b
				})
				mutate("offset overflow", func(b []byte) []byte {
					binary.LittleEndian.PutUint16(b[d:], 4)
					binary.LittleEndian.PutUint32(b[d+4:], 0xfffffffe)
					return b
				})
				mutate("huge length", func(b []byte) []byte {
					binary.LittleEndian.PutUint16(b[d:], 0xffff)
					binary.LittleEndian.PutUint16(b[d+2:], 0xffff)
					return b
				})
			}
		}
	}
	// Broken target info inside an otherwise valid CHALLENGE.
	msg := unhex(t, challengeV2Hex)
	msg[len(msg)-4] = 9 // EOL becomes an unknown pair running past the end
	if _, err := ParseChallenge(msg); !errors.Is(err, ErrMalformed) {
		t.Errorf("CHALLENGE with bad target info: %v", err)
	}
	// NEGOTIATE with a supplied domain pointing outside.
	n := (&NegotiateMessage{Flags: FlagOEMDomainSupplied, Domain: "D"}).Marshal()
	binary.LittleEndian.PutUint32(n[20:], 1000)
	if _, err := ParseNegotiate(n); !errors.Is(err, ErrMalformed) {
		t.Errorf("NEGOTIATE with bad domain: %v", err)
	}
	// Odd-length Unicode user name.
	a := unhex(t, authenticateV2Hex)
	a[authUser] = 7
	if _, err := ParseAuthenticate(a); !errors.Is(err, ErrMalformed) {
		t.Errorf("AUTHENTICATE with odd Unicode length: %v", err)
	}
	// NTLMv2 responses.
	for n := 0; n < 48; n++ {
		if _, err := ParseNTLMv2Response(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("NTLMv2 response of %d bytes: %v", n, err)
		}
	}
	r := make([]byte, 60)
	r[44] = 1 // an AV pair with no EOL
	r[46] = 0xff
	if _, err := ParseNTLMv2Response(r); !errors.Is(err, ErrMalformed) {
		t.Errorf("NTLMv2 response without EOL: %v", err)
	}
}

// TestMICHelperBounds: ComputeMIC with an offset that does not fit hashes
// the message unchanged instead of failing or panicking.
func TestMICHelperBounds(t *testing.T) {
	var k [16]byte
	a := []byte("short")
	if ComputeMIC(k, nil, nil, a, 72) != ComputeMIC(k, nil, nil, a, -1) {
		t.Error("out-of-range MIC offset")
	}
}
