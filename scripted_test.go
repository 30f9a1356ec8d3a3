package sspi

// The scripted mechanism: a small but real security package that exists only in this
// package's tests, so the core can be exercised without any production package. It has a
// challenge-response handshake with optional mutual authentication, a session key,
// sequence-numbered signatures and sealing, and knobs that make it produce each case the
// core must handle (a large token, short and long input, CompleteNeeded, a slow step).

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

const scriptedName = "Scripted"

// attrSeenBuffers is a package-private attribute id: the input buffer types the last step saw.
const attrSeenBuffers Attribute = 0x1000

func init() { Register(scriptedPackage{}) }

type scriptedPackage struct{}

func (scriptedPackage) Info() PackageInfo {
	return PackageInfo{
		Capabilities: CapIntegrity | CapPrivacy | CapConnection | CapMutualAuth,
		Version:      1, RPCID: RPCIDNone, MaxToken: 256,
		Name: scriptedName, Comment: "Scripted test mechanism",
	}
}

// scriptedCreds configure either side. A server's Password is the one secret both share.
type scriptedCreds struct {
	User, Password string
	// Knobs.
	BigToken       bool          // client: the first token is 4000 bytes
	CompleteNeeded bool          // client: the last leg asks for CompleteAuthToken
	NoConfidential bool          // server: never grant confidentiality
	Block          chan struct{} // each step waits for a receive
	Steps          *atomic.Int64 // counts steps run
	ExpiresAt      time.Time
}

func (scriptedPackage) AcquireCredentials(req *CredentialsRequest) (PackageCredentials, error) {
	switch a := req.AuthData.(type) {
	case *scriptedCreds:
		return a, nil
	case *AuthIdentity:
		return &scriptedCreds{User: a.User, Password: a.Password}, nil
	case nil:
		return nil, Errorf(ErrNoCredentials, "scripted: no default credentials")
	default:
		return nil, Errorf(ErrUnknownCredentials, "scripted: cannot use %T", a)
	}
}

func (c *scriptedCreds) Expiry() time.Time { return c.ExpiresAt }

func (c *scriptedCreds) NewContext(server bool) (PackageContext, error) {
	return &scriptedContext{creds: c, server: server}, nil
}

type scriptedContext struct {
	creds    *scriptedCreds
	server   bool
	leg      int
	nonce    [8]byte
	user     string
	key      []byte
	sendSeq  uint32
	recvSeq  uint32
	seen     []BufferType
	mutual   bool
	bindings []byte
}

var nonceCounter atomic.Uint64

// Tokens: "SCR", leg number, 2-byte big-endian payload length, payload.
func appendToken(dst []byte, leg byte, payload []byte) []byte {
	dst = append(dst, 'S', 'C', 'R', leg, byte(len(payload)>>8), byte(len(payload)))
	return append(dst, payload...)
}

// readToken parses one token, reporting a short one as ErrIncompleteMessage with the
// number of bytes missing and a long one as extra bytes.
func readToken(p *StepParams, leg byte) ([]byte, error) {
	t := p.InputToken()
	if len(t) < 6 {
		p.Missing = 6 - len(t)
		return nil, Errorf(ErrIncompleteMessage, "scripted: token header is %d bytes", len(t))
	}
	if !bytes.Equal(t[:3], []byte("SCR")) || t[3] != leg {
		return nil, Errorf(ErrInvalidToken, "scripted: expected leg %d token", leg)
	}
	n := int(binary.BigEndian.Uint16(t[4:6]))
	if len(t)-6 < n {
		p.Missing = n - (len(t) - 6)
		return nil, Errorf(ErrIncompleteMessage, "scripted: %d bytes missing", p.Missing)
	}
	p.Extra = len(t) - 6 - n
	return t[6 : 6+n], nil
}

func (c *scriptedContext) mac(label string, extra []byte) []byte {
	h := hmac.New(sha256.New, []byte(c.creds.Password))
	h.Write([]byte(label))
	h.Write(c.nonce[:])
	h.Write(extra)
	return h.Sum(nil)
}

func (c *scriptedContext) Step(p *StepParams) (Status, error) {
	if c.creds.Steps != nil {
		c.creds.Steps.Add(1)
	}
	if c.creds.Block != nil {
		<-c.creds.Block
	}
	c.seen = c.seen[:0]
	for _, b := range p.In {
		c.seen = append(c.seen, b.Type)
		if b.Type.Base() == BufferChannelBindings {
			c.bindings = b.Data
		}
	}
	if c.server {
		return c.acceptStep(p)
	}
	return c.initStep(p)
}

