package gss

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
)

// RFC 4121 4.2.6 token identifiers and 4.2.2 flags.
const (
	TokMIC  = 0x0404
	TokWrap = 0x0504

	FlagSentByAcceptor = 0x01
	FlagSealed         = 0x02
	FlagAcceptorSubkey = 0x04
)

// Key usages of RFC 4121 2.
const (
	UsageAcceptorSeal  = 22
	UsageAcceptorSign  = 23
	UsageInitiatorSeal = 24
	UsageInitiatorSign = 25
)

const hdrLen = 16

// maxPieces bounds the message pieces handled without allocating; more are joined.
const maxPieces = 8

// CFX is the RFC 4121 message protection of one side of an established context.
type CFX struct {
	acceptor  bool
	subkey    bool // FLAG_ACCEPTOR_SUBKEY: the key is the acceptor's subkey
	flags     byte // flags of the tokens this side sends
	mac, conf int

	// The usage keys are derived (and kept, by key) on first use: a session that only
	// seals in one direction, as most do first, derives for that alone.
	key                                *krbcrypto.Key
	mySign, mySeal, peerSign, peerSeal uint32
}

func (c *CFX) sendSign() *krbcrypto.UsageKey { return c.key.Usage(c.mySign) }
func (c *CFX) sendSeal() *krbcrypto.UsageKey { return c.key.Usage(c.mySeal) }
func (c *CFX) recvSign() *krbcrypto.UsageKey { return c.key.Usage(c.peerSign) }
func (c *CFX) recvSeal() *krbcrypto.UsageKey { return c.key.Usage(c.peerSeal) }

// NewCFX returns the RFC 4121 state for key, for the acceptor or the initiator;
// acceptorSubkey says key is a subkey the acceptor chose (its AP-REP carried one).
func NewCFX(key *krbcrypto.Key, acceptor, acceptorSubkey bool) (*CFX, error) {
	c := new(CFX)
	if err := c.Init(key, acceptor, acceptorSubkey); err != nil {
		return nil, err
	}
	return c, nil
}

// Init sets c up as NewCFX does, in place: a context that holds its CFX by value makes
// one allocation fewer per session.
func (c *CFX) Init(key *krbcrypto.Key, acceptor, acceptorSubkey bool) error {
	switch key.EType() {
	case krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA196,
		krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192:
	default:
		return fmt.Errorf("gss: RFC 4121 tokens are not defined here for %v", key.EType())
	}
	*c = CFX{acceptor: acceptor, subkey: acceptorSubkey, mac: key.EType().MACSize(), conf: key.EType().ConfounderSize()}
	mySign, mySeal, peerSign, peerSeal := uint32(UsageInitiatorSign), uint32(UsageInitiatorSeal), uint32(UsageAcceptorSign), uint32(UsageAcceptorSeal)
	if acceptor {
		mySign, mySeal, peerSign, peerSeal = peerSign, peerSeal, mySign, mySeal
		c.flags |= FlagSentByAcceptor
	}
	if acceptorSubkey {
		c.flags |= FlagAcceptorSubkey
	}
	c.key = key
	c.mySign, c.mySeal, c.peerSign, c.peerSeal = mySign, mySeal, peerSign, peerSeal
	return nil
}

// MICSize is the length of a MIC token.
func (c *CFX) MICSize() int { return hdrLen + c.mac }

// checkFlags enforces the direction and subkey flags of a received token.
func (c *CFX) checkFlags(f byte) error {
	if (f&FlagSentByAcceptor != 0) == c.acceptor {
		return ErrDirection
	}
	if (f&FlagAcceptorSubkey != 0) != c.subkey {
		return ErrSubkey
	}
	return nil
}

// withTail returns msg followed by extra as one list, on buf when it fits.
func withTail(buf *[maxPieces + 2][]byte, msg [][]byte, extra ...[]byte) [][]byte {
	if len(msg)+len(extra) > len(buf) {
		return append(append([][]byte(nil), msg...), extra...)
	}
	n := copy(buf[:], msg)
	n += copy(buf[n:], extra)
	return buf[:n]
}

