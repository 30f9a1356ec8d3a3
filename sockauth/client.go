package sockauth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/gosspi/sspi"
)

// Client authenticates to a sockets service: it runs the client's side of the token loop
// with InitializeSecurityContext, checks the attributes granted, and returns the
// authenticated Conn. Its fields mirror `sspi connect`.
type Client struct {
	// Credentials are the client's credentials, acquired with sspi.CredOutbound. Required.
	Credentials *sspi.Credentials
	// Framing is the wire framing the server speaks; the zero value is FramingSSPI.
	Framing Framing
	// Target names the server: an SPN ("host/server.example.com"), or with FramingTLS its
	// host name, which its certificate is checked against and which is sent as SNI. Empty
	// means "host/" followed by the host of the address dialed, with FramingTLS that
	// host, and with FramingRDP "TERMSRV/" and that host.
	Target string
	// NoMutual does not ask for mutual authentication (ISC_REQ_MUTUAL_AUTH), which is
	// asked for by default. Whether it was granted is in Conn.Attributes; to refuse a
	// context without it, put sspi.ISCRetMutualAuth in Require.
	NoMutual bool
	// Delegate asks for delegation (ISC_REQ_DELEGATE): the server may act as the client.
	Delegate bool
	// Protection is how messages are protected; the zero value seals them. It decides
	// which of integrity and confidentiality are asked for, and required.
	Protection Protection
	// Require holds further ISC_RET_* bits the context must have been granted, checked
	// with bit operations after the handshake (SEC_E_SECURITY_QOS_FAILED otherwise).
	Require sspi.ContextAttr
	// Messages, with FramingSSPI, asks the server for a message exchange after the
	// handshake: the greeting then arrives as a framed message and ReadMessage and
	// WriteMessage both work. Without it the session is the SDK sample's: one greeting,
	// read with ReadMessage, and the end of the connection. FramingGSS always has messages.
	Messages bool
	// Timeout bounds the connection attempt and every wait for the server; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxToken bounds one handshake token; zero means DefaultMaxToken.
	MaxToken int
	// MaxMessage bounds one message; zero means DefaultMaxMessage.
	MaxMessage int
	// Trace, if set, is called after each InitializeSecurityContext call of the handshake.
	Trace func(Leg)
	// HybridEx, with FramingRDP, offers PROTOCOL_HYBRID_EX and requires the server to
	// select it: the server then sends the Early User Authorization Result after CredSSP,
	// which the credentials must wait for (credssp.Config.EarlyUserAuthResult).
	HybridEx bool
	// VerifyCertificate, with FramingRDP, checks the server's TLS certificate chain (leaf
	// first) as soon as the TLS handshake under CredSSP has finished, before any token
	// that carries credentials is sent; an error ends the handshake. nil checks nothing,
	// as CredSSP itself does not: it authenticates the server through its inner package
	// (Kerberos; NTLM cannot) and binds the exchange to the certificate's key.
	VerifyCertificate func(chain []*x509.Certificate) error
}

// Leg describes one InitializeSecurityContext call of a client's handshake.
type Leg struct {
	N        int         // 1 for the first call
	Received int         // size of the server's token given to the call; 0 on the first
	Status   sspi.Status // what the call returned (SEC_I_CONTINUE_NEEDED, SEC_E_OK, ...)
	Sent     int         // size of the token sent to the server; 0 when there was none
}

// String renders a leg as `sspi connect` prints it.
func (l Leg) String() string {
	s := fmt.Sprintf("leg %d: ", l.N)
	if l.Received > 0 {
		s += fmt.Sprintf("received %d bytes, ", l.Received)
	}
	s += "InitializeSecurityContext -> " + l.Status.String()
	if l.Sent > 0 {
		s += fmt.Sprintf(", sent %d bytes", l.Sent)
	}
	return s
}

func (cl *Client) timeout() time.Duration {
	if cl.Timeout > 0 {
		return cl.Timeout
	}
	return DefaultTimeout
}

