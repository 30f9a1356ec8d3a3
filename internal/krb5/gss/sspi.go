package gss

import (
	"encoding/binary"
	"errors"
)

// SSPI's EncryptMessage keeps the data where the caller has it: the token buffer holds
// the Wrap header and, rotated to the front by RRC, everything of the token that is not
// data; the data buffers are encrypted in place. Joined, token buffer and data buffers are
// exactly one RFC 4121 Wrap token, which is how gss_unwrap on the other side reads it.
//
// Two right-rotation conventions exist for the sealed token:
//   - EC = 0, RRC = 16 + MAC size (28 for aes-sha1): the rotation is RRC, as RFC 4121
//     defines it, so MIT's gss_unwrap (and gss_unwrap_iov) accept the joined token as is.
//     This is gosspi's default and what its kerberos package has always sent.
//   - EC = 16 (a block of filler), RRC = 28, with the trailer rotated by RRC+EC = 44: what
//     Windows' EncryptMessage produces for AES (MS-KILE 3.4.5.4.1; observed by sspi-rs and
//     go-msrpc). Windows counts EC into the rotation, RFC 4121 does not: a token made
//     this way is read by Windows, by this package and by MIT's gss_unwrap_iov, whose
//     gss_wrap_iov makes exactly this layout in a DCE-style context when the trailer goes
//     into the header buffer (mit_iov_test.go). MIT 1.20's plain gss_unwrap refuses it,
//     in DCE style too, and its gss_wrap sends EC = 0 and RRC = 0 (mit_test.go).
// Integrity-only tokens use EC = RRC = MAC size (Windows: RRC 12 for aes-sha1), the
// checksum in the token buffer and the data untouched.

// Windows-style filler: one AES block (MS-KILE 3.4.5.4.1).
const windowsEC = 16

// SSPITokenSize is the length of the token buffer WrapSSPI fills: 60 bytes for a sealed
// aes-sha1 token (76 in the Windows style), 28 for an integrity-only one.
func (c *CFX) SSPITokenSize(seal, windows bool) int {
	if !seal {
		return hdrLen + c.mac
	}
	ec := 0
	if windows {
		ec = windowsEC
	}
	return hdrLen + ec + hdrLen + c.mac + c.conf
}

// framed returns head, msg, tail as one list, on buf when it fits.
func framed(buf *[maxPieces + 2][]byte, head []byte, msg [][]byte, tail []byte) [][]byte {
	if len(msg)+2 > len(buf) {
		out := append([][]byte{head}, msg...)
		return append(out, tail)
	}
	buf[0] = head
	n := 1 + copy(buf[1:], msg)
	buf[n] = tail
	return buf[:n+1]
}

// WrapOptions says what WrapSSPI makes.
type WrapOptions struct {
	// Seal encrypts (EncryptMessage with QOP 0); false makes an integrity-only token
	// (SECQOP_WRAP_NO_ENCRYPT).
	Seal bool
	// Windows selects Windows' EC/RRC convention for sealed AES tokens (see above);
	// RC4 tokens ignore it.
	Windows bool
	// SignOnly marks data buffers that are protected but not encrypted (bit i for
	// data[i]): SSPI's SECBUFFER_READONLY_WITH_CHECKSUM, GSS's SIGN_ONLY IOV buffers, as
	// DCE/RPC uses for its PDU header and security trailer.
	SignOnly uint64
}

