package sockauth

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/schannel"
)

var (
	tlsPKIOnce sync.Once
	tlsPKIVal  *testpeers.PKI
)

// tlsPKI is one PKI for the package's tests (its files live in the first test's
// temporary directory; only the in-memory certificates are used after it).
func tlsPKI(t testing.TB) *testpeers.PKI {
	t.Helper()
	tlsPKIOnce.Do(func() { tlsPKIVal = testpeers.NewPKI(t) })
	return tlsPKIVal
}

func schannelCreds(t testing.TB, use sspi.CredentialUse, cfg *schannel.Config) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", schannel.PackageName, use, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// tlsServer starts a FramingTLS server with the PKI's server certificate; cfg adds to it.
func tlsServer(t testing.TB, cfg schannel.Config, s *Server) *testServer {
	t.Helper()
	cfg.Certificates = []tls.Certificate{tlsPKI(t).Server.Cert}
	s.Credentials = schannelCreds(t, sspi.CredInbound, &cfg)
	s.Framing = FramingTLS
	return startServer(t, s)
}

func tlsClient(t testing.TB, cfg schannel.Config) *Client {
	t.Helper()
	if cfg.RootCAs == nil {
		cfg.RootCAs = tlsPKI(t).Roots
	}
	return &Client{Credentials: schannelCreds(t, sspi.CredOutbound, &cfg), Framing: FramingTLS, Target: "localhost", Timeout: 10 * time.Second}
}

// TestTLSFramingSession: our client and server over TCP, TLS 1.2 and 1.3: the greeting
// with its newline, a message and its echo, a long message over several records, the
// close_notify both ways, and one log line with the status OK.
func TestTLSFramingSession(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			srv := tlsServer(t, schannel.Config{MaxVersion: v}, &Server{})
			cl := tlsClient(t, schannel.Config{})
			c, err := cl.Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			if id := c.Identity(); id.Server != "localhost" || !c.Attributes().Has(sspi.ISCRetMutualAuth) {
				t.Errorf("identity %+v, attributes %s: want the server proven as localhost", id, c.Attributes().Format(false))
			}
			var ci schannel.ConnectionInfo
			if err := sspi.QueryContextAttributes(c.SecurityContext(), sspi.AttrConnectionInfo, &ci); err != nil || ci.Version != v {
				t.Errorf("connection info %+v, %v; want version %x", ci, err, v)
			}
			g, err := c.ReadMessage()
			if err != nil || string(g) != DefaultGreeting+"\n" {
				t.Fatalf("greeting %q, %v", g, err)
			}
			if err := c.WriteMessage([]byte("hello\n")); err != nil {
				t.Fatal(err)
			}
			if echo, err := c.ReadMessage(); err != nil || string(echo) != "hello\n" {
				t.Fatalf("echo %q, %v", echo, err)
			}
			// 40000 bytes: three records, read back as a stream (and counted as three
			// messages by the server, which echoes record by record).
			long := strings.Repeat("0123456789", 4000)
			go c.Write([]byte(long))
			got := make([]byte, len(long))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != long {
				t.Fatalf("a 40000-byte message came back as %d bytes, %v", len(got), err)
			}
			local := c.nc.LocalAddr().String()
			// Our close_notify; the server answers with its own (SEC_I_CONTEXT_EXPIRED
			// here), not a bare close of the connection.
			c.wmu.Lock()
			err = c.tlsCloseNotify()
			c.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if msg, err := c.ReadMessage(); err != io.EOF || !c.tls.peerClosed {
				t.Errorf("after our close_notify: %q, %v, the server's close_notify seen: %v", msg, err, c.tls.peerClosed)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			rec := srv.Log.waitRecord(t, local)
			if rec["status"] != "SEC_E_OK" || rec["framing"] != "tls" || rec["package"] != "Schannel" || rec["messages_in"] != 4.0 {
				t.Errorf("log %v", rec)
			}
		})
	}
}

// onePieceConn delivers what it reads one byte at a time and writes one byte at a time:
// every record of the handshake arrives in pieces, at both ends.
type onePieceConn struct{ net.Conn }