// Dial connects to addr over TCP and authenticates. The first token is made before the
// connection is opened, so credentials that cannot start (a Kerberos password the KDC
// refuses) fail without the server seeing a connection. When the handshake ends with a
// token the server does not answer (NTLM's AUTHENTICATE), that token is sent together
// with the first message, or before the first read, so a failure to deliver it, and the
// server's refusal of it, show at the first ReadMessage or WriteMessage, where the
// server's answer is awaited anyway.
func (cl *Client) Dial(ctx context.Context, addr string) (*Conn, error) {
	target := cl.Target
	if target == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		target = cl.defaultTarget(host)
	}
	if cl.Credentials == nil {
		return nil, errNoCredentials
	}
	first, err := cl.initialize(nil, target, nil, nil)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: cl.timeout()}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		sspi.DeleteSecurityContext(first.ctx)
		return nil, err
	}
	c, err := cl.handshake(ctx, nc, target, first)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

var errNoCredentials = errors.New("sockauth: Client.Credentials is nil; acquire outbound credentials first")

// iscResult is the result of one InitializeSecurityContext call, completed when it asked for it.
type iscResult struct {
	ctx    *sspi.Context
	status sspi.Status
	token  []byte
	bufs   *iscBuffers // for the next call
}

// iscBuffers are the buffers of a handshake's InitializeSecurityContext calls, made once:
// the package is handed them through an interface, so buffers made per call would each
// be an allocation.
type iscBuffers struct {
	in, out [1]sspi.Buffer
}

// initialize runs one InitializeSecurityContext call with the server's token in (none on
// the first call) and CompleteAuthToken when the status asks for it. On failure the
// context is deleted. bufs are the last call's (nil on the first).
func (cl *Client) initialize(sctx *sspi.Context, target string, in []byte, bufs *iscBuffers) (iscResult, error) {
	if bufs == nil {
		bufs = new(iscBuffers)
	}
	var inBufs []sspi.Buffer
	if in != nil {
		bufs.in[0] = sspi.Buffer{Type: sspi.BufferToken, Data: in}
		inBufs = bufs.in[:]
	}
	bufs.out[0] = sspi.Buffer{Type: sspi.BufferToken}
	out := bufs.out[:]
	req := cl.req()
	switch cl.Framing {
	case FramingTLS:
		req = tlsClientReq
	case FramingRDP:
		req = cl.rdpClientReq()
	}
	nctx, status, err := sspi.InitializeSecurityContext(cl.Credentials, sctx, target, req, sspi.NativeDataRep, inBufs, out)
	if nctx != nil {
		sctx = nctx
	}
	if err == nil && (status == sspi.CompleteNeeded || status == sspi.CompleteAndContinue) {
		err = sspi.CompleteAuthToken(sctx, out)
	}
	tok := out[0].Data
	*bufs = iscBuffers{} // holds no token beyond the call
	if err != nil {
		if sctx != nil {
			sspi.DeleteSecurityContext(sctx)
		}
		return iscResult{}, err
	}
	return iscResult{ctx: sctx, status: status, token: tok, bufs: bufs}, nil
}

// Handshake authenticates over a connection the caller has opened. On failure the
// connection is left to the caller.
func (cl *Client) Handshake(ctx context.Context, nc net.Conn) (*Conn, error) {
	target := cl.Target
	if target == "" {
		if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
			target = cl.defaultTarget(ta.IP.String())
		}
	}
	if cl.Credentials == nil {
		return nil, errNoCredentials
	}
	first, err := cl.initialize(nil, target, nil, nil)
	if err != nil {
		return nil, err
	}
	return cl.handshake(ctx, nc, target, first)
}

// defaultTarget is the target name for a server at host: the host itself for TLS,
// which checks the server's certificate against it and sends it as SNI, and the SPN
// host/HOST otherwise.
func (cl *Client) defaultTarget(host string) string {
	switch cl.Framing {
	case FramingTLS:
		return host
	case FramingRDP:
		return "TERMSRV/" + host
	}
	return "host/" + host
}

