package sspi

import (
	"context"
	"errors"
	"fmt"
)

// DefaultClientReq is what a ClientContext asks for when ClientOptions.Req is zero:
// mutual authentication, integrity, confidentiality, replay and sequence detection on a
// connection. Ask for less only by choice.
const DefaultClientReq = ISCReqMutualAuth | ISCReqIntegrity | ISCReqConfidentiality |
	ISCReqReplayDetect | ISCReqSequenceDetect | ISCReqConnection

// DefaultServerReq is what a ServerContext asks for when ServerOptions.Req is zero.
const DefaultServerReq = ASCReqMutualAuth | ASCReqIntegrity | ASCReqConfidentiality |
	ASCReqReplayDetect | ASCReqSequenceDetect | ASCReqConnection

// ClientOptions configure a ClientContext.
type ClientOptions struct {
	// Target names the server: an SPN ("HTTP/web.example.com") or a host name.
	Target string
	// Req holds the ISCReq* bits to ask for; zero means DefaultClientReq.
	Req ContextReq
	// ChannelBindings, if set, is a SEC_CHANNEL_BINDINGS struct binding the
	// authentication to the outer channel (TLS): see ChannelBindings.Marshal and
	// TLSServerEndPointFromState. Step passes it as a BufferChannelBindings buffer.
	ChannelBindings []byte
}

// ServerOptions configure a ServerContext.
type ServerOptions struct {
	// Req holds the ASCReq* bits to ask for; zero means DefaultServerReq.
	Req ContextReq
	// ChannelBindings, if set, is the SEC_CHANNEL_BINDINGS struct the client must match:
	// see ChannelBindings.Marshal and TLSServerEndPoint.
	ChannelBindings []byte
	// Scheduler runs StepContext's work; nil means DefaultScheduler.
	Scheduler *Scheduler
}

// ClientContext is the Go-shaped client side of a security context: call Step with each
// token from the server (nil at first) and send what it returns, until Established.
// It is made of the SSPI-shaped calls (InitializeSecurityContext and friends) and holds
// one Context, available from Handle for anything the Go layer does not cover.
type ClientContext struct {
	session
	target string
}

// ServerContext is the Go-shaped server side of a security context: call Step (or
// StepContext) with each token from the client and send back what it returns, until
// Established.
type ServerContext struct {
	session
	ac    *AsyncContext
	sched *Scheduler
}

// session is what both sides share once the handshake is under way.
type session struct {
	cred   *Credentials
	ctx    *Context
	req    ContextReq
	server bool
	cb     []byte
	in     [2]Buffer
	out    [1]Buffer
	sizes  *Sizes
}

// NewClientContext starts the client side of a handshake with cred (acquired for
// CredOutbound).
func NewClientContext(cred *Credentials, opts ClientOptions) *ClientContext {
	req := opts.Req
	if req == 0 {
		req = DefaultClientReq
	}
	return &ClientContext{session: session{cred: cred, req: req | ISCReqAllocateMemory, cb: opts.ChannelBindings}, target: opts.Target}
}

// NewServerContext starts the server side of a handshake with cred (acquired for
// CredInbound).
func NewServerContext(cred *Credentials, opts ServerOptions) *ServerContext {
	req := opts.Req
	if req == 0 {
		req = DefaultServerReq
	}
	return &ServerContext{session: session{cred: cred, req: req | ASCReqAllocateMemory, cb: opts.ChannelBindings, server: true}, sched: opts.Scheduler}
}

// Step feeds the server's last token (nil on the first call) to InitializeSecurityContext
// and returns the token to send, which may be empty. When the handshake is complete,
// Established reports true; a token returned together with completion must still be sent.
// A token returned together with an error (asked for with ISCReqExtendedError) tells the
// server why the client gave up: send it, then close.
func (c *ClientContext) Step(in []byte) ([]byte, error) {
	inBufs, out := c.buffers(in)
	ctx, status, err := InitializeSecurityContext(c.cred, c.ctx, c.target, c.req, NativeDataRep, inBufs, out)
	return c.finish(ctx, status, err)
}

// Step feeds the client's token to AcceptSecurityContext and returns the token to send
// back, which may be empty. A token returned together with an error (asked for with
// ASCReqExtendedError) tells the client why it was refused: send it, then close.
func (s *ServerContext) Step(in []byte) ([]byte, error) {
	inBufs, out := s.buffers(in)
	ctx, status, err := AcceptSecurityContext(s.cred, s.ctx, s.req, NativeDataRep, inBufs, out)
	return s.finish(ctx, status, err)
}

