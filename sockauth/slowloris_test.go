package sockauth

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The slowloris test: thousands of clients that open a handshake and then trickle one byte
// a second, while good clients log on. Each run shortens the server's time limits where
// the test would otherwise wait for them, so that it is over in seconds (under -race too).
const (
	goodClients  = 100
	goodTimeout  = 5 * time.Second // what a good client waits for its logon
	slowAnnounce = 60000           // the frame length a slow client announces (under DefaultMaxToken)
)

// slowClients is how many slow clients attack; SOCKAUTH_SLOW_CLIENTS changes it, to measure
// what a smaller attack costs.
var slowClients = func() int {
	if n, err := strconv.Atoi(os.Getenv("SOCKAUTH_SLOW_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 3000
}()

// slowloris is one run: the server's time limits, where the slow and the good clients
// come from, and what came of it.
type slowloris struct {
	handshakeTimeout, grace time.Duration
	slowFrom                func(i int) net.IP // source address of slow client i
	goodFrom                net.IP
	// admitAll: the good clients come once the server has taken in every slow one.
	admitAll bool
	// retry: a good client whose connection is refused (the server closes it at once)
	// tries again until deadline, as a client does when a server is busy.
	retry    bool
	deadline time.Duration

	lb  *logBuffer
	srv *testServer

	goodOK, goodFirstTry          int
	admitted                      int    // handshakes in progress when the good clients came
	baseMem, attackMem            uint64 // the server's memory before, and then
	slowCutByRate, refused        int
	slowDialFailed, slowConnected int
}

// start runs the server of the run.
func (r *slowloris) start(t *testing.T) {
	r.lb = &logBuffer{}
	r.srv = startServer(t, &Server{
		Credentials:      serverCreds(t, "NTLM"),
		Logger:           newJSONLogger(r.lb),
		HandshakeTimeout: r.handshakeTimeout,
		MinRateGrace:     r.grace,
	})
}

// loopbackAlias reports whether this host can dial from ip (all of 127.0.0.0/8 is
// loopback on Linux; elsewhere often only 127.0.0.1 is).
func loopbackAlias(ip net.IP, target string) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: time.Second}
	c, err := d.Dial("tcp", target)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// run attacks the server and logs on good clients meanwhile.
func (r *slowloris) run(t *testing.T) {
	t.Helper()
	r.start(t)
	srv := r.srv
	r.baseMem = serverMemory()

	// The slow clients: a frame header announcing a large token, then one byte a second,
	// written by one goroutine for all of them.
	var mu sync.Mutex
	var slow []net.Conn
	var dials sync.WaitGroup
	const dialers = 30
	var dialFailed atomic.Int64
	for w := range dialers {
		dials.Add(1)
		go func() {
			defer dials.Done()
			for i := w; i < slowClients; i += dialers {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: r.slowFrom(i)}, Timeout: 10 * time.Second}
				c, err := d.Dial("tcp", srv.Addr)
				if err != nil {
					dialFailed.Add(1)
					continue
				}
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(binary.LittleEndian.AppendUint32(nil, slowAnnounce)); err != nil {
					c.Close()
					continue
				}
				mu.Lock()
				slow = append(slow, c)
				mu.Unlock()
			}
		}()
	}
	stopTrickle := make(chan struct{})
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopTrickle:
				return
			case <-tick.C:
			}
			mu.Lock()
			conns := slices.Clone(slow)
			mu.Unlock()
			for _, c := range conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				c.Write([]byte{'x'})
			}
		}
	}()
	defer func() {
		close(stopTrickle)
		<-trickled
		mu.Lock()
		for _, c := range slow {
			c.Close()
		}
		mu.Unlock()
	}()

	dials.Wait()
	mu.Lock()
	r.slowConnected = len(slow)
	mu.Unlock()
	r.slowDialFailed = int(dialFailed.Load())
	for wait := time.Now().Add(5 * time.Second); r.admitAll && time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		if r.active() >= r.slowConnected {
			break
		}
	}
	r.admitted = r.active()
	r.attackMem = serverMemory()

	// The good clients, all at once, each with its own time-out.
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Timeout: goodTimeout}
	var good sync.WaitGroup
	var ok, first atomic.Int64
	var firstErr atomic.Value
	end := time.Now().Add(r.deadline)
	for range goodClients {
		good.Add(1)
		go func() {
			defer good.Done()
			for try := 0; ; try++ {
				ctx, cancel := context.WithTimeout(context.Background(), goodTimeout)
				err := goodLogon(ctx, cl, srv.Addr, r.goodFrom)
				cancel()
				if err == nil {
					ok.Add(1)
					if try == 0 {
						first.Add(1)
					}
					return
				}
				firstErr.CompareAndSwap(nil, err)
				if !r.retry || time.Now().After(end) {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	good.Wait()
	r.goodOK, r.goodFirstTry = int(ok.Load()), int(first.Load())
	if e := firstErr.Load(); e != nil {
		t.Logf("first failure of a good client: %v", e)
	}
}

func (r *slowloris) active() int {
	r.srv.mu.Lock()
	defer r.srv.mu.Unlock()
	return r.srv.active
}

// goodLogon is one good client's logon from the address from: the handshake and the
// greeting.
func goodLogon(ctx context.Context, cl *Client, addr string, from net.IP) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	c, err := cl.Handshake(ctx, nc)
	if err != nil {
		return err
	}
	g, err := c.ReadMessage()
	if err == nil && string(g) != DefaultGreeting {
		err = fmt.Errorf("greeting %q", g)
	}
	return err
}

// countOutcomes reads the server's log: slow clients cut by the rate floor, and
// connections refused at accept for the per-address cap.
func (r *slowloris) countOutcomes(t *testing.T) {
	for _, rec := range r.lb.records(t) {
		cause, _ := rec["cause"].(string)
		if strings.Contains(cause, "minimum rate") {
			r.slowCutByRate++
		}
		if n, ok := rec["refused"].(float64); ok {
			r.refused += int(n)
		}
	}
}

// TestSlowloris: 3,000 slow clients and 100 good ones. From other addresses than the good
// clients, the slow ones cost nobody a logon and the server's memory stays bounded; from
// the good clients' own address, the good logons complete once the rate floor has cut
// the slow ones.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 6,000 connections")
	}
	raiseFileLimit(t, uint64(2*(slowClients+goodClients)+500))
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := probe.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	alias := loopbackAlias(net.IPv4(127, 0, 1, 1), probe.Addr().String())
	probe.Close()

	t.Run("other-addresses", func(t *testing.T) {
		// 100 slow clients from each of 30 addresses (under the per-address cap), the good
		// ones from 127.0.0.1. No slow client is cut while the test runs (the handshake
		// deadline and the rate grace are long): the capacity alone must hold them all, in
		// bounded memory.
		if !alias {
			t.Skip("this host cannot dial from 127.0.1.x: only 127.0.0.1 is loopback here")
		}
		r := &slowloris{
			handshakeTimeout: time.Minute,
			grace:            time.Minute,
			slowFrom:         func(i int) net.IP { return net.IPv4(127, 0, 1, byte(1+i%30)) },
			goodFrom:         net.IPv4(127, 0, 0, 1),
			admitAll:         true,
		}
		r.run(t)
		r.report(t)
		if r.goodOK != goodClients {
			t.Errorf("%d of %d good logons", r.goodOK, goodClients)
		}
		if r.admitted < r.slowConnected {
			t.Errorf("%d of %d slow clients in their handshake when the good ones came; the capacity is %d", r.admitted, r.slowConnected, r.srv.maxPending())
		}
		// Bounded memory: what the server holds per handshake in progress is within what its
		// capacity is sized by.
		if per := r.perHandshake(); per > handshakeCost {
			t.Errorf("%d bytes per handshake in progress; the pending capacity assumes %d", per, handshakeCost)
		}
	})

	t.Run("same-address", func(t *testing.T) {
		// Everybody from 127.0.0.1: the per-address cap turns most slow clients away at
		// once, the rate floor cuts those admitted after a second, and the good clients,
		// refused while the slow ones hold the address's handshakes, get in once they are
		// cut.
		r := &slowloris{
			handshakeTimeout: 4 * time.Second,
			grace:            time.Second,
			slowFrom:         func(int) net.IP { return net.IPv4(127, 0, 0, 1) },
			goodFrom:         net.IPv4(127, 0, 0, 1),
			retry:            true,
			deadline:         15 * time.Second,
		}
		r.run(t)
		r.countOutcomes(t)
		r.report(t)
		if r.goodOK != goodClients {
			t.Errorf("%d of %d good logons", r.goodOK, goodClients)
		}
		if r.slowCutByRate == 0 || r.refused == 0 {
			t.Errorf("%d slow clients cut by the rate floor, %d connections refused for the per-address cap; want both", r.slowCutByRate, r.refused)
		}
	})
}

func (r *slowloris) perHandshake() uint64 {
	if r.admitted == 0 || r.attackMem < r.baseMem {
		return 0
	}
	return (r.attackMem - r.baseMem) / uint64(r.admitted)
}

func (r *slowloris) report(t *testing.T) {
	t.Logf("good logons %d of %d (%d at the first try); slow clients connected %d (dial failures %d), in their handshake when the good clients came %d, cut by the rate floor %d; connections refused for the per-address cap %d; server memory %d -> %d KiB, %d bytes per handshake in progress",
		r.goodOK, goodClients, r.goodFirstTry, r.slowConnected, r.slowDialFailed, r.admitted, r.slowCutByRate, r.refused,
		r.baseMem>>10, r.attackMem>>10, r.perHandshake())
}
