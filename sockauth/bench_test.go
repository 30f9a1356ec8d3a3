package sockauth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// Benchmarks of the service over loopback. They are bounded by b.N and by the time-outs of
// every connection, and stop by themselves:
//
//	go test -run XXX -bench . -benchtime 20000x ./sockauth
//
// BenchmarkHandshake reports handshakes/s and the p50/p99 latency of one handshake
// (connect, NTLM's three tokens, the sealed greeting, close) with 1, 64 and 1000 clients
// running at once. The client side runs in the same process and takes its share of the
// two cores.

// raiseFileLimit lifts the soft limit on open files to the hard one: 1000 clients and their
// server connections need 2000 descriptors and more.
func raiseFileLimit(tb testing.TB, need uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		tb.Skipf("getrlimit: %v", err)
	}
	if rl.Cur < need && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			tb.Logf("setrlimit: %v", err)
		}
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) // what it is now
	}
	if rl.Cur < need {
		tb.Skipf("skipped: %d file descriptors are needed and RLIMIT_NOFILE allows %d (hard limit %d); raise it with ulimit -n", need, rl.Cur, rl.Max)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}

func BenchmarkHandshake(b *testing.B) {
	for _, clients := range []int{1, 64, 1000} {
		for _, f := range []Framing{FramingSSPI, FramingGSS} {
			b.Run(fmt.Sprintf("framing=%s/clients=%d", f, clients), func(b *testing.B) {
				raiseFileLimit(b, uint64(4*clients+100))
				srv := startServer(b, &Server{Credentials: serverCreds(b, "NTLM"), Framing: f, Logger: quietLogger(), MaxPending: 2048})
				cl := &Client{Credentials: clientCreds(b, "NTLM", testDomain+`\`+testUser, testPassword), Framing: f, Timeout: 30 * time.Second}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				lat := make([][]time.Duration, clients)
				var next atomic.Int64
				var failed atomic.Int64
				var firstErr atomic.Value
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							t0 := time.Now()
							if err := oneSession(ctx, cl, srv.Addr, f); err != nil {
								failed.Add(1)
								firstErr.CompareAndSwap(nil, err)
								continue
							}
							lat[w] = append(lat[w], time.Since(t0))
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if n := failed.Load(); n > 0 {
					b.Fatalf("%d of %d handshakes failed; first: %v", n, b.N, firstErr.Load())
				}
				all := slices.Concat(lat...)
				slices.Sort(all)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
				b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// BenchmarkHandshakePaced measures latency at 1000 connected clients below saturation:
// each client starts a session on its own schedule, so that together they offer a fixed
// rate (an open loop, as real clients do), and the p50/p99 of a handshake is reported. In
// the closed loop of BenchmarkHandshake, latency is just clients/throughput.
func BenchmarkHandshakePaced(b *testing.B) {
	const clients = 1000
	for _, rate := range []int{1000, 2500, 5000} {
		b.Run(fmt.Sprintf("framing=gss/clients=%d/rate=%d", clients, rate), func(b *testing.B) {
			raiseFileLimit(b, uint64(4*clients+100))
			srv := startServer(b, &Server{Credentials: serverCreds(b, "NTLM"), Framing: FramingGSS, Logger: quietLogger(), MaxPending: 2048})
			cl := &Client{Credentials: clientCreds(b, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS, Timeout: 30 * time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			period := time.Duration(clients) * time.Second / time.Duration(rate) // per client
			lat := make([][]time.Duration, clients)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Spread the clients' schedules evenly over one period.
					due := start.Add(period * time.Duration(w) / clients)
					for next.Add(1) <= int64(b.N) {
						time.Sleep(time.Until(due))
						due = due.Add(period)
						t0 := time.Now()
						if err := oneSession(ctx, cl, srv.Addr, FramingGSS); err != nil {
							failed.Add(1)
							continue
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d handshakes failed", n, b.N)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")
			b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkAccept is the server's handshake work without TCP: NTLM handshakes between
// in-process clients and AcceptSecurityContext run through the scheduler, as the server
// runs it, from 1, 64 and 1000 goroutines at once. It is the ceiling the network stack
// brings BenchmarkHandshake down from.
func BenchmarkAccept(b *testing.B) {
	ccred := clientCreds(b, "NTLM", testDomain+`\`+testUser, testPassword)
	scred := serverCreds(b, "NTLM")
	for _, clients := range []int{1, 64, 1000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if err := inProcessHandshake(ccred, scred); err != nil {
							failed.CompareAndSwap(nil, err)
						}
					}
				}()
			}
			wg.Wait()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "handshakes/s")
		})
	}
}

func inProcessHandshake(ccred, scred *sspi.Credentials) error {
	c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
	s := sspi.NewServerContext(scred, sspi.ServerOptions{})
	defer c.Close()
	defer s.Close()
	var tok []byte
	for !c.Established() {
		out, err := c.Step(tok)
		if err != nil {
			return err
		}
		if len(out) == 0 {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tok, err = s.StepContext(ctx, out)
		cancel()
		if err != nil {
			return err
		}
	}
	if !s.Established() {
		return fmt.Errorf("server not established")
	}
	return nil
}

// oneSession is what every benchmark client does: authenticate, then the greeting (sspi)
// or one sealed message answered with a MIC (gss), then close.
func oneSession(ctx context.Context, cl *Client, addr string, f Framing) error {
	c, err := cl.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if f == FramingGSS {
		return c.WriteMessage([]byte("benchmark message"))
	}
	g, err := c.ReadMessage()
	if err == nil && string(g) != DefaultGreeting {
		err = fmt.Errorf("greeting %q", g)
	}
	return err
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// TestIdleConnectionMemory measures what an authenticated, idle session costs the server:
// the clients run in a child process (this test binary again), so that the server's heap
// and goroutine stacks are all that grow here. It is a measurement, reported with -v; it
// fails only if the cost is far beyond the goal of 16 KiB.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement, not a check")
	}
	const sessions = 1000
	raiseFileLimit(t, 2*sessions+100)
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingGSS, Logger: quietLogger(), Timeout: 2 * time.Minute})
	before := serverMemory()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleClientsHelper$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), "SOCKAUTH_IDLE_CLIENTS="+srv.Addr+","+strconv.Itoa(sessions))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ready ") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the client process did not open its sessions")
	}
	srv.mu.Lock()
	active := srv.active
	srv.mu.Unlock()
	if active != sessions {
		t.Fatalf("%d sessions active, want %d", active, sessions)
	}
	after := serverMemory()
	per := float64(after-before) / sessions
	t.Logf("server memory per idle authenticated session: %.0f bytes (%.1f KiB; heap and goroutine stacks, %d sessions)", per, per/1024, sessions)
	if per > 64<<10 {
		t.Errorf("%.0f bytes per idle session", per)
	}
}

// serverMemory is the heap in use plus goroutine stacks, after a collection.
func serverMemory() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// TestIdleClientsHelper is the child process of TestIdleConnectionMemory: it opens the
// sessions, says "ready", and holds them until its stdin closes.
func TestIdleClientsHelper(t *testing.T) {
	spec := os.Getenv("SOCKAUTH_IDLE_CLIENTS")
	if spec == "" {
		t.Skip("run by TestIdleConnectionMemory")
	}
	addr, n, _ := strings.Cut(spec, ",")
	count, _ := strconv.Atoi(n)
	raiseFileLimit(t, uint64(count+100))
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS, Timeout: time.Minute}
	conns := make([]*Conn, 0, count)
	for range count {
		c, err := cl.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		// One message, so the session is past its first exchange, as an idle client's is.
		if err := c.WriteMessage([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("ready %d\n", len(conns))
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
