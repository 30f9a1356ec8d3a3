package sockauth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/gosspi/sspi"
)

// The framing of a Windows Schannel program (FramingTLS): no framing at all. Handshake
// tokens are TLS records and go on the stream as InitializeSecurityContext and
// AcceptSecurityContext return them; the reader does not know where a token ends, so it
// calls the package with what it has, and the package says:
//
//   - SEC_E_INCOMPLETE_MESSAGE: a record is cut short; the BufferMissing buffer counts
//     the bytes still needed (0 while the 5-byte record header itself is incomplete).
//     Read at least that many and call again with everything.
//   - SEC_I_CONTINUE_NEEDED: send the output; a BufferExtra buffer holds bytes that were
//     not consumed, the start of the next call's input.
//   - SEC_E_OK: established; a BufferExtra buffer is the start of the session.
//
// After the handshake the stream is TLS records, made by EncryptMessage
// ([STREAM_HEADER][DATA][STREAM_TRAILER][EMPTY], sized from SECPKG_ATTR_STREAM_SIZES)
// and read by DecryptMessage ([DATA][EMPTY][EMPTY][EMPTY]; a BufferExtra is kept for the
// next call). DecryptMessage's SEC_I_RENEGOTIATE hands a post-handshake message to
// InitializeSecurityContext or AcceptSecurityContext, whose output is sent;
// SEC_I_CONTEXT_EXPIRED is the peer's close_notify, answered with ApplyControlToken
// (SCHANNEL_SHUTDOWN) and one more call that makes this side's close_notify.

const (
	// tlsMaxRecord is the largest TLS record: a 5-byte header and 2^14+2048 bytes.
	tlsMaxRecord = 5 + 16384 + 2048
	// tlsSessionBuf bounds what a session holds received and not yet decrypted: a whole
	// record and the start of the next.
	tlsSessionBuf = 2 * tlsMaxRecord
	// tlsMaxLegs bounds the calls of a handshake that consume input: every TLS handshake
	// takes two or three flights; many small records a flight are still a handful.
	tlsMaxLegs = 64
	// schannelShutdown is SCHANNEL_SHUTDOWN, the control token that closes a connection.
	schannelShutdown = 1
)

// tlsStepFunc is one InitializeSecurityContext or AcceptSecurityContext call on the
// connection's context.
type tlsStepFunc func(in, out []sspi.Buffer) (sspi.Status, error)

// tlsState is a FramingTLS connection's side of the record stream.
type tlsState struct {
	step  tlsStepFunc // on the established context: post-handshake messages, close_notify
	sizes sspi.StreamSizes
	rbuf  []byte // received; rbuf[roff:] not consumed yet
	roff  int
	plain []byte // decrypted and not yet returned by Read; aliases rbuf
	wbuf  []byte // one record being made: header, data, trailer

	// The buffer lists of EncryptMessage and DecryptMessage, kept here so that a
	// message costs no allocation of its own.
	emsg, dmsg [4]sspi.Buffer

	closeSent  bool // our close_notify has gone
	peerClosed bool // the peer's close_notify has come

	// oneRecord hands the handshake one whole record a call (FramingRDP): CredSSP
	// decrypts every record it is given, and after its last message an RDP client's
	// next records (MCS) are not CredSSP's to read.
	oneRecord bool
}

// handshakeInput is what the next handshake call gets: what is pending, or with
// oneRecord the first record of it when that is whole.
func (t *tlsState) handshakeInput() []byte {
	data := t.pending()
	if t.oneRecord && len(data) >= 5 {
		if n := 5 + int(binary.BigEndian.Uint16(data[3:5])); n < len(data) {
			data = data[:n]
		}
	}
	return data
}

// consumeInput marks the input of a handshake call consumed, but for the bytes a
// BufferExtra buffer gives back.
func (t *tlsState) consumeInput(given int, extra *sspi.Buffer) {
	if extra.Type == sspi.BufferExtra && extra.Size > 0 && extra.Size <= given {
		given -= extra.Size
	}
	t.roff += given
}

