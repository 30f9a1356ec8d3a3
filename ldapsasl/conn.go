package ldapsasl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/gosspi/sspi"
)

// DefaultMaxBufferSize is the largest SASL buffer a Conn accepts from the server when
// Config.MaxBufferSize is zero: 1 MiB, which the server must split its answers to fit.
const DefaultMaxBufferSize = 1 << 20

// Config configures a Conn's SASL GSSAPI bind and the security layer after it.
type Config struct {
	// Credentials is an outbound credentials handle of Package; nil acquires the
	// package's default credentials (for Kerberos, the ticket cache KRB5CCNAME names).
	// The Conn frees only credentials it acquired.
	Credentials *sspi.Credentials
	// Package is the security package: "Kerberos" (what RFC 4752's GSSAPI mechanism is)
	// by default. "Negotiate" sends SPNEGO tokens under the GSSAPI name, which Active
	// Directory (and Samba's AD DC, as the tests show) accepts and OpenLDAP does not; the
	// server's authentication is then SPNEGO's business, checked only for Kerberos here.
	Package string
	// Layers are the security layers the client accepts; it takes the strongest the server
	// offers among them. Zero means LayerIntegrity|LayerConfidentiality: a bind that would
	// leave later messages unprotected fails unless LayerNone is listed.
	Layers Layer
	// MaxBufferSize is the largest SASL buffer the client accepts, told to the server;
	// zero means DefaultMaxBufferSize. At most 1<<24-1.
	MaxBufferSize int
	// Delegate asks for a delegated (forwarded) Kerberos ticket.
	Delegate bool
}

// connState is where a Conn stands in the bind.
type connState int

const (
	// statePlain: bytes pass through unchanged (before and during the bind, or after a
	// bind without a layer).
	statePlain connState = iota
	// stateAwaitBind: the client has answered the layer offer; the next LDAPMessage from
	// the server is the bind's result, still unprotected, and the layer starts after it
	// if it says success.
	stateAwaitBind
	// stateLayer: every message in both directions is a SASL buffer (RFC 4752 section 3.3:
	// a four-octet big-endian length and a GSS_Wrap token).
	stateLayer
)

// Conn is a net.Conn over an LDAP connection that applies the SASL security layer agreed
// in a GSSAPI bind to every LDAP message after it, which go-ldap does not do itself. Until
// the bind succeeds it passes bytes through unchanged. Hand it to ldap.NewConn, and
// Client to the bind:
//
//	conn := ldapsasl.NewConn(raw, ldapsasl.Config{})
//	l := ldap.NewConn(conn, false)
//	l.Start()
//	err := l.GSSAPIBind(conn.Client(), "ldap/dc.example.com", "")
//
// Read and Write may be called from different goroutines, as go-ldap does. After a failed
// bind, close the connection: the server's state is then unknown.
type Conn struct {
	net.Conn // the transport: addresses and deadlines are its own

	cfg     Config
	cred    *sspi.Credentials
	ownCred bool

	// secMu serialises calls on the security context: the reader goroutine unwraps while
	// a writer wraps, and an sspi.Context serves one call at a time.
	secMu sync.Mutex
	sec   *sspi.ClientContext
	sizes sspi.Sizes

	mu      sync.Mutex
	state   connState
	layer   Layer // agreed (pending in stateAwaitBind)
	sendMax int   // the largest SASL buffer the server accepts

	readMu  sync.Mutex
	raw     []byte // received, not yet processed
	plain   []byte // processed, not yet returned by Read
	readErr error

	writeMu sync.Mutex
}

// NewConn returns raw (a connection to an LDAP server, TCP or TLS) wrapped so that a
// security layer agreed by Client's bind protects everything after the bind.
func NewConn(raw net.Conn, cfg Config) *Conn {
	if cfg.Package == "" {
		cfg.Package = "Kerberos"
	}
	if cfg.Layers == 0 {
		cfg.Layers = LayerIntegrity | LayerConfidentiality
	}
	if cfg.MaxBufferSize <= 0 {
		cfg.MaxBufferSize = DefaultMaxBufferSize
	}
	cfg.MaxBufferSize = min(cfg.MaxBufferSize, maxBufferLimit)
	return &Conn{Conn: raw, cfg: cfg, cred: cfg.Credentials}
}

// Client returns the go-ldap GSSAPIClient whose bind sets this connection's layer.
func (c *Conn) Client() *Client { return &Client{c: c} }

// Layer returns the security layer in force: LayerNone until a bind with a layer has
// succeeded.
func (c *Conn) Layer() Layer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateLayer {
		return LayerNone
	}
	return c.layer
}

// Identity returns the client's identity as the security context knows it (and the
// server's name, once mutual authentication has proved it).
func (c *Conn) Identity() (sspi.Identity, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if c.sec == nil {
		return sspi.Identity{}, errors.New("ldapsasl: no bind has been made on this connection")
	}
	return c.sec.Identity()
}

// Close closes the transport and ends the security context.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.secMu.Lock()
	c.deleteContextLocked()
	c.secMu.Unlock()
	if c.ownCred && c.cred != nil {
		sspi.FreeCredentialsHandle(c.cred)
		c.cred = nil
	}
	return err
}

func (c *Conn) deleteContextLocked() {
	if c.sec != nil {
		c.sec.Close()
		c.sec = nil
	}
}

