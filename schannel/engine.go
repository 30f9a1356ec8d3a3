package schannel

import (
	"crypto/tls"
	"errors"
	"iter"
	"net"
	"time"
)

// This file is the in-memory transport crypto/tls runs over, and the coroutine the
// handshake runs in.
//
// crypto/tls's Handshake cannot be resumed after its transport fails a Read, but SSPI's
// handshake is a series of calls that each bring some bytes. So the handshake runs in a
// coroutine (iter.Pull): when the engine reads and the current call has no complete
// record left for it, the transport yields to the caller's step, which returns
// SEC_I_CONTINUE_NEEDED; the next step gives the transport the new records and resumes
// the engine where it stopped. Only the handshake pays for this hand-off: once it is
// done the transport answers a read it cannot serve with a temporary net.Error, which
// crypto/tls passes up without poisoning the connection, so EncryptMessage and
// DecryptMessage call tls.Conn's Write and Read directly on the caller's goroutine.

// event is why the handshake coroutine handed control back to the step.
type event int

const (
	evNeedInput event = iota + 1 // the engine reads and no record is left
	evNeedCert                   // the server asked for a certificate the credentials lack
)

// errWouldBlock is what the transport answers once the handshake is over and a read finds
// nothing: temporary, so crypto/tls keeps the connection usable.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "schannel: no more input in this call" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errStopped = errors.New("schannel: the security context was deleted during its handshake")

// transport is the net.Conn under the tls.Conn: in holds the record the engine may read
// now, out collects what it writes.
type transport struct {
	in  []byte
	out []byte
	// yield is set while the handshake runs in its coroutine.
	yield func(event) bool
}

func (t *transport) Read(p []byte) (int, error) {
	for len(t.in) == 0 {
		if t.yield == nil {
			return 0, errWouldBlock
		}
		if !t.yield(evNeedInput) {
			return 0, errStopped
		}
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	return n, nil
}

func (t *transport) Write(p []byte) (int, error) {
	t.out = append(t.out, p...)
	return len(p), nil
}

func (t *transport) Close() error                     { return nil }
func (t *transport) LocalAddr() net.Addr              { return pipeAddr{} }
func (t *transport) RemoteAddr() net.Addr             { return pipeAddr{} }
func (t *transport) SetDeadline(time.Time) error      { return nil }
func (t *transport) SetReadDeadline(time.Time) error  { return nil }
func (t *transport) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "sspi" }
func (pipeAddr) String() string  { return "schannel" }

// takeOut returns what the engine wrote since the last call and empties the buffer
// without giving up its memory.
func (t *transport) takeOut(dst []byte) []byte {
	dst = append(dst, t.out...)
	t.out = t.out[:0]
	return dst
}

// handshake is the coroutine running tls.Conn.Handshake. It holds nothing of the
// context that owns it, so an abandoned context can be collected and its cleanup can
// stop the coroutine.
type handshake struct {
	next func() (event, bool)
	stop func()
	err  error // Handshake's result, once next reports false
	// certs are the client certificates of the context's current credentials; the
	// caller may change them while the coroutine waits on evNeedCert.
	certs []tls.Certificate
	// acceptableCAs are the distinguished names of the server's CertificateRequest
	// (SECPKG_ATTR_ISSUER_LIST_EX).
	acceptableCAs [][]byte
	// sent is the client certificate sent, if any.
	sent *tls.Certificate
}

// startHandshake prepares the coroutine; it runs from the first resume.
func startHandshake(conn *tls.Conn, t *transport) *handshake {
	h := &handshake{}
	h.next, h.stop = iter.Pull(func(yield func(event) bool) {
		t.yield = yield
		h.err = conn.Handshake()
		t.yield = nil
	})
	return h
}

// getClientCertificate is tls.Config.GetClientCertificate. With a certificate in the
// credentials it picks one as crypto/tls would; without, it hands the question to the
// step (SEC_I_INCOMPLETE_CREDENTIALS) and then uses whatever credentials the caller came
// back with, or none.
func (h *handshake) getClientCertificate(t *transport) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		h.acceptableCAs = cri.AcceptableCAs
		if len(h.certs) == 0 {
			if t.yield == nil || !t.yield(evNeedCert) {
				return nil, errStopped
			}
		}
		for i := range h.certs {
			if cri.SupportsCertificate(&h.certs[i]) == nil {
				h.sent = &h.certs[i]
				return h.sent, nil
			}
		}
		return &tls.Certificate{}, nil
	}
}
