package gss

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"sync"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// RFC 4757 7 (RFC 1964 1.2 token layout with the RC4-HMAC algorithms), as Windows 2000
// and later sign and seal with an RC4 session key:
//
//	MIC:  TOK_ID 01 01 | SGN_ALG 11 00 | ff ff ff ff         | SND_SEQ 8 | SGN_CKSUM 8
//	Wrap: TOK_ID 02 01 | SGN_ALG 11 00 | SEAL_ALG 10 00/ff ff | ff ff | SND_SEQ 8 | SGN_CKSUM 8 | confounder 8
//
// each inside the InitialContextToken framing (60 len 06 09 <Kerberos OID>). SND_SEQ is
// the 32-bit sequence number big-endian and four direction bytes (00 from the initiator,
// ff from the acceptor), RC4-encrypted with Kseq; SGN_CKSUM is the first 8 bytes of
// HMAC-MD5(Ksign, MD5(usage | first 8 token bytes | [confounder] | data)), usage 15 for
// MIC and 13 for Wrap; a sealed Wrap encrypts confounder and data with one RC4 stream
// under Kcrypt, derived from the key XOR F0 and the sequence number.
//
// Padding: RFC 1964 pads Wrap data with 1..8 bytes whose value is the pad length.
// Heimdal's arcfour code adds one byte (value 1) and none in DCE style; MIT pads likewise
// to a block size of 1. AppendWrap pads with one byte; WrapSSPI (DCE style, as Windows'
// EncryptMessage for RPC) adds none, and the SSPI caller keeps its own alignment.
// Unwrapping a whole token removes 1..8 pad bytes after checking them; UnwrapSSPI removes
// none. Which padding Windows' EncryptMessage emits outside DCE style is not verified here.

const (
	rc4TokMIC   = 0x0101
	rc4TokWrap  = 0x0201
	rc4SgnHMAC  = 0x1100
	rc4SealRC4  = 0x1000
	rc4SealNone = 0xffff

	rc4MICLen  = 24
	rc4WrapLen = 32

	rc4UsageSign = 15
	rc4UsageSeal = 13
)

// krb5OID and msKRB5OID are the DER of the Kerberos mechanism OID and Microsoft's variant.
var (
	krb5OID   = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	msKRB5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
)

// RC4 is the RFC 4757 message protection of one side of an established context whose
// key is rc4-hmac.
type RC4 struct {
	acceptor bool
	kss      [16]byte
	ksign    [16]byte // HMAC(Kss, "signaturekey\0")
	tseq     [16]byte // HMAC(Kss, 0): Kseq = HMAC(tseq, SGN_CKSUM)
	tcrypt   [16]byte // HMAC(Kss xor F0, 0): Kcrypt = HMAC(tcrypt, seq)
	pool     sync.Pool
}

// md5State is one call's MD5 and scratch space (in the pool: the hash interface would
// make stack buffers escape).
type md5State struct {
	h                   hash.Hash
	pad                 [64]byte
	sum, inner, k, work [16]byte
	seq                 [8]byte
	u                   [4]byte
}

// NewRC4 returns the RFC 4757 state for an rc4-hmac key.
func NewRC4(key *krbcrypto.Key, acceptor bool) (*RC4, error) {
	if key.EType() != krbcrypto.RC4HMAC {
		return nil, errors.New("gss: RFC 4757 tokens need an rc4-hmac key")
	}
	r := &RC4{acceptor: acceptor}
	b := key.Bytes()
	copy(r.kss[:], b)
	clear(b)
	r.pool.New = func() any { return &md5State{h: md5.New()} }
	s := r.get()
	defer r.put(s)
	r.ksign = s.hmac(r.kss[:], []byte("signaturekey\x00"))
	r.tseq = s.hmac(r.kss[:], []byte{0, 0, 0, 0})
	var local [16]byte
	for i := range local {
		local[i] = r.kss[i] ^ 0xf0
	}
	r.tcrypt = s.hmac(local[:], []byte{0, 0, 0, 0})
	return r, nil
}

func (r *RC4) get() *md5State { return r.pool.Get().(*md5State) }
func (r *RC4) put(s *md5State) {
	s.sum, s.inner, s.k, s.work = [16]byte{}, [16]byte{}, [16]byte{}, [16]byte{}
	r.pool.Put(s)
}

