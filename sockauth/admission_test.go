package sockauth

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestHandshakeDeadlineIsWhole: a client that sends each of its tokens within the time-out
// of one wait, but takes longer than it over the whole handshake, is cut: the deadline is
// the handshake's, not one per token.
func TestHandshakeDeadlineIsWhole(t *testing.T) {
	const timeout = time.Second
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingGSS, Timeout: timeout})
	r := dialRaw(t, srv.Addr, FramingGSS)
	pause := func() { time.Sleep(timeout * 7 / 10) }

	if _, err := r.nc.Write(appendGSSToken(nil, GSSTokenNoop|GSSTokenContextNext, nil)); err != nil {
		t.Fatal(err)
	}
	pause()
	neg, err := r.cc.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.nc.Write(appendGSSToken(nil, GSSTokenContext, neg)); err != nil {
		t.Fatal(err)
	}
	challenge := r.recv()
	pause() // 1.4 s into the handshake, no wait longer than 0.7 s
	auth, err := r.cc.Step(challenge)
	if err != nil {
		t.Fatal(err)
	}
	r.nc.Write(appendGSSToken(nil, GSSTokenContext, auth))
	rec := srv.Log.waitRecord(t, r.local())
	cause, _ := rec["cause"].(string)
	if rec["status"] != "TIMEOUT" || !strings.Contains(cause, "did not finish within 1s") {
		t.Errorf("a handshake of three slow legs: log %v; want TIMEOUT, the handshake did not finish", rec)
	}
}

// TestMinRateFloor: a client that trickles its token below the rate floor is cut once its
// grace has passed, long before the handshake's deadline, and the log says why; a client
// that sends its tokens whole meanwhile is not affected.
func TestMinRateFloor(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), HandshakeTimeout: time.Minute, MinRate: 100, MinRateGrace: 300 * time.Millisecond})
	r := dialRaw(t, srv.Addr, FramingSSPI)
	if _, err := r.nc.Write(binary.LittleEndian.AppendUint32(nil, 1000)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 10 bytes a second
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := r.nc.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}
	}()
	good := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword)}
	c, err := good.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, FramingSSPI, false)
	c.Close()

	rec := srv.Log.waitRecord(t, r.local())
	cause, _ := rec["cause"].(string)
	if rec["status"] != "TIMEOUT" || !strings.Contains(cause, "below the minimum rate of 100 bytes/s") {
		t.Errorf("a trickling client: log %v; want TIMEOUT below the minimum rate", rec)
	}
	// The server closed the connection: the client's reads end.
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, r.nc); isTimeout(err) {
		t.Errorf("the connection is still open after the log line")
	}
}

// TestPerAddressCap: with MaxPendingPerAddr handshakes in progress from an address, a
// further connection from it is closed at once and logged; one from another address is
// served; and once a handshake ends, its address may start another.
func TestPerAddressCap(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), MaxPendingPerAddr: 2, MinRate: -1, Timeout: time.Minute})
	var held []*rawClient
	for range 2 {
		r := dialRaw(t, srv.Addr, FramingSSPI)
		r.firstLeg() // in the handshake until it says more
		held = append(held, r)
	}
	// The third from 127.0.0.1: closed without an answer.
	third := dialRaw(t, srv.Addr, FramingSSPI)
	neg, err := third.cc.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	third.nc.Write(appendSSPIFrame(nil, neg))
	if _, err := readSSPIFrame(third.nc, DefaultMaxToken, "token"); err == nil || isTimeout(err) {
		t.Fatalf("a third handshake from the same address: %v; want the connection closed", err)
	}
	var refusal map[string]any
	for _, rec := range srv.Log.records(t) {
		if rec["refused"] != nil {
			refusal = rec
		}
	}
	if refusal == nil || refusal["remote"] != third.local() || refusal["limit"] != 2.0 || refusal["level"] != "WARN" {
		t.Errorf("refusal log line %v", refusal)
	}

	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Timeout: 10 * time.Second}
	if loopbackAlias(net.IPv4(127, 0, 0, 2), srv.Addr) {
		if err := goodLogon(testCtx(t), cl, srv.Addr, net.IPv4(127, 0, 0, 2)); err != nil {
			t.Errorf("a client of another address: %v", err)
		}
	}
	// One held handshake ends; 127.0.0.1 may start another.
	held[0].nc.Close()
	srv.Log.waitRecord(t, held[0].local())
	if err := goodLogon(testCtx(t), cl, srv.Addr, net.IPv4(127, 0, 0, 1)); err != nil {
		t.Errorf("after a handshake from the address ended: %v", err)
	}
	srv.mu.Lock()
	n := srv.perAddr[keyOf(t, held[1].local())]
	srv.mu.Unlock()
	if n != 1 {
		t.Errorf("%d handshakes counted for 127.0.0.1, want the one still held", n)
	}
}

