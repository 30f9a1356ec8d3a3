package sockauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/wiretext"
)

// DefaultTimeout bounds every wait for the peer after the handshake (each message, each
// write) and, unless HandshakeTimeout says otherwise, the whole handshake.
const DefaultTimeout = 10 * time.Second

// DefaultGreeting is what the SDK sample's server says once a client has authenticated.
const DefaultGreeting = "This is your server speaking"

// maxLegs bounds the handshake: every package finishes in three or four tokens, so a
// client that keeps a handshake going longer is not authenticating.
const maxLegs = 16

// ErrServerClosed is returned by Serve after Shutdown or Close, and by a server's
// ReadMessage interrupted by Shutdown.
var ErrServerClosed = errors.New("sockauth: server closed")

// Handler runs a session once its client has authenticated. ctx ends when the server shuts
// down. The server closes c when the handler returns; a non-nil error is logged.
type Handler func(ctx context.Context, c *Conn) error

// Server is the sockets authentication service: it runs the SSPI token loop with every
// client that connects, checks what the resulting context grants, and hands the
// authenticated connection to Handler. The zero value with Credentials set is ready to
// Serve.
//
// The handshake of each connection runs AcceptSecurityContext through the async layer's
// Scheduler, so however many clients connect, the CPU-heavy work is done by a fixed number
// of workers. A client cannot hold a handshake open to starve the others (slowloris): the
// whole handshake has one deadline (HandshakeTimeout), the client must keep up a minimum
// data rate while the server waits for it (MinRate), one address has at most
// MaxPendingPerAddr handshakes in progress (further connections from it are closed at
// once), and all addresses together at most MaxPending, a capacity sized by memory;
// beyond it, clients wait in the listener's backlog (backpressure) until one finishes.
type Server struct {
	// Credentials are the server's credentials, acquired with sspi.CredInbound. Required.
	Credentials *sspi.Credentials
	// Framing is the wire framing clients speak; the zero value is FramingSSPI.
	Framing Framing
	// Timeout bounds every wait for a client after the handshake: each message, each
	// write. Zero means DefaultTimeout.
	Timeout time.Duration
	// HandshakeTimeout bounds the whole handshake, from the accept to the checked
	// context, however many tokens it takes: a deadline for the handshake, not one per
	// token. Zero means Timeout.
	HandshakeTimeout time.Duration
	// MinRate is the data rate, in bytes per second, a client must keep up during the
	// handshake, counted over the time the server waits for it, once MinRateGrace of such
	// waiting has passed: a client that has kept the server waiting w and sent b bytes is
	// cut (status TIMEOUT) once b < MinRate*(w-MinRateGrace). Zero means DefaultMinRate;
	// negative turns the floor off.
	MinRate int
	// MinRateGrace is the waiting allowed before MinRate applies; zero means
	// DefaultMinRateGrace.
	MinRateGrace time.Duration
	// MaxPendingPerAddr bounds the handshakes in progress from one client address (an
	// IPv6 client's /64); a connection beyond it is closed as soon as it is accepted,
	// and logged (one line a second under a flood). Zero means DefaultMaxPendingPerAddr;
	// negative turns the cap off.
	MaxPendingPerAddr int
	// DrainTimeout is how long Shutdown lets handshakes in progress finish; then it
	// closes their connections and logs each as cut by the shutdown. Zero means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// MaxToken bounds one handshake token; zero means DefaultMaxToken.
	MaxToken int
	// MaxMessage bounds one message after the handshake; zero means DefaultMaxMessage.
	MaxMessage int
	// MaxPending bounds the connections in their handshake, from all addresses. Zero
	// sizes it by memory: DefaultPendingMemory (or a quarter of the Go memory limit,
	// GOMEMLIMIT, when that is smaller) at about 24 KiB a handshake, 8192 by default. A
	// handshake waiting for its client costs no more; the Scheduler's queue (1024 calls
	// per worker by default) bounds those whose token is being processed, and refuses the
	// rest at once with SEC_E_INSUFFICIENT_MEMORY.
	MaxPending int
	// Req holds the ASC_REQ_* bits asked of AcceptSecurityContext; zero means
	// sspi.DefaultServerReq (mutual authentication, integrity, confidentiality, replay and
	// sequence detection).
	Req sspi.ContextReq
	// Require holds the ASC_RET_* bits a context must have been granted, checked with bit
	// operations after the handshake; a context lacking one is refused with
	// SEC_E_SECURITY_QOS_FAILED. Integrity (ASCRetIntegrity) is always required unless
	// AllowUnprotected is set, and with it replay and sequence detection
	// (ASCRetReplayDetect, ASCRetSequenceDetect) unless AllowNoReplayDetection is set.
	// Note that NTLM never grants ASCRetMutualAuth.
	Require sspi.ContextAttr
	// AllowNoReplayDetection accepts protected contexts without replay and sequence
	// detection (a Kerberos client that asked for neither, as gss-client -noreplay does).
	// Off by default: in such a session a message can be replayed, dropped or reordered
	// unnoticed.
	AllowNoReplayDetection bool
	// AllowUnprotected accepts contexts without integrity and messages sent in the clear
	// (gss-client -nw). Off by default: such a session can be read and changed by anyone
	// on the path.
	AllowUnprotected bool
	// Logger gets one line per connection; nil means slog.Default().
	Logger *slog.Logger
	// Scheduler runs AcceptSecurityContext; nil means sspi.DefaultScheduler().
	Scheduler *sspi.Scheduler
	// Handler runs each authenticated session. Nil means the framing's own behaviour:
	// with FramingGSS, gss-server's (read messages, answer each with its MIC or a NOOP,
	// until the client's NOOP); with FramingSSPI, the SDK sample's (send Greeting sealed
	// and close), or, for a client that asked for messages, Greeting followed by an echo of
	// every message until the client's empty frame; with FramingTLS, Greeting and a
	// newline, then an echo of every record's data until the client's close_notify; with
	// FramingRDP, nothing: the connection is closed once the client has authenticated
	// (the server is a gate in front of nothing; its log line says who passed).
	Handler Handler
	// Greeting is what the default handler of FramingSSPI and FramingTLS sends; empty
	// means DefaultGreeting.
	Greeting string
	// HybridEx, with FramingRDP, selects PROTOCOL_HYBRID_EX when the client offers it, so
	// that the Early User Authorization Result follows CredSSP: the credentials must send
	// it (credssp.Config.EarlyUserAuthResult). Without it PROTOCOL_HYBRID is selected.
	HybridEx bool

	initOnce    sync.Once
	pending     chan struct{}
	done        chan struct{}
	doneOnce    sync.Once
	work        chan connWork // to goroutines waiting for a connection (workers.go)
	idleWorkers atomic.Int32
	baseCtx     context.Context
	cancelBase  context.CancelFunc
	inShutdown  atomic.Bool

	refusal refusals

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	conns       map[*Conn]struct{}
	active      int
	handshaking map[*Conn]*handshakeMeter
	perAddr     map[netip.Prefix]int // handshakes in progress per client address
	greetingMsg []byte               // the default handler's, made once: WriteMessage only reads it
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.pending = make(chan struct{}, s.maxPending())
		s.done = make(chan struct{})
		s.work = make(chan connWork)
		s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*Conn]struct{})
		s.handshaking = make(map[*Conn]*handshakeMeter)
		s.perAddr = make(map[netip.Prefix]int)
		s.greetingMsg = []byte(s.greeting())
	})
}

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine until Shutdown or
// Close, then returns ErrServerClosed. It closes l on return.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if s.Credentials == nil {
		return errors.New("sockauth: Server.Credentials is nil; acquire inbound credentials first")
	}
	defer l.Close()
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		// Take a handshake slot before accepting: when all are taken, new clients wait in
		// the kernel's backlog instead of being accepted and starved.
		select {
		case s.pending <- struct{}{}:
		case <-s.done:
			return ErrServerClosed
		}
		nc, err := l.Accept()
		if err != nil {
			<-s.pending
			if s.shuttingDown() {
				return ErrServerClosed
			}
			if temporaryAccept(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept failed; retrying", slog.String("error", err.Error()), slog.Duration("retry_in", delay))
				select {
				case <-time.After(delay):
				case <-s.done:
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		delay = 0
		c, m, err := s.admit(nc)
		if err != nil {
			if errors.Is(err, errAddrBusy) {
				s.refused(nc.RemoteAddr().String(), s.maxPendingPerAddr())
			}
			nc.Close()
			<-s.pending
			if errors.Is(err, ErrServerClosed) {
				return err
			}
			continue
		}
		s.goServe(c, m)
	}
}

// errAddrBusy: the client's address has as many handshakes in progress as it may.
var errAddrBusy = errors.New("sockauth: too many handshakes in progress from the client's address")

// admit registers an accepted connection, in its handshake, unless the server is shutting
// down or the client's address is over its cap.
func (s *Server) admit(nc net.Conn) (*Conn, *handshakeMeter, error) {
	// One allocation for both: the meter lives as long as the connection's reader anyway.
	sc := &serverConn{
		m: handshakeMeter{nc: nc, active: true, timeout: s.handshakeTimeout(), rate: s.minRate(), grace: s.minRateGrace()},
		c: Conn{nc: nc, framing: s.Framing, server: true, timeout: s.timeout(), maxMsg: orDefault(s.MaxMessage, DefaultMaxMessage), srv: s},
	}
	c, m := &sc.c, &sc.m
	m.deadline = time.Now().Add(m.timeout)
	m.ctx.deadline = m.deadline
	limit := s.maxPendingPerAddr()
	key, keyed := clientKey(nc.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return nil, nil, ErrServerClosed
	}
	if keyed && limit > 0 {
		if s.perAddr[key] >= limit {
			return nil, nil, errAddrBusy
		}
		m.key = key
		s.perAddr[key]++
	}
	c.br = newReader(m) // not before: a refused connection would take it from the pool
	s.conns[c] = struct{}{}
	s.handshaking[c] = m
	s.active++
	return c, m, nil
}

// serverConn is an accepted connection and its handshake meter.
type serverConn struct {
	c Conn
	m handshakeMeter
}

// handshakeDone takes c off the handshakes in progress.
func (s *Server) handshakeDone(c *Conn, m *handshakeMeter) {
	m.end()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.handshaking[c]; !ok {
		return
	}
	delete(s.handshaking, c)
	if m.key.IsValid() {
		if s.perAddr[m.key]--; s.perAddr[m.key] <= 0 {
			delete(s.perAddr, m.key)
		}
	}
}

// temporaryAccept reports whether an Accept error is worth retrying: running out of file
// descriptors or memory, or a connection aborted before it was accepted.
func temporaryAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// Shutdown stops the server gracefully: it stops accepting, lets every handshake in flight
// finish (and its session start) for up to DrainTimeout, then cuts those still in
// progress (each is logged), interrupts sessions waiting between messages, and waits for
// every connection to end. If ctx ends first, it closes the remaining connections and
// returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	drain := time.NewTimer(s.drainTimeout())
	defer drain.Stop()
	for {
		s.mu.Lock()
		n := s.active
		for c := range s.conns {
			if c.idle.Load() {
				_ = c.nc.SetReadDeadline(time.Now()) // wake a session waiting for a message
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.closeAll()
			return ctx.Err()
		case <-drain.C:
			s.cutHandshakes()
		case <-tick.C:
		}
	}
}

// cutHandshakes closes the connections still in their handshake when the drain time-out
// of a Shutdown has passed.
func (s *Server) cutHandshakes() {
	s.mu.Lock()
	n := len(s.handshaking)
	for c, m := range s.handshaking {
		m.cut.Store(true)
		c.nc.Close()
	}
	s.mu.Unlock()
	if n > 0 {
		s.logger().LogAttrs(context.Background(), slog.LevelWarn, "shutdown: cutting the handshakes still in progress",
			slog.Int("handshakes", n), slog.Duration("drain_timeout", s.drainTimeout()))
	}
}

// Close stops the server at once: listeners and every connection are closed, handshakes
// in flight included.
func (s *Server) Close() error {
	s.stopAccepting()
	s.closeAll()
	return nil
}

// stopAccepting closes the listeners and marks the server as shutting down, for both
// Shutdown and Close.
func (s *Server) stopAccepting() {
	s.init()
	s.mu.Lock()
	s.inShutdown.Store(true)
	s.doneOnce.Do(func() { close(s.done) })
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	s.cancelBase()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
}

// serve runs one connection: the handshake, the checks, the handler, and the log line.
func (s *Server) serve(c *Conn, m *handshakeMeter) {
	start := time.Now()
	var authDur time.Duration
	slot := true
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sockauth: panic serving %s: %v\n%s", c.nc.RemoteAddr(), r, debug.Stack())
		}
		if slot {
			s.handshakeDone(c, m)
			<-s.pending
		}
		if c.tls != nil && !c.closed.Load() {
			c.tlsGoodbye() // a handler that returned without closing: end the TLS stream
		}
		if !c.closed.Load() && c.wmu.TryLock() {
			// A corked last handshake token the session did not send (it ended before its
			// first message, or the context lacks a required attribute): the client
			// hears it as it would have without the cork.
			_ = c.flush() // under the connection's write time-out
			c.wmu.Unlock()
		}
		c.closed.Store(true)
		c.nc.Close()
		c.releaseReader()
		if c.ctx != nil {
			c.secMu.Lock()
			_ = sspi.DeleteSecurityContext(c.ctx)
			c.secMu.Unlock()
		}
		s.logConn(c, start, authDur, err)
		s.mu.Lock()
		delete(s.conns, c)
		s.active--
		s.mu.Unlock()
	}()

	err = s.handshake(c, m)
	authDur = time.Since(start)
	s.handshakeDone(c, m)
	<-s.pending
	slot = false
	if err != nil {
		if m.cut.Load() {
			err = fmt.Errorf("sockauth: the handshake was cut: the server shut down and its drain time-out of %v passed: %w", s.drainTimeout(), ErrServerClosed)
		}
		return
	}
	h := s.Handler
	if h == nil {
		h = s.defaultHandler
	}
	err = h(s.baseCtx, c)
	if errors.Is(err, io.EOF) {
		err = nil
	}
}