// hmac is HMAC-MD5 of the pieces under a key of at most 64 bytes.
func (s *md5State) hmac(key []byte, parts ...[]byte) [16]byte {
	clear(s.pad[:])
	copy(s.pad[:], key)
	for i := range s.pad {
		s.pad[i] ^= 0x36
	}
	s.h.Reset()
	s.h.Write(s.pad[:])
	for _, p := range parts {
		s.h.Write(p)
	}
	s.h.Sum(s.inner[:0])
	for i := range s.pad {
		s.pad[i] ^= 0x36 ^ 0x5c
	}
	s.h.Reset()
	s.h.Write(s.pad[:])
	s.h.Write(s.inner[:])
	s.h.Sum(s.sum[:0])
	clear(s.pad[:])
	return s.sum
}

// checksum is SGN_CKSUM: HMAC-MD5(Ksign, MD5(usage | parts))[:8].
func (r *RC4) checksum(s *md5State, usage uint32, parts [][]byte) [8]byte {
	binary.LittleEndian.PutUint32(s.u[:], usage)
	s.h.Reset()
	s.h.Write(s.u[:])
	for _, p := range parts {
		s.h.Write(p)
	}
	s.h.Sum(s.work[:0])
	full := s.hmac(r.ksign[:], s.work[:])
	return [8]byte(full[:8])
}

func (r *RC4) myDirection() byte {
	if r.acceptor {
		return 0xff
	}
	return 0
}

// putSeq writes the encrypted SND_SEQ for seq and the token's checksum.
func (r *RC4) putSeq(s *md5State, dst []byte, seq uint32, cksum []byte) {
	d := r.myDirection()
	binary.BigEndian.PutUint32(dst, seq)
	dst[4], dst[5], dst[6], dst[7] = d, d, d, d
	s.k = s.hmac(r.tseq[:], cksum)
	krbcrypto.RC4XOR(s.k[:], dst[:8])
}

// readSeq decrypts SND_SEQ and checks its direction bytes are the peer's.
func (r *RC4) readSeq(s *md5State, tok []byte) (uint32, error) {
	copy(s.seq[:], tok[8:16])
	s.k = s.hmac(r.tseq[:], tok[16:24])
	krbcrypto.RC4XOR(s.k[:], s.seq[:])
	want := ^r.myDirection()
	ok := subtle.ConstantTimeByteEq(s.seq[4], want) & subtle.ConstantTimeByteEq(s.seq[5], want) &
		subtle.ConstantTimeByteEq(s.seq[6], want) & subtle.ConstantTimeByteEq(s.seq[7], want)
	if ok != 1 {
		// Either reflected, or SND_SEQ/SGN_CKSUM altered: both fail the same way.
		return 0, ErrDirection
	}
	return binary.BigEndian.Uint32(s.seq[:]), nil
}

// appendFraming appends 60 <len> <OID> for an inner token of n bytes.
func appendFraming(dst []byte, n int) []byte {
	n += len(krb5OID)
	dst = append(dst, 0x60)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 0x100:
		dst = append(dst, 0x81, byte(n))
	case n < 0x10000:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, krb5OID...)
}

// parseFraming strips 60 <len> <OID> from tok. rest is what follows the OID; inner is
// the DER length's claim minus the OID (callers check it against what they expect).
func parseFraming(tok []byte) (rest []byte, inner int, err error) {
	if len(tok) < 2 || tok[0] != 0x60 {
		return nil, 0, ErrMalformed
	}
	n, used := 0, 2
	switch l := tok[1]; {
	case l < 0x80:
		n = int(l)
	case l >= 0x81 && l <= 0x84:
		k := int(l & 0x7f)
		if len(tok) < 2+k || tok[2] == 0 {
			return nil, 0, ErrMalformed
		}
		for _, c := range tok[2 : 2+k] {
			n = n<<8 | int(c)
		}
		if n < 0x80 || n > 1<<30 {
			return nil, 0, ErrMalformed
		}
		used += k
	default:
		return nil, 0, ErrMalformed
	}
	body := tok[used:]
	if len(body) < len(krb5OID) || n < len(krb5OID) {
		return nil, 0, ErrMalformed
	}
	if oid := body[:len(krb5OID)]; subtle.ConstantTimeCompare(oid, krb5OID) != 1 && subtle.ConstantTimeCompare(oid, msKRB5OID) != 1 {
		return nil, 0, ErrMalformed
	}
	return body[len(krb5OID):], n - len(krb5OID), nil
}

