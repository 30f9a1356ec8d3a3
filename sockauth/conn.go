package sockauth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/sspi"
)

// Conn is an authenticated connection: the TCP connection and the established security
// context, with the peer's identity and what the context grants. ReadMessage and
// WriteMessage move messages protected as the framing and Protection say.
//
// One goroutine may read while another writes (FramingSSPI with messages); each of
// ReadMessage and WriteMessage is used by one goroutine at a time. With FramingGSS every
// message is answered before the next one, so reads and writes are serialized.
type Conn struct {
	nc      net.Conn
	br      *bufio.Reader // reads nc: one read(2) usually brings a whole frame
	framing Framing
	server  bool
	ctx     *sspi.Context
	pkg     string
	id      sspi.Identity
	attrs   sspi.ContextAttr
	timeout time.Duration
	maxMsg  int

	// prot is how this side protects what it sends; min the least it accepts.
	prot, min Protection
	// sample: FramingSSPI as the SDK sample has it, one greeting from the server and then
	// the end of the connection. Otherwise, messages in frames.
	sample bool
	// mic: with FramingGSS, ask for the receiver's MIC over each message and check it.
	mic bool

	// corked holds the last handshake token when no answer to it is expected (a client's)
	// or the session's first message follows it (a server's with the default handler):
	// it goes out with the first message, or before the first read, in the same write.
	corked []byte

	sizes     sspi.Sizes
	haveSizes bool
	// bufs are the message calls' buffers, under secMu: the package is handed them
	// through an interface, so buffers of a call's own would each be an allocation.
	// Cleared after each call.
	bufs [2]sspi.Buffer

	// tls is the record stream of FramingTLS (and of FramingRDP in its handshake).
	tls *tlsState
	// rdp is what FramingRDP's handshake negotiated.
	rdp *rdpState

	secMu    sync.Mutex // one SSPI call on ctx at a time: a reader and a writer may race
	rmu, wmu sync.Mutex
	greeted  bool        // sample: the greeting has gone (server) or come (client)
	eof      atomic.Bool // the peer said goodbye
	heard    atomic.Bool // the client has received something since its last token
	idle     atomic.Bool // waiting for the first byte of a message (for Shutdown)
	closed   atomic.Bool
	sent     atomic.Int64 // messages written
	recv     atomic.Int64 // messages read
	srv      *Server
}

// Identity returns who is at the other end, as the security context knows it. On a
// server it is the client that authenticated. On a client, Principal is the identity
// the client presented and Server is the server's name where the package proves it
// (mutual authentication); it is empty otherwise.
func (c *Conn) Identity() sspi.Identity { return c.id }

// Package names the security package that did the work: for Negotiate, the one chosen.
func (c *Conn) Package() string { return c.pkg }

// Attributes returns what the context grants: ASC_RET_* bits on a server, ISC_RET_* bits
// on a client.
func (c *Conn) Attributes() sspi.ContextAttr { return c.attrs }

// Protection is how this side protects the messages it writes.
func (c *Conn) Protection() Protection { return c.prot }

// Framing is the framing of the connection.
func (c *Conn) Framing() Framing { return c.framing }

// Sample reports whether the connection runs the SDK sample's protocol (FramingSSPI without
// messages): the server sends one greeting and closes.
func (c *Conn) Sample() bool { return c.sample }

// SecurityContext returns the established SSPI context, for what Conn does not cover
// (QueryContextAttributes, the session key). Do not use it while a message call runs.
func (c *Conn) SecurityContext() *sspi.Context { return c.ctx }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Errors of the message layer that are not the peer's fault.
var (
	// ErrSampleOneWay is returned by calls the SDK sample's protocol has no room for: a
	// client writing, a server reading, a second greeting.
	ErrSampleOneWay = errors.New("sockauth: the SDK sample protocol carries one greeting from the server and nothing else; use Client.Messages for a message exchange")
	// ErrClosed is returned by calls on a closed Conn.
	ErrClosed = errors.New("sockauth: use of a closed connection")
)