func (c onePieceConn) Read(p []byte) (int, error) { return c.Conn.Read(p[:min(len(p), 1)]) }
func (c onePieceConn) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := c.Conn.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// TestTLSFramingOneBytePieces: a client whose every read and write is one byte drives
// the loop by SEC_E_INCOMPLETE_MESSAGE at both ends, and the session still works.
func TestTLSFramingOneBytePieces(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			srv := tlsServer(t, schannel.Config{MaxVersion: v}, &Server{})
			nc, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			nc.(*net.TCPConn).SetNoDelay(true)
			var legs []Leg
			cl := tlsClient(t, schannel.Config{})
			cl.Trace = func(l Leg) { legs = append(legs, l) }
			c, err := cl.Handshake(testCtx(t), onePieceConn{nc})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(legs) < 2 || legs[len(legs)-1].Status != sspi.OK {
				t.Errorf("legs %v", legs)
			}
			if g, err := c.ReadMessage(); err != nil || string(g) != DefaultGreeting+"\n" {
				t.Fatalf("greeting %q, %v", g, err)
			}
			if err := c.WriteMessage([]byte("piece by piece")); err != nil {
				t.Fatal(err)
			}
			if echo, err := c.ReadMessage(); err != nil || string(echo) != "piece by piece" {
				t.Fatalf("echo %q, %v", echo, err)
			}
		})
	}
}

// TestTLSFramingClientCertificate: a server that requires a client certificate names the
// client by it; a client without one is refused, with the status in the log.
func TestTLSFramingClientCertificate(t *testing.T) {
	p := tlsPKI(t)
	srv := tlsServer(t, schannel.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ClientRoots}, &Server{})
	cl := tlsClient(t, schannel.Config{Certificates: []tls.Certificate{p.Client.Cert}})
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := c.ReadMessage(); err != nil || string(g) != DefaultGreeting+"\n" {
		t.Fatalf("greeting %q, %v", g, err)
	}
	local := c.nc.LocalAddr().String()
	c.Close()
	if rec := srv.Log.waitRecord(t, local); rec["identity"] != "CN=alice" || rec["status"] != "SEC_E_OK" {
		t.Errorf("log %v; want the client named CN=alice", rec)
	}

	anon := tlsClient(t, schannel.Config{})
	c, err = anon.Dial(testCtx(t), srv.Addr)
	if err == nil {
		// TLS 1.3: the client finishes before the server has checked its (empty)
		// certificate; the refusal shows at the first read.
		_, err = c.ReadMessage()
		c.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); sleepBriefly() {
		for _, rec := range srv.Log.records(t) {
			if rec["status"] == "SEC_E_LOGON_DENIED" && rec["msg"] == "authentication failed" {
				return
			}
		}
	}
	t.Errorf("no SEC_E_LOGON_DENIED line for the client without a certificate:\n%s", srv.Log)
}

// TestTLSFramingOtherFraming: a client of the sspi framing is told apart at once.
func TestTLSFramingOtherFraming(t *testing.T) {
	srv := tlsServer(t, schannel.Config{}, &Server{})
	r := dialRaw(t, srv.Addr, FramingSSPI)
	tok, err := r.cc.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	r.send(tok, true)
	rec := srv.Log.waitRecord(t, r.local())
	if cause, _ := rec["cause"].(string); rec["status"] != "SEC_E_ILLEGAL_MESSAGE" || !strings.Contains(cause, "sspi-framed") {
		t.Errorf("log %v", rec)
	}
}

