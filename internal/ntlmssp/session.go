package ntlmssp

import (
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
)

// SignatureSize is the size of an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP
// 2.2.2.9), the SSPI cbMaxSignature and cbSecurityTrailer of NTLM.
const SignatureSize = 16

// Errors returned by Session verification. Callers implementing SSPI map
// them to SEC_E_MESSAGE_ALTERED and SEC_E_OUT_OF_SEQUENCE.
var (
	// ErrMessageAltered reports a signature whose checksum does not match
	// the message.
	ErrMessageAltered = errors.New("ntlmssp: message altered")
	// ErrOutOfSequence reports a signature whose checksum may be fine but
	// whose sequence number is not the expected one.
	ErrOutOfSequence = errors.New("ntlmssp: message out of sequence")
)

var (
	errNoSign = fmt.Errorf("ntlmssp: neither signing nor ALWAYS_SIGN negotiated: %w", errors.ErrUnsupported)
	// Sealing needs only the RC4 state that signing already keys, so it is allowed
	// whenever SIGN is negotiated: gss-ntlmssp's gss_wrap seals on contexts that asked
	// for integrity alone (MIT's gss-client never asks for confidentiality), and MS-NLMP
	// 3.1.5.1.2 keys the sealing RC4 state whatever was negotiated.
	errNoSeal = fmt.Errorf("ntlmssp: neither sealing nor signing negotiated: %w", errors.ErrUnsupported)
)

// signatureVersion is NTLMSSP_MESSAGE_SIGNATURE.Version (MS-NLMP 2.2.2.9).
const signatureVersion = 1

// Buffer is one piece of a message given to Seal or Unseal. The pieces are
// signed as their concatenation, in order.
type Buffer struct {
	Data []byte
	// SignOnly marks a piece that is covered by the signature but not
	// encrypted, like SSPI's SECBUFFER_READONLY_WITH_CHECKSUM (used for
	// DCE/RPC headers).
	SignOnly bool
}

// md5State is what an MD5 hash.Hash from crypto/md5 implements; the saved
// states let a signature skip re-hashing the HMAC pads, as crypto/hmac does.
type md5State interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// half is the state of one direction of a session.
type half struct {
	seq uint32 // next sequence number (connection-oriented mode)

	hasSignKey bool
	mac        md5State // scratch MD5, reused for every message
	innerState []byte   // MD5 state after absorbing SignKey XOR ipad
	outerState []byte   // MD5 state after absorbing SignKey XOR opad
	sum        [16]byte // scratch, kept here so Sum does not allocate
	seqb       [4]byte  // scratch for the sequence number, likewise

	sealKey    [16]byte
	sealKeyLen int
	rc4        *rc4.Cipher
}

// Session holds the session security state of an authenticated NTLM
// context (MS-NLMP 3.4): signing (MakeSignature / VerifySignature) and
// sealing (EncryptMessage / DecryptMessage).
//
// With extended session security each direction has its own signing key,
// sealing key, RC4 state and sequence number. Without it (MS-NLMP 3.4: "only
// one key is used for sealing", half-duplex) a single RC4 state and a single
// sequence number serve both directions, as in Samba and gss-ntlmssp: a
// client's first signature and the server's check of it use 0, the server's
// reply 1, and so on.
//
// Signing and sealing draw on the same RC4 state of a direction, so the
// order of calls must match the peer's. A verification failure leaves that
// state advanced; the context should then be discarded, as Windows does.
//
// A Session is not safe for concurrent use. Its methods do not allocate
// (except in datagram mode, which re-keys RC4 for every message).
type Session struct {
	flags    NegotiateFlags
	ess      bool
	keyExch  bool
	datagram bool
	out, in  *half
	halves   [2]half
}

// NewSession returns the session security state for flags (the negotiated
// flags, as in the AUTHENTICATE_MESSAGE) and exportedSessionKey, for the
// client side if client is true and the server side otherwise.
func NewSession(flags NegotiateFlags, exportedSessionKey [16]byte, client bool) *Session {
	s := &Session{
		flags:    flags,
		ess:      flags&FlagExtendedSessionSecurity != 0,
		keyExch:  flags&FlagKeyExch != 0,
		datagram: flags&FlagDatagram != 0,
	}
	if s.ess {
		s.out, s.in = &s.halves[0], &s.halves[1]
		s.out.init(flags, &exportedSessionKey, client)
		s.in.init(flags, &exportedSessionKey, !client)
	} else {
		s.out, s.in = &s.halves[0], &s.halves[0]
		s.out.init(flags, &exportedSessionKey, true)
	}
	clear(exportedSessionKey[:])
	return s
}