// protectionOf is what a context's attributes allow: sealing with confidentiality,
// signing with integrity only, nothing without either.
func protectionOf(attrs sspi.ContextAttr, server bool) Protection {
	integ, conf := sspi.ISCRetIntegrity, sspi.ISCRetConfidentiality
	if server {
		integ, conf = sspi.ASCRetIntegrity, sspi.ASCRetConfidentiality
	}
	switch {
	case attrs.Has(conf):
		return ProtectSeal
	case attrs.Has(integ):
		return ProtectSign
	}
	return ProtectNone
}

// signatureWraps names the mechanisms without an integrity-only wrap token of their own.
// For NTLM, gss-ntlmssp's gss_wrap seals every message, whatever confidentiality was asked
// for or negotiated (gss-ntlmssp 1.2, checked through python3-gssapi: conf_req 0 still
// gives an encrypted token and conf_state 1), so a gss-sample peer sends and expects
// sealed wraps, even with TOKEN_ENCRYPTED clear. We do the same; package ntlm seals
// whenever signing was negotiated, for this reason.
var signatureWraps = map[string]bool{"NTLM": true}

func (c *Conn) loadSizes() error {
	if c.haveSizes {
		return nil
	}
	if err := sspi.QueryContextAttributes(c.ctx, sspi.AttrSizes, &c.sizes); err != nil {
		return err
	}
	c.haveSizes = true
	return nil
}

// seal runs EncryptMessage over a copy of data and returns the security token and the
// sealed bytes, both in one fresh buffer (token first).
func (c *Conn) seal(data []byte, qop uint32) (token, sealed []byte, err error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if err := c.loadSizes(); err != nil {
		return nil, nil, err
	}
	t := c.sizes.SecurityTrailer
	buf := make([]byte, t+len(data))
	copy(buf[t:], data)
	bufs := c.useBufs(sspi.Buffer{Type: sspi.BufferToken, Data: buf[:t]}, sspi.Buffer{Type: sspi.BufferData, Data: buf[t:]})
	defer c.clearBufs()
	if err := sspi.EncryptMessage(c.ctx, qop, bufs, 0); err != nil {
		return nil, nil, err
	}
	return bufs[0].Data, bufs[1].Data, nil
}

// unseal runs DecryptMessage in place and reports whether the message was encrypted.
func (c *Conn) unseal(token, sealed []byte) ([]byte, bool, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	bufs := c.useBufs(sspi.Buffer{Type: sspi.BufferToken, Data: token}, sspi.Buffer{Type: sspi.BufferData, Data: sealed})
	defer c.clearBufs()
	qop, _, err := sspi.DecryptMessage(c.ctx, bufs, 0)
	if err != nil {
		return nil, false, err
	}
	return bufs[1].Data, qop != sspi.QOPWrapNoEncrypt, nil
}