// handshake runs the server's token loop: receive a token, AcceptSecurityContext (with
// CompleteAuthToken when the status asks for it; StepContext does both, on the
// scheduler), send any non-empty output token, and repeat while the status is
// SEC_I_CONTINUE_NEEDED or SEC_I_COMPLETE_AND_CONTINUE. A last token produced together
// with SEC_E_OK is sent too, and so is one produced together with a refusal.
//
// The whole handshake has one deadline, m's: every read waits until it at most (and
// until the client's data rate falls below the floor), every write and every
// AcceptSecurityContext call too.
func (s *Server) handshake(c *Conn, m *handshakeMeter) error {
	switch s.Framing {
	case FramingTLS:
		return s.tlsServerHandshake(c, m)
	case FramingRDP:
		return s.rdpServerHandshake(c, m)
	}
	req := s.Req
	if req == 0 {
		req = sspi.DefaultServerReq
	}
	// EXTENDED_ERROR: a refusal may come with a token that tells the client why (Kerberos's
	// KRB-ERROR, "Clock skew too great"); it is sent before the connection closes.
	req |= sspi.ASCReqExtendedError
	sc := sspi.NewServerContext(s.Credentials, sspi.ServerOptions{Req: req, Scheduler: s.Scheduler})
	ok := false
	defer func() {
		if !ok {
			sc.Close()
		}
	}()
	c.sample = s.Framing == FramingSSPI
	var wbuf []byte
	for leg := 0; !sc.Established(); leg++ {
		if leg == maxLegs {
			return sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the client is still sending handshake tokens after %d legs", maxLegs)
		}
		in, err := s.readHandshakeToken(c, leg == 0)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("sockauth: the client closed the connection before the handshake finished: %w", err)
			}
			return err
		}
		out, err := sc.StepContext(&m.ctx, in)
		if wbuf, err = s.answer(c, m, sc, wbuf[:0], out, err); err != nil {
			return err
		}
	}
	ok = true // the context belongs to c from here on
	return s.established(c, sc)
}

