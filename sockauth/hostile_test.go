package sockauth

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// rawClient speaks the framings by hand, to misbehave at chosen points.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	f  Framing
	cc *sspi.ClientContext
}

func dialRaw(t *testing.T, addr string, f Framing) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { nc.Close() })
	cc := sspi.NewClientContext(clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), sspi.ClientOptions{Target: "host/localhost"})
	t.Cleanup(func() { cc.Close() })
	return &rawClient{t: t, nc: nc, f: f, cc: cc}
}

func (r *rawClient) local() string { return r.nc.LocalAddr().String() }

// send writes a token in the framing; the first gss token is preceded by the opening NOOP.
func (r *rawClient) send(tok []byte, first bool) {
	var b []byte
	if r.f == FramingGSS {
		if first {
			b = appendGSSToken(b, GSSTokenNoop|GSSTokenContextNext, nil)
		}
		b = appendGSSToken(b, GSSTokenContext, tok)
	} else {
		b = appendSSPIFrame(b, tok)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawClient) recv() []byte {
	var tok []byte
	var err error
	if r.f == FramingGSS {
		_, tok, err = readGSSToken(r.nc, DefaultMaxToken, "token")
	} else {
		tok, err = readSSPIFrame(r.nc, DefaultMaxToken, "token")
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// firstLeg sends NEGOTIATE and reads the CHALLENGE: a handshake half done.
func (r *rawClient) firstLeg() []byte {
	tok, err := r.cc.Step(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.send(tok, true)
	return r.recv()
}

// TestHostileClients: garbage, an oversize length, a truncated frame, a client that stalls
// mid-handshake, one that disconnects mid-handshake, a wrong password. Each is logged with
// its status, and a well-behaved client authenticating meanwhile is not affected.
func TestHostileClients(t *testing.T) {
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: f, Timeout: 300 * time.Millisecond})
			gssOpen := appendGSSToken(nil, GSSTokenNoop|GSSTokenContextNext, nil)
			cases := []struct {
				name   string
				run    func(r *rawClient)
				status string
			}{
				{"garbage", func(r *rawClient) { r.nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) }, "SEC_E_ILLEGAL_MESSAGE"},
				{"garbage-token", func(r *rawClient) {
					junk := []byte("this is not an NTLM message at all")
					r.send(junk, true)
				}, "SEC_E_INVALID_TOKEN"},
				{"oversize", func(r *rawClient) {
					if f == FramingGSS {
						r.nc.Write(append(gssOpen, GSSTokenContext, 0xff, 0xff, 0xff, 0xff))
					} else {
						r.nc.Write([]byte{0xff, 0xff, 0xff, 0xff})
					}
				}, "SEC_E_ILLEGAL_MESSAGE"},
				{"truncated", func(r *rawClient) {
					var b []byte
					if f == FramingGSS {
						b = append(gssOpen, GSSTokenContext, 0, 0, 0, 100)
					} else {
						b = binary.LittleEndian.AppendUint32(nil, 100)
					}
					r.nc.Write(append(b, "only ten b"...))
					r.nc.(*net.TCPConn).CloseWrite()
				}, "SEC_E_INCOMPLETE_MESSAGE"},
				{"stall", func(r *rawClient) { r.firstLeg() /* and say nothing more */ }, "TIMEOUT"},
				{"stall-in-frame", func(r *rawClient) {
					r.firstLeg()
					r.nc.Write([]byte{GSSTokenContext, 0}) // half a header, then nothing
				}, "TIMEOUT"},
				{"disconnect", func(r *rawClient) { r.firstLeg(); r.nc.Close() }, "DISCONNECTED"},
				{"wrong-password", func(r *rawClient) {
					bad := sspi.NewClientContext(clientCreds(t, "NTLM", testDomain+`\`+testUser, "wrong"), sspi.ClientOptions{Target: "host/localhost"})
					defer bad.Close()
					r.cc = bad
					ch := r.firstLeg()
					auth, err := bad.Step(ch)
					if err != nil {
						t.Fatal(err)
					}
					r.send(auth, false)
					io.Copy(io.Discard, r.nc) // the server closes
				}, "SEC_E_LOGON_DENIED"},
			}
			var wg sync.WaitGroup
			hostile := make(map[string]string) // local address -> expected status
			var mu sync.Mutex
			for _, tc := range cases {
				r := dialRaw(t, srv.Addr, f)
				mu.Lock()
				hostile[r.local()] = tc.name + ":" + tc.status
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					tc.run(r)
				}()
			}
			// A good client in the middle of it all.
			good := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: f, Messages: true}
			c, err := good.Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatalf("good client: %v", err)
			}
			exchange(t, c, f, true)
			c.Close()
			wg.Wait()
			for addr, want := range hostile {
				rec := srv.Log.waitRecord(t, addr)
				name, status, _ := cut(want, ":")
				if rec["status"] != status || rec["level"] != "WARN" || rec["cause"] == nil {
					t.Errorf("%s: log %v, want status %s", name, rec, status)
				}
			}
		})
	}
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// TestBackpressure: with every handshake slot held by stalled clients, a new client waits
// in the backlog and is served as soon as a staller times out.
func TestBackpressure(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), MaxPending: 2, Timeout: 400 * time.Millisecond})
	for range 2 {
		r := dialRaw(t, srv.Addr, FramingSSPI)
		r.firstLeg() // holds a slot until its time-out
	}
	start := time.Now()
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Timeout: 5 * time.Second}
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("served after %v, before a slot was free", d)
	}
}

// TestIdleSessionTimesOut: an authenticated client that goes quiet is dropped after the
// time-out, and logged.
func TestIdleSessionTimesOut(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingGSS, Timeout: 200 * time.Millisecond})
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS}
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One message delivers the client's last token (corked until then) and proves the
	// session is up; then the client says nothing.
	if err := c.WriteMessage([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	rec := srv.Log.waitRecord(t, c.LocalAddr().String())
	if rec["status"] != "TIMEOUT" || rec["identity"] != testDomain+`\`+testUser || rec["messages_in"] != 1.0 {
		t.Errorf("log %v", rec)
	}
}

// TestGracefulShutdown: a handshake in flight when Shutdown starts is finished, the
// session after it is ended cleanly, new clients are refused, and Shutdown returns.
func TestGracefulShutdown(t *testing.T) {
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			lb := &logBuffer{}
			s := &Server{Credentials: serverCreds(t, "NTLM"), Framing: f, Logger: newJSONLogger(lb)}
			served := make(chan error, 1)
			go func() { served <- s.Serve(l) }()

			// An idle authenticated session (gss) or sample client waiting for its greeting.
			idle := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: f, Messages: true}
			ic, err := idle.Dial(testCtx(t), l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer ic.Close()
			if f == FramingSSPI {
				if _, err := ic.ReadMessage(); err != nil { // the greeting
					t.Fatal(err)
				}
			} else if err := ic.WriteMessage([]byte("hello")); err != nil {
				t.Fatal(err)
			}

			r := dialRaw(t, l.Addr().String(), f)
			challenge := r.firstLeg()
			shut := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shut <- s.Shutdown(ctx)
			}()
			time.Sleep(50 * time.Millisecond)
			auth, err := r.cc.Step(challenge)
			if err != nil {
				t.Fatal(err)
			}
			r.send(auth, false)
			if f == FramingSSPI {
				// The sample session: the greeting arrives although the server is shutting down.
				body, err := io.ReadAll(r.nc)
				if err != nil || len(body) == 0 {
					t.Fatalf("greeting during shutdown: %d bytes, %v", len(body), err)
				}
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := <-served; err != ErrServerClosed {
				t.Fatalf("Serve: %v", err)
			}
			if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
				t.Errorf("a new connection was accepted after Shutdown")
			}
			rec := lb.waitRecord(t, r.local())
			if rec["identity"] != testDomain+`\`+testUser {
				t.Errorf("the handshake in flight did not finish: %v", rec)
			}
		})
	}
}

// TestClientGivesUp: a server that accepts and then says nothing costs the client its
// context's deadline, not its Timeout; and Close unblocks a ReadMessage in progress.
func TestClientGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := cl.Dial(ctx, l.Addr().String()); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Dial against a silent server: %v after %v", err, time.Since(start))
	}

	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingSSPI, Handler: func(ctx context.Context, c *Conn) error {
		<-ctx.Done() // never greets
		return nil
	}})
	c, err := (&Client{Credentials: cl.Credentials, Messages: true, Timeout: time.Minute}).Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.ReadMessage(); done <- err }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ReadMessage returned a message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadMessage")
	}
}