// sign returns MakeSignature's signature over data.
func (c *Conn) sign(data []byte) ([]byte, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if err := c.loadSizes(); err != nil {
		return nil, err
	}
	sig := make([]byte, c.sizes.MaxSignature)
	bufs := c.useBufs(sspi.Buffer{Type: sspi.BufferData | sspi.BufferReadOnly, Data: data}, sspi.Buffer{Type: sspi.BufferToken, Data: sig})
	defer c.clearBufs()
	if err := sspi.MakeSignature(c.ctx, 0, bufs, 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// verify checks a signature over data with VerifySignature.
func (c *Conn) verify(data, sig []byte) error {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	bufs := c.useBufs(sspi.Buffer{Type: sspi.BufferData | sspi.BufferReadOnly, Data: data}, sspi.Buffer{Type: sspi.BufferToken, Data: sig})
	defer c.clearBufs()
	_, err := sspi.VerifySignature(c.ctx, bufs, 0)
	return err
}

// useBufs sets the message call's two buffers; the caller holds secMu.
func (c *Conn) useBufs(a, b sspi.Buffer) []sspi.Buffer {
	c.bufs = [2]sspi.Buffer{a, b}
	return c.bufs[:]
}

// clearBufs drops the last call's buffers, which may point at plaintext the caller
// goes on to clear or hand out.
func (c *Conn) clearBufs() { c.bufs = [2]sspi.Buffer{} }

// appendSSPIBody appends data protected for FramingSSPI in the EncryptThis layout.
func (c *Conn) appendSSPIBody(dst, data []byte) ([]byte, error) {
	switch c.prot {
	case ProtectSeal:
		return c.appendSealed(dst, data)
	case ProtectSign:
		sig, err := c.sign(data)
		if err != nil {
			return dst, err
		}
		return appendSSPIBody(slices.Grow(dst, 4+len(sig)+len(data)), sig, data), nil
	}
	return appendSSPIBody(slices.Grow(dst, 4+len(data)), nil, data), nil
}

// appendSealed appends data sealed (EncryptMessage) in the EncryptThis layout. The
// sealing is done in dst's room, grown to fit: the plaintext is copied once, into the
// buffer that is sent, and sealed there.
func (c *Conn) appendSealed(dst, data []byte) ([]byte, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if err := c.loadSizes(); err != nil {
		return dst, err
	}
	t, n := c.sizes.SecurityTrailer, len(dst)
	dst = slices.Grow(dst, 4+t+len(data))
	buf := dst[n+4 : n+4+t+len(data)]
	copy(buf[t:], data)
	bufs := c.useBufs(sspi.Buffer{Type: sspi.BufferToken, Data: buf[:t]}, sspi.Buffer{Type: sspi.BufferData, Data: buf[t:]})
	defer c.clearBufs()
	if err := sspi.EncryptMessage(c.ctx, 0, bufs, 0); err != nil {
		clear(buf[t:])
		return dst[:n], err
	}
	tok, sealed := bufs[0].Data, bufs[1].Data
	if aliased := len(sealed) == 0 || len(buf) > t && &sealed[0] == &buf[t]; len(tok) > t || !aliased {
		// Not where they were given: moving the token down could overwrite them.
		tok, sealed = slices.Clone(tok), slices.Clone(sealed)
	}
	// The token stays in place, and the sealed bytes move down onto what the token did
	// not use of the trailer (copy moves overlapping bytes correctly).
	return appendSSPIBody(dst[:n], tok, sealed), nil
}

// openSSPIBody checks and opens a FramingSSPI body. The protection is the context's: both
// ends derive it from the same negotiated attributes, so nothing on the wire says it.
func (c *Conn) openSSPIBody(body []byte) ([]byte, error) {
	tok, data, err := parseSSPIBody(body)
	if err != nil {
		return nil, err
	}
	switch protectionOf(c.attrs, c.server) {
	case ProtectSeal:
		plain, _, err := c.unseal(tok, data)
		return plain, err
	case ProtectSign:
		if err := c.verify(data, tok); err != nil {
			return nil, err
		}
		return data, nil
	}
	if len(tok) != 0 {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: a %d-byte security token on a context that protects nothing", len(tok))
	}
	if !ProtectNone.atLeast(c.min) {
		return nil, sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: message in the clear; %s is required", c.min)
	}
	return data, nil
}

// gssWrap makes a gss_wrap token of data: EncryptMessage's security token followed by
// the sealed data, which is the token MIT's gss_wrap makes for Kerberos (RFC 4121) and
// gss-ntlmssp's for NTLM (signature first, as gss-ntlmssp 1.2 writes it).
func (c *Conn) gssWrap(data []byte, conf bool) ([]byte, error) {
	var qop uint32
	if !conf && !signatureWraps[c.pkg] {
		qop = sspi.QOPWrapNoEncrypt
	}
	tok, sealed, err := c.seal(data, qop)
	if err != nil {
		return nil, err
	}
	if len(tok) == c.sizes.SecurityTrailer {
		return tok[:len(tok)+len(sealed)], nil // token and data are already adjacent
	}
	out := make([]byte, 0, len(tok)+len(sealed))
	return append(append(out, tok...), sealed...), nil
}

// gssUnwrap opens a gss_wrap token in place and reports whether it was encrypted.
func (c *Conn) gssUnwrap(w []byte) ([]byte, bool, error) {
	c.secMu.Lock()
	err := c.loadSizes()
	t := c.sizes.SecurityTrailer
	c.secMu.Unlock()
	if err != nil {
		return nil, false, err
	}
	// A wrap token may be shorter than the trailer, which is sized for sealing: Kerberos's
	// integrity-only token (RFC 4121, conf_flag 0) is a 16-byte header, the message and a
	// 12-byte checksum, 41 bytes for a 13-byte message against a 60-byte trailer. The
	// package rejoins the token and data buffers (Kerberos) or checks the token's length
	// itself (NTLM), so a short token goes whole into the token buffer.
	if len(w) < t {
		t = len(w)
	}
	return c.unseal(w[:t], w[t:])
}

// deadline arms the connection's time-out for one wait.
func (c *Conn) readDeadline() {
	if c.timeout > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	}
}

// writeFull writes b, after any corked bytes. The caller holds wmu (or owns c alone).
func (c *Conn) writeFull(b []byte) error {
	if c.timeout > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	}
	if c.corked != nil {
		b = append(c.corked, b...)
		c.corked = nil
	}
	_, err := c.nc.Write(b)
	return err
}