// StepContext is Step run through the async layer's bounded scheduler, for servers that
// serve many clients: the work waits its turn in the queue instead of every connection
// computing at once. It returns when the step is done or ctx ends; a step still queued
// when ctx ends never runs. A full queue gives an error carrying ErrInsufficientMemory.
// When nothing is queued and fewer than Workers calls run, the step runs on the caller's
// goroutine, counted against Workers like a worker's call; it then returns when the step
// is done, and ctx reaches the package as StepParams.Context.
func (s *ServerContext) StepContext(ctx context.Context, in []byte) ([]byte, error) {
	sched := s.sched
	if sched == nil {
		sched = DefaultScheduler()
	}
	if (s.ac == nil || s.ac.state.Load() != asyncPending) && sched.tryInline() {
		return s.stepInline(ctx, sched, in)
	}
	if s.ac == nil {
		s.ac = sched.NewAsyncContext()
	}
	if err := s.ac.Reinit(); err != nil {
		return nil, err
	}
	if err := s.ac.SetContext(ctx); err != nil {
		return nil, err
	}
	inBufs, out := s.buffers(in)
	if err := AcceptSecurityContextAsync(s.ac, s.cred, s.ctx, s.req, NativeDataRep, inBufs, out); err != nil {
		return nil, err
	}
	status, err := s.ac.Wait(ctx)
	if status == AsyncCallPending {
		return nil, &Error{Status: ErrInternalError, Err: err}
	}
	return s.finish(s.ac.Context(), status, err)
}

// stepInline is StepContext's step run on the caller's goroutine, in a slot of sched:
// the bound on calls at once holds, and the call is spared two goroutine hand-offs.
func (s *ServerContext) stepInline(ctx context.Context, sched *Scheduler, in []byte) ([]byte, error) {
	defer sched.release()
	if cerr := ctx.Err(); cerr != nil {
		return nil, &Error{Status: ErrInternalError, Err: fmt.Errorf("sspi: async call cancelled before it ran: %w", cerr)}
	}
	inBufs, out := s.buffers(in)
	c, status, err := step(ctx, s.cred, s.ctx, true, "", s.req, NativeDataRep, inBufs, out)
	if err != nil && !status.Failed() {
		status = StatusOf(err)
	}
	return s.finish(c, status, err)
}

func (s *session) buffers(in []byte) ([]Buffer, []Buffer) {
	n := 0
	if len(in) > 0 {
		s.in[n] = Buffer{Type: BufferToken, Data: in}
		n++
	}
	if s.cb != nil {
		s.in[n] = Buffer{Type: BufferChannelBindings, Data: s.cb}
		n++
	}
	s.out[0] = Buffer{Type: BufferToken}
	return s.in[:n], s.out[:]
}