// readHandshakeToken reads the client's next token in the server's framing. The first
// one is checked for another framing's opening; in the sspi framing, a leading empty
// frame (which the SDK sample never sends: SendMsg skips empty buffers) is how a client
// asks for framed messages after the handshake.
func (s *Server) readHandshakeToken(c *Conn, first bool) ([]byte, error) {
	maxTok := orDefault(s.MaxToken, DefaultMaxToken)
	if s.Framing == FramingGSS {
		return s.readGSSContextToken(c, maxTok, first)
	}
	if first {
		if other, ok := sniffFraming(c.br, FramingSSPI, maxTok); ok {
			return nil, otherFraming(FramingSSPI, other, "client")
		}
	}
	in, err := readSSPIFrame(c.br, maxTok, "handshake token")
	if err == nil && len(in) == 0 {
		if !first || !c.sample {
			return nil, errEmptyFrame
		}
		c.sample = false
		in, err = readSSPIFrame(c.br, maxTok, "handshake token")
		if err == nil && len(in) == 0 {
			return nil, errEmptyFrame
		}
	}
	return in, err
}

// answer sends a step's output token, framed, and returns the step's error. A refusal's
// token is sent before the refusal is returned, as gss-server sends it: the client learns
// why. The last token of a handshake the default handler serves is corked: the handler's
// first act is to write (the greeting) or to read, either of which sends it first, in the
// same write as the greeting; serve sends it if the session ends before.
func (s *Server) answer(c *Conn, m *handshakeMeter, sc *sspi.ServerContext, wbuf, out []byte, stepErr error) ([]byte, error) {
	if len(out) == 0 {
		return wbuf, stepErr
	}
	if stepErr == nil && sc.Established() && s.Handler == nil {
		// With room for the greeting (FramingSSPI), which is sealed into it.
		room := 0
		if s.Framing == FramingSSPI {
			room = sspiHeaderLen + 4 + greetingTrailer + len(s.greeting())
		}
		c.corked = s.appendToken(make([]byte, 0, gssHeaderLen+len(out)+room), out)
		return wbuf, nil
	}
	wbuf = s.appendToken(slices.Grow(wbuf[:0], gssHeaderLen+len(out)), out)
	_ = c.nc.SetWriteDeadline(m.deadline)
	if _, err := c.nc.Write(wbuf); err != nil && stepErr == nil {
		return wbuf, err
	} else if err == nil && stepErr != nil {
		lingerAfterRefusal(c, m)
	}
	return wbuf, stepErr
}

