package schannel

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

func pair(t testing.TB, version uint16, scfg, ccfg *Config) (*endpoint, *endpoint) {
	p := testPKI(t)
	if scfg == nil {
		scfg = &Config{Certificates: []tls.Certificate{p.server}}
	}
	if ccfg == nil {
		ccfg = &Config{RootCAs: p.roots}
	}
	scfg.MaxVersion, ccfg.MaxVersion = version, version
	srv := &endpoint{server: true, cred: acquire(t, sspi.CredInbound, scfg)}
	cli := &endpoint{cred: acquire(t, sspi.CredOutbound, ccfg), target: "server.test"}
	t.Cleanup(func() { sspi.DeleteSecurityContext(cli.ctx); sspi.DeleteSecurityContext(srv.ctx) })
	return cli, srv
}

var versions = []struct {
	name string
	v    uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

// TestHandshakeSplits runs real handshakes with every flight delivered in one-byte
// pieces (so every prefix of every flight is seen), in random pieces, and whole; then
// exchanges data both ways, consuming the client's post-handshake bytes.
func TestHandshakeSplits(t *testing.T) {
	splits := []struct {
		name string
		s    func() splitter
	}{
		{"whole", func() splitter { return whole }},
		{"one-byte", func() splitter { return oneByte }},
		{"random1", func() splitter { return randomPieces(1) }},
		{"random2", func() splitter { return randomPieces(2) }},
		{"random3", func() splitter { return randomPieces(3) }},
	}
	for _, v := range versions {
		for _, sp := range splits {
			t.Run(v.name+"/"+sp.name, func(t *testing.T) {
				cli, srv := pair(t, v.v, nil, nil)
				runHandshake(t, cli, srv, sp.s())
				if sp.name == "one-byte" && (cli.incomplete == 0 || srv.incomplete == 0) {
					t.Errorf("one-byte pieces gave no SEC_E_INCOMPLETE_MESSAGE (client %d, server %d)", cli.incomplete, srv.incomplete)
				}
				var ci ConnectionInfo
				if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrConnectionInfo, &ci); err != nil {
					t.Fatal(err)
				}
				if ci.Version != v.v {
					t.Fatalf("negotiated %x, want %x", ci.Version, v.v)
				}
				exchange(t, cli, srv)
			})
		}
	}
}

// exchange seals a message each way and checks it arrives.
func exchange(t testing.TB, cli, srv *endpoint) {
	t.Helper()
	for _, dir := range []struct {
		from, to *endpoint
	}{{cli, srv}, {srv, cli}} {
		msg := []byte(fmt.Sprintf("hello from server=%v", dir.from.server))
		rec := seal(t, dir.from.ctx, msg)
		got := openAll(t, dir.to, rec)
		if !bytes.Equal(got, msg) {
			t.Fatalf("got %q, want %q", got, msg)
		}
	}
}

// seal returns one record holding msg.
func seal(t testing.TB, ctx *sspi.Context, msg []byte) []byte {
	t.Helper()
	var sz sspi.StreamSizes
	if err := sspi.QueryContextAttributes(ctx, sspi.AttrStreamSizes, &sz); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sz.Header+len(msg)+sz.Trailer)
	copy(buf[sz.Header:], msg)
	bufs := []sspi.Buffer{
		{Type: sspi.BufferStreamHeader, Data: buf[:sz.Header]},
		{Type: sspi.BufferData, Data: buf[sz.Header : sz.Header+len(msg)]},
		{Type: sspi.BufferStreamTrailer, Data: buf[sz.Header+len(msg):]},
		{Type: sspi.BufferEmpty},
	}
	if err := sspi.EncryptMessage(ctx, 0, bufs, 0); err != nil {
		t.Fatal(err)
	}
	if len(bufs[0].Data) != sz.Header {
		t.Fatalf("header %d bytes, StreamSizes says %d", len(bufs[0].Data), sz.Header)
	}
	return buf[:len(bufs[0].Data)+len(bufs[1].Data)+len(bufs[2].Data)]
}

// openAll feeds e's pending bytes and rec to DecryptMessage, passing post-handshake
// messages to ISC/ASC, and returns the application data.
func openAll(t testing.TB, e *endpoint, rec []byte) []byte {
	t.Helper()
	in := append(e.buf, rec...)
	e.buf = nil
	var data []byte
	for len(in) > 0 {
		msg := []sspi.Buffer{{Type: sspi.BufferData, Data: in}, {}, {}, {}}
		_, st, err := sspi.DecryptMessage(e.ctx, msg, 0)
		if err != nil {
			t.Fatalf("DecryptMessage: %v", err)
		}
		data = append(data, msg[1].Data...)
		in = nil
		if msg[3].Type == sspi.BufferExtra {
			in = msg[3].Data
		}
		if st == sspi.Renegotiate {
			e.buf = in
			if _, err := e.step(); err != nil {
				t.Fatalf("post-handshake step: %v", err)
			}
			in = e.buf
			e.buf = nil
		}
	}
	return data
}