func (c *scriptedContext) granted(server bool, req ContextReq) ContextAttr {
	var a ContextAttr
	if server {
		a = ASCRetIntegrity | ASCRetReplayDetect | ASCRetSequenceDetect
		if req.Has(ASCReqConfidentiality) && !c.creds.NoConfidential {
			a |= ASCRetConfidentiality
		}
		if c.mutual {
			a |= ASCRetMutualAuth
		}
		return a
	}
	a = ISCRetIntegrity | ISCRetReplayDetect | ISCRetSequenceDetect
	if req.Has(ISCReqConfidentiality) {
		a |= ISCRetConfidentiality
	}
	if c.mutual {
		a |= ISCRetMutualAuth
	}
	return a
}

func (c *scriptedContext) initStep(p *StepParams) (Status, error) {
	switch c.leg {
	case 0:
		c.leg = 1
		c.mutual = p.Req.Has(ISCReqMutualAuth)
		flags := byte(0)
		if c.mutual {
			flags = 1
		}
		payload := append([]byte{flags}, c.creds.User...)
		if c.creds.BigToken {
			payload = append(payload, make([]byte, 4000)...)
		}
		p.Out = appendToken(p.Out, 1, payload)
		return ContinueNeeded, nil
	case 1:
		nonce, err := readToken(p, 2)
		if err != nil {
			return 0, err
		}
		if len(nonce) != 8 {
			return 0, Errorf(ErrInvalidToken, "scripted: nonce of %d bytes", len(nonce))
		}
		copy(c.nonce[:], nonce)
		c.leg = 3
		p.Out = appendToken(p.Out, 3, c.mac("client", c.bindings))
		c.key = c.mac("key", nil)
		p.Attr = c.granted(false, p.Req)
		if c.mutual {
			return ContinueNeeded, nil
		}
		if c.creds.CompleteNeeded {
			return CompleteNeeded, nil
		}
		return OK, nil
	case 3:
		proof, err := readToken(p, 4)
		if err != nil {
			return 0, err
		}
		if !hmac.Equal(proof, c.mac("server", nil)) {
			return 0, Errorf(ErrMutualAuthFailed, "scripted: server proof does not match")
		}
		c.leg = 5
		return OK, nil
	}
	return 0, Errorf(ErrInvalidToken, "scripted: no leg after %d", c.leg)
}

func (c *scriptedContext) acceptStep(p *StepParams) (Status, error) {
	switch c.leg {
	case 0:
		hello, err := readToken(p, 1)
		if err != nil {
			return 0, err
		}
		if len(hello) < 1 {
			return 0, Errorf(ErrInvalidToken, "scripted: empty hello")
		}
		c.mutual = hello[0] == 1 && p.Req.Has(ASCReqMutualAuth)
		c.user = string(hello[1:])
		binary.BigEndian.PutUint64(c.nonce[:], nonceCounter.Add(1))
		c.leg = 2
		p.Out = appendToken(p.Out, 2, c.nonce[:])
		return ContinueNeeded, nil
	case 2:
		proof, err := readToken(p, 3)
		if err != nil {
			return 0, err
		}
		if !hmac.Equal(proof, c.mac("client", c.bindings)) {
			// The refusal the core hands out only with ASC_REQ_EXTENDED_ERROR.
			p.Out = appendToken(p.Out, 0xEE, []byte("denied"))
			if c.bindings != nil {
				return 0, Errorf(ErrLogonDenied, "scripted: proof for %s does not match (password or channel bindings)", c.user)
			}
			return 0, Errorf(ErrLogonDenied, "scripted: proof for %s does not match", c.user)
		}
		c.key = c.mac("key", nil)
		c.leg = 4
		p.Attr = c.granted(true, p.Req)
		if c.mutual {
			p.Out = appendToken(p.Out, 4, c.mac("server", nil))
		}
		return OK, nil
	}
	return 0, Errorf(ErrInvalidToken, "scripted: no leg after %d", c.leg)
}

func (c *scriptedContext) CompleteAuthToken([]Buffer) error { return nil }

func (c *scriptedContext) Sizes() Sizes {
	return Sizes{MaxToken: 256, MaxSignature: 16, SecurityTrailer: 16}
}