// flush sends corked bytes, if any. The caller holds wmu.
func (c *Conn) flush() error {
	if c.corked == nil {
		return nil
	}
	return c.writeFull(nil)
}

// peerGone turns a client's failure to hear anything from the server after its last
// handshake token into the logon failure it almost always is: a server that refuses a
// logon (a wrong password, an unknown user) just closes the connection in both
// protocols, so the client learns of the refusal only this way.
func (c *Conn) peerGone(err error) error {
	if c.server || c.heard.Load() || err == nil {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sspi.ErrIncompleteMessage) || isReset(err) {
		return sspi.Errorf(sspi.ErrLogonDenied, "%w after the last handshake token (%v); its log says why", ErrNoAnswer, err)
	}
	return err
}

// ReadMessage returns the next message from the peer, checked and unprotected. It returns
// io.EOF when the peer ends the session: a NOOP (FramingGSS), an empty frame (FramingSSPI),
// or, between messages, the end of the connection.
//
// With FramingGSS, ReadMessage also answers the message as gss-server does: with a MIC over
// it when the sender set TOKEN_SEND_MIC, or with a NOOP. With the SDK sample's protocol, a
// client's first ReadMessage returns the server's greeting and the next io.EOF.
func (c *Conn) ReadMessage() ([]byte, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if c.framing == FramingRDP {
		return nil, errNoRDPSession
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if !c.readable() {
		return nil, ErrClosed // closed while this call waited for rmu
	}
	if c.eof.Load() {
		return nil, io.EOF
	}
	var msg []byte
	var err error
	if c.framing == FramingTLS {
		if err = c.flushLocked(); err == nil {
			msg, err = c.readTLSMessage()
		}
	} else if c.framing == FramingGSS {
		c.wmu.Lock() // the acknowledgement is part of the read
		if err = c.flush(); err == nil {
			msg, err = c.readGSS()
		}
		c.wmu.Unlock()
	} else {
		c.wmu.Lock()
		err = c.flush()
		c.wmu.Unlock()
		if err == nil && c.sample {
			msg, err = c.readGreeting()
		} else if err == nil {
			msg, err = c.readSSPI()
		}
	}
	if err == nil {
		c.recv.Add(1)
	}
	return msg, c.peerGone(err)
}

// waitMessage waits for the first byte of the next message, marking the connection idle
// for Shutdown while it does.
func (c *Conn) waitMessage() error {
	c.readDeadline()
	if c.srv != nil {
		c.idle.Store(true)
		defer c.idle.Store(false)
		if c.srv.shuttingDown() && c.br.Buffered() == 0 {
			return ErrServerClosed
		}
	}
	if _, err := c.br.Peek(1); err != nil {
		if c.srv != nil && c.srv.shuttingDown() {
			return ErrServerClosed
		}
		return err
	}
	return nil
}

func (c *Conn) readSSPI() ([]byte, error) {
	if err := c.waitMessage(); err != nil {
		return nil, err
	}
	c.heard.Store(true)
	body, err := readSSPIFrame(c.br, c.maxMsg, "message")
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		c.eof.Store(true)
		return nil, io.EOF
	}
	return c.openSSPIBody(body)
}