// pending returns the bytes received and not consumed.
func (t *tlsState) pending() []byte { return t.rbuf[t.roff:] }

// consumeTo marks what is left of the input after a call that reported extra (a
// BufferExtra buffer at in[1]) or consumed everything.
func (t *tlsState) consumeTo(extra *sspi.Buffer) {
	if extra.Type == sspi.BufferExtra && extra.Size > 0 && extra.Size <= len(t.rbuf)-t.roff {
		t.roff = len(t.rbuf) - extra.Size
		return
	}
	t.roff = len(t.rbuf)
}

// fill reads until at least need more bytes are held, keeping at most limit bytes
// pending. The buffer grows as bytes arrive, never ahead of them by more than it holds,
// so a peer that announces a large record and sends nothing costs little. A stream that
// ends with nothing pending is io.EOF; one that ends inside a record is
// SEC_E_INCOMPLETE_MESSAGE.
func (c *Conn) tlsFill(need, limit int) error {
	t := c.tls
	if t.roff > 0 {
		// Nothing aliases the consumed bytes any more (Read has returned them all).
		n := copy(t.rbuf, t.rbuf[t.roff:])
		t.rbuf, t.roff = t.rbuf[:n], 0
	}
	if len(t.rbuf)+need > limit {
		return errTooLarge("TLS input", uint64(len(t.rbuf)+need), limit)
	}
	for need > 0 {
		if len(t.rbuf) == cap(t.rbuf) {
			grow := min(max(len(t.rbuf), readChunk, need), limit-len(t.rbuf))
			t.rbuf = slices.Grow(t.rbuf, grow)
		}
		n, err := c.br.Read(t.rbuf[len(t.rbuf):cap(t.rbuf)])
		t.rbuf = t.rbuf[:len(t.rbuf)+n]
		need -= n
		if err != nil && need > 0 {
			if errors.Is(err, io.EOF) && len(t.rbuf) == 0 {
				return io.EOF
			}
			return truncated(err, len(t.rbuf), len(t.rbuf)+need)
		}
	}
	return nil
}

// missingCount is how many bytes to read after SEC_E_INCOMPLETE_MESSAGE: the
// BufferMissing count, or, while the record header itself is incomplete (count 0), the
// rest of the header.
func missingCount(b *sspi.Buffer, pending int) int {
	if b.Type == sspi.BufferMissing && b.Size > 0 {
		return b.Size
	}
	return max(1, 5-pending)
}

// tlsHandshake runs the Windows Schannel program's handshake loop. step makes the calls;
// write sends each output token; trace, if set, is told of every call that consumed
// input. A client's first token was sent before; its loop starts by reading.
func (c *Conn) tlsHandshake(step tlsStepFunc, limit int, write func([]byte) error, trace func(Leg)) error {
	t := c.tls
	need := 1
	legs := 0
	for {
		if need > 0 {
			if err := c.tlsFill(need, limit); err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("sockauth: the peer closed the connection before the handshake finished: %w", err)
				}
				return err
			}
		}
		in := [2]sspi.Buffer{{Type: sspi.BufferToken, Data: t.handshakeInput()}, {Type: sspi.BufferEmpty}}
		out := [1]sspi.Buffer{{Type: sspi.BufferToken}}
		received := len(in[0].Data)
		status, err := step(in[:], out[:])
		if errors.Is(err, sspi.ErrIncompleteMessage) {
			need = missingCount(&in[1], received)
			continue
		}
		if err != nil {
			if len(out[0].Data) > 0 {
				// With EXTENDED_ERROR a failure comes with a token for the peer (a fatal
				// alert, a CredSSP errorCode): it learns why before the connection ends.
				_ = write(out[0].Data)
			}
			return err
		}
		if legs++; legs > tlsMaxLegs {
			return sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the peer is still sending handshake records after %d calls", tlsMaxLegs)
		}
		before := len(t.pending())
		if status != sspi.IncompleteCredentials {
			// SEC_I_INCOMPLETE_CREDENTIALS consumed nothing: the same bytes go again.
			t.consumeInput(received, &in[1])
		}
		if trace != nil {
			trace(Leg{N: legs + 1, Received: before - len(t.pending()), Status: status, Sent: len(out[0].Data)})
		}
		if len(out[0].Data) > 0 {
			if err := write(out[0].Data); err != nil {
				return err
			}
		}
		switch status {
		case sspi.OK:
			return nil
		case sspi.ContinueNeeded, sspi.IncompleteCredentials:
			// Bytes left over may already hold the next flight: try them before reading.
			need = 0
			if len(t.pending()) == 0 {
				need = 1
			}
		default:
			return sspi.Errorf(sspi.ErrInternalError, "sockauth: the handshake returned %v, which a TLS handshake does not", status)
		}
	}
}