// greetingTrailer is room enough for the security trailer of a sealed greeting in every
// package (Kerberos's is 60 bytes with AES, NTLM's 16); a larger one costs a copy.
const greetingTrailer = 96

// appendToken appends a handshake token in the server's framing.
func (s *Server) appendToken(dst, tok []byte) []byte {
	if s.Framing == FramingGSS {
		return appendGSSToken(dst, GSSTokenContext, tok)
	}
	return appendSSPIFrame(dst, tok)
}

// greeting is what the default handler sends first.
func (s *Server) greeting() string {
	if s.Greeting == "" {
		return DefaultGreeting
	}
	return s.Greeting
}

// refusalLinger bounds how long a refused client is given to answer the refusal's token
// before the connection closes.
const refusalLinger = 2 * time.Second

// lingerAfterRefusal reads and drops what the client sends after the refusal's token, until
// it closes, for at most refusalLinger and 64 KiB. A GSS-API client that fails on the token
// may answer it with one of its own (MIT's SPNEGO initiator sends a reject), and a client
// writing to a closed connection is killed by SIGPIPE (gss-client) before it can report
// the cause it was sent.
func lingerAfterRefusal(c *Conn, m *handshakeMeter) {
	until := time.Now().Add(refusalLinger)
	if m.deadline.Before(until) {
		until = m.deadline
	}
	_ = c.nc.SetReadDeadline(until)
	_, _ = io.CopyN(io.Discard, c.br, 64<<10)
}

