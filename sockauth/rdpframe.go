package sockauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/schannel"
)

// FramingRDP in a Server and a Client: the prelude of rdp.go, then the TLS records of
// CredSSP driven as FramingTLS drives Schannel's (SEC_E_INCOMPLETE_MESSAGE and the
// missing count), under the server's hardening: the handshake's one deadline and rate
// floor cover the X.224 prelude too, every AcceptSecurityContext runs on the scheduler.
// After CredSSP there is no session: RDP would go on with its MCS connection, which a
// gate does not speak.

// rdpState is what a FramingRDP connection learnt in its handshake, for the log line and
// for RDPInfo.
type rdpState struct {
	proto uint32 // PROTOCOL_HYBRID or HYBRID_EX, once the prelude is done
	info  rdp.ExchangeInfo
}

// RDPInfo describes the Network Level Authentication of a FramingRDP connection. It
// holds no secret: the delegated credentials themselves are on the security context
// (credssp.DelegatedCredentials).
type RDPInfo struct {
	// Protocol is the protocol the X.224 negotiation selected: "HYBRID" or "HYBRID_EX".
	Protocol string
	// Version is CredSSP's TSRequest version, the lower of the two sides'.
	Version int
	// Inner is the package that authenticated inside CredSSP ("NTLM", "Kerberos").
	Inner string
	// EarlyUserAuthResult reports whether the Early User Authorization Result was sent
	// (server) or received (client), AUTHZ_SUCCESS.
	EarlyUserAuthResult bool
	// Delegated is what kind of credentials the client delegated: "password", "smart
	// card", "remote guard", or "" for none.
	Delegated string
}

// RDPInfo returns what the connection's Network Level Authentication negotiated; ok is
// false for other framings.
func (c *Conn) RDPInfo() (info RDPInfo, ok bool) {
	if c.rdp == nil {
		return RDPInfo{}, false
	}
	i := c.rdp.info
	return RDPInfo{Protocol: rdpProtocolName(c.rdp.proto), Version: i.Version, Inner: i.Inner, EarlyUserAuthResult: i.EarlyUserAuthResult, Delegated: i.Delegated}, true
}

func rdpProtocolName(p uint32) string {
	switch p {
	case rdp.ProtocolHybrid:
		return "HYBRID"
	case rdp.ProtocolHybridEx:
		return "HYBRID_EX"
	}
	return ""
}

var errNoRDPSession = errors.New("sockauth: the rdp framing has no session after the authentication (RDP's own would follow): the connection only says who authenticated")

// deadlineWriter writes with a write deadline, the handshake's.
type deadlineWriter struct {
	nc       net.Conn
	deadline time.Time
}

func (w deadlineWriter) Write(b []byte) (int, error) {
	_ = w.nc.SetWriteDeadline(w.deadline)
	return w.nc.Write(b)
}

// rdpServerHandshake is Server.handshake for FramingRDP: the X.224 prelude, CredSSP
// through AcceptSecurityContext, and the checks of what the context grants.
func (s *Server) rdpServerHandshake(c *Conn, m *handshakeMeter) error {
	c.rdp = &rdpState{}
	proto, err := acceptRDPPrelude(c.br, deadlineWriter{c.nc, m.deadline}, s.HybridEx)
	if err != nil {
		return err
	}
	c.rdp.proto = proto
	req := s.Req
	if req == 0 {
		req = defaultRDPServerReq
	}
	req |= sspi.ASCReqAllocateMemory | sspi.ASCReqExtendedError
	if err := s.acceptRecords(c, m, req, true); err != nil {
		return err
	}
	c.tls = nil // no record stream after the gate
	c.attrs = c.ctx.Attributes() &^ sspi.ASCRetAllocatedMemory
	c.pkg = c.ctx.Package()
	c.id = sspi.Identity{Package: c.pkg}
	var names sspi.NativeNames
	if sspi.QueryContextAttributes(c.ctx, sspi.AttrNativeNames, &names) == nil {
		c.id.Principal = names.ClientName
	}
	info, err := exchangeInfo(c.ctx)
	if err != nil {
		return err
	}
	c.rdp.info = info
	if proto == rdp.ProtocolHybridEx && !info.EarlyUserAuthResult {
		return sspi.Errorf(sspi.ErrInternalError, "sockauth: PROTOCOL_HYBRID_EX was selected but the CredSSP credentials do not send the Early User Authorization Result (the credssp package's Config.EarlyUserAuthResult): the client waits for it")
	}
	c.prot, c.min = ProtectSeal, ProtectSeal
	granted := c.attrs
	if granted.Has(sspi.ASCRetConfidentiality) {
		granted |= sspi.ASCRetIntegrity // TLS's AEAD, as in tlsServerHandshake
	}
	if missing := s.required() &^ granted; missing != 0 {
		return sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(true), c.attrs.Format(true))
	}
	return nil
}

