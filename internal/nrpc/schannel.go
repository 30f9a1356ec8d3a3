package nrpc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The Netlogon security provider (MS-NRPC 3.3): RPC_C_AUTHN_NETLOGON, bound with an
// NL_AUTH_MESSAGE and protecting every PDU with an NL_AUTH_SHA2_SIGNATURE (AES).
const (
	AuthTypeNetlogon   = 0x44 // RPC_C_AUTHN_NETLOGON (68)
	AuthLevelPrivacy   = 6    // RPC_C_AUTHN_LEVEL_PKT_PRIVACY: sealed
	AuthLevelIntegrity = 5    // RPC_C_AUTHN_LEVEL_PKT_INTEGRITY: signed

	sigAlgHMACSHA256 = 0x0013
	sealAlgAES128    = 0x001a
	sealAlgNone      = 0xffff

	// sha2SignatureSize is NL_AUTH_SHA2_SIGNATURE with its confounder (MS-NRPC 2.2.1.3.3).
	sha2SignatureSize = 56
	// Windows fills the AES signature as it fills the HMAC-MD5 one: the checksum is the
	// first 8 bytes of the HMAC-SHA256 at offset 16 and the confounder follows at 24,
	// the rest of the 56 bytes zero (not the 32-byte checksum and the confounder at 48
	// that the structure's definition suggests). Samba does the same.
	checksumLen   = 8
	confounderOfs = 24
)

// SecureChannel is the Netlogon security provider over an established channel's session
// key. Its one sequence number counts every PDU it protects or checks, in both
// directions, as the DC's does; so it serves one RPC connection, whose calls run one at
// a time.
type SecureChannel struct {
	key      [16]byte
	sealKey  [16]byte // the session key XOR 0xf0 (MS-NRPC 3.3.4.2.1 step 5)
	seal     bool
	domain   string // NetBIOS domain and computer names of the NL_AUTH_MESSAGE
	computer string
	seq      uint64
	rand     io.Reader
	// server is set on the acceptor's side, which only tests use: it flips the
	// direction bit of the sequence numbers.
	server bool
}

// NewSecureChannel returns the provider for a channel keyed by sessionKey, binding as
// computer of domain; seal chooses privacy over integrity.
func NewSecureChannel(sessionKey [16]byte, domain, computer string, seal bool) *SecureChannel {
	s := &SecureChannel{key: sessionKey, seal: seal, domain: domain, computer: computer, rand: rand.Reader}
	for i, b := range sessionKey {
		s.sealKey[i] = b ^ 0xf0
	}
	return s
}

// AuthType is RPC_C_AUTHN_NETLOGON.
func (s *SecureChannel) AuthType() uint8 { return AuthTypeNetlogon }

// AuthLevel is privacy when sealing, integrity otherwise.
func (s *SecureChannel) AuthLevel() uint8 {
	if s.seal {
		return AuthLevelPrivacy
	}
	return AuthLevelIntegrity
}

// BindToken is an NL_AUTH_MESSAGE negotiate request (MS-NRPC 2.2.1.3.1) naming the
// NetBIOS domain and computer in OEM (here ASCII) strings.
func (s *SecureChannel) BindToken() ([]byte, error) {
	if !ascii(s.domain) || !ascii(s.computer) {
		return nil, errors.New("nrpc: the domain and computer names of a secure channel must be ASCII")
	}
	b := binary.LittleEndian.AppendUint32(nil, 0)      // MessageType: negotiate request
	b = binary.LittleEndian.AppendUint32(b, 0x01|0x02) // NetbiosOemDomainName, NetbiosOemComputerName
	b = append(append(b, s.domain...), 0)
	return append(append(b, s.computer...), 0), nil
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// AcceptBindAck checks the NL_AUTH_MESSAGE negotiate response.
func (s *SecureChannel) AcceptBindAck(tok []byte) error {
	if len(tok) < 8 || binary.LittleEndian.Uint32(tok) != 1 {
		return errors.New("nrpc: the DC did not answer the secure channel bind with an NL_AUTH_MESSAGE negotiate response")
	}
	return nil
}

// SignatureSize is NL_AUTH_SHA2_SIGNATURE's size with its confounder.
func (s *SecureChannel) SignatureSize() int { return sha2SignatureSize }

// seqBytes is CopySeqNumber (MS-NRPC 3.3.4.2.1 step 2): the low 32 bits big-endian, and
// in byte 4 the high bit set when the sender is the client.
func seqBytes(seq uint64, fromClient bool) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], uint32(seq))
	binary.BigEndian.PutUint32(b[4:], uint32(seq>>32))
	if fromClient {
		b[4] |= 0x80
	}
	return b
}

