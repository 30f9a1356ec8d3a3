package kerberos

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto/etype"
)

// cfx is the RFC 4121 implementation this package had over gokrb5 before it moved to
// internal/krb5/gss, kept as an independent reference: it interoperated with MIT's
// gss_wrap and gss_get_mic, and the engine is checked against it token for token
// (krb5gss_crosscheck_test.go).

const (
	tokMIC  = 0x0404
	tokWrap = 0x0504

	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04

	usageAcceptorSeal  = 22
	usageAcceptorSign  = 23
	usageInitiatorSeal = 24
	usageInitiatorSign = 25
)

var errRefSeq = errors.New("reference cfx: sequence")

// cfx is the RFC 4121 per-message state of an established context.
type cfx struct {
	et         etype.EType
	key        []byte
	acceptor   bool // this side is the acceptor
	acceptorSK bool // the acceptor sent a subkey: FLAG_ACCEPTOR_SUBKEY
	sendSeq    uint64
	recvSeq    uint64
	seqCheck   bool
}

func (c *cfx) cksumSize() int { return c.et.GetHMACBitLength() / 8 }

// trailerSize is the EncryptMessage token size: header, confounder, encrypted header
// copy and checksum.
func (c *cfx) trailerSize() int { return 16 + c.et.GetConfounderByteSize() + 16 + c.cksumSize() }

func (c *cfx) sendFlags() byte {
	var f byte
	if c.acceptor {
		f |= flagSentByAcceptor
	}
	if c.acceptorSK {
		f |= flagAcceptorSubkey
	}
	return f
}

func (c *cfx) usage(sign, sending bool) uint32 {
	fromAcceptor := c.acceptor == sending
	switch {
	case sign && fromAcceptor:
		return usageAcceptorSign
	case sign:
		return usageInitiatorSign
	case fromAcceptor:
		return usageAcceptorSeal
	}
	return usageInitiatorSeal
}

func (c *cfx) nextSend() uint64 {
	s := c.sendSeq
	c.sendSeq++
	return s
}

// getMIC makes a MIC token (RFC 4121 4.2.6.1) over msg.
func (c *cfx) getMIC(msg []byte) ([]byte, error) {
	hdr := make([]byte, 16, 16+c.cksumSize())
	binary.BigEndian.PutUint16(hdr, tokMIC)
	hdr[2] = c.sendFlags()
	copy(hdr[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff})
	binary.BigEndian.PutUint64(hdr[8:], c.nextSend())
	ck, err := c.et.GetChecksumHash(c.key, concat(msg, hdr), c.usage(true, true))
	if err != nil {
		return nil, err
	}
	return append(hdr, ck...), nil
}

// errBadSig and errRefSeq are the causes of ErrMessageAltered and ErrOutOfSequence.
var errBadSig = errors.New("kerberos: the checksum does not match")

func (c *cfx) checkFlags(f byte) error {
	if (f&flagSentByAcceptor != 0) == c.acceptor {
		return errors.New("kerberos: token direction flag is wrong (a reflected token?)")
	}
	if c.acceptorSK && f&flagAcceptorSubkey == 0 {
		return errors.New("kerberos: token not made with the acceptor subkey")
	}
	return nil
}

func (c *cfx) checkSeq(seq uint64) error {
	if c.seqCheck && seq != c.recvSeq {
		return fmt.Errorf("%w: got %d, want %d", errRefSeq, seq, c.recvSeq)
	}
	c.recvSeq = seq + 1
	return nil
}

// verifyMIC checks a MIC token over msg.
func (c *cfx) verifyMIC(msg, tok []byte) error {
	n := c.cksumSize()
	if len(tok) != 16+n {
		return fmt.Errorf("%w: MIC token of %d bytes, want %d", errMalformed, len(tok), 16+n)
	}
	if binary.BigEndian.Uint16(tok) != tokMIC {
		return fmt.Errorf("%w: not a MIC token (TOK_ID % x)", errMalformed, tok[:2])
	}
	if !bytes.Equal(tok[3:8], []byte{0xff, 0xff, 0xff, 0xff, 0xff}) {
		return fmt.Errorf("%w: MIC token filler is not ff", errMalformed)
	}
	if err := c.checkFlags(tok[2]); err != nil {
		return fmt.Errorf("%w: %v", errMalformed, err)
	}
	ck, err := c.et.GetChecksumHash(c.key, concat(msg, tok[:16]), c.usage(true, false))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(ck, tok[16:]) != 1 {
		return errBadSig
	}
	return c.checkSeq(binary.BigEndian.Uint64(tok[8:]))
}

var errMalformed = errors.New("kerberos: malformed token")

