package sockauth

// This file is what keeps slow or numerous clients from starving the others: the
// handshake's deadline and data-rate floor, the cap on handshakes in progress per client
// address, and the capacity for handshakes in progress, sized by memory.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultMinRate is the data rate, in bytes per second, a client must keep up while
	// the server waits for its handshake tokens, once DefaultMinRateGrace has passed.
	// Every real link is far faster; a client trickling bytes to hold a handshake open
	// (slowloris) is not.
	DefaultMinRate = 256
	// DefaultMinRateGrace is the waiting a client is allowed before the rate floor
	// applies: round trips, and a Kerberos client's call to its KDC between the
	// connection and its first token.
	DefaultMinRateGrace = 3 * time.Second
	// DefaultMaxPendingPerAddr bounds the handshakes in progress from one client address
	// (an IPv6 client's /64). Far above what one honest host, or a NAT in front of many,
	// has in flight at once, since a handshake takes milliseconds.
	DefaultMaxPendingPerAddr = 128
	// DefaultPendingMemory is the memory the handshakes in progress may take together
	// when Server.MaxPending is zero: 8192 handshakes.
	DefaultPendingMemory = 256 << 20
	// DefaultDrainTimeout is how long Shutdown lets handshakes in progress finish before
	// it cuts them.
	DefaultDrainTimeout = 3 * time.Second

	// handshakeCost is what one handshake in progress costs the server at most, for
	// sizing the capacity: its goroutine's stack, its read buffer, the token being
	// received (allocated as it arrives, readChunk ahead at most) and the security
	// context. TestSlowloris checks it against the server's memory under attack.
	handshakeCost = 24 << 10
	// minPending is the least capacity the memory sizing gives.
	minPending = 64
)

// maxPending is the capacity for handshakes in progress: MaxPending, or as many as the
// memory budget holds: DefaultPendingMemory, or a quarter of the Go memory limit
// (GOMEMLIMIT) when one is set and smaller.
func (s *Server) maxPending() int {
	if s.MaxPending > 0 {
		return s.MaxPending
	}
	budget := int64(DefaultPendingMemory)
	if lim := debug.SetMemoryLimit(-1); lim < math.MaxInt64 {
		budget = min(budget, lim/4)
	}
	return max(int(budget/handshakeCost), minPending)
}

func (s *Server) handshakeTimeout() time.Duration {
	if s.HandshakeTimeout > 0 {
		return s.HandshakeTimeout
	}
	return s.timeout()
}

func (s *Server) minRate() int {
	switch {
	case s.MinRate < 0:
		return 0
	case s.MinRate == 0:
		return DefaultMinRate
	}
	return s.MinRate
}

func (s *Server) minRateGrace() time.Duration {
	if s.MinRateGrace > 0 {
		return s.MinRateGrace
	}
	return DefaultMinRateGrace
}

func (s *Server) maxPendingPerAddr() int {
	switch {
	case s.MaxPendingPerAddr < 0:
		return 0
	case s.MaxPendingPerAddr == 0:
		return DefaultMaxPendingPerAddr
	}
	return s.MaxPendingPerAddr
}

func (s *Server) drainTimeout() time.Duration {
	if s.DrainTimeout > 0 {
		return s.DrainTimeout
	}
	return DefaultDrainTimeout
}