// established gives the finished context to c, with the protection the server requires,
// and checks that it has been granted what the server requires.
func (s *Server) established(c *Conn, sc *sspi.ServerContext) error {
	c.ctx = sc.Handle()
	c.attrs = sc.Attributes()
	c.pkg = sc.Package()
	c.prot = protectionOf(c.attrs, true)
	c.min = ProtectSign
	if s.Require.Has(sspi.ASCRetConfidentiality) {
		c.min = ProtectSeal
	}
	if s.AllowUnprotected {
		c.min = ProtectNone
	}
	if id, err := sc.Identity(); err == nil {
		c.id = id
	} else {
		c.id = sspi.Identity{Package: c.pkg}
	}
	need := s.required()
	if missing := need &^ c.attrs; missing != 0 {
		return sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(true), c.attrs.Format(true))
	}
	return nil
}

// required is what a context must have been granted: Require, plus integrity and, unless
// allowed otherwise, replay and sequence detection.
func (s *Server) required() sspi.ContextAttr {
	need := s.Require
	if !s.AllowUnprotected {
		need |= sspi.ASCRetIntegrity
		if !s.AllowNoReplayDetection {
			need |= sspi.ASCRetReplayDetect | sspi.ASCRetSequenceDetect
		}
	}
	return need
}

