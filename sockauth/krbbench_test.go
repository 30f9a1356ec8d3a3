package sockauth

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// BenchmarkKerberosHandshakeCeiling runs Kerberos sessions (connect, AP-REQ, AP-REP with
// mutual authentication, the sealed greeting, close) from 64 clients against the service,
// and, alternately in the same run, the loopback TCP ceiling: the same 64 clients doing
// connect, one request of an AP-REQ's size answered with an AP-REP's size, close, against
// a server that does nothing else. It reports both rates and "%ceiling" (Kerberos over
// ceiling), and the same ratio in CPU time ("%ceiling-cpu"), steadier on a busy machine.
// Clients and server share the machine's cores, as in BenchmarkHandshake.
//
//	SSPI_INTEROP=require go test -run=X -bench=KerberosHandshakeCeiling -benchtime=20000x ./sockauth/
func BenchmarkKerberosHandshakeCeiling(b *testing.B) {
	const clients = 64
	raiseFileLimit(b, 4*clients+100)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, addr := kerberosService(ctx, b)
	ceil := startEchoServer(b, ceilingReply)

	krb := func(n int) time.Duration {
		return runClients(b, clients, n, func() error { return oneSession(ctx, cl, addr, FramingSSPI) })
	}
	tcp := func(n int) time.Duration {
		return runClients(b, clients, n, func() error { return oneRoundTrip(ceil, ceilingRequest, ceilingReply) })
	}
	var tk, tt, ck, ct time.Duration
	chunk := max(clients*8, b.N/8)
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		c0 := cpuTime()
		tk += krb(n)
		c1 := cpuTime()
		tt += tcp(n)
		ck, ct = ck+c1-c0, ct+cpuTime()-c1
	}
	b.StopTimer()
	kr, cr := float64(b.N)/tk.Seconds(), float64(b.N)/tt.Seconds()
	b.ReportMetric(kr, "kerberos-handshakes/s")
	b.ReportMetric(cr, "tcp-ceiling/s")
	b.ReportMetric(100*kr/cr, "%ceiling")
	// The same ratio in the process's CPU time (both sides are in this process): on a
	// machine shared with other work, wall time swings with their load, CPU time less.
	b.ReportMetric(100*ct.Seconds()/ck.Seconds(), "%ceiling-cpu")
	b.ReportMetric(float64(ck.Microseconds())/float64(b.N), "cpu-us/handshake")
}

// kerberosService starts an MIT KDC and the service with its keytab, and returns a client
// for it holding its service ticket already, and the service's address.
func kerberosService(ctx context.Context, b *testing.B) (*Client, string) {
	k := testpeers.StartKDC(b, testpeers.KDCOptions{})
	scred, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredInbound, nil, &kerberos.ServerConfig{Keytab: k.Keytab}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sspi.FreeCredentialsHandle(scred) })
	ccred, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sspi.FreeCredentialsHandle(ccred) })
	srv := startServer(b, &Server{Credentials: scred, Framing: FramingSSPI, Logger: quietLogger(), MaxPending: 2048})
	cl := &Client{Credentials: ccred, Framing: FramingSSPI, Target: testpeers.KDCService, Timeout: 30 * time.Second}
	if err := oneSession(ctx, cl, srv.Addr, FramingSSPI); err != nil { // the service ticket
		b.Fatal(err)
	}
	return cl, srv.Addr
}

// The ceiling's request and reply sizes: an AP-REQ's and an AP-REP's with the greeting.
const (
	ceilingRequest = 700
	ceilingReply   = 200
)

// BenchmarkKerberosSession runs only the Kerberos half of BenchmarkKerberosHandshakeCeiling,
// and BenchmarkTCPRoundTrip only its ceiling half, so that a profile or -benchmem shows one
// of them alone (both sides of each are in this process).
//
//	SSPI_INTEROP=require go test -run=X -bench='KerberosSession|TCPRoundTrip' -benchmem -benchtime=20000x ./sockauth/
func BenchmarkKerberosSession(b *testing.B) {
	const clients = 64
	raiseFileLimit(b, 4*clients+100)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, addr := kerberosService(ctx, b)
	b.ResetTimer()
	c0 := cpuTime()
	runClients(b, clients, b.N, func() error { return oneSession(ctx, cl, addr, FramingSSPI) })
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
}

func BenchmarkTCPRoundTrip(b *testing.B) {
	const clients = 64
	raiseFileLimit(b, 4*clients+100)
	ceil := startEchoServer(b, ceilingReply)
	b.ResetTimer()
	c0 := cpuTime()
	runClients(b, clients, b.N, func() error { return oneRoundTrip(ceil, ceilingRequest, ceilingReply) })
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runClients runs n calls of f from clients goroutines and returns the wall time.
func runClients(b *testing.B, clients, n int, f func() error) time.Duration {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := f(); err != nil {
					failed.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// startEchoServer answers every connection's request (read until the client's half-close
// is not needed: the client sends a known size) with reply bytes, then closes.
func startEchoServer(b *testing.B, reply int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	out := make([]byte, reply)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				n := int(hdr[0])<<24 | int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
				if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
					return
				}
				c.Write(out)
			}()
		}
	}()
	return ln.Addr().String()
}

// oneRoundTrip connects, sends a length-prefixed request of size bytes, reads reply bytes
// and closes.
func oneRoundTrip(addr string, size, reply int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 4+size)
	buf[0], buf[1], buf[2], buf[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
	if _, err := c.Write(buf); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf[:reply]); err != nil {
		return fmt.Errorf("ceiling reply: %w", err)
	}
	return nil
}