// readGreeting reads the sample server's greeting: everything up to the end of the
// connection, as the sample client's ReceiveBytes does.
func (c *Conn) readGreeting() ([]byte, error) {
	if c.server {
		return nil, ErrSampleOneWay
	}
	if c.greeted {
		return nil, io.EOF
	}
	c.greeted = true
	c.readDeadline()
	body, err := readToEnd(c.br, c.maxMsg+1)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, io.EOF
	}
	c.heard.Store(true)
	if len(body) > c.maxMsg {
		return nil, errTooLarge("greeting", uint64(len(body)), c.maxMsg)
	}
	return c.openSSPIBody(body)
}

// readToEnd reads br to the end of the stream, or to limit bytes. It is io.ReadAll of an
// io.LimitReader, sized by what br holds already: the greeting usually came whole with
// the last handshake token, and only the end of the stream is still to be read.
func readToEnd(br *bufio.Reader, limit int) ([]byte, error) {
	size := 512
	if n := br.Buffered(); n > 0 {
		size = n + 1 // the byte more is room for the read that finds the end
	}
	buf := make([]byte, 0, min(size, limit))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(len(buf), limit-len(buf)))
		}
		n, err := br.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func (c *Conn) readGSS() ([]byte, error) {
	if err := c.waitMessage(); err != nil {
		return nil, err
	}
	c.heard.Store(true)
	flags, payload, err := readGSSToken(c.br, c.maxMsg, "message")
	if err != nil {
		return nil, err
	}
	if flags&GSSTokenNoop != 0 {
		c.eof.Store(true)
		return nil, io.EOF
	}
	const allowed = GSSTokenData | GSSTokenWrapped | GSSTokenEncrypted | GSSTokenSendMIC
	if flags&GSSTokenData == 0 || flags&^allowed != 0 {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a DATA or NOOP token, got %s", gssFlagNames(flags))
	}
	msg, got := payload, ProtectNone
	if flags&GSSTokenWrapped != 0 {
		var enc bool
		if msg, enc, err = c.gssUnwrap(payload); err != nil {
			return nil, err
		}
		got = ProtectSign
		if enc {
			got = ProtectSeal
		}
	}
	if !got.atLeast(c.min) {
		return nil, sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: message protection %s (%s) is below the required %s", got, gssFlagNames(flags), c.min)
	}
	// Answer as gss-server does: a MIC over the message, or a NOOP.
	var ack []byte
	if flags&GSSTokenSendMIC != 0 {
		if len(msg) == 0 {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: a MIC was asked for over an empty message")
		}
		mic, err := c.sign(msg)
		if err != nil {
			return nil, err
		}
		ack = appendGSSToken(nil, GSSTokenMIC, mic)
	} else {
		ack = appendGSSToken(nil, GSSTokenNoop, nil)
	}
	if err := c.writeFull(ack); err != nil {
		return nil, err
	}
	return msg, nil
}

// WriteMessage protects msg and sends it. With FramingGSS it then waits for the
// receiver's answer and checks the MIC in it. On a server in the SDK sample's protocol the
// first WriteMessage is the greeting, sent as the sample sends it (no frame), after which
// the connection's write side is closed.
func (c *Conn) WriteMessage(msg []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.framing == FramingRDP {
		return errNoRDPSession
	}
	var err error
	if c.framing == FramingTLS {
		c.wmu.Lock()
		if len(msg) > c.maxMsg {
			err = fmt.Errorf("sockauth: a %d-byte message is over the %d-byte limit", len(msg), c.maxMsg)
		} else {
			_, err = c.tlsWrite(msg)
		}
		c.wmu.Unlock()
	} else if c.framing == FramingGSS {
		c.rmu.Lock()
		c.wmu.Lock()
		if err = ErrClosed; c.readable() { // the answer is read
			err = c.writeGSS(msg)
		}
		c.wmu.Unlock()
		c.rmu.Unlock()
	} else {
		c.wmu.Lock()
		err = c.writeSSPI(msg)
		c.wmu.Unlock()
	}
	if err == nil {
		c.sent.Add(1)
	}
	return c.peerGone(err)
}