// tlsEstablished prepares the record stream once the handshake is done: the stream
// sizes, and the write buffer for one record.
func (c *Conn) tlsEstablished(step tlsStepFunc) error {
	t := c.tls
	t.step = step
	if err := sspi.QueryContextAttributes(c.ctx, sspi.AttrStreamSizes, &t.sizes); err != nil {
		return err
	}
	if t.sizes.MaximumMessage <= 0 || t.sizes.Header < 0 || t.sizes.Trailer < 0 {
		return sspi.Errorf(sspi.ErrInternalError, "sockauth: the %s context reports stream sizes %+v", c.pkg, t.sizes)
	}
	return nil
}

// tlsWrite sends p as TLS records, one EncryptMessage each, at most MaximumMessage bytes
// of p a record. The record is made in a buffer the connection keeps. The caller holds
// wmu.
func (c *Conn) tlsWrite(p []byte) (int, error) {
	t := c.tls
	if t.closeSent {
		return 0, ErrClosed
	}
	sz := t.sizes
	if t.wbuf == nil {
		t.wbuf = make([]byte, sz.Header+sz.MaximumMessage+sz.Trailer)
	}
	sent := 0
	for len(p) > 0 {
		n := min(len(p), sz.MaximumMessage)
		rec := t.wbuf
		copy(rec[sz.Header:], p[:n])
		msg := &t.emsg
		*msg = [4]sspi.Buffer{
			{Type: sspi.BufferStreamHeader, Data: rec[:sz.Header]},
			{Type: sspi.BufferData, Data: rec[sz.Header : sz.Header+n]},
			{Type: sspi.BufferStreamTrailer, Data: rec[sz.Header+n : sz.Header+n+sz.Trailer]},
			{Type: sspi.BufferEmpty},
		}
		c.secMu.Lock()
		err := sspi.EncryptMessage(c.ctx, 0, msg[:], 0)
		c.secMu.Unlock()
		if err != nil {
			return sent, err
		}
		// Header, data and trailer were written in place, one after the other; the
		// header and trailer may be shorter than the room given.
		h, d, tr := len(msg[0].Data), len(msg[1].Data), len(msg[2].Data)
		if h != sz.Header {
			copy(rec[h:], rec[sz.Header:sz.Header+d])
		}
		if h+d != sz.Header+n {
			copy(rec[h+d:], msg[2].Data)
		}
		if err := c.writeFull(rec[:h+d+tr]); err != nil {
			return sent, err
		}
		sent += n
		p = p[n:]
	}
	return sent, nil
}