// Read returns the server's LDAP messages, unprotected.
func (c *Conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for len(c.plain) == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		if err := c.fill(); err != nil {
			c.readErr = err
		}
	}
	n := copy(p, c.plain)
	c.plain = c.plain[n:]
	return n, nil
}

// fill reads from the transport and processes what arrived by the state the connection
// is in once it arrived: the server sends protected messages only after the client's
// first protected request, which is written after the state changed.
func (c *Conn) fill() error {
	var chunk [32 << 10]byte
	n, err := c.Conn.Read(chunk[:])
	c.raw = append(c.raw, chunk[:n]...)
	for len(c.raw) > 0 {
		progressed, perr := c.process()
		if perr != nil {
			return perr
		}
		if !progressed {
			break
		}
	}
	if err != nil && len(c.plain) == 0 {
		if errors.Is(err, io.EOF) && len(c.raw) > 0 {
			return fmt.Errorf("ldapsasl: the server closed the connection inside a message: %w", io.ErrUnexpectedEOF)
		}
		return err
	}
	return nil
}

// process consumes what it can of c.raw; it reports whether it consumed anything.
func (c *Conn) process() (bool, error) {
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	switch state {
	case stateAwaitBind:
		return c.readBindResult()
	case stateLayer:
		return c.readSASLBuffer()
	}
	c.plain = append(c.plain, c.raw...)
	c.raw = c.raw[:0]
	return true, nil
}

// readBindResult passes the bind's result through, and starts the layer after it when it
// is a success (RFC 4752 section 3.1); any other result leaves the connection as it was.
func (c *Conn) readBindResult() (bool, error) {
	r, err := parseBindResult(c.raw)
	if errors.Is(err, errShort) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.plain = append(c.plain, c.raw[:r.size]...)
	c.raw = c.raw[r.size:]
	if !r.isBind {
		return true, nil // a notice of disconnection, say; the bind result is still to come
	}
	c.mu.Lock()
	if r.code == 0 {
		c.state = stateLayer
	} else {
		c.state, c.layer = statePlain, 0
	}
	c.mu.Unlock()
	return true, nil
}

// readSASLBuffer unwraps one SASL buffer once it has arrived whole.
func (c *Conn) readSASLBuffer() (bool, error) {
	if len(c.raw) < 4 {
		return false, nil
	}
	n := binary.BigEndian.Uint32(c.raw)
	if n == 0 || n > uint32(c.cfg.MaxBufferSize) {
		return false, fmt.Errorf("ldapsasl: the server sent a SASL buffer of %d octets; this client accepts 1 to %d", n, c.cfg.MaxBufferSize)
	}
	if len(c.raw) < 4+int(n) {
		return false, nil
	}
	msg, err := c.unwrap(c.raw[4 : 4+n])
	if err != nil {
		return false, err
	}
	c.plain = append(c.plain, msg...)
	c.raw = c.raw[4+n:]
	if len(c.raw) == 0 {
		c.raw = nil // do not keep a large buffer's array alive
	}
	return true, nil
}

// unwrap checks (and decrypts) a wrap token from the server, and refuses one that is
// not encrypted when the layer is confidentiality: an attacker who could rewrite a
// message must not turn encryption off for it.
func (c *Conn) unwrap(token []byte) ([]byte, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if c.sec == nil {
		return nil, net.ErrClosed
	}
	t := min(c.sizes.SecurityTrailer, len(token))
	buf := append([]byte(nil), token...)
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: buf[:t]}, {Type: sspi.BufferData, Data: buf[t:]}}
	qop, _, err := sspi.DecryptMessage(c.sec.Handle(), bufs, 0)
	if err != nil {
		return nil, fmt.Errorf("ldapsasl: a message from the server failed its security layer check: %w", err)
	}
	if c.layer == LayerConfidentiality && qop == sspi.QOPWrapNoEncrypt {
		return nil, sspi.Errorf(sspi.ErrMessageAltered, "ldapsasl: the server sent an unencrypted message under the confidentiality layer")
	}
	return bufs[1].Data, nil
}

// Write sends one or more LDAP messages, each write as one SASL buffer (more when it is
// larger than the server accepts) once the layer is in force.
func (c *Conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	state, layer, sendMax := c.state, c.layer, c.sendMax
	c.mu.Unlock()
	if state != stateLayer {
		return c.Conn.Write(p)
	}
	chunk := c.maxPlain(sendMax)
	for off := 0; off < len(p); off += chunk {
		token, err := c.wrap(p[off:min(len(p), off+chunk)], layer)
		if err != nil {
			return off, err
		}
		out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(token)), uint32(len(token)))
		if _, err := c.Conn.Write(append(out, token...)); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// maxPlain is how much plaintext fits a wrap token no larger than the server's maximum.
func (c *Conn) maxPlain(sendMax int) int {
	c.secMu.Lock()
	over := c.sizes.SecurityTrailer + c.sizes.BlockSize
	c.secMu.Unlock()
	if sendMax == 0 || sendMax > maxBufferLimit {
		sendMax = maxBufferLimit
	}
	return max(sendMax-over, 1)
}

func (c *Conn) wrap(msg []byte, layer Layer) ([]byte, error) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if c.sec == nil {
		return nil, net.ErrClosed
	}
	if layer == LayerConfidentiality {
		return c.sec.Wrap(msg)
	}
	return c.sec.WrapIntegrityOnly(msg)
}