// TestAgainstCryptoTLS runs our client against crypto/tls's server and crypto/tls's client
// against our server over net.Pipe, reading the socket in random pieces.
func TestAgainstCryptoTLS(t *testing.T) {
	p := testPKI(t)
	for _, v := range versions {
		t.Run(v.name+"/our-client", func(t *testing.T) {
			a, b := bufferedPipe()
			defer a.Close()
			defer b.Close()
			errc := make(chan error, 1)
			go func() {
				s := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v})
				buf := make([]byte, 100)
				n, err := s.Read(buf)
				if err == nil {
					_, err = s.Write(bytes.ToUpper(buf[:n]))
				}
				errc <- err
			}()
			cli, _ := pair(t, v.v, nil, nil)
			sc := &streamConn{e: cli, conn: a, split: randomPieces(7)}
			if err := sc.handshake(); err != nil {
				t.Fatal(err)
			}
			if err := sc.write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			got, _, err := sc.read()
			if err != nil || string(got) != "PING" {
				t.Fatalf("read %q, %v", got, err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
		t.Run(v.name+"/our-server", func(t *testing.T) {
			a, b := bufferedPipe()
			defer a.Close()
			defer b.Close()
			errc := make(chan error, 1)
			go func() {
				c := tls.Client(b, &tls.Config{RootCAs: p.roots, ServerName: "server.test", MaxVersion: v.v})
				_, err := c.Write([]byte("ping"))
				buf := make([]byte, 100)
				if err == nil {
					var n int
					n, err = c.Read(buf)
					if err == nil && string(buf[:n]) != "PING" {
						err = fmt.Errorf("client read %q", buf[:n])
					}
				}
				errc <- err
			}()
			_, srv := pair(t, v.v, nil, nil)
			sc := &streamConn{e: srv, conn: a, split: randomPieces(8)}
			if err := sc.handshake(); err != nil {
				t.Fatal(err)
			}
			got, _, err := sc.read()
			if err != nil || string(got) != "ping" {
				t.Fatalf("read %q, %v", got, err)
			}
			if err := sc.write(bytes.ToUpper(got)); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestIncompleteMissingCount checks the BufferMissing count against the record header.
func TestIncompleteMissingCount(t *testing.T) {
	cli, srv := pair(t, tls.VersionTLS13, nil, nil)
	hello, err := cli.step()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4, 5, 6, len(hello) - 1} {
		srv.buf = hello[:n]
		srv.ctx = nil
		if _, err := srv.step(); err != nil {
			t.Fatal(err)
		}
		want := len(hello) - n
		if n < recordHeaderLen {
			want = 0
		}
		if srv.incomplete == 0 || srv.lastMissing != want {
			t.Errorf("%d of %d bytes: missing %d, want %d", n, len(hello), srv.lastMissing, want)
		}
		srv.incomplete = 0
	}
}

// TestGoroutinesEnd checks that deleted and abandoned contexts leave no goroutine behind.
func TestGoroutinesEnd(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		cli, srv := pair(t, tls.VersionTLS13, nil, nil)
		out, err := cli.step()
		if err != nil {
			t.Fatal(err)
		}
		srv.buf = out
		if _, err := srv.step(); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			sspi.DeleteSecurityContext(cli.ctx)
			sspi.DeleteSecurityContext(srv.ctx)
		}
		cli.ctx, srv.ctx = nil, nil // the odd ones are abandoned mid-handshake
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegistryNames(t *testing.T) {
	var names []string
	for _, pi := range sspi.EnumerateSecurityPackages() {
		names = append(names, pi.Name)
	}
	for _, want := range []string{PackageName, UnifiedName} {
		pi, err := sspi.QuerySecurityPackageInfo(want)
		if err != nil || pi.Name != want || pi.RPCID != sspi.RPCIDSchannel || pi.Capabilities != 0x107B3 {
			t.Errorf("QuerySecurityPackageInfo(%q) = %+v, %v", want, pi, err)
		}
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("EnumerateSecurityPackages lacks %q: %v", want, names)
		}
	}
	// Credentials acquired under the alias make contexts that talk to the others.
	p := testPKI(t)
	cred, _, err := sspi.AcquireCredentialsHandle("", UnifiedName, sspi.CredOutbound, nil, &Config{RootCAs: p.roots}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	_, srv := pair(t, 0, nil, nil)
	cli := &endpoint{cred: cred, target: "server.test"}
	runHandshake(t, cli, srv, whole)
	exchange(t, cli, srv)
}

func TestStatusOfErrors(t *testing.T) {
	if !errors.Is(sspi.Errorf(sspi.ErrWrongPrincipal, "x"), sspi.ErrWrongPrincipal) {
		t.Fatal("errors.Is")
	}
}