func (c *Conn) writeSSPI(msg []byte) error {
	if c.sample && (!c.server || c.greeted) {
		return ErrSampleOneWay
	}
	if len(msg) > c.maxMsg {
		return fmt.Errorf("sockauth: a %d-byte message is over the %d-byte limit", len(msg), c.maxMsg)
	}
	// The message is protected straight into the buffer that is written: after the
	// corked bytes, if any, and its frame's length.
	buf := slices.Grow(c.corked, sspiHeaderLen+c.bodySize(len(msg)))
	start := len(buf)
	if !c.sample {
		buf = append(buf, 0, 0, 0, 0) // the frame's length, set below
	}
	buf, err := c.appendSSPIBody(buf, msg)
	if err != nil {
		return err // c.corked is intact: nothing was written below start
	}
	c.corked = nil
	if c.sample {
		// The sample's server sends EncryptThis's output with SendBytes, no length in
		// front, and closes: the client reads to the end of the stream.
		c.greeted = true
		if err := c.writeFull(buf); err != nil {
			return err
		}
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-sspiHeaderLen))
	return c.writeFull(buf)
}

// bodySize is the most a FramingSSPI body of n bytes of data takes.
func (c *Conn) bodySize(n int) int {
	if c.prot == ProtectNone {
		return 4 + n
	}
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if c.loadSizes() != nil {
		return 4 + n // the protecting call reports the failure
	}
	return 4 + max(c.sizes.SecurityTrailer, c.sizes.MaxSignature) + n
}

func (c *Conn) writeGSS(msg []byte) error {
	if len(msg) == 0 {
		return errors.New("sockauth: gss-sample peers cannot take an empty message (gss_wrap refuses one)")
	}
	if len(msg) > c.maxMsg {
		return fmt.Errorf("sockauth: a %d-byte message is over the %d-byte limit", len(msg), c.maxMsg)
	}
	flags := byte(GSSTokenData)
	payload := msg
	var err error
	switch c.prot {
	case ProtectSeal:
		flags |= GSSTokenWrapped | GSSTokenEncrypted
		payload, err = c.gssWrap(msg, true)
	case ProtectSign:
		flags |= GSSTokenWrapped
		payload, err = c.gssWrap(msg, false)
	}
	if err != nil {
		return err
	}
	if c.mic {
		flags |= GSSTokenSendMIC
	}
	if err := c.writeFull(appendGSSToken(make([]byte, 0, gssHeaderLen+len(payload)), flags, payload)); err != nil {
		return err
	}
	// The receiver answers every DATA token: a MIC when asked, a NOOP otherwise.
	c.readDeadline()
	aflags, ack, err := readGSSToken(c.br, c.maxMsg, "acknowledgement")
	if err != nil {
		return err
	}
	c.heard.Store(true)
	switch {
	case c.mic && aflags == GSSTokenMIC:
		return c.verify(msg, ack)
	case !c.mic && aflags == GSSTokenNoop:
		return nil
	}
	return sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a %s token in answer to a message, got %s", map[bool]string{true: "MIC", false: "NOOP"}[c.mic], gssFlagNames(aflags))
}

// Close ends the session and the connection and deletes the security context. A client
// says goodbye first (a NOOP, or an empty frame), as gss-client does, so the server can
// tell a finished session from a broken one.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	// The goodbye is a courtesy: if a write is in progress (another goroutine blocked on
	// a slow peer), closing the connection is what unblocks it, so do not wait for it.
	if c.wmu.TryLock() {
		if c.tls != nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			_ = c.tlsCloseNotify()
		} else if !c.server && !c.sample && !c.eof.Load() {
			if c.framing == FramingGSS {
				c.corked = appendGSSToken(c.corked, GSSTokenNoop, nil)
			} else {
				c.corked = appendSSPIFrame(c.corked, nil)
			}
		}
		if c.corked != nil {
			// Only a write is bounded: arming a timer for nothing (the SDK sample's
			// session, which ends with the server's close) costs every session.
			_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.nc.Write(c.corked)
			c.corked = nil
		}
		c.wmu.Unlock()
	}
	err := c.nc.Close()
	c.releaseReader()
	// The context goes once no message call uses it; a call still running (it is being
	// unblocked by the close above) holds secMu only for the SSPI call itself.
	c.secMu.Lock()
	if derr := sspi.DeleteSecurityContext(c.ctx); err == nil {
		err = derr
	}
	c.secMu.Unlock()
	return err
}