// WrapSSPI makes a Wrap token of the concatenation of data: the header and trailer into
// token (SSPITokenSize bytes; the length used is returned), the data encrypted in place
// (or left as is without Seal, and for SignOnly buffers).
func (c *CFX) WrapSSPI(token []byte, data [][]byte, seq uint64, opt WrapOptions, confounder []byte) (int, error) {
	need := c.SSPITokenSize(opt.Seal, opt.Windows)
	if len(token) < need {
		return 0, ErrBufferTooSmall
	}
	if len(data) > maxDataBuffers {
		return 0, ErrTooManyBuffers
	}
	token = token[:need]
	var buf [maxPieces + 2][]byte
	if !opt.Seal {
		c.putWrapHeader(token, seq, false, 0, 0)
		c.sendSeal().Checksum(token[hdrLen:hdrLen], withTail(&buf, data, token[:hdrLen])...)
		binary.BigEndian.PutUint16(token[4:], uint16(c.mac))
		binary.BigEndian.PutUint16(token[6:], uint16(c.mac))
		return need, nil
	}
	if len(confounder) != c.conf {
		return 0, errors.New("gss: confounder of the wrong length")
	}
	ec, rrc := 0, hdrLen+c.mac
	if opt.Windows {
		ec = windowsEC
	}
	c.putWrapHeader(token, seq, true, ec, 0)
	// token: header | filler | header copy | tag | confounder
	filler := token[hdrLen : hdrLen+ec]
	clear(filler)
	copy(token[hdrLen+ec:], token[:hdrLen]) // the copy has RRC = 0 (RFC 4121 4.2.4)
	binary.BigEndian.PutUint16(token[6:], uint16(rrc))
	conf := token[need-c.conf:]
	copy(conf, confounder)
	tagAt := hdrLen + ec + hdrLen
	parts := framed(&buf, conf, data, token[hdrLen:tagAt])
	if _, err := c.sendSeal().SealPartsSignOnly(token[tagAt:tagAt], opt.SignOnly<<1, parts...); err != nil {
		return 0, err
	}
	return need, nil
}

// maxDataBuffers bounds the data buffers of one message (the sign-only mask has 64 bits,
// one of them for the confounder).
const maxDataBuffers = 62

// ErrTooManyBuffers: more data buffers than one message may have here.
var ErrTooManyBuffers = errors.New("gss: more than 62 data buffers in one message")

// UnwrapSSPI checks and decrypts in place a Wrap token split as WrapSSPI splits it (in
// either convention, or any EC whose rotation puts the whole trailer in the token
// buffer); signOnly marks the data buffers that were not encrypted. The plaintext is left
// in data, and token's trailer is overwritten. A token split otherwise gets ErrLayout,
// with token and data untouched: join them and use UnwrapInPlace. On other errors the
// data buffers are zeroed or undefined.
func (c *CFX) UnwrapSSPI(token []byte, data [][]byte, signOnly uint64) (seq uint64, sealed bool, err error) {
	if len(token) < hdrLen || binary.BigEndian.Uint16(token) != TokWrap || token[3] != 0xff {
		return 0, false, ErrMalformed
	}
	if err := c.checkFlags(token[2] &^ FlagSealed); err != nil {
		return 0, false, err
	}
	if len(data) > maxDataBuffers {
		return 0, false, ErrTooManyBuffers
	}
	ec := int(binary.BigEndian.Uint16(token[4:]))
	rrc := int(binary.BigEndian.Uint16(token[6:]))
	seq = binary.BigEndian.Uint64(token[8:])
	var buf [maxPieces + 2][]byte
	if token[2]&FlagSealed == 0 {
		if ec != c.mac {
			return 0, false, ErrMalformed
		}
		if len(token) != hdrLen+c.mac || rrc != c.mac {
			return 0, false, ErrLayout
		}
		var h [hdrLen]byte
		copy(h[:], token[:hdrLen])
		h[4], h[5], h[6], h[7] = 0, 0, 0, 0
		if !c.recvSeal().VerifyChecksum(token[hdrLen:], withTail(&buf, data, h[:])...) {
			return 0, false, ErrBadMIC
		}
		return seq, false, nil
	}
	rot := len(token) - hdrLen - c.conf
	if rot != ec+hdrLen+c.mac || (rot != rrc && rot != rrc+ec) {
		return 0, false, ErrLayout
	}
	tagAt := hdrLen + ec + hdrLen
	parts := framed(&buf, token[len(token)-c.conf:], data, token[hdrLen:tagAt])
	if err := c.recvSeal().OpenPartsSignOnly(token[tagAt:tagAt+c.mac], signOnly<<1, parts...); err != nil {
		return 0, false, ErrBadMIC
	}
	want := expectedHeader(token)
	if [16]byte(token[tagAt-hdrLen:tagAt]) != want {
		for i, d := range data {
			if signOnly&(1<<i) == 0 {
				clear(d)
			}
		}
		return 0, false, ErrBadMIC
	}
	return seq, true, nil
}