// wrap makes a Wrap token (RFC 4121 4.2.6.2) with the right rotation described in the
// package doc: the first trailerSize (sealed) or 16+checksum (integrity-only) bytes are
// the header and the rotated trailer, the rest is the data.
func (c *cfx) wrap(msg []byte, seal bool) ([]byte, error) {
	hdr := make([]byte, 16)
	binary.BigEndian.PutUint16(hdr, tokWrap)
	hdr[2] = c.sendFlags()
	hdr[3] = 0xff
	binary.BigEndian.PutUint64(hdr[8:], c.nextSend())
	if seal {
		hdr[2] |= flagSealed
		// EC = 0, RRC = 0 in the encrypted copy.
		_, ct, err := c.et.EncryptMessage(c.key, concat(msg, hdr), c.usage(false, true))
		if err != nil {
			return nil, err
		}
		rrc := 16 + c.cksumSize()
		binary.BigEndian.PutUint16(hdr[6:], uint16(rrc))
		return append(hdr, rotateRight(ct, rrc)...), nil
	}
	n := c.cksumSize()
	ck, err := c.et.GetChecksumHash(c.key, concat(msg, hdr), c.usage(false, true))
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(n))
	out := append(hdr, ck...)
	return append(out, msg...), nil
}

// unwrap checks a Wrap token and returns its plaintext and whether it was sealed.
func (c *cfx) unwrap(tok []byte) (msg []byte, sealed bool, err error) {
	if len(tok) < 16 {
		return nil, false, fmt.Errorf("%w: Wrap token of %d bytes", errMalformed, len(tok))
	}
	if binary.BigEndian.Uint16(tok) != tokWrap || tok[3] != 0xff {
		return nil, false, fmt.Errorf("%w: not a Wrap token (% x)", errMalformed, tok[:4])
	}
	f := tok[2]
	if err := c.checkFlags(f); err != nil {
		return nil, false, fmt.Errorf("%w: %v", errMalformed, err)
	}
	ec := int(binary.BigEndian.Uint16(tok[4:]))
	rrc := int(binary.BigEndian.Uint16(tok[6:]))
	seq := binary.BigEndian.Uint64(tok[8:])
	raw := tok[16:]
	body := raw
	if len(body) > 0 {
		body = rotateLeft(body, rrc%len(body))
	}
	hdr := append([]byte(nil), tok[:16]...)
	hdr[6], hdr[7] = 0, 0
	if f&flagSealed != 0 {
		if len(body) < c.et.GetConfounderByteSize()+c.cksumSize()+16+ec {
			return nil, false, fmt.Errorf("%w: sealed Wrap token too short", errMalformed)
		}
		pt, err := c.et.DecryptMessage(c.key, body, c.usage(false, false))
		if err != nil && ec != 0 {
			// Windows (MS-KILE 3.4.5.4.1) rotates by RRC+EC, not RRC.
			pt, err = c.et.DecryptMessage(c.key, rotateLeft(raw, (rrc+ec)%len(raw)), c.usage(false, false))
		}
		if err != nil {
			return nil, false, errBadSig
		}
		if len(pt) < 16+ec {
			return nil, false, errBadSig
		}
		if subtle.ConstantTimeCompare(pt[len(pt)-16:], hdr) != 1 {
			return nil, false, errBadSig
		}
		if err := c.checkSeq(seq); err != nil {
			return nil, false, err
		}
		return pt[:len(pt)-16-ec], true, nil
	}
	n := c.cksumSize()
	if ec != n || len(body) < n {
		return nil, false, fmt.Errorf("%w: integrity-only Wrap token with EC %d, checksum size %d", errMalformed, ec, n)
	}
	data, ck := body[:len(body)-n], body[len(body)-n:]
	hdr[4], hdr[5] = 0, 0
	want, err := c.et.GetChecksumHash(c.key, concat(data, hdr), c.usage(false, false))
	if err != nil {
		return nil, false, err
	}
	if subtle.ConstantTimeCompare(want, ck) != 1 {
		return nil, false, errBadSig
	}
	if err := c.checkSeq(seq); err != nil {
		return nil, false, err
	}
	return data, false, nil
}

func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// rotateRight returns b rotated right by n (the last n bytes first).
func rotateRight(b []byte, n int) []byte {
	if len(b) == 0 {
		return b
	}
	n %= len(b)
	out := make([]byte, 0, len(b))
	return append(append(out, b[len(b)-n:]...), b[:len(b)-n]...)
}

// rotateLeft undoes rotateRight.
func rotateLeft(b []byte, n int) []byte {
	if len(b) == 0 {
		return b
	}
	n %= len(b)
	out := make([]byte, 0, len(b))
	return append(append(out, b[n:]...), b[:n]...)
}
