package schannel

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"runtime"
	"time"

	"github.com/gosspi/sspi"
)

// state is where a context is in its life.
type state int

const (
	stateStart            state = iota // no step yet
	stateHandshake                     // the handshake coroutine waits for records
	stateAwaitCredentials              // SEC_I_INCOMPLETE_CREDENTIALS returned; the caller decides
	stateEstablished                   // records flow through EncryptMessage and DecryptMessage
	stateShutdown                      // ApplyControlToken(Shutdown): the next step sends close_notify
	stateClosed                        // close_notify sent, or the handshake failed
)

// context is Schannel's side of one security context.
//
// Its handshake coroutine must never hold the context itself: an abandoned context is
// then collected, and the cleanup registered in start stops the coroutine, so no goroutine
// outlives the contexts that need it.
type context struct {
	cred   *credentials
	server bool
	state  state

	t    *transport
	conn *tls.Conn
	hs   *handshake
	// stopHS is the cleanup that stops the coroutine of an abandoned context.
	stopHS runtime.Cleanup
	// replay is the input handed to the engine in the call that returned
	// SEC_I_INCOMPLETE_CREDENTIALS: a caller that follows the Windows samples gives the
	// same bytes again, which are then skipped.
	replay []byte
	manual bool
	target string // the client's target name, checked against the server's certificate

	// Set when the handshake finishes.
	cs     tls.ConnectionState
	suite  suiteSizes
	attr   sspi.ContextAttr
	scrach [1]byte // DecryptMessage's destination for a record too short to hold data
	// sentCert is the client certificate sent; issuers the CAs of the server's request.
	sentCert *tls.Certificate
	issuers  [][]byte
}

func newContext(cred *credentials, server bool) *context {
	return &context{cred: cred, server: server}
}

// ContinuesHandshake tells the core that post-handshake steps (a KeyUpdate reply, the
// close_notify after ApplyControlToken) are this context's, not a re-authentication.
func (c *context) ContinuesHandshake() {}

// Step runs one InitializeSecurityContext or AcceptSecurityContext call.
func (c *context) Step(p *sspi.StepParams) (sspi.Status, error) {
	switch c.state {
	case stateStart:
		if err := c.start(p); err != nil {
			c.state = stateClosed
			return 0, err
		}
		return c.handshakeStep(p, p.InputToken())
	case stateHandshake:
		return c.handshakeStep(p, p.InputToken())
	case stateAwaitCredentials:
		return c.resumeWithCredentials(p)
	case stateEstablished:
		return c.postHandshake(p)
	case stateShutdown:
		return c.sendCloseNotify(p)
	}
	return 0, sspi.Errorf(sspi.ErrContextExpired, "schannel: the connection is closed; delete the context")
}

// start builds the context's TLS connection from the credentials and the first call's
// target, flags and buffers, and prepares the handshake coroutine.
func (c *context) start(p *sspi.StepParams) error {
	protos, err := applicationProtocols(p.In)
	if err != nil {
		return err
	}
	c.t = &transport{}
	if c.server {
		cfg := c.cred.server.Clone()
		cfg.NextProtos = protos
		c.conn = tls.Server(c.t, cfg)
		c.hs = startHandshake(c.conn, c.t)
	} else {
		cfg := c.cred.client.Clone()
		cfg.NextProtos = protos
		cfg.ServerName = p.Target
		c.target = p.Target
		c.manual = c.cred.cfg.ManualCredValidation || p.Req.Has(sspi.ISCReqManualCredValidation)
		cfg.VerifyConnection = verifyServer(c.cred.cfg.RootCAs, p.Target, c.cred.cfg.Time, c.manual)
		c.conn = tls.Client(c.t, cfg)
		c.hs = startHandshake(c.conn, c.t)
		c.hs.certs = c.cred.certs
		cfg.GetClientCertificate = c.hs.getClientCertificate(c.t)
	}
	c.stopHS = runtime.AddCleanup(c, func(stop func()) { stop() }, c.hs.stop)
	c.state = stateHandshake
	return nil
}