// req is what the client asks of InitializeSecurityContext.
func (cl *Client) req() sspi.ContextReq {
	r := sspi.ISCReqConnection | sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect | sspi.ISCReqAllocateMemory
	if !cl.NoMutual {
		r |= sspi.ISCReqMutualAuth
	}
	if cl.Delegate {
		r |= sspi.ISCReqDelegate
	}
	switch cl.Protection {
	case ProtectSeal:
		r |= sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity
	case ProtectSign:
		r |= sspi.ISCReqIntegrity
	}
	return r
}

// handshake runs the client's token loop, mirroring the server's: InitializeSecurityContext,
// CompleteAuthToken when the status asks for it, send any non-empty token (also the one
// that comes with SEC_E_OK), and read the server's next token while the status is
// SEC_I_CONTINUE_NEEDED or SEC_I_COMPLETE_AND_CONTINUE.
//
// first is the first call's result, made before the connection was opened.
func (cl *Client) handshake(ctx context.Context, nc net.Conn, target string, first iscResult) (*Conn, error) {
	switch cl.Framing {
	case FramingTLS:
		return cl.tlsClientHandshake(ctx, nc, target, first)
	case FramingRDP:
		return cl.rdpClientHandshake(ctx, nc, target, first)
	}
	// The caller's context can end the handshake at any wait (one that cannot end, such
	// as context.Background, needs no watch).
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
		defer stop()
	}

	c := &Conn{nc: nc, br: newReader(nc), framing: cl.Framing, timeout: cl.timeout(), maxMsg: orDefault(cl.MaxMessage, DefaultMaxMessage)}
	c.sample = cl.Framing == FramingSSPI && !cl.Messages
	sctx := first.ctx
	ok := false
	defer func() {
		if !ok && sctx != nil {
			sspi.DeleteSecurityContext(sctx)
		}
		if !ok || c.closed.Load() {
			c.releaseReader() // c is not returned
		}
	}()
	var in, wbuf []byte
	for leg := 1; ; leg++ {
		if leg > maxLegs {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the server is still sending handshake tokens after %d legs", maxLegs)
		}
		l := first
		var err error
		if leg > 1 {
			if l, err = cl.initialize(sctx, target, in, first.bufs); err != nil {
				sctx = nil // initialize deleted it
				return nil, ctxErr(ctx, err)
			}
			sctx = l.ctx
		}
		done := l.status == sspi.OK || l.status == sspi.CompleteNeeded
		wbuf = cl.appendLeg(wbuf[:0], leg, l.token)
		if err := cl.sendLeg(ctx, c, wbuf, done); err != nil {
			return nil, err
		}
		if cl.Trace != nil {
			cl.Trace(Leg{N: leg, Received: len(in), Status: l.status, Sent: len(l.token)})
		}
		if done {
			break
		}
		if in, err = cl.readLeg(ctx, c, leg); err != nil {
			return nil, err
		}
	}
	ok = true // the context belongs to c from here on (established deletes it on refusal)
	if err := cl.established(c, sctx); err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// appendLeg appends to wbuf what leg sends: on the first leg the framing's opening (gss:
// NOOP with CONTEXT_NEXT, "context tokens follow"; sspi with Messages: the empty frame
// that asks for framed messages), then the token, framed, when there is one.
func (cl *Client) appendLeg(wbuf []byte, leg int, tok []byte) []byte {
	if len(tok) > 0 || leg == 1 {
		wbuf = slices.Grow(wbuf, 2*gssHeaderLen+len(tok))
	}
	if leg == 1 {
		switch {
		case cl.Framing == FramingGSS:
			wbuf = appendGSSToken(wbuf, GSSTokenNoop|GSSTokenContextNext, nil)
		case cl.Messages:
			wbuf = appendSSPIFrame(wbuf, nil)
		}
	}
	if len(tok) > 0 {
		if cl.Framing == FramingGSS {
			wbuf = appendGSSToken(wbuf, GSSTokenContext, tok)
		} else {
			wbuf = appendSSPIFrame(wbuf, tok)
		}
	}
	return wbuf
}