// readGSSContextToken reads what gss-server's server_establish_context reads: first a
// NOOP token with TOKEN_CONTEXT_NEXT (the client wants to authenticate), then context
// tokens.
func (s *Server) readGSSContextToken(c *Conn, limit int, first bool) ([]byte, error) {
	if first {
		// An opening that is not a NOOP is refused before its announced payload is waited
		// for: from a client of the sspi framing, it never comes in full.
		if other, ok := sniffFraming(c.br, FramingGSS, limit); ok {
			return nil, otherFraming(FramingGSS, other, "client")
		}
		if b, _ := c.br.Peek(1); len(b) == 1 && b[0] != 0 && b[0]&GSSTokenNoop == 0 {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a NOOP token to open the session, got %s", gssFlagNames(b[0]))
		}
		flags, _, err := readGSSToken(c.br, limit, "opening token")
		if err != nil {
			return nil, err
		}
		if flags == 0 {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the client speaks version 1 of the gss-sample protocol (gss-client -v1), which gss-server and this server do not")
		}
		if flags&GSSTokenNoop == 0 {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a NOOP token to open the session, got %s", gssFlagNames(flags))
		}
		if flags&GSSTokenContextNext == 0 {
			return nil, sspi.Errorf(sspi.ErrLogonDenied, "sockauth: the client asked for an unauthenticated session (gss-client -na); this server authenticates every client")
		}
	}
	flags, tok, err := readGSSToken(c.br, limit, "context token")
	if err != nil {
		return nil, err
	}
	if flags != GSSTokenContext {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a CONTEXT token, got %s", gssFlagNames(flags))
	}
	if len(tok) == 0 {
		return nil, errEmptyFrame
	}
	return tok, nil
}

// defaultHandler is the session of Handler's documentation.
func (s *Server) defaultHandler(ctx context.Context, c *Conn) error {
	switch c.framing {
	case FramingTLS:
		return s.tlsEcho(c)
	case FramingRDP:
		return nil
	}
	if c.framing == FramingGSS {
		for {
			if _, err := c.ReadMessage(); err != nil {
				return err
			}
		}
	}
	if err := c.WriteMessage(s.greetingMsg); err != nil || c.sample {
		return err
	}
	for {
		msg, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if err := c.WriteMessage(msg); err != nil {
			return err
		}
	}
}

// StatusName names the outcome of a connection for logs and exit codes: the SEC_E name
// its error carries, or TIMEOUT, DISCONNECTED, SHUTDOWN or ERROR for failures that are
// not a security status; SEC_E_OK for nil.
func StatusName(err error) string {
	var se *sspi.Error
	var st sspi.Status
	switch {
	case err == nil:
		return sspi.OK.String()
	case errors.As(err, &se):
		return se.Status.String()
	case errors.As(err, &st):
		return st.String()
	case errors.Is(err, ErrServerClosed):
		return "SHUTDOWN"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "TIMEOUT"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) || errors.Is(err, net.ErrClosed):
		return "DISCONNECTED"
	}
	return "ERROR"
}

