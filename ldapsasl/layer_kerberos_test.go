package ldapsasl

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

// saslServer is the server side of a GSSAPI bind with our own Kerberos acceptor, for what
// a real server never does: offer what it should not, send unsealed or altered buffers.
type saslServer struct {
	t    *testing.T
	ctx  *sspi.ServerContext
	conn *Conn    // the client's side
	peer net.Conn // the server's end of the pipe
}

// bindPair establishes a context between conn's Client and a Kerberos acceptor for
// ldap/localhost with a ticket from an in-process KDC (kerberos/kdctest).
func bindPair(t *testing.T, cfg Config) *saslServer {
	t.Helper()
	kdc := testkdc.Shared(t, testpeers.KDCOptions{Services: []string{"ldap/localhost"}})
	ccred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil, &kerberos.ClientConfig{
		Principal: kdc.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: kdc.Krb5Conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredInbound, nil, &kerberos.ServerConfig{Keytab: kdc.Keytab}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(ccred); sspi.FreeCredentialsHandle(scred) })
	a, b := net.Pipe()
	cfg.Credentials = ccred
	s := &saslServer{t: t, ctx: sspi.NewServerContext(scred, sspi.ServerOptions{}), conn: NewConn(a, cfg), peer: b}
	t.Cleanup(func() { s.conn.Close(); b.Close(); s.ctx.Close() })
	cl := s.conn.Client()
	tok, more, err := cl.InitSecContext("ldap/localhost", nil)
	for err == nil && more {
		var reply []byte
		if reply, err = s.ctx.Step(tok); err != nil {
			break
		}
		tok, more, err = cl.InitSecContext("ldap/localhost", reply)
	}
	if err == nil && !s.ctx.Established() {
		_, err = s.ctx.Step(tok)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// offer sends the server's layer offer and returns the client's answer, unwrapped.
func (s *saslServer) offer(layers Layer, maxSize int) ([]byte, error) {
	tok, err := s.ctx.WrapIntegrityOnly(layerOffer{layers: layers, maxSize: maxSize}.marshal(""))
	if err != nil {
		s.t.Fatal(err)
	}
	answer, err := s.conn.Client().NegotiateSaslAuth(tok, "")
	if err != nil {
		return nil, err
	}
	return s.ctx.Unwrap(answer)
}

// succeed sends the bind's success, unprotected, and writes msgs after it as SASL buffers.
func (s *saslServer) succeed(bufs ...[]byte) {
	go func() {
		out := ldapMessage(bindResponse(0), false)
		for _, b := range bufs {
			out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
			out = append(out, b...)
		}
		s.peer.Write(out)
	}()
}

// readAll reads what the Conn delivers: the bind result, then n more bytes.
func (s *saslServer) read(n int) ([]byte, error) {
	bind := make([]byte, len(ldapMessage(bindResponse(0), false)))
	if _, err := io.ReadFull(s.conn, bind); err != nil {
		return nil, err
	}
	got := make([]byte, n)
	_, err := io.ReadFull(s.conn, got)
	return got, err
}

// TestLayerNegotiation: the client picks the strongest acceptable layer, tells its
// maximum buffer size, and refuses an offer with nothing it accepts (as when a man in the
// middle could strip the offer to "none", which the offer's wrap token prevents anyway).
func TestLayerNegotiation(t *testing.T) {
	for _, tt := range []struct {
		name   string
		accept Layer
		offer  Layer
		want   Layer
		err    error
	}{
		{name: "confidentiality preferred", offer: LayerNone | LayerIntegrity | LayerConfidentiality, want: LayerConfidentiality},
		{name: "integrity when that is all", offer: LayerNone | LayerIntegrity, want: LayerIntegrity},
		{name: "none refused by default", offer: LayerNone, err: sspi.ErrUnsupportedFunction},
		{name: "none when asked", accept: LayerNone, offer: LayerNone | LayerConfidentiality, want: LayerNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := bindPair(t, Config{Layers: tt.accept, MaxBufferSize: 4096})
			answer, err := s.offer(tt.offer, 65536)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			choice, err := parseLayerOffer(answer)
			wantMax := 4096
			if tt.want == LayerNone {
				wantMax = 0 // RFC 4752: no layer, no buffer size
			}
			if err != nil || choice.layers != tt.want || choice.maxSize != wantMax {
				t.Fatalf("client answered %+v (%v), want %v with %d", choice, err, tt.want, wantMax)
			}
		})
	}
}

// TestLayerProtection: under the confidentiality layer the client opens sealed buffers,
// and refuses a buffer that is only signed (a man in the middle cannot make the server's
// answers travel in the clear) or altered in transit.
func TestLayerProtection(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(s *saslServer, msg []byte) []byte
		want error
	}{
		{name: "sealed", wrap: func(s *saslServer, msg []byte) []byte { b, _ := s.ctx.Wrap(msg); return b }},
		{name: "only signed", wrap: func(s *saslServer, msg []byte) []byte { b, _ := s.ctx.WrapIntegrityOnly(msg); return b }, want: sspi.ErrMessageAltered},
		{name: "altered", wrap: func(s *saslServer, msg []byte) []byte {
			b, _ := s.ctx.Wrap(msg)
			b[len(b)-1] ^= 1
			return b
		}, want: sspi.ErrMessageAltered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := bindPair(t, Config{})
			if _, err := s.offer(LayerIntegrity|LayerConfidentiality, 65536); err != nil {
				t.Fatal(err)
			}
			msg := ldapMessage(bindResponse(32), false) // any LDAP message
			s.succeed(tt.wrap(s, msg))
			got, err := s.read(len(msg))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || string(got) != string(msg) || s.conn.Layer() != LayerConfidentiality {
				t.Fatalf("read %x, %v, layer %v", got, err, s.conn.Layer())
			}
		})
	}
}

// TestWriteSplits: a message larger than the server's maximum buffer goes as several SASL
// buffers, each within the maximum, which the server's unwrapping joins back.
func TestWriteSplits(t *testing.T) {
	s := bindPair(t, Config{})
	const serverMax = 1000
	if _, err := s.offer(LayerConfidentiality, serverMax); err != nil {
		t.Fatal(err)
	}
	s.succeed()
	if _, err := s.read(0); err != nil || s.conn.Layer() != LayerConfidentiality {
		t.Fatalf("bind result: %v, layer %v", err, s.conn.Layer())
	}
	msg := make([]byte, 5000)
	for i := range msg {
		msg[i] = byte(i)
	}
	done := make(chan error, 1)
	go func() { _, err := s.conn.Write(msg); done <- err }()
	var joined []byte
	for len(joined) < len(msg) {
		var hdr [4]byte
		if _, err := io.ReadFull(s.peer, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > serverMax {
			t.Fatalf("a SASL buffer of %d octets, more than the server's %d", n, serverMax)
		}
		tok := make([]byte, n)
		if _, err := io.ReadFull(s.peer, tok); err != nil {
			t.Fatal(err)
		}
		plain, err := s.ctx.Unwrap(tok)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, plain...)
	}
	if err := <-done; err != nil || string(joined) != string(msg) {
		t.Fatalf("write: %v; joined %d octets equal: %v", err, len(joined), string(joined) == string(msg))
	}
}