// MICSize is the length of an RC4 MIC token, framing included (37).
func (r *RC4) MICSize() int { return 2 + len(krb5OID) + rc4MICLen }

// AppendMIC appends the MIC token over the concatenation of msg, sequence number seq.
func (r *RC4) AppendMIC(dst []byte, seq uint32, msg ...[]byte) []byte {
	dst = appendFraming(dst, rc4MICLen)
	start := len(dst)
	dst = append(dst, 0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	tok := dst[start:]
	s := r.get()
	defer r.put(s)
	var buf [maxPieces + 2][]byte
	ck := r.checksum(s, rc4UsageSign, framed(&buf, tok[:8], msg, nil))
	copy(tok[16:24], ck[:])
	r.putSeq(s, tok[8:16], seq, tok[16:24])
	return dst
}

// VerifyMIC checks an RC4 MIC token over the concatenation of msg and returns its
// sequence number.
func (r *RC4) VerifyMIC(token []byte, msg ...[]byte) (uint32, error) {
	tok, n, err := parseFraming(token)
	if err != nil || n != rc4MICLen || len(tok) != rc4MICLen {
		return 0, ErrMalformed
	}
	if binary.BigEndian.Uint16(tok) != rc4TokMIC || binary.BigEndian.Uint16(tok[2:]) != rc4SgnHMAC ||
		binary.BigEndian.Uint32(tok[4:]) != 0xffffffff {
		return 0, ErrMalformed
	}
	s := r.get()
	defer r.put(s)
	var buf [maxPieces + 2][]byte
	ck := r.checksum(s, rc4UsageSign, framed(&buf, tok[:8], msg, nil))
	if subtle.ConstantTimeCompare(ck[:], tok[16:24]) != 1 {
		return 0, ErrBadMIC
	}
	return r.readSeq(s, tok)
}

// SSPITokenSize is the token-buffer length of WrapSSPI: framing and the 32-byte header.
func (r *RC4) SSPITokenSize() int { return 2 + len(krb5OID) + rc4WrapLen }

// WrapSSPI makes a DCE-style Wrap token: framing and header (whose DER length covers the
// header only, as Windows RPC and impacket frame it) into token, the concatenation of
// data sealed in place (or left as is when !seal). No padding is added.
func (r *RC4) WrapSSPI(token []byte, data [][]byte, seq uint32, seal bool, confounder []byte) (int, error) {
	need := r.SSPITokenSize()
	if len(token) < need {
		return 0, ErrBufferTooSmall
	}
	if len(confounder) != 8 {
		return 0, errors.New("gss: RC4 confounder must be 8 bytes")
	}
	hdr := appendFraming(token[:0], rc4WrapLen)
	r.seal(hdr[len(hdr):need], data, nil, seq, seal, confounder)
	return need, nil
}

// seal fills the 32-byte header tok and encrypts data and pad in place.
func (r *RC4) seal(tok []byte, data [][]byte, pad []byte, seq uint32, seal bool, confounder []byte) {
	alg := uint16(rc4SealNone)
	if seal {
		alg = rc4SealRC4
	}
	binary.BigEndian.PutUint16(tok[0:], rc4TokWrap)
	binary.BigEndian.PutUint16(tok[2:], rc4SgnHMAC)
	binary.BigEndian.PutUint16(tok[4:], alg)
	tok[6], tok[7] = 0xff, 0xff
	copy(tok[24:32], confounder)
	s := r.get()
	defer r.put(s)
	var buf [maxPieces + 3][]byte
	parts := r.pieces(&buf, tok[:8], tok[24:32], data, pad)
	ck := r.checksum(s, rc4UsageSeal, parts)
	copy(tok[16:24], ck[:])
	if seal {
		r.crypt(s, seq, parts[1:])
	}
	r.putSeq(s, tok[8:16], seq, tok[16:24])
}

// pieces lists header, confounder, data and pad on buf when they fit.
func (r *RC4) pieces(buf *[maxPieces + 3][]byte, hdr, conf []byte, data [][]byte, pad []byte) [][]byte {
	if len(data)+3 > len(buf) {
		out := append([][]byte{hdr, conf}, data...)
		return append(out, pad)
	}
	buf[0], buf[1] = hdr, conf
	n := 2 + copy(buf[2:], data)
	buf[n] = pad
	return buf[:n+1]
}

// crypt runs RC4 under Kcrypt for seq over parts (one keystream).
func (r *RC4) crypt(s *md5State, seq uint32, parts [][]byte) {
	binary.BigEndian.PutUint32(s.u[:], seq)
	s.k = s.hmac(r.tcrypt[:], s.u[:])
	krbcrypto.RC4XOR(s.k[:], parts...)
}

// UnwrapSSPI checks and (when sealed) decrypts in place a DCE-style Wrap token: framing
// and header in token, data in data. No padding is removed.
func (r *RC4) UnwrapSSPI(token []byte, data [][]byte) (seq uint32, sealed bool, err error) {
	tok, n, err := parseFraming(token)
	if err != nil || len(tok) != rc4WrapLen {
		return 0, false, ErrMalformed
	}
	if total := rc4WrapLen + dataLen(data); n != rc4WrapLen && n != total {
		return 0, false, ErrMalformed
	}
	return r.open(tok, data, nil)
}

func dataLen(data [][]byte) int {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	return n
}

func (r *RC4) open(tok []byte, data [][]byte, pad []byte) (uint32, bool, error) {
	if binary.BigEndian.Uint16(tok) != rc4TokWrap || binary.BigEndian.Uint16(tok[2:]) != rc4SgnHMAC ||
		tok[6] != 0xff || tok[7] != 0xff {
		return 0, false, ErrMalformed
	}
	alg := binary.BigEndian.Uint16(tok[4:])
	if alg != rc4SealRC4 && alg != rc4SealNone {
		return 0, false, ErrMalformed
	}
	s := r.get()
	defer r.put(s)
	seq, err := r.readSeq(s, tok)
	if err != nil {
		return 0, false, err
	}
	var buf [maxPieces + 3][]byte
	parts := r.pieces(&buf, tok[:8], tok[24:32], data, pad)
	sealed := alg == rc4SealRC4
	if sealed {
		r.crypt(s, seq, parts[1:])
	}
	ck := r.checksum(s, rc4UsageSeal, parts)
	if subtle.ConstantTimeCompare(ck[:], tok[16:24]) != 1 {
		if sealed {
			for _, p := range parts[1:] {
				clear(p)
			}
		}
		return 0, false, ErrBadMIC
	}
	return seq, sealed, nil
}

// AppendWrap appends a whole Wrap token of msg (framing whose length covers header and
// data, header, data and one pad byte) as gss_wrap makes it.
func (r *RC4) AppendWrap(dst []byte, seq uint32, msg []byte, seal bool, confounder []byte) ([]byte, error) {
	if len(confounder) != 8 {
		return dst, errors.New("gss: RC4 confounder must be 8 bytes")
	}
	dst = appendFraming(dst, rc4WrapLen+len(msg)+1)
	start := len(dst)
	dst = append(dst, make([]byte, rc4WrapLen)...)
	dst = append(dst, msg...)
	dst = append(dst, 1)
	tok := dst[start:]
	var one [1][]byte
	one[0] = tok[rc4WrapLen : len(tok)-1]
	r.seal(tok[:rc4WrapLen], one[:], tok[len(tok)-1:], seq, seal, confounder)
	return dst, nil
}

// UnwrapInPlace checks and decrypts a whole Wrap token in its own buffer and returns the
// message without its padding.
func (r *RC4) UnwrapInPlace(token []byte) (msg []byte, seq uint32, sealed bool, err error) {
	tok, n, err := parseFraming(token)
	if err != nil || len(tok) < rc4WrapLen || n != len(tok) {
		return nil, 0, false, ErrMalformed
	}
	var one [1][]byte
	one[0] = tok[rc4WrapLen:]
	seq, sealed, err = r.open(tok[:rc4WrapLen], one[:], nil)
	if err != nil {
		return nil, 0, false, err
	}
	body := tok[rc4WrapLen:]
	if len(body) == 0 {
		return nil, 0, false, ErrMalformed
	}
	p := int(body[len(body)-1])
	if p < 1 || p > 8 || p > len(body) {
		return nil, 0, false, ErrMalformed
	}
	for _, c := range body[len(body)-p:] {
		if int(c) != p {
			return nil, 0, false, ErrMalformed
		}
	}
	return body[:len(body)-p], seq, sealed, nil
}