// handshakeStep hands in's complete records to the engine one at a time, as it asks for
// them, until it waits for more than in holds, asks for a client certificate, or ends.
func (c *context) handshakeStep(p *sspi.StepParams, in []byte) (sspi.Status, error) {
	fed := 0
	for {
		ev, running := c.hs.next()
		if !running {
			return c.finishHandshake(p, len(in)-fed)
		}
		if ev == evNeedCert {
			c.replay = append(c.replay[:0], in[:fed]...)
			c.state = stateAwaitCredentials
			return sspi.IncompleteCredentials, nil
		}
		rs, err := splitRecord(in[fed:])
		if err != nil {
			c.abort()
			return 0, err
		}
		if rs.length > 0 {
			c.t.in = in[fed : fed+rs.length]
			fed += rs.length
			continue
		}
		// The engine waits for more than this call brought.
		if fed == 0 && len(in) > 0 {
			p.Missing = rs.missing
			return 0, sspi.Errorf(sspi.ErrIncompleteMessage, "schannel: the input holds part of a TLS record; call again with it and the next bytes received")
		}
		p.Out = c.t.takeOut(p.Out)
		p.Extra = len(in) - fed
		p.Attr = c.requestedAttr()
		return sspi.ContinueNeeded, nil
	}
}

// finishHandshake ends the coroutine's work: the handshake succeeded or failed.
func (c *context) finishHandshake(p *sspi.StepParams, extra int) (sspi.Status, error) {
	p.Out = c.t.takeOut(p.Out) // the last flight, or the alert of a failure
	c.stopHS.Stop()
	err := c.hs.err
	c.sentCert, c.issuers = c.hs.sent, c.hs.acceptableCAs
	c.hs = nil
	if err != nil {
		c.state = stateClosed
		return 0, handshakeError(err)
	}
	c.cs = c.conn.ConnectionState()
	c.suite = sizesOf(c.cs.Version, c.cs.CipherSuite)
	c.attr = c.requestedAttr()
	if c.server && len(c.cs.PeerCertificates) > 0 {
		c.attr |= sspi.ASCRetMutualAuth
	}
	if !c.server && !c.manual {
		c.attr |= sspi.ISCRetMutualAuth
	}
	p.Attr = c.attr
	p.Extra = extra
	c.state = stateEstablished
	return sspi.OK, nil
}

// requestedAttr is what every Schannel context provides: a stream with sequence and
// replay protection and confidentiality. ISC_RET and ASC_RET share these bits.
func (c *context) requestedAttr() sspi.ContextAttr {
	a := sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect | sspi.ISCRetConfidentiality
	if c.server {
		return a | sspi.ASCRetStream
	}
	a |= sspi.ISCRetStream
	if c.manual {
		a |= sspi.ISCRetManualCredValidation
	}
	return a
}

// resumeWithCredentials continues after SEC_I_INCOMPLETE_CREDENTIALS, with the
// credentials the caller passed (ChangeCredentials) or without a certificate.
func (c *context) resumeWithCredentials(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	if len(c.replay) > 0 && bytes.HasPrefix(in, c.replay) {
		in = in[len(c.replay):]
	}
	c.replay = nil
	c.state = stateHandshake
	return c.handshakeStep(p, in)
}

// ChangeCredentials takes the credentials a client acquired after
// SEC_I_INCOMPLETE_CREDENTIALS, with the certificate the server asked for.
func (c *context) ChangeCredentials(pc sspi.PackageCredentials) error {
	nc, ok := pc.(*credentials)
	if !ok || nc.client == nil {
		return sspi.Errorf(sspi.ErrWrongCredentialHandle, "schannel: the new credentials are not Schannel outbound credentials")
	}
	if c.server || c.state != stateAwaitCredentials {
		return sspi.Errorf(sspi.ErrWrongCredentialHandle, "schannel: credentials can change only on a client that got SEC_I_INCOMPLETE_CREDENTIALS")
	}
	c.cred = nc
	c.hs.certs = nc.certs
	return nil
}