func (s *SecureChannel) header() [8]byte {
	alg := uint16(sealAlgNone)
	if s.seal {
		alg = sealAlgAES128
	}
	var h [8]byte
	binary.LittleEndian.PutUint16(h[0:], sigAlgHMACSHA256)
	binary.LittleEndian.PutUint16(h[2:], alg)
	binary.LittleEndian.PutUint16(h[4:], 0xffff)
	return h
}

// checksum is HMAC-SHA256 over the header, the confounder (when sealing) and the
// plaintext (MS-NRPC 3.3.4.2.1 step 7).
func (s *SecureChannel) checksum(h [8]byte, confounder, data []byte) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write(h[:])
	if s.seal {
		m.Write(confounder)
	}
	m.Write(data)
	return m.Sum(nil)
}

func doubled(b []byte) [16]byte {
	var iv [16]byte
	copy(iv[:8], b)
	copy(iv[8:], b)
	return iv
}

// Protect signs and seals data in place and returns its NL_AUTH_SHA2_SIGNATURE
// (MS-NRPC 3.3.4.2.1).
func (s *SecureChannel) Protect(data []byte) ([]byte, error) {
	sig := make([]byte, sha2SignatureSize)
	h := s.header()
	copy(sig, h[:])
	seq := seqBytes(s.seq, !s.server)
	s.seq++
	confounder := sig[confounderOfs : confounderOfs+8]
	if s.seal {
		if _, err := io.ReadFull(s.rand, confounder); err != nil {
			return nil, fmt.Errorf("nrpc: reading a confounder: %w", err)
		}
	}
	sum := s.checksum(h, confounder, data)[:checksumLen]
	copy(sig[16:], sum)
	if s.seal {
		c := newCFB8(s.sealKey[:], doubled(seq[:]), false)
		c.XORKeyStream(confounder, confounder)
		c.XORKeyStream(data, data)
	}
	newCFB8(s.key[:], doubled(sum[:8]), false).XORKeyStream(sig[8:16], seq[:])
	return sig, nil
}

// Unprotect checks a server's NL_AUTH_SHA2_SIGNATURE over data and unseals data in
// place (MS-NRPC 3.3.4.2.2): the sequence number must be the next one, the algorithms
// the channel's, and the checksum must match.
func (s *SecureChannel) Unprotect(data, sig []byte) error {
	if len(sig) < sha2SignatureSize-8 || s.seal && len(sig) < sha2SignatureSize {
		// 48 bytes without sealing, 56 with (Samba's minimum sizes)
		return fmt.Errorf("nrpc: a %d-byte Netlogon signature is too short", len(sig))
	}
	h := s.header()
	if subtle.ConstantTimeCompare(sig[:8], h[:]) != 1 {
		return errors.New("nrpc: the Netlogon signature's algorithms are not the channel's (a downgrade?)")
	}
	var seq [8]byte
	newCFB8(s.key[:], doubled(sig[16:24]), true).XORKeyStream(seq[:], sig[8:16])
	if want := seqBytes(s.seq, s.server); subtle.ConstantTimeCompare(seq[:], want[:]) != 1 {
		return errors.New("nrpc: the Netlogon signature's sequence number is out of order (a replayed or reordered PDU)")
	}
	s.seq++
	var confounder [8]byte
	if s.seal {
		copy(confounder[:], sig[confounderOfs:confounderOfs+8])
		c := newCFB8(s.sealKey[:], doubled(seq[:]), true)
		c.XORKeyStream(confounder[:], confounder[:])
		c.XORKeyStream(data, data)
	}
	sum := s.checksum(h, confounder[:], data)
	if subtle.ConstantTimeCompare(sum[:checksumLen], sig[16:16+checksumLen]) != 1 {
		return errors.New("nrpc: the Netlogon signature does not match (the response was altered)")
	}
	return nil
}
