package sockauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

// tlsPair is an established client and server Conn of the tls framing over loopback
// TCP; the server's handler holds its Conn until the test ends.
func tlsPair(tb testing.TB, v uint16) (cli, srv *Conn) {
	tb.Helper()
	got := make(chan *Conn, 1)
	release := make(chan struct{})
	s := tlsServer(tb, schannel.Config{MaxVersion: v}, &Server{Logger: quietLogger(), Handler: func(_ context.Context, c *Conn) error {
		got <- c
		<-release
		return nil
	}})
	tb.Cleanup(func() { close(release) }) // before the server's Shutdown, which waits for the handler
	cl := tlsClient(tb, schannel.Config{})
	c, err := cl.Dial(context.Background(), s.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c, <-got
}

// TestTLSFramingAllocations: a message through Conn.Write and Conn.Read costs no more
// allocations than EncryptMessage and DecryptMessage themselves on the same contexts:
// the record buffers and buffer lists are the connection's, reused, and a record is read
// straight into the record buffer (not through the 1 KiB bufio.Reader, which cut every
// record over 1 KiB in two and cost an SEC_E_INCOMPLETE_MESSAGE each time: 8
// allocations a message before).
func TestTLSFramingAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	for _, size := range []int{1 << 10, 16 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cli, srv := tlsPair(t, tls.VersionTLS13)
			msg := make([]byte, size)
			buf := make([]byte, size)
			// Warm up: the write buffer is made on the first write.
			cli.Write(msg)
			io.ReadFull(srv, buf)
			conn := testing.AllocsPerRun(200, func() {
				if _, err := cli.Write(msg); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(srv, buf); err != nil {
					t.Fatal(err)
				}
			})
			sz := cli.tls.sizes
			rec := make([]byte, sz.Header+size+sz.Trailer)
			m, d := new([4]sspi.Buffer), new([4]sspi.Buffer)
			raw := testing.AllocsPerRun(200, func() {
				copy(rec[sz.Header:], msg)
				*m = [4]sspi.Buffer{{Type: sspi.BufferStreamHeader, Data: rec[:sz.Header]}, {Type: sspi.BufferData, Data: rec[sz.Header : sz.Header+size]},
					{Type: sspi.BufferStreamTrailer, Data: rec[sz.Header+size:]}, {Type: sspi.BufferEmpty}}
				if err := sspi.EncryptMessage(cli.ctx, 0, m[:], 0); err != nil {
					t.Fatal(err)
				}
				n := len(m[0].Data) + len(m[1].Data) + len(m[2].Data)
				*d = [4]sspi.Buffer{{Type: sspi.BufferData, Data: rec[:n]}, {}, {}, {}}
				if _, _, err := sspi.DecryptMessage(srv.ctx, d[:], 0); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d-byte message: %.1f allocations through Conn, %.1f for EncryptMessage+DecryptMessage alone", size, conn, raw)
			// Half an allocation of slack: a record that a TCP read brings in two pieces
			// now and then costs DecryptMessage an SEC_E_INCOMPLETE_MESSAGE error; a
			// buffer list or record buffer made per message costs one or more every time.
			if conn > raw+0.5 {
				t.Errorf("%d-byte message: %.1f allocations through Conn, more than the %.1f of EncryptMessage+DecryptMessage", size, conn, raw)
			}
		})
	}
}

// BenchmarkTLSFraming compares the tls framing (Schannel over sockauth, the Windows
// program's loop) with crypto/tls used directly, over loopback TCP, TLS 1.3, the same
// certificate and crypto/tls's default suites on both: full handshakes (dial, handshake,
// close), and messages echoed (1 KiB and 16 KiB, one record each way).
func BenchmarkTLSFraming(b *testing.B) {
	p := tlsPKI(b)
	b.Run("handshake/sockauth", func(b *testing.B) {
		s := tlsServer(b, schannel.Config{DisableSessionCache: true}, &Server{Logger: quietLogger(), MaxPendingPerAddr: -1,
			Handler: func(context.Context, *Conn) error { return nil }})
		cl := tlsClient(b, schannel.Config{DisableSessionCache: true})
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			c, err := cl.Dial(context.Background(), s.Addr)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
	b.Run("handshake/crypto-tls", func(b *testing.B) {
		addr := cryptoTLSServer(b, p.Server.Cert, func(c *tls.Conn) { c.Handshake() })
		cfg := &tls.Config{RootCAs: p.Roots, ServerName: "localhost"}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
	for _, size := range []int{1 << 10, 16 << 10} {
		msg := make([]byte, size)
		buf := make([]byte, size)
		b.Run(fmt.Sprintf("echo-%dK/sockauth", size>>10), func(b *testing.B) {
			s := tlsServer(b, schannel.Config{}, &Server{Logger: quietLogger()})
			c, err := tlsClient(b, schannel.Config{}).Dial(context.Background(), s.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if _, err := c.ReadMessage(); err != nil { // the greeting
				b.Fatal(err)
			}
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.Write(msg)
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("echo-%dK/crypto-tls", size>>10), func(b *testing.B) {
			addr := cryptoTLSServer(b, p.Server.Cert, func(c *tls.Conn) {
				rb := make([]byte, 16<<10)
				for {
					n, err := c.Read(rb)
					if err != nil {
						return
					}
					c.Write(rb[:n])
				}
			})
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Roots, ServerName: "localhost"})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.Write(msg)
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cryptoTLSServer serves serve over crypto/tls on loopback until the benchmark ends.
func cryptoTLSServer(b *testing.B, cert tls.Certificate, serve func(*tls.Conn)) string {
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c.(*tls.Conn))
			}()
		}
	}()
	return l.Addr().String()
}