func (c *scriptedContext) SessionKey() ([]byte, error) { return append([]byte(nil), c.key...), nil }

func (c *scriptedContext) Identity() Identity {
	return Identity{User: c.user, Domain: "SCRIPT", Principal: `SCRIPT\` + c.user}
}

func (c *scriptedContext) QueryAttribute(attr Attribute, out any) error {
	if attr != attrSeenBuffers {
		return Errorf(ErrUnsupportedFunction, "scripted: attribute %d", attr)
	}
	o, ok := out.(*[]BufferType)
	if !ok {
		return Errorf(ErrInvalidParameter, "scripted: need *[]BufferType")
	}
	*o = append((*o)[:0], c.seen...)
	return nil
}

// sig is 4 bytes of sequence number and 12 bytes of HMAC over direction, sequence and data.
func (c *scriptedContext) sig(dst []byte, fromServer bool, seq uint32, msg []Buffer) {
	h := hmac.New(sha256.New, c.key)
	var hdr [5]byte
	if fromServer {
		hdr[0] = 1
	}
	binary.BigEndian.PutUint32(hdr[1:], seq)
	h.Write(hdr[:])
	for _, b := range msg {
		if b.Type.Base() == BufferData {
			h.Write(b.Data)
		}
	}
	var sum [32]byte
	binary.BigEndian.PutUint32(dst[:4], seq)
	copy(dst[4:16], h.Sum(sum[:0]))
}

func tokenBuffer(msg []Buffer) (*Buffer, error) {
	t := FindBuffer(msg, BufferToken)
	if t == nil || len(t.Data) < 16 {
		return nil, Errorf(ErrInvalidToken, "scripted: need a 16-byte token buffer")
	}
	return t, nil
}

func (c *scriptedContext) MakeSignature(qop uint32, msg []Buffer, _ uint32) error {
	t, err := tokenBuffer(msg)
	if err != nil {
		return err
	}
	c.sig(t.Data, c.server, c.sendSeq, msg)
	t.Data = t.Data[:16]
	c.sendSeq++
	return nil
}

func (c *scriptedContext) VerifySignature(msg []Buffer, _ uint32) (uint32, error) {
	t, err := tokenBuffer(msg)
	if err != nil {
		return 0, err
	}
	var want [16]byte
	seq := binary.BigEndian.Uint32(t.Data[:4])
	c.sig(want[:], !c.server, seq, msg)
	if subtle.ConstantTimeCompare(want[4:], t.Data[4:16]) != 1 {
		return 0, Errorf(ErrMessageAltered, "scripted: signature does not match")
	}
	if seq != c.recvSeq {
		return 0, Errorf(ErrOutOfSequence, "scripted: message %d, expected %d", seq, c.recvSeq)
	}
	c.recvSeq++
	return 0, nil
}

func (c *scriptedContext) xor(msg []Buffer, fromServer bool, seq uint32) {
	var block [32]byte
	for _, b := range msg {
		if b.Type.Base() != BufferData || b.Type.ReadOnly() {
			continue
		}
		for i := range b.Data {
			if i%32 == 0 {
				h := sha256.New()
				h.Write(c.key)
				fmt.Fprintf(h, "%v/%d/%d", fromServer, seq, i)
				h.Sum(block[:0])
			}
			b.Data[i] ^= block[i%32]
		}
	}
}

func (c *scriptedContext) EncryptMessage(qop uint32, msg []Buffer, _ uint32) error {
	if qop != 0 {
		return Errorf(ErrQOPNotSupported, "scripted: qop %#x", qop)
	}
	c.xor(msg, c.server, c.sendSeq)
	return c.MakeSignature(0, msg, 0)
}

func (c *scriptedContext) DecryptMessage(msg []Buffer, seq uint32) (uint32, error) {
	t, err := tokenBuffer(msg)
	if err != nil {
		return 0, err
	}
	s := binary.BigEndian.Uint32(t.Data[:4])
	// Sealed messages are signed over the ciphertext, so verify first, then decrypt.
	if _, err := c.VerifySignature(msg, seq); err != nil {
		return 0, err
	}
	c.xor(msg, !c.server, s)
	return 0, nil
}

func (c *scriptedContext) Close() error {
	for i := range c.key {
		c.key[i] = 0
	}
	c.leg = -1
	return nil
}