// rdpClientReq is what a client asks of CredSSP: what mstsc asks, with delegation and
// mutual authentication as the Client says. CredSSP refuses ISC_REQ_MUTUAL_AUTH when
// the inner package cannot grant it (NTLM), so it is asked only when required.
func (cl *Client) rdpClientReq() sspi.ContextReq {
	r := defaultRDPClientReq&^sspi.ISCReqDelegate | sspi.ISCReqAllocateMemory
	if cl.Delegate {
		r |= sspi.ISCReqDelegate
	}
	if cl.Require.Has(sspi.ISCRetMutualAuth) {
		r |= sspi.ISCReqMutualAuth
	}
	return r
}

// rdpClientHandshake is Client.handshake for FramingRDP: the X.224 prelude, then the
// first token (made before the connection) and the rest of CredSSP.
func (cl *Client) rdpClientHandshake(ctx context.Context, nc net.Conn, target string, first iscResult) (*Conn, error) {
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	c := &Conn{nc: nc, br: newReader(nc), framing: FramingRDP, timeout: cl.timeout(), maxMsg: orDefault(cl.MaxMessage, DefaultMaxMessage)}
	c.rdp = &rdpState{}
	fail := func(err error) (*Conn, error) {
		if c.ctx == nil {
			sspi.DeleteSecurityContext(first.ctx)
		}
		return nil, ctxErr(ctx, err)
	}
	c.readDeadline()
	proto, err := connectRDPPrelude(c.br, deadlineWriter{nc, time.Now().Add(c.timeout)}, "", cl.HybridEx)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
			err = sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: the server closed the connection at the X.224 Connection Request: it does not speak RDP (%v)", err)
		}
		return fail(err)
	}
	c.rdp.proto = proto
	if cl.HybridEx && proto != rdp.ProtocolHybridEx {
		return fail(sspi.Errorf(sspi.ErrUnsupportedFunction, "sockauth: the RDP server selected PROTOCOL_HYBRID, not HYBRID_EX: it will not send the Early User Authorization Result these credentials wait for; connect without it"))
	}
	c.tls = &tlsState{rbuf: make([]byte, 0, readBufSize), oneRecord: true}
	if err := cl.tlsConnect(c, target, cl.rdpClientReq(), cl.certificateCheck(), first); err != nil {
		if errors.Is(err, ErrNoAnswer) {
			err = errRDPClosed
		}
		return fail(err)
	}
	c.tls = nil
	c.attrs = c.ctx.Attributes() &^ sspi.ISCRetAllocatedMemory
	c.pkg = c.ctx.Package()
	c.id = sspi.Identity{Package: c.pkg}
	var names sspi.NativeNames
	if sspi.QueryContextAttributes(c.ctx, sspi.AttrNativeNames, &names) == nil {
		c.id.Principal, c.id.Server = names.ClientName, names.ServerName
	}
	if info, err := exchangeInfo(c.ctx); err == nil {
		c.rdp.info = info
	}
	c.prot, c.min = ProtectSeal, ProtectSeal
	granted := c.attrs
	if granted.Has(sspi.ISCRetConfidentiality) {
		granted |= sspi.ISCRetIntegrity
	}
	if missing := cl.Require &^ granted; missing != 0 {
		c.closed.Store(true)
		sspi.DeleteSecurityContext(c.ctx)
		return nil, sspi.Errorf(sspi.ErrSecurityQosFailed, "sockauth: the %s context lacks required attributes %s (granted: %s)", c.pkg, missing.Format(false), c.attrs.Format(false))
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// logAttrs are the connection log line's RDP attributes: the protocol, and once CredSSP
// is established its version, the inner package, whether credentials were delegated
// (what kind, never what) and the Early User Authorization Result when it was sent.
func (r *rdpState) logAttrs() []slog.Attr {
	delegated := r.info.Delegated
	if delegated == "" {
		delegated = "none"
	}
	a := []slog.Attr{
		slog.String("protocol", rdpProtocolName(r.proto)),
		slog.Int("credssp_version", r.info.Version),
		slog.String("inner", r.info.Inner),
		slog.String("credssp_delegated", delegated),
	}
	if r.info.EarlyUserAuthResult {
		a = append(a, slog.String("early_user_auth", "AUTHZ_SUCCESS"))
	}
	return a
}

// certificateCheck runs VerifyCertificate once, on the first call after which Schannel
// under CredSSP has the server's certificate: that call's output is the first TSRequest
// (the inner package's first token), which carries no credentials.
func (cl *Client) certificateCheck() func(*sspi.Context) error {
	if cl.VerifyCertificate == nil {
		return nil
	}
	done := false
	return func(ctx *sspi.Context) error {
		if done {
			return nil
		}
		var cc schannel.CertContext
		if sspi.QueryContextAttributes(ctx, sspi.AttrRemoteCertContext, &cc) != nil {
			return nil // the TLS handshake is not done yet
		}
		done = true
		return cl.VerifyCertificate(cc.Certificates)
	}
}

// exchangeInfo asks an established CredSSP context about its exchange (credssp's
// AttrExchangeInfo, through internal/rdp: importing credssp would import Negotiate,
// whose tests import this package).
func exchangeInfo(ctx *sspi.Context) (rdp.ExchangeInfo, error) {
	var i rdp.ExchangeInfo
	err := sspi.QueryContextAttributes(ctx, rdp.AttrExchangeInfo, &i)
	return i, err
}