func (h *half) init(flags NegotiateFlags, esk *[16]byte, fromClient bool) {
	h.sealKey, h.sealKeyLen = sealKey(flags, esk, fromClient)
	h.resetRC4()
	if flags&FlagExtendedSessionSecurity == 0 {
		return
	}
	k := signKey(esk, fromClient)
	ipad, opad := hmacPads(k[:])
	clear(k[:])
	h.hasSignKey = true
	h.mac = md5.New().(md5State)
	h.mac.Write(ipad[:])
	h.innerState, _ = h.mac.MarshalBinary()
	h.mac.Reset()
	h.mac.Write(opad[:])
	h.outerState, _ = h.mac.MarshalBinary()
	h.mac.Reset()
	clear(ipad[:])
	clear(opad[:])
}

// resetRC4 keys the direction's RC4 state afresh from its sealing key.
func (h *half) resetRC4() {
	if h.rc4 != nil {
		*h.rc4 = rc4.Cipher{}
	}
	h.rc4, _ = rc4.NewCipher(h.sealKey[:h.sealKeyLen]) // cannot fail: 8 or 16 bytes
}

// rekey implements connectionless mode with extended session security:
// before each message RC4 is keyed with MD5(SealingKey || SeqNum)
// (MS-NLMP 3.4, the note on connectionless mode).
func (h *half) rekey(seq uint32) {
	var buf [20]byte
	n := copy(buf[:], h.sealKey[:h.sealKeyLen])
	binary.LittleEndian.PutUint32(buf[n:], seq)
	k := md5.Sum(buf[:n+4])
	*h.rc4 = rc4.Cipher{}
	h.rc4, _ = rc4.NewCipher(k[:])
	clear(buf[:])
	clear(k[:])
}

// Close clears the session's keys and RC4 states; the Session must not be
// used afterwards. Buffers inside crypto/md5 and crypto/rc4 that Go does
// not expose cannot be cleared.
func (s *Session) Close() {
	for i := range s.halves {
		h := &s.halves[i]
		clear(h.innerState)
		clear(h.outerState)
		clear(h.sealKey[:])
		clear(h.sum[:])
		if h.rc4 != nil {
			*h.rc4 = rc4.Cipher{}
		}
		if h.mac != nil {
			h.mac.Reset()
		}
		*h = half{}
	}
	s.out, s.in = &s.halves[0], &s.halves[0]
	s.flags = 0
}

// canSign reports whether real signatures are made: SIGN, or SEAL (whose
// messages are always signed), was negotiated.
func (s *Session) canSign() bool { return s.flags&(FlagSign|FlagSeal) != 0 }

// dummySignature is what MakeSignature produces when only ALWAYS_SIGN was
// negotiated: version 1 and zeros (gss-ntlmssp; pyspnego
// test_sign_with_always_sign).
var dummySignature = [SignatureSize]byte{signatureVersion}

// Sign computes the signature of the concatenation of msg (MS-NLMP 3.4.4,
// MAC()) into sig[:16] with the outbound keys and sequence counter, which
// it then increments. Without SIGN or SEAL but with ALWAYS_SIGN it writes
// the dummy signature (version 1, all zeros).
func (s *Session) Sign(sig []byte, msg ...[]byte) error {
	if err := s.signSeq(s.out.seq, sig, msg); err != nil {
		return err
	}
	if s.canSign() {
		s.out.seq++
	}
	return nil
}

// SignSeq is Sign with the sequence number given by the caller; the
// internal counter is neither used nor changed. Use it for connectionless
// (datagram) contexts, where the application numbers its messages.
func (s *Session) SignSeq(seq uint32, sig []byte, msg ...[]byte) error {
	return s.signSeq(seq, sig, msg)
}

func (s *Session) signSeq(seq uint32, sig []byte, msg [][]byte) error {
	if len(sig) < SignatureSize {
		return fmt.Errorf("ntlmssp: signature buffer is %d bytes, need %d", len(sig), SignatureSize)
	}
	if !s.canSign() {
		if s.flags&FlagAlwaysSign == 0 {
			return errNoSign
		}
		copy(sig, dummySignature[:])
		return nil
	}
	h := s.out
	if s.ess {
		if s.datagram {
			h.rekey(seq)
		}
		s.macESS(h, seq, sig, bufs{raw: msg})
	} else {
		s.macV1(h, seq, sig, crc(bufs{raw: msg}))
	}
	return nil
}

// Verify checks sig against the concatenation of msg with the inbound keys
// and sequence counter, which it increments on success. It returns
// ErrOutOfSequence if the sequence number is not the expected one and
// ErrMessageAltered if the checksum is wrong.
func (s *Session) Verify(sig []byte, msg ...[]byte) error {
	if err := s.verifySeq(s.in.seq, sig, msg); err != nil {
		return err
	}
	if s.canSign() {
		s.in.seq++
	}
	return nil
}