// sendLeg writes a leg's bytes; after the last token (done) no answer is expected, so
// they are corked instead and travel with the first message (or go out before the first
// read), in one write.
func (cl *Client) sendLeg(ctx context.Context, c *Conn, wbuf []byte, done bool) error {
	switch {
	case len(wbuf) > 0 && done:
		c.corked = wbuf // the last leg's: the handshake does not use wbuf again
	case len(wbuf) > 0:
		if err := c.writeFull(wbuf); err != nil {
			return ctxErr(ctx, err)
		}
		if err := ctx.Err(); err != nil {
			return ctxErr(ctx, err)
		}
	}
	return nil
}

// readLeg reads the server's answer to leg: a CONTEXT token (gss) or a frame (sspi), never
// empty. A server that closes instead refused the token (its log says why), unless it sent
// a token that says so (a KRB-ERROR), which the next InitializeSecurityContext reports.
func (cl *Client) readLeg(ctx context.Context, c *Conn, leg int) ([]byte, error) {
	maxTok := orDefault(cl.MaxToken, DefaultMaxToken)
	c.readDeadline()
	if err := ctx.Err(); err != nil { // cancelled before the deadline above was set
		return nil, ctxErr(ctx, err)
	}
	if leg == 1 {
		if other, ok := sniffFraming(c.br, cl.Framing, maxTok); ok {
			return nil, otherFraming(cl.Framing, other, "server")
		}
	}
	var in []byte
	var err error
	if cl.Framing == FramingGSS {
		var flags byte
		flags, in, err = readGSSToken(c.br, maxTok, "context token")
		if err == nil && flags != GSSTokenContext {
			err = sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: expected a CONTEXT token from the server, got %s", gssFlagNames(flags))
		}
	} else {
		in, err = readSSPIFrame(c.br, maxTok, "handshake token")
	}
	if err == nil && len(in) == 0 {
		err = errEmptyFrame
	}
	if err != nil {
		if errors.Is(err, io.EOF) || isReset(err) {
			err = sspi.Errorf(sspi.ErrLogonDenied, "%w token %d of the handshake (%v); its log says why", ErrNoAnswer, leg, err)
		}
		return nil, ctxErr(ctx, err)
	}
	return in, nil
}

// established gives the finished context to c: its attributes, package, names and
// protection, then checks that it has what the client requires; if not, the context is
// deleted and c closed.
func (cl *Client) established(c *Conn, sctx *sspi.Context) error {
	c.ctx = sctx
	c.attrs = sctx.Attributes() &^ sspi.ISCRetAllocatedMemory // per call, not a property of the context
	// Both answers in one allocation: each escapes, through QueryContextAttributes's any.
	q := new(struct {
		ni    sspi.NegotiationInfo
		names sspi.NativeNames
	})
	c.pkg = sctx.Package()
	if sspi.QueryContextAttributes(sctx, sspi.AttrNegotiationInfo, &q.ni) == nil && q.ni.PackageInfo.Name != "" {
		c.pkg = q.ni.PackageInfo.Name
	}
	c.id = sspi.Identity{Package: c.pkg}
	if sspi.QueryContextAttributes(sctx, sspi.AttrNativeNames, &q.names) == nil {
		c.id.Principal, c.id.Server = q.names.ClientName, q.names.ServerName
	}
	c.mic = c.attrs.Has(sspi.ISCRetIntegrity)
	if cl.Framing == FramingGSS {
		c.prot = cl.Protection
	} else {
		c.prot = protectionOf(c.attrs, false)
	}
	c.min = cl.Protection
	need := cl.Require
	switch cl.Protection {
	case ProtectSeal:
		need |= sspi.ISCRetConfidentiality
	case ProtectSign:
		need |= sspi.ISCRetIntegrity
	}
	if missing := need &^ c.attrs; missing != 0 {
		err := sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(false), c.attrs.Format(false))
		if missing.Has(sspi.ISCRetMutualAuth) {
			err = sspi.Errorf(sspi.ErrMutualAuthFailed, "sockauth: the server did not prove its identity: %s grants no mutual authentication (granted: %s)", c.pkg, c.attrs.Format(false))
		}
		c.closed.Store(true)
		sspi.DeleteSecurityContext(sctx)
		return err
	}
	return nil
}

// ctxErr prefers the caller's context error to the deadline it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("sockauth: %w (%v)", cerr, err)
	}
	return err
}
