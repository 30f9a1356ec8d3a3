package schannel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// pki is a test CA with certificates issued from it, made once per test binary.
type pki struct {
	caCert     *x509.Certificate
	roots      *x509.CertPool
	server     tls.Certificate // for server.test and localhost
	expired    tls.Certificate
	clientCA   *x509.Certificate
	clientRoot *x509.CertPool
	client     tls.Certificate
	otherRoots *x509.CertPool // a CA that issued nothing here
}

var (
	pkiOnce sync.Once
	thePKI  *pki
)

func testPKI(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() {
		p := &pki{}
		caKey, ca := mustCA("gosspi test CA")
		p.caCert = ca
		p.roots = x509.NewCertPool()
		p.roots.AddCert(ca)
		now := time.Now()
		p.server = mustLeaf(ca, caKey, "server.test", []string{"server.test", "localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageServerAuth)
		p.expired = mustLeaf(ca, caKey, "server.test", []string{"server.test"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageServerAuth)
		cKey, cca := mustCA("gosspi client CA")
		p.clientCA = cca
		p.clientRoot = x509.NewCertPool()
		p.clientRoot.AddCert(cca)
		p.client = mustLeaf(cca, cKey, "alice", nil, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
		_, other := mustCA("unrelated CA")
		p.otherRoots = x509.NewCertPool()
		p.otherRoots.AddCert(other)
		thePKI = p
	})
	return thePKI
}

var serial int64

func mustCA(name string) (*ecdsa.PrivateKey, *x509.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(72 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func mustLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, from, to time.Time, usage x509.ExtKeyUsage) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf}
}

func acquire(t testing.TB, use sspi.CredentialUse, cfg *Config) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", PackageName, use, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// endpoint drives one side of a handshake the way a Windows Schannel program does: it
// keeps the bytes received so far, calls ISC or ASC with them, and on
// SEC_E_INCOMPLETE_MESSAGE waits for more; a BufferExtra buffer is what it keeps.
type endpoint struct {
	server bool
	cred   *sspi.Credentials
	ctx    *sspi.Context
	target string
	req    sspi.ContextReq
	first  []sspi.Buffer // extra input buffers of the first call (ALPN)
	buf    []byte        // received, not consumed
	done   bool
	status sspi.Status
	// incomplete counts SEC_E_INCOMPLETE_MESSAGE answers; lastMissing is the last count.
	incomplete, lastMissing int
}

// step calls ISC or ASC with what has been received and returns the token to send.
func (e *endpoint) step() ([]byte, error) {
	in := []sspi.Buffer{{Type: sspi.BufferToken, Data: e.buf}, {Type: sspi.BufferEmpty}}
	if e.ctx == nil {
		in = append(in, e.first...)
	}
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	var err error
	var ctx *sspi.Context
	if e.server {
		ctx, e.status, err = sspi.AcceptSecurityContext(e.cred, e.ctx, e.req|sspi.ASCReqAllocateMemory, 0, in, out)
	} else {
		ctx, e.status, err = sspi.InitializeSecurityContext(e.cred, e.ctx, e.target, e.req|sspi.ISCReqAllocateMemory, 0, in, out)
	}
	if ctx != nil {
		e.ctx = ctx
	}
	if errors.Is(err, sspi.ErrIncompleteMessage) {
		e.incomplete++
		if in[1].Type != sspi.BufferMissing {
			return nil, errors.New("SEC_E_INCOMPLETE_MESSAGE without a BufferMissing buffer")
		}
		e.lastMissing = in[1].Size
		return nil, nil
	}
	if err != nil {
		return out[0].Data, err
	}
	e.buf = nil
	if in[1].Type == sspi.BufferExtra {
		e.buf = append([]byte(nil), in[1].Data...)
	}
	if e.status == sspi.OK {
		e.done = true
	}
	return out[0].Data, nil
}

// splitter chooses the size of the next piece delivered, out of n pending bytes.
type splitter func(n int) int

func whole(n int) int { return n }
func oneByte(int) int { return 1 }

func randomPieces(seed int64) splitter {
	r := newRand(seed)
	return func(n int) int { return 1 + r.Intn(n) }
}

// runHandshake runs client and server against each other, delivering each side's bytes
// in pieces chosen by split. It returns when both are established.
func runHandshake(t testing.TB, cli, srv *endpoint, split splitter) {
	t.Helper()
	out, err := cli.step()
	if err != nil {
		t.Fatalf("first ISC: %v", err)
	}
	var toSrv, toCli []byte
	toSrv = append(toSrv, out...)
	for i := 0; i < 100000; i++ {
		if cli.done && srv.done && len(toSrv) == 0 {
			// Bytes still on their way to the client (a TLS 1.3 ticket) are post-handshake.
			cli.buf = append(cli.buf, toCli...)
			return
		}
		switch {
		case len(toSrv) > 0 && !srv.done:
			n := split(len(toSrv))
			srv.buf = append(srv.buf, toSrv[:n]...)
			toSrv = toSrv[n:]
			out, err := srv.step()
			if err != nil {
				t.Fatalf("ASC: %v", err)
			}
			toCli = append(toCli, out...)
		case len(toCli) > 0 && !cli.done:
			n := split(len(toCli))
			cli.buf = append(cli.buf, toCli[:n]...)
			toCli = toCli[n:]
			out, err := cli.step()
			if err != nil {
				t.Fatalf("ISC: %v", err)
			}
			toSrv = append(toSrv, out...)
		default:
			t.Fatalf("handshake stuck: client done %v (%v), server done %v (%v), %d bytes to server, %d to client",
				cli.done, cli.status, srv.done, srv.status, len(toSrv), len(toCli))
		}
	}
	t.Fatal("handshake did not finish")
}

// streamConn is the Windows-sample loop over a socket: the handshake and then messages,
// reads driven by SEC_E_INCOMPLETE_MESSAGE.
type streamConn struct {
	e     *endpoint
	conn  net.Conn
	split splitter
	rbuf  []byte
	sizes sspi.StreamSizes
}

// readMore reads one piece from the connection.
func (s *streamConn) readMore() error {
	b := make([]byte, 4096)
	if s.split != nil {
		b = b[:s.split(len(b))]
	}
	n, err := s.conn.Read(b)
	s.rbuf = append(s.rbuf, b[:n]...)
	return err
}

func (s *streamConn) handshake() error {
	e := s.e
	if !e.server {
		out, err := e.step()
		if err != nil {
			return err
		}
		if _, err := s.conn.Write(out); err != nil {
			return err
		}
	}
	for !e.done {
		if err := s.readMore(); err != nil {
			return err
		}
		e.buf = s.rbuf
		for {
			out, err := e.step()
			if len(out) > 0 {
				if _, werr := s.conn.Write(out); werr != nil {
					return werr
				}
			}
			if err != nil {
				return err
			}
			s.rbuf = e.buf
			// Bytes after a finished flight may already hold the next one.
			if e.done || len(e.buf) == 0 || e.incomplete > 0 && len(out) == 0 {
				break
			}
		}
		e.incomplete = 0
	}
	s.rbuf = e.buf
	return sspi.QueryContextAttributes(e.ctx, sspi.AttrStreamSizes, &s.sizes)
}

func (s *streamConn) write(p []byte) error {
	buf := make([]byte, s.sizes.Header+len(p)+s.sizes.Trailer)
	copy(buf[s.sizes.Header:], p)
	msg := []sspi.Buffer{
		{Type: sspi.BufferStreamHeader, Data: buf[:s.sizes.Header]},
		{Type: sspi.BufferData, Data: buf[s.sizes.Header : s.sizes.Header+len(p)]},
		{Type: sspi.BufferStreamTrailer, Data: buf[s.sizes.Header+len(p):]},
		{Type: sspi.BufferEmpty},
	}
	if err := sspi.EncryptMessage(s.e.ctx, 0, msg, 0); err != nil {
		return err
	}
	_, err := s.conn.Write(buf[:len(msg[0].Data)+len(msg[1].Data)+len(msg[2].Data)])
	return err
}

// read returns the next application data, handling post-handshake messages.
func (s *streamConn) read() ([]byte, sspi.Status, error) {
	for {
		if len(s.rbuf) > 0 {
			msg := []sspi.Buffer{{Type: sspi.BufferData, Data: s.rbuf}, {}, {}, {}}
			_, st, err := sspi.DecryptMessage(s.e.ctx, msg, 0)
			switch {
			case errors.Is(err, sspi.ErrIncompleteMessage):
			case err != nil:
				return nil, st, err
			default:
				var extra []byte
				if msg[3].Type == sspi.BufferExtra {
					extra = msg[3].Data
				}
				data := append([]byte(nil), msg[1].Data...)
				s.rbuf = append([]byte(nil), extra...)
				if st == sspi.Renegotiate {
					s.e.buf = s.rbuf
					out, err := s.e.step()
					if err != nil {
						return nil, st, err
					}
					if len(out) > 0 {
						if _, err := s.conn.Write(out); err != nil {
							return nil, st, err
						}
					}
					s.rbuf = s.e.buf
					continue
				}
				if st == sspi.ContextExpired || len(data) > 0 {
					return data, st, nil
				}
				continue
			}
		}
		if err := s.readMore(); err != nil {
			if errors.Is(err, io.EOF) && len(s.rbuf) == 0 {
				return nil, 0, err
			}
			if !errors.Is(err, io.EOF) {
				return nil, 0, err
			}
		}
	}
}

// bufferedPipe is net.Pipe with a send buffer on a's side, as a socket has: our side's
// writes never wait for the peer to read.
func bufferedPipe() (a, b net.Conn) {
	x, y := net.Pipe()
	return &sendBuffered{Conn: x, q: make(chan []byte, 64)}, y
}

type sendBuffered struct {
	net.Conn
	q    chan []byte
	once sync.Once
}

func (s *sendBuffered) Write(p []byte) (int, error) {
	s.once.Do(func() {
		go func() {
			for b := range s.q {
				if _, err := s.Conn.Write(b); err != nil {
					for range s.q {
					}
					return
				}
			}
		}()
	})
	s.q <- append([]byte(nil), p...)
	return len(p), nil
}

func (s *sendBuffered) Close() error {
	s.once.Do(func() {})
	close(s.q)
	return s.Conn.Close()
}