// VerifySeq is Verify with the expected sequence number given by the
// caller; the internal counter is neither used nor changed.
func (s *Session) VerifySeq(seq uint32, sig []byte, msg ...[]byte) error {
	return s.verifySeq(seq, sig, msg)
}

func (s *Session) verifySeq(seq uint32, sig []byte, msg [][]byte) error {
	if len(sig) != SignatureSize {
		return malformed("signature is %d bytes, want %d", len(sig), SignatureSize)
	}
	if !s.canSign() {
		if s.flags&FlagAlwaysSign == 0 {
			return errNoSign
		}
		if [SignatureSize]byte(sig) != dummySignature {
			return ErrMessageAltered
		}
		return nil
	}
	h := s.in
	if s.ess {
		if s.datagram {
			h.rekey(seq)
		}
		return s.checkESS(h, seq, sig, bufs{raw: msg})
	}
	return s.checkV1(h, seq, sig, crc(bufs{raw: msg}))
}

// Seal encrypts msg in place, except pieces marked SignOnly, and writes the
// signature of the plaintext into sig[:16] (MS-NLMP 3.4.3, SEAL()), using
// the outbound keys and sequence counter, which it then increments.
func (s *Session) Seal(sig []byte, msg ...Buffer) error {
	if err := s.sealSeq(s.out.seq, sig, msg); err != nil {
		return err
	}
	s.out.seq++
	return nil
}

// SealSeq is Seal with the sequence number given by the caller; the
// internal counter is neither used nor changed.
func (s *Session) SealSeq(seq uint32, sig []byte, msg ...Buffer) error {
	return s.sealSeq(seq, sig, msg)
}

func (s *Session) sealSeq(seq uint32, sig []byte, msg []Buffer) error {
	if len(sig) < SignatureSize {
		return fmt.Errorf("ntlmssp: signature buffer is %d bytes, need %d", len(sig), SignatureSize)
	}
	if s.flags&(FlagSeal|FlagSign) == 0 {
		return errNoSeal
	}
	h := s.out
	m := bufs{sealed: msg}
	if s.ess {
		if s.datagram {
			h.rekey(seq)
		}
		// The checksum covers the plaintext, but the RC4 stream must
		// encrypt the message before the checksum: hash first, then
		// encrypt the data, then finish the signature.
		s.macInner(h, seq, m)
		m.xor(h.rc4)
		s.macFinish(h, seq, sig)
	} else {
		c := crc(m)
		m.xor(h.rc4)
		s.macV1(h, seq, sig, c)
	}
	return nil
}

// Unseal decrypts msg in place, except pieces marked SignOnly, and checks
// sig against the plaintext with the inbound keys and sequence counter,
// which it increments on success. Errors are as for Verify; on error the
// decrypted data must not be used.
func (s *Session) Unseal(sig []byte, msg ...Buffer) error {
	if err := s.unsealSeq(s.in.seq, sig, msg); err != nil {
		return err
	}
	s.in.seq++
	return nil
}

// UnsealSeq is Unseal with the expected sequence number given by the
// caller; the internal counter is neither used nor changed.
func (s *Session) UnsealSeq(seq uint32, sig []byte, msg ...Buffer) error {
	return s.unsealSeq(seq, sig, msg)
}

func (s *Session) unsealSeq(seq uint32, sig []byte, msg []Buffer) error {
	if len(sig) != SignatureSize {
		return malformed("signature is %d bytes, want %d", len(sig), SignatureSize)
	}
	if s.flags&(FlagSeal|FlagSign) == 0 {
		return errNoSeal
	}
	h := s.in
	m := bufs{sealed: msg}
	if s.ess && s.datagram {
		h.rekey(seq)
	}
	m.xor(h.rc4)
	if s.ess {
		return s.checkESS(h, seq, sig, m)
	}
	return s.checkV1(h, seq, sig, crc(m))
}

// SignMechListMIC computes SPNEGO's mechListMIC over mechList (the DER
// MechTypeList) with Sign, then resets the outbound RC4 state to its
// freshly keyed value; the sequence number is not reset. The reset is what
// Windows does after an NTLM mechListMIC ([MS-SPNG] 3.3.5.1: the RC4 state
// used for the mechListMIC must be the same as for the first application
// message), and what gss-ntlmssp's GSS_C_NTLMSSP_RESET_CRYPTO option and
// pyspnego implement. Without extended session security the shared RC4
// state of both directions is reset.
func (s *Session) SignMechListMIC(sig, mechList []byte) error {
	err := s.Sign(sig, mechList)
	s.out.resetRC4()
	return err
}

// VerifyMechListMIC verifies a peer's mechListMIC over mechList with
// Verify, then resets the inbound RC4 state like SignMechListMIC.
func (s *Session) VerifyMechListMIC(sig, mechList []byte) error {
	err := s.Verify(sig, mechList)
	s.in.resetRC4()
	return err
}