// postHandshake runs a step on an established context: it hands out what crypto/tls
// wrote while reading a post-handshake message (a TLS 1.3 KeyUpdate reply), and refuses a
// TLS 1.2 renegotiation.
func (c *context) postHandshake(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	if c.cs.Version < tls.VersionTLS13 && len(in) > 0 {
		rs, err := splitRecord(in)
		if err != nil {
			return 0, err
		}
		if rs.length == 0 {
			p.Missing = rs.missing
			return 0, sspi.Errorf(sspi.ErrIncompleteMessage, "schannel: the input holds part of a TLS record; call again with it and the next bytes received")
		}
		if rs.typ == recordHandshake {
			// crypto/tls answers a HelloRequest with a no_renegotiation warning (and a
			// renegotiating ClientHello with a fatal alert) and writes nothing more.
			c.t.in = in[:rs.length]
			_, rerr := c.conn.Read(c.scrach[:])
			p.Out = c.t.takeOut(p.Out)
			c.state = stateClosed
			return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "schannel: the peer asked to renegotiate TLS 1.2, which this Schannel refuses (%v); the connection is over", rerr)
		}
	}
	p.Out = c.t.takeOut(p.Out)
	p.Extra = len(in)
	p.Attr = c.attr
	return sspi.OK, nil
}

// ApplyControlToken takes SCHANNEL_SHUTDOWN.
func (c *context) ApplyControlToken(in []sspi.Buffer) error {
	b := sspi.FindBuffer(in, sspi.BufferToken)
	if b == nil || len(b.Data) != 4 || binary.LittleEndian.Uint32(b.Data) != Shutdown {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "schannel: the only control token is SCHANNEL_SHUTDOWN, a 4-byte little-endian 1 in a token buffer")
	}
	if c.state != stateEstablished {
		return sspi.Errorf(sspi.ErrInvalidHandle, "schannel: shutdown needs an established connection; delete a context whose handshake has not finished")
	}
	c.state = stateShutdown
	return nil
}

// sendCloseNotify is the step after ApplyControlToken(Shutdown).
func (c *context) sendCloseNotify(p *sspi.StepParams) (sspi.Status, error) {
	err := c.conn.CloseWrite()
	p.Out = c.t.takeOut(p.Out)
	c.state = stateClosed
	if err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "schannel: writing close_notify: %w", err)
	}
	p.Attr = c.attr
	return sspi.OK, nil
}

// abort stops the handshake coroutine after a failure found outside it.
func (c *context) abort() {
	if c.hs != nil {
		c.stopHS.Stop()
		c.hs.stop()
		c.hs = nil
	}
	c.state = stateClosed
}

// Close ends the handshake coroutine, if it still runs (DeleteSecurityContext).
func (c *context) Close() error {
	c.abort()
	return nil
}

// verifyServer is the client's check of the server's certificate, run by crypto/tls
// for full handshakes and resumptions alike.
func verifyServer(roots *x509.CertPool, target string, now func() time.Time, manual bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if manual {
			return nil
		}
		if len(cs.PeerCertificates) == 0 {
			return sspi.Errorf(sspi.ErrCertUnknown, "schannel: the server sent no certificate")
		}
		if target == "" {
			return sspi.Errorf(sspi.ErrWrongPrincipal, "schannel: no target name to check the server's certificate against; give InitializeSecurityContext the server's host name, or ask for ISCReqManualCredValidation and check the certificate yourself")
		}
		opts := x509.VerifyOptions{
			Roots:         roots,
			DNSName:       target,
			Intermediates: x509.NewCertPool(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if now != nil {
			opts.CurrentTime = now()
		}
		for _, ic := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(ic)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return certError(err)
		}
		return nil
	}
}