// TestTLSFramingHardening: the server's defences apply to the tls framing, whose reads
// are driven by the missing count: a client that sends half a ClientHello and stalls is
// cut at the handshake's deadline, one that trickles it by the rate floor; a second
// handshake from an address at its cap is closed at once; Shutdown cuts a stalled
// handshake after its drain time-out; a record header announcing too much is refused.
func TestTLSFramingHardening(t *testing.T) {
	hello := clientHello(t)
	t.Run("deadline", func(t *testing.T) {
		srv := tlsServer(t, schannel.Config{}, &Server{HandshakeTimeout: 500 * time.Millisecond, MinRate: -1})
		nc := dialTCP(t, srv.Addr)
		nc.Write(hello[:len(hello)/2])
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if cause, _ := rec["cause"].(string); rec["status"] != "TIMEOUT" || !strings.Contains(cause, "did not finish within 500ms") {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("rate", func(t *testing.T) {
		srv := tlsServer(t, schannel.Config{}, &Server{HandshakeTimeout: time.Minute, MinRate: 100, MinRateGrace: 300 * time.Millisecond})
		nc := dialTCP(t, srv.Addr)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i := 0; i < len(hello); i++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := nc.Write(hello[i : i+1]); err != nil {
						return
					}
				}
			}
		}()
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if cause, _ := rec["cause"].(string); rec["status"] != "TIMEOUT" || !strings.Contains(cause, "below the minimum rate of 100 bytes/s") {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("per-address cap", func(t *testing.T) {
		srv := tlsServer(t, schannel.Config{}, &Server{MaxPendingPerAddr: 1, MinRate: -1, Timeout: time.Minute})
		held := dialTCP(t, srv.Addr)
		held.Write(hello[:len(hello)/2])
		// The held handshake is counted once the server has read from it.
		for end := time.Now().Add(10 * time.Second); ; sleepBriefly() {
			srv.mu.Lock()
			n := len(srv.handshaking)
			srv.mu.Unlock()
			if n == 1 || time.Now().After(end) {
				break
			}
		}
		second := dialTCP(t, srv.Addr)
		second.Write(hello)
		second.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := second.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("a second handshake from the address: read %d bytes, %v; want the connection closed", n, err)
		}
	})
	t.Run("drain", func(t *testing.T) {
		srv := tlsServer(t, schannel.Config{}, &Server{MinRate: -1, Timeout: time.Minute, DrainTimeout: 300 * time.Millisecond})
		nc := dialTCP(t, srv.Addr)
		nc.Write(hello[:len(hello)/2])
		for end := time.Now().Add(10 * time.Second); ; sleepBriefly() {
			srv.mu.Lock()
			n := len(srv.handshaking)
			srv.mu.Unlock()
			if n == 1 || time.Now().After(end) {
				break
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v; want the stalled handshake cut after the drain time-out", err)
		}
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if rec["msg"] != "handshake cut by shutdown" || rec["status"] != "SHUTDOWN" {
			t.Errorf("log %v", rec)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		srv := tlsServer(t, schannel.Config{}, &Server{MaxToken: 4096})
		nc := dialTCP(t, srv.Addr)
		// A record header that announces more than a record may hold.
		nc.Write([]byte{22, 3, 1, 0xff, 0xff})
		rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
		if rec["status"] != "SEC_E_ILLEGAL_MESSAGE" {
			t.Errorf("log %v", rec)
		}
	})
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// clientHello is the first token of a Schannel client.
func clientHello(t *testing.T) []byte {
	t.Helper()
	cred := schannelCreds(t, sspi.CredOutbound, &schannel.Config{RootCAs: tlsPKI(t).Roots})
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	ctx, _, err := sspi.InitializeSecurityContext(cred, nil, "localhost", tlsClientReq, 0, nil, out)
	if err != nil {
		t.Fatal(err)
	}
	sspi.DeleteSecurityContext(ctx)
	return out[0].Data
}

// TestTLSFramingHTTP: an HTTP handler over the tls framing's byte stream (Conn.Read and
// Conn.Write), spoken to by Go's HTTP client over crypto/tls.
func TestTLSFramingHTTP(t *testing.T) {
	srv := tlsServer(t, schannel.Config{}, &Server{Handler: httpOnce(func(r *http.Request) (int, string) {
		return 200, "hello " + r.URL.Path
	})})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tlsPKI(t).Roots, ServerName: "localhost"}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + srv.Addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello /x" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

// httpOnce is a Handler that answers one HTTP/1.1 request over the session's stream.
func httpOnce(f func(*http.Request) (int, string)) Handler {
	return func(_ context.Context, c *Conn) error {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return err
		}
		code, body := f(req)
		resp := &http.Response{StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Close: true,
			ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)), Request: req,
			Header: http.Header{"Content-Type": {"text/plain"}}}
		if err := resp.Write(c); err != nil {
			return err
		}
		return c.Close()
	}
}

// TestTLSClientToOtherFramings: a TLS ClientHello sent to a server of the sspi or gss
// framing is recognized, and the log says the client speaks tls.
func TestTLSClientToOtherFramings(t *testing.T) {
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: f})
			nc := dialTCP(t, srv.Addr)
			nc.Write(clientHello(t))
			rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
			if cause, _ := rec["cause"].(string); rec["status"] != "SEC_E_ILLEGAL_MESSAGE" || !strings.Contains(cause, "tls-framed") {
				t.Errorf("log %v", rec)
			}
		})
	}
}

// TestTLSFramingCloseNotifyAnswered: the peer's close_notify (SEC_I_CONTEXT_EXPIRED from
// DecryptMessage) is answered at once with ours, made by ApplyControlToken(SCHANNEL_SHUTDOWN)
// and InitializeSecurityContext, before the application closes anything.
func TestTLSFramingCloseNotifyAnswered(t *testing.T) {
	answered := make(chan bool, 1)
	srv := tlsServer(t, schannel.Config{}, &Server{Timeout: 2 * time.Second, Handler: func(_ context.Context, c *Conn) error {
		c.wmu.Lock()
		err := c.tlsCloseNotify()
		c.wmu.Unlock()
		if err != nil {
			return err
		}
		_, err = c.ReadMessage()
		answered <- err == io.EOF && c.tls.peerClosed
		return nil
	}})
	c, err := tlsClient(t, schannel.Config{}).Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if msg, err := c.ReadMessage(); err != io.EOF {
		t.Fatalf("read %q, %v; want io.EOF at the server's close_notify", msg, err)
	}
	if !<-answered {
		t.Error("the client did not answer the server's close_notify with its own")
	}
}