// AppendMIC appends the MIC token (RFC 4121 4.2.6.1) over the concatenation of msg,
// with sequence number seq, to dst.
func (c *CFX) AppendMIC(dst []byte, seq uint64, msg ...[]byte) []byte {
	start := len(dst)
	dst = append(dst, TokMIC>>8, TokMIC&0xff, c.flags, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(dst[start+8:], seq)
	var buf [maxPieces + 2][]byte
	return c.sendSign().Checksum(dst, withTail(&buf, msg, dst[start:start+hdrLen])...)
}

// VerifyMIC checks a MIC token over the concatenation of msg and returns its sequence
// number.
func (c *CFX) VerifyMIC(token []byte, msg ...[]byte) (seq uint64, err error) {
	if len(token) != hdrLen+c.mac || binary.BigEndian.Uint16(token) != TokMIC ||
		token[3] != 0xff || token[4] != 0xff || token[5] != 0xff || token[6] != 0xff || token[7] != 0xff {
		return 0, ErrMalformed
	}
	if err := c.checkFlags(token[2]); err != nil {
		return 0, err
	}
	var buf [maxPieces + 2][]byte
	if !c.recvSign().VerifyChecksum(token[hdrLen:], withTail(&buf, msg, token[:hdrLen])...) {
		return 0, ErrBadMIC
	}
	return binary.BigEndian.Uint64(token[8:]), nil
}

func (c *CFX) putWrapHeader(h []byte, seq uint64, seal bool, ec, rrc int) {
	h[0], h[1], h[2], h[3] = TokWrap>>8, TokWrap&0xff, c.flags, 0xff
	if seal {
		h[2] |= FlagSealed
	}
	binary.BigEndian.PutUint16(h[4:], uint16(ec))
	binary.BigEndian.PutUint16(h[6:], uint16(rrc))
	binary.BigEndian.PutUint64(h[8:], seq)
}

// WrapSize is the length of the whole Wrap token AppendWrap makes for n bytes.
func (c *CFX) WrapSize(n int, seal bool) int {
	if seal {
		return hdrLen + c.conf + n + hdrLen + c.mac
	}
	return hdrLen + n + c.mac
}

// AppendWrap appends to dst the Wrap token (RFC 4121 4.2.6.2) of msg as gss_wrap makes
// it: EC = 0 and RRC = 0 when sealed (confounder: ConfounderSize random bytes), EC = the
// checksum length and RRC = 0 when not. dst and msg must not overlap.
func (c *CFX) AppendWrap(dst []byte, seq uint64, msg []byte, seal bool, confounder []byte) ([]byte, error) {
	start := len(dst)
	need := c.WrapSize(len(msg), seal)
	dst = slices.Grow(dst, need)[:start+need]
	tok := dst[start:]
	if !seal {
		c.putWrapHeader(tok, seq, false, 0, 0)
		copy(tok[hdrLen:], msg)
		// The checksum covers the header with EC and RRC zero (RFC 4121 4.2.4).
		c.sendSeal().Checksum(tok[hdrLen+len(msg):hdrLen+len(msg)], tok[hdrLen:hdrLen+len(msg)], tok[:hdrLen])
		binary.BigEndian.PutUint16(tok[4:], uint16(c.mac))
		return dst, nil
	}
	if len(confounder) != c.conf {
		return dst[:start], errors.New("gss: confounder of the wrong length")
	}
	c.putWrapHeader(tok, seq, true, 0, 0)
	body := tok[hdrLen : need-c.mac]
	copy(body, confounder)
	copy(body[c.conf:], msg)
	copy(body[c.conf+len(msg):], tok[:hdrLen])
	if _, err := c.sendSeal().SealParts(tok[need-c.mac:need-c.mac], body); err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// UnwrapInPlace checks a whole Wrap token with any EC and RRC (RRC rotations as RFC 4121
// and as Windows apply them, RRC+EC) and decrypts it in its own buffer; msg is a subslice
// of token. On error token's contents are undefined.
func (c *CFX) UnwrapInPlace(token []byte) (msg []byte, seq uint64, sealed bool, err error) {
	if len(token) < hdrLen || binary.BigEndian.Uint16(token) != TokWrap || token[3] != 0xff {
		return nil, 0, false, ErrMalformed
	}
	if err := c.checkFlags(token[2] &^ FlagSealed); err != nil {
		return nil, 0, false, err
	}
	ec := int(binary.BigEndian.Uint16(token[4:]))
	rrc := int(binary.BigEndian.Uint16(token[6:]))
	seq = binary.BigEndian.Uint64(token[8:])
	body := token[hdrLen:]
	sealed = token[2]&FlagSealed != 0
	if !sealed {
		if ec != c.mac || len(body) < c.mac {
			return nil, 0, false, ErrMalformed
		}
		rotateLeft(body, rrc%len(body))
		data, ck := body[:len(body)-c.mac], body[len(body)-c.mac:]
		var h [hdrLen]byte
		copy(h[:], token[:hdrLen])
		h[4], h[5], h[6], h[7] = 0, 0, 0, 0
		if !c.recvSeal().VerifyChecksum(ck, data, h[:]) {
			return nil, 0, false, ErrBadMIC
		}
		return data, seq, false, nil
	}
	if len(body) < c.conf+ec+hdrLen+c.mac {
		return nil, 0, false, ErrMalformed
	}
	rot := c.pickRotation(token[:hdrLen], body, rrc, ec)
	rotateLeft(body, rot)
	if err := c.openSealed(token[:hdrLen], c.mac, body); err != nil {
		return nil, 0, false, err
	}
	return body[c.conf : len(body)-c.mac-hdrLen-ec], seq, true, nil
}

// pickRotation decides between RRC (RFC 4121) and RRC+EC (Windows, MS-KILE 3.4.5.4.1)
// when they differ, by decrypting the last block of each candidate and looking for the
// header copy there; the MAC check that follows is what decides acceptance.
func (c *CFX) pickRotation(hdr, body []byte, rrc, ec int) int {
	n := len(body)
	a := rrc % n
	if ec == 0 {
		return a
	}
	want := expectedHeader(hdr)
	for _, rot := range [2]int{a, (rrc + ec) % n} {
		// E = body[rot:] | body[:rot]; the tag is its last mac bytes.
		var got [16]byte
		if e := n - c.mac; rot <= c.mac {
			if c.recvSeal().PeekTail(&got, body[rot:rot+e]) && got == want {
				return rot
			}
		} else if c.recvSeal().PeekTail(&got, body[rot:], body[:rot-c.mac]) && got == want {
			return rot
		}
	}
	return a
}

func expectedHeader(hdr []byte) [16]byte {
	var h [16]byte
	copy(h[:], hdr)
	h[6], h[7] = 0, 0 // RFC 4121 4.2.4: RRC is zero in the encrypted copy
	return h
}

// openSealed decrypts body (confounder | data | filler | header copy | tag, already
// unrotated) in place and checks the header copy.
func (c *CFX) openSealed(hdr []byte, mac int, body []byte) error {
	n := len(body) - mac
	if err := c.recvSeal().OpenParts(body[n:], body[:n]); err != nil {
		return ErrBadMIC
	}
	want := expectedHeader(hdr)
	if subtle.ConstantTimeCompare(body[n-hdrLen:n], want[:]) != 1 {
		return ErrBadMIC
	}
	return nil
}

// rotateLeft rotates b left by n in place (three reversals: no allocation).
func rotateLeft(b []byte, n int) {
	if n == 0 || len(b) == 0 {
		return
	}
	reverse(b[:n])
	reverse(b[n:])
	reverse(b)
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}