// bufs is a message given either as raw pieces (Sign, Verify) or as
// Buffers (Seal, Unseal); one of the two is set.
type bufs struct {
	raw    [][]byte
	sealed []Buffer
}

func crc(m bufs) uint32 {
	var c uint32
	for _, b := range m.raw {
		c = crc32.Update(c, crc32.IEEETable, b)
	}
	for _, b := range m.sealed {
		c = crc32.Update(c, crc32.IEEETable, b.Data)
	}
	return c
}

// xor runs the RC4 stream over the pieces to be encrypted, in order.
func (m bufs) xor(c *rc4.Cipher) {
	for _, b := range m.sealed {
		if !b.SignOnly {
			c.XORKeyStream(b.Data, b.Data)
		}
	}
}

// macInner starts HMAC_MD5(SignKey, SeqNum || message) and leaves the inner
// digest in h.sum.
func (s *Session) macInner(h *half, seq uint32, m bufs) {
	binary.LittleEndian.PutUint32(h.seqb[:], seq)
	h.mac.UnmarshalBinary(h.innerState)
	h.mac.Write(h.seqb[:])
	for _, b := range m.raw {
		h.mac.Write(b)
	}
	for _, b := range m.sealed {
		h.mac.Write(b.Data)
	}
	h.mac.Sum(h.sum[:0])
}

// macFinish completes the HMAC started by macInner and writes the extended
// session security signature (MS-NLMP 3.4.4.2): version, the first eight
// bytes of the HMAC (RC4-encrypted when KEY_EXCH was negotiated), SeqNum.
func (s *Session) macFinish(h *half, seq uint32, sig []byte) {
	h.mac.UnmarshalBinary(h.outerState)
	h.mac.Write(h.sum[:])
	h.mac.Sum(h.sum[:0])
	if s.keyExch {
		h.rc4.XORKeyStream(h.sum[:8], h.sum[:8])
	}
	binary.LittleEndian.PutUint32(sig[0:], signatureVersion)
	copy(sig[4:12], h.sum[:8])
	binary.LittleEndian.PutUint32(sig[12:], seq)
	clear(h.sum[:])
}

func (s *Session) macESS(h *half, seq uint32, sig []byte, m bufs) {
	s.macInner(h, seq, m)
	s.macFinish(h, seq, sig)
}

func (s *Session) checkESS(h *half, seq uint32, sig []byte, m bufs) error {
	var want [SignatureSize]byte
	s.macESS(h, seq, want[:], m)
	defer clear(want[:])
	if binary.LittleEndian.Uint32(sig) != signatureVersion {
		return ErrMessageAltered
	}
	if binary.LittleEndian.Uint32(sig[12:]) != seq {
		return ErrOutOfSequence
	}
	if subtle.ConstantTimeCompare(sig[4:12], want[4:12]) != 1 {
		return ErrMessageAltered
	}
	return nil
}

// macV1 writes the signature without extended session security
// (MS-NLMP 3.4.4.1): RC4 over RandomPad (0), CRC32 and SeqNum, in that
// order on the stream, with RandomPad then zeroed in the output as the
// specification's pseudocode and Windows do.
func (s *Session) macV1(h *half, seq uint32, sig []byte, crc uint32) {
	var b [12]byte
	binary.LittleEndian.PutUint32(b[4:], crc)
	binary.LittleEndian.PutUint32(b[8:], seq)
	h.rc4.XORKeyStream(b[:], b[:])
	binary.LittleEndian.PutUint32(sig[0:], signatureVersion)
	binary.LittleEndian.PutUint32(sig[4:], 0)
	copy(sig[8:16], b[4:12])
}

// checkV1 decrypts the CRC32 and SeqNum fields of a signature made by
// macV1, so a wrong sequence number can be told from a wrong checksum. The
// RandomPad field is not checked: senders zero it, or leave it encrypted
// as the MS-NLMP 4.2.2.4 example shows.
func (s *Session) checkV1(h *half, seq uint32, sig []byte, crc uint32) error {
	var k [12]byte
	h.rc4.XORKeyStream(k[:], k[:])
	gotCRC := binary.LittleEndian.Uint32(sig[8:]) ^ binary.LittleEndian.Uint32(k[4:])
	gotSeq := binary.LittleEndian.Uint32(sig[12:]) ^ binary.LittleEndian.Uint32(k[8:])
	if binary.LittleEndian.Uint32(sig) != signatureVersion {
		return ErrMessageAltered
	}
	if gotSeq != seq {
		return ErrOutOfSequence
	}
	if subtle.ConstantTimeEq(int32(gotCRC), int32(crc)) != 1 {
		return ErrMessageAltered
	}
	return nil
}