// keyOf is the per-address key of a "host:port" address.
func keyOf(t *testing.T, addr string) netip.Prefix {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := clientKey(net.TCPAddrFromAddrPort(ap))
	if !ok {
		t.Fatalf("no key for %s", addr)
	}
	return k
}

// TestPendingCapacity: with MaxPending zero the capacity for handshakes in progress is
// what the memory budget holds, and a Go memory limit lowers it.
func TestPendingCapacity(t *testing.T) {
	if n := (&Server{}).maxPending(); n != DefaultPendingMemory/handshakeCost || n < 4096 {
		t.Errorf("default capacity %d, want %d", n, DefaultPendingMemory/handshakeCost)
	}
	if n := (&Server{MaxPending: 10}).maxPending(); n != 10 {
		t.Errorf("MaxPending 10: capacity %d", n)
	}
	old := debug.SetMemoryLimit(64 << 20)
	defer debug.SetMemoryLimit(old)
	if n := (&Server{}).maxPending(); n != (64<<20)/4/handshakeCost {
		t.Errorf("capacity under a 64 MiB memory limit: %d, want %d", n, (64<<20)/4/handshakeCost)
	}
}

// TestShutdownDrainTimeout: Shutdown gives stalled handshakes DrainTimeout, then cuts them
// and logs each, and returns without waiting for the handshakes' own time-outs; a
// handshake that finishes within the drain time-out still gets its session.
func TestShutdownDrainTimeout(t *testing.T) {
	const stalled = 50
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuffer{}
	s := &Server{Credentials: serverCreds(t, "NTLM"), Timeout: time.Minute, MinRate: -1, DrainTimeout: time.Second, Logger: newJSONLogger(lb)}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	var stall []*rawClient
	for range stalled {
		r := dialRaw(t, l.Addr().String(), FramingSSPI)
		r.firstLeg()
		stall = append(stall, r)
	}
	finisher := dialRaw(t, l.Addr().String(), FramingSSPI)
	challenge := finisher.firstLeg()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	auth, err := finisher.cc.Step(challenge)
	if err != nil {
		t.Fatal(err)
	}
	finisher.send(auth, false)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v; want the stalled handshakes cut after the drain time-out", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	for _, r := range stall {
		rec := lb.waitRecord(t, r.local())
		cause, _ := rec["cause"].(string)
		if rec["msg"] != "handshake cut by shutdown" || rec["status"] != "SHUTDOWN" || rec["level"] != "WARN" || !strings.Contains(cause, "drain time-out of 1s") {
			t.Fatalf("a stalled handshake: log %v", rec)
		}
	}
	if rec := lb.waitRecord(t, finisher.local()); rec["status"] != "SEC_E_OK" {
		t.Errorf("the handshake that finished during the drain: log %v", rec)
	}
	var summary map[string]any
	for _, rec := range lb.records(t) {
		if rec["msg"] == "shutdown: cutting the handshakes still in progress" {
			summary = rec
		}
	}
	if summary == nil || summary["handshakes"] != float64(stalled) {
		t.Errorf("shutdown summary %v, want %d handshakes cut", summary, stalled)
	}
}

// TestHandshakeCtx: the handshake's step context behaves as context.WithDeadline's does:
// not done before its deadline, done with DeadlineExceeded at it (whether Done was asked
// for before or after), and with Canceled once the handshake ends first.
func TestHandshakeCtx(t *testing.T) {
	const wait = 200 * time.Millisecond // far enough that a busy machine does not pass it early
	for _, tc := range []struct {
		name      string
		doneFirst bool // Done is called before the deadline passes
		cancel    bool // the handshake ends before the deadline
		want      error
	}{
		{"deadline, Done before", true, false, context.DeadlineExceeded},
		{"deadline, Done after", false, false, context.DeadlineExceeded},
		{"cancel, Done before", true, true, context.Canceled},
		{"cancel, Done after", false, true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &handshakeCtx{deadline: time.Now().Add(wait)}
			if d, ok := h.Deadline(); !ok || !d.Equal(h.deadline) {
				t.Fatalf("Deadline() = %v, %v", d, ok)
			}
			if err := h.Err(); err != nil {
				t.Fatalf("Err before the deadline: %v", err)
			}
			var done <-chan struct{}
			if tc.doneFirst {
				done = h.Done()
				select {
				case <-done:
					t.Fatal("done before the deadline")
				default:
				}
			}
			if tc.cancel {
				h.cancel()
			} else if tc.doneFirst {
				<-done // closed by the timer
			} else {
				time.Sleep(wait)
			}
			if done == nil {
				done = h.Done()
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Done not closed")
			}
			if err := h.Err(); !errors.Is(err, tc.want) {
				t.Fatalf("Err = %v, want %v", err, tc.want)
			}
			h.cancel() // ending an ended context changes nothing
			if err := h.Err(); !errors.Is(err, tc.want) {
				t.Fatalf("Err after a second cancel = %v, want %v", err, tc.want)
			}
		})
	}
}