func (s *session) finish(ctx *Context, status Status, err error) ([]byte, error) {
	if ctx != nil {
		s.ctx = ctx
	}
	if err != nil {
		// A token that comes with a failure (requested with ISCReqExtendedError or
		// ASCReqExtendedError) tells the peer why: send it, then give up.
		tok := s.out[0].Data
		s.out[0].Data = nil
		if len(tok) == 0 {
			tok = nil
		}
		return tok, err
	}
	tok := s.out[0].Data
	s.out[0].Data = nil
	if status == CompleteNeeded || status == CompleteAndContinue {
		if err := CompleteAuthToken(s.ctx, []Buffer{{Type: BufferToken, Data: tok}}); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// Established reports whether the handshake is complete.
func (s *session) Established() bool { return s.ctx != nil && s.ctx.Established() }

// Handle returns the SSPI-shaped context, or nil before the first step.
func (s *session) Handle() *Context { return s.ctx }

// Attributes returns the ISCRet*/ASCRet* bits the package granted. ALLOCATED_MEMORY is
// left out: the Go layer always lets the package allocate, so it says nothing here.
func (s *session) Attributes() ContextAttr {
	if s.ctx == nil {
		return 0
	}
	return s.ctx.Attributes() &^ ContextAttr(ISCRetAllocatedMemory)
}

// Package names the package doing the work: for Negotiate, the mechanism it chose.
func (s *session) Package() string {
	if s.ctx == nil {
		return s.cred.Package()
	}
	info, _, err := s.ctx.negotiated()
	if err != nil {
		return s.ctx.Package()
	}
	return info.Name
}

// Identity returns who authenticated: on a server the client's identity, on a client the
// identity it presented (and the server's name where the package proves it).
func (s *session) Identity() (Identity, error) {
	var id Identity
	err := s.established(func() error {
		return s.ctx.withImpl(func(impl PackageContext) error {
			ir, ok := impl.(IdentityReporter)
			if !ok {
				return errUnsupported(s.ctx.pkg.info.Name, "identity queries")
			}
			id = ir.Identity()
			return nil
		})
	})
	if err == nil && id.Package == "" {
		id.Package = s.Package()
	}
	return id, err
}

// SessionKey returns a copy of the session key. Zero it when done.
func (s *session) SessionKey() ([]byte, error) {
	var k SessionKey
	err := s.established(func() error { return QueryContextAttributes(s.ctx, AttrSessionKey, &k) })
	return k.Key, err
}

var errNotYet = &Error{Status: ErrNoContext, Err: errors.New("sspi: the handshake has not completed; keep calling Step")}

func (s *session) established(f func() error) error {
	if !s.Established() {
		return errNotYet
	}
	return f()
}

func (s *session) loadSizes() (*Sizes, error) {
	if s.sizes != nil {
		return s.sizes, nil
	}
	var sz Sizes
	if err := QueryContextAttributes(s.ctx, AttrSizes, &sz); err != nil {
		return nil, err
	}
	s.sizes = &sz
	return s.sizes, nil
}

// Wrap seals msg (EncryptMessage) and returns the security trailer followed by the
// sealed bytes, the layout gss_wrap and the SSPI samples use. msg is not changed.
func (s *session) Wrap(msg []byte) ([]byte, error) { return s.wrap(msg, 0) }

// WrapIntegrityOnly is Wrap with QOPWrapNoEncrypt: signed, not encrypted, where the
// package allows it.
func (s *session) WrapIntegrityOnly(msg []byte) ([]byte, error) {
	return s.wrap(msg, QOPWrapNoEncrypt)
}

func (s *session) wrap(msg []byte, qop uint32) ([]byte, error) {
	if !s.Established() {
		return nil, errNotYet
	}
	sz, err := s.loadSizes()
	if err != nil {
		return nil, err
	}
	t, n := sz.SecurityTrailer, len(msg)
	// The padding buffer, as the SSPI samples pass it, is where a package whose tokens end
	// with a pad (Kerberos with RC4) puts it; a package sets its length to what it used.
	buf := make([]byte, t+n+sz.BlockSize)
	copy(buf[t:], msg)
	bufs := [3]Buffer{{Type: BufferToken, Data: buf[:t]}, {Type: BufferData, Data: buf[t : t+n]},
		{Type: BufferPadding, Data: buf[t+n:]}}
	use := bufs[:]
	if sz.BlockSize == 0 {
		use = bufs[:2]
	}
	if err := EncryptMessage(s.ctx, qop, use, 0); err != nil {
		return nil, err
	}
	tl, pl := len(bufs[0].Data), 0
	if len(use) == 3 {
		pl = min(len(bufs[2].Data), sz.BlockSize)
	}
	if tl < t { // the package may use less than the maximum trailer
		copy(buf[tl:], buf[t:t+n+pl])
	}
	return buf[:tl+n+pl], nil
}

// Unwrap checks and unseals a message made by the peer's Wrap and returns its plaintext.
// token is not changed.
func (s *session) Unwrap(token []byte) ([]byte, error) {
	if !s.Established() {
		return nil, errNotYet
	}
	sz, err := s.loadSizes()
	if err != nil {
		return nil, err
	}
	// SecurityTrailer is the largest trailer; a package may use less (a Kerberos
	// integrity-only wrap of a short message is shorter than it). Such a token goes to the
	// package whole, which judges it.
	t := min(sz.SecurityTrailer, len(token))
	buf := append([]byte(nil), token...)
	bufs := [2]Buffer{{Type: BufferToken, Data: buf[:t]}, {Type: BufferData, Data: buf[t:]}}
	if _, _, err := DecryptMessage(s.ctx, bufs[:], 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// Sign returns the signature of msg (MakeSignature).
func (s *session) Sign(msg []byte) ([]byte, error) {
	if !s.Established() {
		return nil, errNotYet
	}
	sz, err := s.loadSizes()
	if err != nil {
		return nil, err
	}
	sig := make([]byte, sz.MaxSignature)
	bufs := [2]Buffer{{Type: BufferData | BufferReadOnly, Data: msg}, {Type: BufferToken, Data: sig}}
	if err := MakeSignature(s.ctx, 0, bufs[:], 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// Verify checks sig against msg (VerifySignature). It returns an error carrying
// ErrMessageAltered or ErrOutOfSequence when the check fails.
func (s *session) Verify(msg, sig []byte) error {
	if !s.Established() {
		return errNotYet
	}
	bufs := [2]Buffer{{Type: BufferData | BufferReadOnly, Data: msg}, {Type: BufferToken, Data: sig}}
	_, err := VerifySignature(s.ctx, bufs[:], 0)
	return err
}

// Close deletes the security context (DeleteSecurityContext); the credentials stay with
// their owner.
func (s *session) Close() error {
	if s.ctx == nil {
		return nil
	}
	return DeleteSecurityContext(s.ctx)
}