// cause is an error's text without the status name in front, which the log has already.
func cause(err error) string {
	var se *sspi.Error
	if errors.As(err, &se) && se.Err != nil {
		return se.Err.Error()
	}
	return err.Error()
}

// maxLoggedGroups bounds the group SIDs a session's log line lists; its "groups" count
// says how many there are.
const maxLoggedGroups = 16

// authzAttrs says in the log line what the server learned about the client beyond its
// name (Identity.Authorization): for a PAC with logon information (or a domain
// verifier's answer) the user's SID, the number of groups and the first maxLoggedGroups
// group SIDs; otherwise why there are none: no PAC, a PAC without logon information, or a
// package (NTLM against an account store, Schannel) that carries no groups.
func authzAttrs(id sspi.Identity) []slog.Attr {
	attrs := []slog.Attr{slog.String("authorization", id.Authorization.String())}
	if id.UserSID == "" {
		return attrs
	}
	groups := id.GroupSIDs()
	attrs = append(attrs, slog.String("sid", id.UserSID), slog.Int("groups", len(groups)))
	if len(groups) > maxLoggedGroups {
		groups = groups[:maxLoggedGroups]
	}
	if len(groups) > 0 {
		attrs = append(attrs, slog.Any("group_sids", groups))
	}
	return attrs
}

// logConn writes the connection's one log line. It names the package, the identity and
// the attributes, or the status and cause of the failure; never a token, key or password.
func (s *Server) logConn(c *Conn, start time.Time, authDur time.Duration, err error) {
	level := slog.LevelInfo
	if err != nil && (!errors.Is(err, ErrServerClosed) || c.ctx == nil) {
		level = slog.LevelWarn // a handshake cut by shutdown too: a client was turned away
	}
	lg := s.logger()
	if !lg.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs, slog.String("remote", c.nc.RemoteAddr().String()), slog.String("framing", s.Framing.String()))
	if c.ctx != nil {
		attrs = append(attrs,
			slog.String("package", c.pkg),
			slog.String("identity", wiretext.Name(c.id.Principal)),
			slog.String("attributes", c.attrs.Format(true)),
			// Whether the client handed over credentials to act as it (a forwarded
			// Kerberos TGT): an operator wants to know when a server holds them.
			slog.Bool("delegated", c.attrs.Has(sspi.ASCRetDelegate)))
		attrs = append(attrs, authzAttrs(c.id)...)
		if c.id.Server != "" {
			// The key that accepted the client (Kerberos): which service it reached.
			attrs = append(attrs, slog.String("service", wiretext.Name(c.id.Server)))
		}
		if c.rdp != nil {
			attrs = append(attrs, c.rdp.logAttrs()...)
		}
		if c.framing == FramingSSPI {
			mode := "messages"
			if c.sample {
				mode = "sample"
			}
			attrs = append(attrs, slog.String("mode", mode))
		}
	} else {
		attrs = append(attrs, slog.String("package", s.Credentials.Package()))
		if c.rdp != nil && c.rdp.proto != 0 {
			attrs = append(attrs, slog.String("protocol", rdpProtocolName(c.rdp.proto)))
		}
	}
	attrs = append(attrs,
		slog.Duration("handshake", authDur),
		slog.Duration("duration", time.Since(start)),
		slog.Int64("messages_in", c.recv.Load()),
		slog.Int64("messages_out", c.sent.Load()),
		slog.String("status", StatusName(err)))
	msg := "session ended"
	switch {
	case errors.Is(err, ErrServerClosed) && c.ctx == nil:
		msg = "handshake cut by shutdown"
	case errors.Is(err, ErrServerClosed):
		msg = "session ended by shutdown"
	case err != nil && c.ctx == nil:
		msg = "authentication failed"
	case err != nil && errors.Is(err, sspi.ErrSecurityQosFailed) && c.recv.Load() == 0 && c.sent.Load() == 0:
		msg = "authentication refused"
	case err != nil:
		msg = "session failed"
	}
	if err != nil {
		attrs = append(attrs, slog.String("cause", wiretext.Bound(cause(err), wiretext.MaxCause)))
	}
	lg.LogAttrs(context.Background(), level, msg, attrs...)
}