// clientKey is what the per-address cap counts by: the IPv4 address, or the /64 of an IPv6
// one (a host is given a /64, so an address of its own costs an attacker nothing). ok is
// false for what is not TCP/IP.
func clientKey(a net.Addr) (key netip.Prefix, ok bool) {
	ta, isTCP := a.(*net.TCPAddr)
	if !isTCP {
		return netip.Prefix{}, false
	}
	ip := ta.AddrPort().Addr().Unmap()
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// handshakeMeter is the read side of a connection in its handshake: every read waits at
// most until the handshake's deadline, and until the client's data rate would fall below
// the floor. The rate counts only the time the server waits for the client, so the
// server's own work and a busy scheduler cost the client nothing.
type handshakeMeter struct {
	nc       net.Conn
	deadline time.Time     // of the whole handshake
	timeout  time.Duration // what deadline was set from, for the error
	rate     int           // bytes per second; 0 turns the floor off
	grace    time.Duration
	key      netip.Prefix // counted against the per-address cap, when valid

	active bool          // in the handshake; only the handshake's goroutine reads or sets it
	waited time.Duration // spent waiting for the client
	got    int64         // bytes received

	cut atomic.Bool // Shutdown closed the connection after the drain time-out

	ctx handshakeCtx // bounds the handshake's steps by deadline
}

// Read reads as the handshake allows; after it, it is nc's Read.
func (m *handshakeMeter) Read(p []byte) (int, error) {
	if !m.active {
		return m.nc.Read(p)
	}
	start := time.Now()
	dl, byRate := m.deadline, false
	if m.rate > 0 {
		// The client keeps its place while got >= rate*(waited-grace).
		left := m.grace + time.Duration(float64(m.got)/float64(m.rate)*float64(time.Second)) - m.waited
		if t := start.Add(left); t.Before(dl) {
			dl, byRate = t, true
		}
	}
	_ = m.nc.SetReadDeadline(dl)
	n, err := m.nc.Read(p)
	m.waited += time.Since(start)
	m.got += int64(n)
	if err != nil && isTimeout(err) {
		if byRate {
			return n, fmt.Errorf("sockauth: the client sent %d bytes in %.1fs of waiting, below the minimum rate of %d bytes/s: %w",
				m.got, m.waited.Seconds(), m.rate, err)
		}
		return n, fmt.Errorf("sockauth: the handshake did not finish within %v: %w", m.timeout, err)
	}
	return n, err
}

// end ends the handshake's regime: reads are plain again, with the deadlines the session
// sets.
func (m *handshakeMeter) end() {
	m.active = false
	_ = m.nc.SetReadDeadline(time.Time{})
	m.ctx.cancel()
}

// handshakeCtx is the context.Context of the handshake's steps (StepContext): done at the
// handshake's deadline, or when the handshake ends. It is what context.WithDeadline makes,
// except that its timer and channel are made only when Done is called: a step run on the
// connection's goroutine (the Scheduler had a slot free) only checks Err, and a timer
// armed and stopped for every step was a measurable part of a Kerberos session's CPU.
type handshakeCtx struct {
	deadline time.Time // set once, before the first step

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer   // closes done at the deadline
	err   error         // DeadlineExceeded or Canceled, once done
}

func (h *handshakeCtx) Deadline() (time.Time, bool) { return h.deadline, true }

func (h *handshakeCtx) Value(any) any { return nil }

func (h *handshakeCtx) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil && !time.Now().Before(h.deadline) {
		h.endLocked(context.DeadlineExceeded)
	}
	return h.err
}

func (h *handshakeCtx) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done != nil {
		return h.done
	}
	h.done = make(chan struct{})
	switch d := time.Until(h.deadline); {
	case h.err != nil:
		close(h.done)
	case d <= 0:
		h.endLocked(context.DeadlineExceeded)
	default:
		h.timer = time.AfterFunc(d, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.err == nil {
				h.endLocked(context.DeadlineExceeded)
			}
		})
	}
	return h.done
}

// cancel ends the context, as the handshake ends.
func (h *handshakeCtx) cancel() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.err == nil {
		h.endLocked(context.Canceled)
	}
}

// endLocked records why the context is done, once; the caller holds mu.
func (h *handshakeCtx) endLocked(err error) {
	h.err = err
	if h.done != nil {
		close(h.done)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// refusals counts connections refused at accept for the per-address cap, so that a flood
// of them makes a log line a second rather than one each.
type refusals struct {
	mu    sync.Mutex
	n     int
	last  string
	timer *time.Timer
}

// refused logs a connection closed at accept because its address has limit handshakes in
// progress: the first at once, the others counted into a line a second later.
func (s *Server) refused(remote string, limit int) {
	r := &s.refusal
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = remote
	if r.timer != nil {
		r.n++
		return
	}
	r.timer = time.AfterFunc(time.Second, func() { s.flushRefusals(limit) })
	s.logger().LogAttrs(context.Background(), slog.LevelWarn, "connection refused: too many handshakes in progress from its address",
		slog.String("remote", remote), slog.Int("limit", limit), slog.Int("refused", 1))
}

func (s *Server) flushRefusals(limit int) {
	r := &s.refusal
	r.mu.Lock()
	n, last := r.n, r.last
	r.n, r.timer = 0, nil
	r.mu.Unlock()
	if n > 0 {
		s.logger().LogAttrs(context.Background(), slog.LevelWarn, "connections refused: too many handshakes in progress from their addresses",
			slog.String("last_remote", last), slog.Int("limit", limit), slog.Int("refused", n))
	}
}
