// Package ntlmssp implements the wire formats and the cryptography of the NT
// LAN Manager authentication protocol, MS-NLMP: the NEGOTIATE, CHALLENGE and
// AUTHENTICATE messages, AV pairs and channel bindings, the NTLMv1 and
// NTLMv2 response and key computations (MS-NLMP 3.3, 3.4.5) and session
// security (signing and sealing, MS-NLMP 3.4). It has no notion of a
// security context: the SSPI state machines are built on top of it.
//
// Parsers never panic and never read outside their input; every error they
// return for bad input wraps ErrMalformed. They reject messages over 64 KiB.
// Parsed messages alias the input buffer. Marshal methods trust their
// input: every payload item must be shorter than 64 KiB, the limit of the
// 16-bit length fields (SSPI name limits keep real ones far shorter).
//
// Key material: functions here clear the key-dependent buffers they own
// (HMAC pads, DES/RC4 key copies, UTF-16 password bytes) before returning,
// and Session.Close clears a session's keys and cipher states. Go cannot
// clear strings (passwords), values the caller holds, copies made by the
// runtime, or the internal state of the standard library's hash
// implementations, so this is hygiene, not a guarantee.
package ntlmssp

import (
	"crypto/des"
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// ConstantTimeEqual reports whether a and b are equal without leaking, through
// timing, where they differ. Use it for every comparison of a proof,
// response, MIC or checksum with its expected value.
func ConstantTimeEqual(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// hmacPads returns the HMAC inner and outer pads for key (RFC 2104). MS-NLMP
// keys are 16 bytes; longer than a block is hashed first as RFC 2104 says.
func hmacPads(key []byte) (ipad, opad [64]byte) {
	if len(key) > 64 {
		k := md5.Sum(key)
		copy(ipad[:], k[:])
		clear(k[:])
	} else {
		copy(ipad[:], key)
	}
	for i := range ipad {
		opad[i] = ipad[i] ^ 0x5c
		ipad[i] ^= 0x36
	}
	return ipad, opad
}

// hmacMD5 returns HMAC_MD5(key, concatenation of parts). It exists instead
// of crypto/hmac because it does not allocate: the MD5 state stays on the
// stack, which matters on a server verifying many logons.
func hmacMD5(key []byte, parts ...[]byte) [16]byte {
	ipad, opad := hmacPads(key)
	h := md5.New()
	h.Write(ipad[:])
	for _, p := range parts {
		h.Write(p)
	}
	return hmacFinish(h.Sum(ipad[:0]), &opad)
}

// hmacFinish computes the outer hash MD5(opad || inner) and clears opad.
func hmacFinish(inner []byte, opad *[64]byte) [16]byte {
	var buf [64 + 16]byte
	copy(buf[:64], opad[:])
	copy(buf[64:], inner)
	out := md5.Sum(buf[:])
	clear(buf[:])
	clear(opad[:])
	clear(inner)
	return out
}

// NTOWFv1 returns MD4(UNICODE(password)), the NT one-way function of
// MS-NLMP 3.3.1, better known as the NT hash.
func NTOWFv1(password string) [16]byte {
	h := md4.New()
	var chunk [128]byte
	for pos := 0; pos < len(password); {
		var n int
		n, pos = utf16Chunk(&chunk, password, pos, false)
		h.Write(chunk[:n])
	}
	clear(chunk[:])
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// utf16Chunk encodes s[pos:], optionally upper-cased, as UTF-16LE into
// chunk until it is nearly full, and returns the bytes written and the
// position to continue from (len(s) when done). Callers loop over it and
// hash each chunk, so no heap buffer ever holds the encoded text.
func utf16Chunk(chunk *[128]byte, s string, pos int, upper bool) (n, next int) {
	for i, r := range s[pos:] {
		if n+4 > len(chunk) {
			return n, pos + i
		}
		if upper {
			// Per-character simple case mapping, as Windows'
			// RtlUpcaseUnicodeString does (no "ß" -> "SS").
			r = unicode.ToUpper(r)
		}
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			binary.LittleEndian.PutUint16(chunk[n:], uint16(r1))
			binary.LittleEndian.PutUint16(chunk[n+2:], uint16(r2))
			n += 4
			continue
		}
		binary.LittleEndian.PutUint16(chunk[n:], uint16(r))
		n += 2
	}
	return n, len(s)
}

// LMOWFv1 returns the LAN Manager hash of password (MS-NLMP 3.3.1): the
// upper-cased OEM password, cut or NUL-padded to 14 bytes, as two DES keys
// encrypting "KGS!@#$%".
func LMOWFv1(password string) [16]byte {
	var pw [14]byte
	b := appendOEM(make([]byte, 0, 14), strings.ToUpper(password))
	copy(pw[:], b)
	clear(b)
	var out [16]byte
	magic := []byte("KGS!@#$%")
	desEncrypt(out[0:8], pw[0:7], magic)
	desEncrypt(out[8:16], pw[7:14], magic)
	clear(pw[:])
	return out
}

// desEncrypt encrypts the 8-byte block src into dst with a 56-bit key given
// as 7 bytes, expanded to DES's 8-byte form (parity bits are ignored by
// crypto/des). This is DES() of MS-NLMP 6.
func desEncrypt(dst, key7, src []byte) {
	var k [8]byte
	k[0] = key7[0]
	k[1] = key7[0]<<7 | key7[1]>>1
	k[2] = key7[1]<<6 | key7[2]>>2
	k[3] = key7[2]<<5 | key7[3]>>3
	k[4] = key7[3]<<4 | key7[4]>>4
	k[5] = key7[4]<<3 | key7[5]>>5
	k[6] = key7[5]<<2 | key7[6]>>6
	k[7] = key7[6] << 1
	c, err := des.NewCipher(k[:])
	clear(k[:])
	if err != nil {
		panic("ntlmssp: " + err.Error()) // unreachable: the key is 8 bytes
	}
	c.Encrypt(dst, src)
}

// desl is DESL() of MS-NLMP 6: the 16-byte key, padded with five zero bytes
// to 21, as three DES keys each encrypting data.
func desl(key *[16]byte, data []byte) [24]byte {
	var k [21]byte
	copy(k[:], key[:])
	var out [24]byte
	desEncrypt(out[0:8], k[0:7], data)
	desEncrypt(out[8:16], k[7:14], data)
	desEncrypt(out[16:24], k[14:21], data)
	clear(k[:])
	return out
}

// NTLMv1Responses computes the NTLMv1 NtChallengeResponse and
// LmChallengeResponse (MS-NLMP 3.3.1). With FlagExtendedSessionSecurity
// the NT response is DESL over MD5(serverChallenge || clientChallenge) and
// the LM response is clientChallenge followed by 16 zero bytes ("NTLM2
// session response"); otherwise the responses are DESL of each hash over the
// server challenge and clientChallenge is unused. A client configured to
// send no LM response (NoLMResponseNTLMv1) sends the NT response twice.
func NTLMv1Responses(flags NegotiateFlags, ntHash, lmHash [16]byte, serverChallenge, clientChallenge [8]byte) (nt, lm [24]byte) {
	if flags&FlagExtendedSessionSecurity != 0 {
		d := md5.Sum(append(serverChallenge[:], clientChallenge[:]...))
		nt = desl(&ntHash, d[:8])
		copy(lm[:8], clientChallenge[:])
		return nt, lm
	}
	return desl(&ntHash, serverChallenge[:]), desl(&lmHash, serverChallenge[:])
}

// SessionBaseKeyV1 returns the NTLMv1 SessionBaseKey, MD4(NTOWFv1)
// (MS-NLMP 3.3.1), for both plain and extended-session-security NTLMv1.
func SessionBaseKeyV1(ntHash [16]byte) [16]byte {
	h := md4.New()
	h.Write(ntHash[:])
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// KeyExchangeKeyV1 is KXKEY of MS-NLMP 3.4.5.1, which applies to NTLMv1
// only: for NTLMv2 the key exchange key is the session base key itself.
// In order of precedence: with extended session security it is
// HMAC_MD5(sessionBaseKey, serverChallenge || lmResponse[:8]); with
// FlagLMKey, two DES encryptions of lmResponse[:8] keyed by lmHash; with
// FlagRequestNonNTSessionKey, lmHash[:8] followed by eight zero bytes; else
// the session base key. lmResponse shorter than 8 bytes is zero-padded.
func KeyExchangeKeyV1(flags NegotiateFlags, sessionBaseKey, lmHash [16]byte, lmResponse []byte, serverChallenge [8]byte) [16]byte {
	var lm8 [8]byte
	copy(lm8[:], lmResponse)
	switch {
	case flags&FlagExtendedSessionSecurity != 0:
		return hmacMD5(sessionBaseKey[:], serverChallenge[:], lm8[:])
	case flags&FlagLMKey != 0:
		var out [16]byte
		desEncrypt(out[0:8], lmHash[0:7], lm8[:])
		k := [7]byte{lmHash[7], 0xbd, 0xbd, 0xbd, 0xbd, 0xbd, 0xbd}
		desEncrypt(out[8:16], k[:], lm8[:])
		clear(k[:])
		return out
	case flags&FlagRequestNonNTSessionKey != 0:
		var out [16]byte
		copy(out[:8], lmHash[:8])
		return out
	}
	return sessionBaseKey
}

// NTOWFv2 returns HMAC_MD5(ntHash, UNICODE(Uppercase(user) || domain)), the
// NTLMv2 one-way function of MS-NLMP 3.3.2; LMOWFv2 is the same value and
// is the key of both the NTLMv2 and LMv2 responses ("ResponseKeyNT" and
// "ResponseKeyLM"). The domain keeps its case.
func NTOWFv2(ntHash [16]byte, user, domain string) [16]byte {
	ipad, opad := hmacPads(ntHash[:])
	h := md5.New()
	h.Write(ipad[:])
	var chunk [128]byte
	for pos := 0; pos < len(user); {
		var n int
		n, pos = utf16Chunk(&chunk, user, pos, true)
		h.Write(chunk[:n])
	}
	for pos := 0; pos < len(domain); {
		var n int
		n, pos = utf16Chunk(&chunk, domain, pos, false)
		h.Write(chunk[:n])
	}
	return hmacFinish(h.Sum(ipad[:0]), &opad)
}

// NTLMv2 client challenge layout (NTLMv2_CLIENT_CHALLENGE, MS-NLMP 2.2.2.7),
// offsets within the NTLMv2_RESPONSE, i.e. after the 16-byte NTProofStr.
const (
	v2RespTypeOff   = 16
	v2TimestampOff  = 24
	v2ClientChalOff = 32
	v2AvPairsOff    = 44
	// v2MinLen is NTProofStr, the fixed client challenge and MsvAvEOL.
	v2MinLen = v2AvPairsOff + 4
)

// NTLMv2Response appends to dst the NTLMv2 NtChallengeResponse
// (MS-NLMP 3.3.2): NTProofStr = HMAC_MD5(responseKeyNT, serverChallenge ||
// temp) followed by temp, where temp is the NTLMv2_CLIENT_CHALLENGE holding
// timestamp (a FILETIME: the server's MsvAvTimestamp if it sent one),
// clientChallenge and targetInfo (a marshalled AV_PAIR list ending in
// MsvAvEOL, see AVPairs), then four zero bytes. It also returns the
// SessionBaseKey, HMAC_MD5(responseKeyNT, NTProofStr), which is also the
// NTLMv2 KeyExchangeKey.
func NTLMv2Response(dst []byte, responseKeyNT [16]byte, serverChallenge, clientChallenge [8]byte, timestamp uint64, targetInfo []byte) (resp []byte, sessionBaseKey [16]byte) {
	at := len(dst)
	dst = append(dst, make([]byte, 16)...)    // NTProofStr, filled below
	dst = append(dst, 1, 1, 0, 0, 0, 0, 0, 0) // RespType, HiRespType, Reserved1, Reserved2
	dst = binary.LittleEndian.AppendUint64(dst, timestamp)
	dst = append(dst, clientChallenge[:]...)
	dst = append(dst, 0, 0, 0, 0) // Reserved3
	dst = append(dst, targetInfo...)
	dst = append(dst, 0, 0, 0, 0)
	resp = dst[at:]
	proof := hmacMD5(responseKeyNT[:], serverChallenge[:], resp[16:])
	copy(resp[:16], proof[:])
	return dst, hmacMD5(responseKeyNT[:], proof[:])
}

// LMv2Response returns the LMv2 LmChallengeResponse (MS-NLMP 3.3.2):
// HMAC_MD5(responseKeyLM, serverChallenge || clientChallenge) followed by
// clientChallenge. A client that sends a MIC because the server sent
// MsvAvTimestamp sends 24 zero bytes instead (MS-NLMP 3.1.5.1.2).
func LMv2Response(responseKeyLM [16]byte, serverChallenge, clientChallenge [8]byte) [24]byte {
	var out [24]byte
	p := hmacMD5(responseKeyLM[:], serverChallenge[:], clientChallenge[:])
	copy(out[:16], p[:])
	copy(out[16:], clientChallenge[:])
	return out
}

// VerifyNTLMv2Response checks an NTLMv2 NtChallengeResponse against
// responseKeyNT (NTOWFv2 of the claimed user) and the server challenge that
// was sent, and returns the SessionBaseKey. It compares in constant time
// and does not allocate. A response too short to be NTLMv2 fails.
func VerifyNTLMv2Response(responseKeyNT [16]byte, serverChallenge [8]byte, ntResponse []byte) (sessionBaseKey [16]byte, ok bool) {
	if len(ntResponse) < v2MinLen {
		return sessionBaseKey, false
	}
	proof := hmacMD5(responseKeyNT[:], serverChallenge[:], ntResponse[16:])
	if !ConstantTimeEqual(proof[:], ntResponse[:16]) {
		return sessionBaseKey, false
	}
	return hmacMD5(responseKeyNT[:], proof[:]), true
}

// VerifyLMv2Response checks a 24-byte LMv2 LmChallengeResponse in constant
// time. Windows servers accept a logon if either the NTLMv2 or the LMv2
// response verifies; most deployments only check NTLMv2.
func VerifyLMv2Response(responseKeyLM [16]byte, serverChallenge [8]byte, lmResponse []byte) bool {
	if len(lmResponse) != 24 {
		return false
	}
	want := LMv2Response(responseKeyLM, serverChallenge, [8]byte(lmResponse[16:24]))
	return ConstantTimeEqual(want[:], lmResponse)
}

// NTLMv2ClientChallenge is the parsed NTLMv2_CLIENT_CHALLENGE of an NTLMv2
// response (MS-NLMP 2.2.2.7).
type NTLMv2ClientChallenge struct {
	NTProofStr      [16]byte
	RespType        uint8 // 1
	HiRespType      uint8 // 1
	Timestamp       uint64
	ClientChallenge [8]byte
	// AVPairs are the AV pairs the client sent (the server's target info,
	// usually extended with MsvAvFlags, MsvAvTimestamp,
	// MsvAvChannelBindings and MsvAvTargetName). They are covered by
	// NTProofStr, so a server may trust them once the response verifies.
	AVPairs AVPairs
}

// ParseNTLMv2Response parses an NTLMv2 NtChallengeResponse. The AV pairs
// must end with MsvAvEOL; anything after it (normally the four zero bytes
// of MS-NLMP 3.3.2) is ignored. The result aliases b. Errors wrap
// ErrMalformed.
func ParseNTLMv2Response(b []byte) (*NTLMv2ClientChallenge, error) {
	if len(b) < v2MinLen {
		return nil, malformed("NTLMv2 response is %d bytes, need at least %d", len(b), v2MinLen)
	}
	avs, err := ParseAVPairs(b[v2AvPairsOff:])
	if err != nil {
		return nil, err
	}
	return &NTLMv2ClientChallenge{
		NTProofStr:      [16]byte(b[:16]),
		RespType:        b[v2RespTypeOff],
		HiRespType:      b[v2RespTypeOff+1],
		Timestamp:       binary.LittleEndian.Uint64(b[v2TimestampOff:]),
		ClientChallenge: [8]byte(b[v2ClientChalOff:]),
		AVPairs:         avs,
	}, nil
}

// RC4K returns data encrypted (or decrypted: RC4 is its own inverse) with
// key, RC4K() of MS-NLMP 6. It produces the EncryptedRandomSessionKey,
// RC4K(KeyExchangeKey, ExportedSessionKey), and recovers the exported
// session key from it.
func RC4K(key, data [16]byte) [16]byte {
	c, _ := rc4.NewCipher(key[:]) // cannot fail: 16-byte key
	c.XORKeyStream(data[:], data[:])
	*c = rc4.Cipher{}
	return data
}

// ComputeMIC returns the AUTHENTICATE_MESSAGE MIC (MS-NLMP 3.1.5.1.2,
// 3.2.5.1.2): HMAC_MD5(exportedSessionKey, negotiate || challenge ||
// authenticate), where the 16 bytes of authenticate at micOffset are taken
// as zero without copying or modifying it. Pass micOffset = MICOffset (or
// AuthenticateMessage.MICOffset); a negative micOffset hashes authenticate
// as is. negotiate is empty in connectionless mode. The caller compares
// the result with ConstantTimeEqual.
func ComputeMIC(exportedSessionKey [16]byte, negotiate, challenge, authenticate []byte, micOffset int) [16]byte {
	if micOffset < 0 || micOffset+16 > len(authenticate) {
		return hmacMD5(exportedSessionKey[:], negotiate, challenge, authenticate)
	}
	var zero [16]byte
	return hmacMD5(exportedSessionKey[:], negotiate, challenge,
		authenticate[:micOffset], zero[:], authenticate[micOffset+16:])
}