// tlsRead returns the plaintext of the next record that holds data, decrypted in place
// in the read buffer: it stays valid until the next read. It answers what is not data on
// the way: a post-handshake message (SEC_I_RENEGOTIATE) goes to the context's step and
// its reply to the peer; the peer's close_notify (SEC_I_CONTEXT_EXPIRED) is answered with
// ours and ends the stream (io.EOF). The caller holds rmu.
func (c *Conn) tlsRead() ([]byte, error) {
	t := c.tls
	if t.peerClosed {
		return nil, io.EOF
	}
	for {
		if len(t.pending()) == 0 {
			if err := c.tlsWaitRecord(); err != nil {
				return nil, err
			}
			c.heard.Store(true)
		}
		msg := &t.dmsg
		*msg = [4]sspi.Buffer{{Type: sspi.BufferData, Data: t.pending()}, {Type: sspi.BufferEmpty}, {Type: sspi.BufferEmpty}, {Type: sspi.BufferEmpty}}
		c.secMu.Lock()
		_, status, err := sspi.DecryptMessage(c.ctx, msg[:], 0)
		c.secMu.Unlock()
		if errors.Is(err, sspi.ErrIncompleteMessage) {
			c.readDeadline()
			if err := c.tlsFill(missingCount(&msg[1], len(t.pending())), tlsSessionBuf); err != nil {
				if errors.Is(err, io.EOF) {
					err = truncated(io.ErrUnexpectedEOF, len(t.pending()), len(t.pending())+1)
				}
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		data := msg[1].Data
		t.consumeTo(&msg[3])
		switch status {
		case sspi.Renegotiate:
			if err := c.tlsPostHandshake(); err != nil {
				return nil, err
			}
		case sspi.ContextExpired:
			t.peerClosed = true
			c.eof.Store(true)
			c.wmu.Lock()
			err := c.tlsCloseNotify()
			c.wmu.Unlock()
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		case sspi.OK:
			if len(data) > 0 {
				return data, nil
			}
			// An empty record: nothing to hand out.
		default:
			return nil, sspi.Errorf(sspi.ErrInternalError, "sockauth: DecryptMessage returned %v", status)
		}
	}
}

// tlsWaitRecord waits for the first bytes of the next record, marking the connection
// idle for Shutdown while it does (as waitMessage does for the other framings). It
// reads them straight into the record buffer, so that one read usually brings a whole
// record.
func (c *Conn) tlsWaitRecord() error {
	c.readDeadline()
	if c.srv != nil {
		c.idle.Store(true)
		defer c.idle.Store(false)
		if c.srv.shuttingDown() && c.br.Buffered() == 0 {
			return ErrServerClosed
		}
	}
	err := c.tlsFill(1, tlsSessionBuf)
	if err != nil && c.srv != nil && c.srv.shuttingDown() {
		return ErrServerClosed
	}
	return err
}

// tlsPostHandshake hands the bytes after a post-handshake message (DecryptMessage's
// SEC_I_RENEGOTIATE) to InitializeSecurityContext or AcceptSecurityContext and sends
// what it returns (a KeyUpdate's answer), before any record of ours under the new keys.
func (c *Conn) tlsPostHandshake() error {
	t := c.tls
	c.wmu.Lock()
	defer c.wmu.Unlock()
	in := [2]sspi.Buffer{{Type: sspi.BufferToken, Data: t.pending()}, {Type: sspi.BufferEmpty}}
	out := [1]sspi.Buffer{{Type: sspi.BufferToken}}
	c.secMu.Lock()
	_, err := t.step(in[:], out[:])
	c.secMu.Unlock()
	if err != nil {
		return err
	}
	t.consumeTo(&in[1])
	if len(out[0].Data) > 0 {
		return c.writeFull(out[0].Data)
	}
	return nil
}

// tlsCloseNotify sends this side's close_notify, once: ApplyControlToken with
// SCHANNEL_SHUTDOWN, then one more step, whose output is the alert. The caller holds wmu.
func (c *Conn) tlsCloseNotify() error {
	t := c.tls
	if t.closeSent || c.ctx == nil {
		return nil
	}
	t.closeSent = true
	var tok [4]byte
	binary.LittleEndian.PutUint32(tok[:], schannelShutdown)
	c.secMu.Lock()
	err := sspi.ApplyControlToken(c.ctx, []sspi.Buffer{{Type: sspi.BufferToken, Data: tok[:]}})
	out := [1]sspi.Buffer{{Type: sspi.BufferToken}}
	if err == nil {
		_, err = t.step([]sspi.Buffer{{Type: sspi.BufferEmpty}}, out[:])
	}
	c.secMu.Unlock()
	if err != nil {
		return err
	}
	if len(out[0].Data) > 0 {
		return c.writeFull(out[0].Data)
	}
	return nil
}

// Read reads the session's plaintext as a byte stream, for FramingTLS, where the session
// is one (an HTTP exchange, a line protocol): it returns what is left of the last record
// decrypted, or decrypts the next. It returns io.EOF after the peer's close_notify. Other
// framings have messages, not a stream: use ReadMessage.
func (c *Conn) Read(p []byte) (int, error) {
	if c.framing != FramingTLS {
		return 0, errNotStream
	}
	if c.closed.Load() {
		return 0, ErrClosed
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if !c.readable() {
		return 0, ErrClosed // closed while this call waited for rmu
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	t := c.tls
	if len(t.plain) == 0 {
		data, err := c.tlsRead()
		if err != nil {
			return 0, c.peerGone(err)
		}
		t.plain = data
	}
	n := copy(p, t.plain)
	t.plain = t.plain[n:]
	return n, nil
}

// Write sends p as TLS records, for FramingTLS; see Read.
func (c *Conn) Write(p []byte) (int, error) {
	if c.framing != FramingTLS {
		return 0, errNotStream
	}
	if c.closed.Load() {
		return 0, ErrClosed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, err := c.tlsWrite(p)
	return n, c.peerGone(err)
}

var errNotStream = errors.New("sockauth: Read and Write are for the tls framing's byte stream; use ReadMessage and WriteMessage")

// flushLocked sends a client's corked bytes before a read.
func (c *Conn) flushLocked() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flush()
}

// readTLSMessage is ReadMessage for FramingTLS: the data of the next record, copied, or
// the part of one that Read left.
func (c *Conn) readTLSMessage() ([]byte, error) {
	t := c.tls
	if len(t.plain) > 0 {
		msg := slices.Clone(t.plain)
		t.plain = nil
		return msg, nil
	}
	data, err := c.tlsRead()
	if err != nil {
		return nil, err
	}
	return slices.Clone(data), nil
}

// tlsGoodbye ends a FramingTLS session from this side: our close_notify, within a
// second, if neither side has sent one.
func (c *Conn) tlsGoodbye() {
	if c.tls == nil || c.ctx == nil || !c.wmu.TryLock() {
		return
	}
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.tlsCloseNotify()
}

// tlsServerReq is what a server asks of AcceptSecurityContext for FramingTLS when
// Server.Req is zero: a stream with confidentiality and replay and sequence detection,
// as Schannel servers ask.
const tlsServerReq = sspi.ASCReqConfidentiality | sspi.ASCReqReplayDetect | sspi.ASCReqSequenceDetect | sspi.ASCReqStream

// tlsClientReq is what a client asks of InitializeSecurityContext for FramingTLS.
// EXTENDED_ERROR: a failing handshake hands out the fatal alert, which is sent.
const tlsClientReq = sspi.ISCReqConfidentiality | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect | sspi.ISCReqStream | sspi.ISCReqAllocateMemory | sspi.ISCReqExtendedError

// tlsAccept runs the server's side of a FramingTLS handshake.
func (s *Server) tlsAccept(c *Conn, m *handshakeMeter) error {
	req := s.Req
	if req == 0 {
		req = tlsServerReq
	}
	// EXTENDED_ERROR: a failing handshake hands out the fatal alert, which is sent.
	req |= sspi.ASCReqAllocateMemory | sspi.ASCReqExtendedError
	if b, _ := c.br.Peek(gssHeaderLen); gssOpening(b) || gssContextToken(b, s.maxToken()) {
		return otherFraming(FramingTLS, FramingGSS, "client")
	} else if sspiFrame(b, s.maxToken()) {
		return otherFraming(FramingTLS, FramingSSPI, "client")
	}
	if err := s.acceptRecords(c, m, req, false); err != nil {
		return err
	}
	return c.tlsEstablished(func(in, out []sspi.Buffer) (sspi.Status, error) {
		_, st, err := sspi.AcceptSecurityContext(s.Credentials, c.ctx, req, sspi.NativeDataRep, in, out)
		return st, err
	})
}

// acceptRecords runs AcceptSecurityContext on the TLS records of c until the context is
// established (FramingTLS and FramingRDP), and gives the context to c. Every call runs on
// the scheduler, within the handshake's deadline, as the other framings' calls do; reads
// go through m, so the deadline and the rate floor apply to them too. A failing call's
// output (a TLS alert, a CredSSP errorCode: ASC_REQ_EXTENDED_ERROR) is sent before the
// error is returned.
func (s *Server) acceptRecords(c *Conn, m *handshakeMeter, req sspi.ContextReq, oneRecord bool) error {
	sched := s.Scheduler
	if sched == nil {
		sched = sspi.DefaultScheduler()
	}
	ac := sched.NewAsyncContext()
	defer ac.Free()
	var sctx *sspi.Context
	ok := false
	defer func() {
		if !ok && sctx != nil {
			sspi.DeleteSecurityContext(sctx)
		}
	}()
	step := func(in, out []sspi.Buffer) (sspi.Status, error) {
		if err := ac.Reinit(); err != nil {
			return 0, err
		}
		ctx, cancel := context.WithDeadline(context.Background(), m.deadline)
		defer cancel()
		if err := ac.SetContext(ctx); err != nil {
			return 0, err
		}
		if err := sspi.AcceptSecurityContextAsync(ac, s.Credentials, sctx, req, sspi.NativeDataRep, in, out); err != nil {
			return 0, err
		}
		status, err := ac.Wait(ctx)
		if status == sspi.AsyncCallPending {
			return 0, &sspi.Error{Status: sspi.ErrInternalError, Err: err}
		}
		if nc := ac.Context(); nc != nil {
			sctx = nc
		}
		return status, err
	}
	write := func(b []byte) error {
		_ = c.nc.SetWriteDeadline(m.deadline)
		_, err := c.nc.Write(b)
		return err
	}
	c.tls = &tlsState{rbuf: make([]byte, 0, readBufSize), oneRecord: oneRecord}
	if err := c.tlsHandshake(step, s.maxToken(), write, nil); err != nil {
		return err
	}
	c.ctx = sctx
	ok = true // the context belongs to c from here on
	return nil
}

// tlsConnect runs the client's side of a FramingTLS handshake after the first call,
// whose token first is.
//
// check, if set, runs after every call that succeeded, before its output is sent; an
// error from it ends the handshake without sending that output.
func (cl *Client) tlsConnect(c *Conn, target string, req sspi.ContextReq, check func(*sspi.Context) error, first iscResult) error {
	sctx := first.ctx
	legs := 1
	if cl.Trace != nil {
		cl.Trace(Leg{N: 1, Status: first.status, Sent: len(first.token)})
	}
	if err := c.writeFull(first.token); err != nil {
		return err
	}
	step := func(in, out []sspi.Buffer) (sspi.Status, error) {
		_, st, err := sspi.InitializeSecurityContext(cl.Credentials, sctx, target, req, sspi.NativeDataRep, in, out)
		if err == nil && check != nil {
			if err = check(sctx); err != nil {
				clear(out[0].Data)
				out[0].Data = nil
			}
		}
		return st, err
	}
	trace := func(l Leg) {
		legs = l.N
		if cl.Trace != nil {
			cl.Trace(l)
		}
	}
	write := func(b []byte) error {
		err := c.writeFull(b)
		c.readDeadline()
		return err
	}
	c.readDeadline()
	if err := sniffServerTLS(c.br, orDefault(cl.MaxToken, DefaultMaxToken)); err != nil {
		return err
	}
	if err := c.tlsHandshake(step, orDefault(cl.MaxToken, DefaultMaxToken), write, trace); err != nil {
		if errors.Is(err, io.EOF) || isReset(err) {
			err = sspi.Errorf(sspi.ErrLogonDenied, "%w token %d of the handshake (%v); its log says why", ErrNoAnswer, legs, err)
		}
		return err
	}
	c.ctx = sctx
	return c.tlsEstablished(step)
}

func (s *Server) maxToken() int { return orDefault(s.MaxToken, DefaultMaxToken) }

// tlsServerHandshake is Server.handshake for FramingTLS: the handshake, then the checks
// every framing makes of what the context grants. TLS protects every record with an
// AEAD, so confidentiality stands for integrity here (Schannel grants no separate
// integrity bit, as on Windows).
func (s *Server) tlsServerHandshake(c *Conn, m *handshakeMeter) error {
	if err := s.tlsAccept(c, m); err != nil {
		return err
	}
	c.attrs = c.ctx.Attributes() &^ sspi.ASCRetAllocatedMemory
	c.pkg = c.ctx.Package()
	c.id = sspi.Identity{Package: c.pkg}
	var names sspi.NativeNames
	if sspi.QueryContextAttributes(c.ctx, sspi.AttrNativeNames, &names) == nil {
		c.id.Principal = names.ClientName
	}
	c.prot, c.min = ProtectSeal, ProtectSeal
	granted := c.attrs
	if granted.Has(sspi.ASCRetConfidentiality) {
		granted |= sspi.ASCRetIntegrity
	}
	if missing := s.required() &^ granted; missing != 0 {
		return sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(true), c.attrs.Format(true))
	}
	return nil
}

// tlsEcho is the default session of FramingTLS, made for a person at `openssl s_client`
// or `gnutls-cli`: the greeting and a newline, then every record's data echoed back as
// it came, until the client's close_notify, which is answered with the server's.
func (s *Server) tlsEcho(c *Conn) error {
	greeting := s.Greeting
	if greeting == "" {
		greeting = DefaultGreeting
	}
	if err := c.WriteMessage([]byte(greeting + "\n")); err != nil {
		return err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if !c.readable() {
		return ErrClosed
	}
	for {
		data, err := c.tlsRead()
		if err != nil {
			return err
		}
		c.recv.Add(1)
		// data aliases the read buffer, which nothing else touches until the next read.
		c.wmu.Lock()
		_, err = c.tlsWrite(data)
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		c.sent.Add(1)
	}
}

// tlsClientHandshake is Client.handshake for FramingTLS: the handshake, and the checks
// of what the context grants.
func (cl *Client) tlsClientHandshake(ctx context.Context, nc net.Conn, target string, first iscResult) (*Conn, error) {
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	c := &Conn{nc: nc, br: newReader(nc), framing: FramingTLS, timeout: cl.timeout(), maxMsg: orDefault(cl.MaxMessage, DefaultMaxMessage)}
	c.tls = &tlsState{rbuf: make([]byte, 0, readBufSize)}
	if err := cl.tlsConnect(c, target, tlsClientReq, nil, first); err != nil {
		if c.ctx == nil {
			sspi.DeleteSecurityContext(first.ctx)
		}
		return nil, ctxErr(ctx, err)
	}
	c.attrs = c.ctx.Attributes() &^ sspi.ISCRetAllocatedMemory
	c.pkg = c.ctx.Package()
	c.id = sspi.Identity{Package: c.pkg}
	var names sspi.NativeNames
	if sspi.QueryContextAttributes(c.ctx, sspi.AttrNativeNames, &names) == nil {
		c.id.Principal, c.id.Server = names.ClientName, names.ServerName
	}
	c.prot, c.min = ProtectSeal, ProtectSeal
	granted := c.attrs
	if granted.Has(sspi.ISCRetConfidentiality) {
		granted |= sspi.ISCRetIntegrity
	}
	if missing := (cl.Require | sspi.ISCRetConfidentiality) &^ granted; missing != 0 {
		err := sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(false), c.attrs.Format(false))
		if missing.Has(sspi.ISCRetMutualAuth) {
			err = sspi.Errorf(sspi.ErrMutualAuthFailed, "sockauth: the server's certificate was not checked (manual validation): no mutual authentication (granted: %s)", c.attrs.Format(false))
		}
		c.closed.Store(true)
		sspi.DeleteSecurityContext(c.ctx)
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}
