package credssp

import (
	"crypto/x509"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
)

// Flags a CredSSP client accepts (the seed's list, plus the protections TLS always
// gives); anything else is SEC_E_UNSUPPORTED_FUNCTION.
const clientFlags = sspi.ISCReqAllocateMemory | sspi.ISCReqConnection | sspi.ISCReqExtendedError |
	sspi.ISCReqManualCredValidation | sspi.ISCReqSequenceDetect | sspi.ISCReqStream |
	sspi.ISCReqUseSuppliedCreds | sspi.ISCReqDelegate | sspi.ISCReqMutualAuth |
	sspi.ISCReqReplayDetect | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity

const serverFlags = sspi.ASCReqAllocateMemory | sspi.ASCReqConnection | sspi.ASCReqExtendedError |
	sspi.ASCReqSequenceDetect | sspi.ASCReqStream | sspi.ASCReqDelegate | sspi.ASCReqMutualAuth |
	sspi.ASCReqReplayDetect | sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity

// What CredSSP asks of Schannel: a stream, and no certificate validation of its own
// (ISC_REQ_MANUAL_CRED_VALIDATION): the public-key binding authenticates the server.
const (
	tlsClientReq = sspi.ISCReqManualCredValidation | sspi.ISCReqConfidentiality | sspi.ISCReqSequenceDetect |
		sspi.ISCReqReplayDetect | sspi.ISCReqStream | sspi.ISCReqConnection | sspi.ISCReqExtendedError
	tlsServerReq = sspi.ASCReqConfidentiality | sspi.ASCReqSequenceDetect | sspi.ASCReqReplayDetect |
		sspi.ASCReqStream | sspi.ASCReqConnection | sspi.ASCReqExtendedError
)

// AttrDelegatedCredentials is the QueryContextAttributes id under which an established
// CredSSP server context gives the credentials the client delegated, into a *Delegated.
// DelegatedCredentials is the convenient form.
const AttrDelegatedCredentials sspi.Attribute = 0x80000C55

// DelegatedCredentials returns what the client of an established CredSSP server context
// delegated: a *PasswordCredentials (empty when the client did not delegate), a
// *SmartCardCredentials or a *RemoteGuardCredentials.
func DelegatedCredentials(ctx *sspi.Context) (Delegated, error) {
	var d Delegated
	if err := sspi.QueryContextAttributes(ctx, AttrDelegatedCredentials, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// AttrExchangeInfo is the QueryContextAttributes id under which an established CredSSP
// context describes its exchange, into an *ExchangeInfo. ExchangeInfoOf is the
// convenient form.
const AttrExchangeInfo = rdp.AttrExchangeInfo

// ExchangeInfo describes an established CredSSP exchange (the TSRequest version, the
// inner package, the Early User Authorization Result, what kind of credentials were
// delegated), for logs and diagnostics; it holds no secret.
type ExchangeInfo = rdp.ExchangeInfo

// ExchangeInfoOf returns the ExchangeInfo of an established CredSSP context.
func ExchangeInfoOf(ctx *sspi.Context) (ExchangeInfo, error) {
	var i ExchangeInfo
	err := sspi.QueryContextAttributes(ctx, AttrExchangeInfo, &i)
	return i, err
}

// MarshalCredentials encodes credentials for a SECBUFFER_PKG_PARAMS buffer: with
// ISC_REQ_USE_SUPPLIED_CREDS a client delegates what that buffer holds, not what its
// credentials handle has.
func MarshalCredentials(d Delegated) []byte { return marshalTSCredentials(d) }

// peerCertificate gives the TLS server's certificate from Schannel's context: the peer's
// on a client, the local one on a server (set where Schannel's types are known).
var peerCertificate func(tls sspi.PackageContext, server bool) (*x509.Certificate, error)

// secContext is a CredSSP security context: Schannel's context, and once its handshake is
// done, the TSRequest exchange inside it.
type secContext struct {
	creds  *credentials
	server bool
	tls    sspi.PackageContext
	tlsOK  bool
	client *clientHandshake
	srv    *serverHandshake
	// plain holds decrypted bytes that do not yet make a whole message.
	plain []byte
	// supplied is what a SECBUFFER_PKG_PARAMS buffer held, with ISC_REQ_USE_SUPPLIED_CREDS,
	// on any call of the handshake.
	supplied Delegated
	attr     sspi.ContextAttr
	done     bool
}

func (c *credentials) NewContext(server bool) (sspi.PackageContext, error) {
	if c.tls == nil {
		return nil, sspi.Errorf(sspi.ErrSecPkgNotFound, "credssp: no Schannel credentials (import github.com/gosspi/sspi/schannel)")
	}
	if server && c.use&sspi.CredInbound == 0 || !server && c.use&sspi.CredOutbound == 0 {
		return nil, sspi.Errorf(sspi.ErrWrongCredentialHandle, "credssp: these credentials are not for the %s side", side(server))
	}
	t, err := c.tls.NewContext(server)
	if err != nil {
		return nil, err
	}
	return &secContext{creds: c, server: server, tls: t}, nil
}

func side(server bool) string {
	if server {
		return "server"
	}
	return "client"
}

// Step is one InitializeSecurityContext or AcceptSecurityContext call: TLS records in,
// TLS records out.
func (c *secContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	if c.done {
		return 0, sspi.Errorf(sspi.ErrInvalidHandle, "credssp: the context is established")
	}
	if err := c.checkFlags(p); err != nil {
		return 0, err
	}
	if !c.server && p.Req&sspi.ISCReqUseSuppliedCreds != 0 {
		if b := sspi.FindBuffer(p.In, sspi.BufferPkgParams); b != nil {
			d, err := parseTSCredentials(b.Data)
			if err != nil {
				return 0, sspi.WithStatus(sspi.ErrUnknownCredentials, err)
			}
			c.supplied = d
		}
	}
	if !c.tlsOK {
		return c.tlsStep(p)
	}
	return c.recordStep(p, p.InputToken())
}

func (c *secContext) checkFlags(p *sspi.StepParams) error {
	allowed, what := clientFlags, "ISC_REQ"
	if c.server {
		allowed, what = serverFlags, "ASC_REQ"
	}
	if extra := p.Req &^ allowed; extra != 0 {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: %s flags %#x are not supported by CredSSP", what, uint64(extra))
	}
	if !c.server && p.Target == "" {
		return sspi.Errorf(sspi.ErrTargetUnknown, "credssp: no target name: CredSSP needs the server's SPN (TERMSRV/host for Remote Desktop) for its delegation policy")
	}
	return nil
}

// tlsStep runs Schannel's handshake; when it ends, the TSRequest exchange starts in the
// same call.
func (c *secContext) tlsStep(p *sspi.StepParams) (sspi.Status, error) {
	req := tlsClientReq
	if c.server {
		req = tlsServerReq
	}
	sub := sspi.StepParams{Server: c.server, Target: p.Target, Req: req, DataRep: p.DataRep, In: p.In, Context: p.Context}
	st, err := c.tls.Step(&sub)
	p.Out = append(p.Out, sub.Out...)
	p.Missing = sub.Missing
	if err != nil {
		return 0, err
	}
	switch st {
	case sspi.ContinueNeeded:
		p.Extra = sub.Extra
		return sspi.ContinueNeeded, nil
	case sspi.IncompleteCredentials:
		// The TLS server wants a client certificate: the caller acquires CredSSP
		// credentials with one (Config.TLS) and calls again with them.
		return sspi.IncompleteCredentials, nil
	case sspi.OK:
	default:
		return 0, sspi.Errorf(sspi.ErrInternalError, "credssp: Schannel returned %v", st)
	}
	c.tlsOK = true
	cert, err := peerCertificate(c.tls, c.server)
	if err != nil {
		return 0, sspi.WithStatus(sspi.ErrInternalError, err)
	}
	spk, err := subjectPublicKey(cert)
	if err != nil {
		return 0, sspi.WithStatus(sspi.ErrInvalidToken, err)
	}
	if err := c.startExchange(p, spk); err != nil {
		return 0, err
	}
	if c.server {
		tok := p.InputToken()
		if sub.Extra > 0 && sub.Extra <= len(tok) {
			// The client's first TSRequest came right behind its Finished (TLS 1.3).
			return c.recordStep(p, tok[len(tok)-sub.Extra:])
		}
		return sspi.ContinueNeeded, nil
	}
	tok := p.InputToken()
	if sub.Extra > 0 && sub.Extra <= len(tok) {
		// Records behind the server's Finished (TLS 1.3 session tickets) are taken in
		// now, so that the sequence numbers stay in step.
		if _, missing, err := c.openRecords(tok[len(tok)-sub.Extra:]); err != nil {
			return 0, err
		} else if missing > 0 {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: a partial TLS record followed the server's handshake")
		}
	}
	// A client speaks first: its first TSRequest follows its last handshake flight.
	return c.exchange(p, nil)
}

func (c *secContext) startExchange(p *sspi.StepParams, spk []byte) error {
	var err error
	if c.server {
		c.srv, err = newServerHandshake(c.creds, spk)
		if err == nil {
			c.srv.gctx = p.Context
		}
		return err
	}
	c.client, err = newClientHandshake(c.creds, p.Target, p.Req, spk)
	if err != nil {
		return err
	}
	c.client.gctx = p.Context
	c.client.supplied = c.supplied
	return nil
}

// recordStep decrypts the TLS records of in and, once they hold a whole message, runs
// the exchange on it.
func (c *secContext) recordStep(p *sspi.StepParams, in []byte) (sspi.Status, error) {
	consumed, missing, err := c.openRecords(in)
	if err != nil {
		return 0, err
	}
	if missing > 0 && consumed == 0 {
		p.Missing = missing
		return 0, sspi.Errorf(sspi.ErrIncompleteMessage, "credssp: the input holds part of a TLS record; call again with it and the next bytes received")
	}
	p.Extra = len(in) - consumed
	msg, ok, err := c.nextMessage()
	if err != nil {
		return 0, err
	}
	if !ok {
		// The message spans more records than this call brought: send nothing, and
		// call again with the next bytes.
		return sspi.ContinueNeeded, nil
	}
	return c.exchange(p, msg)
}

// exchange runs one step of the TSRequest exchange on a whole plaintext message and
// seals its answer into p.Out.
func (c *secContext) exchange(p *sspi.StepParams, msg []byte) (sspi.Status, error) {
	var out []byte
	var st sspi.Status
	var err error
	var errTok []byte
	if c.server {
		if p.Context != nil {
			// Each call's context: an asynchronous caller's ends with its call.
			c.srv.gctx = p.Context
		}
		out, st, err = c.srv.step(msg)
		errTok = c.srv.errToken
	} else {
		if p.Context != nil {
			c.client.gctx = p.Context
		}
		out, st, err = c.client.step(msg)
		errTok = c.client.errToken
	}
	if err != nil {
		if errTok != nil {
			if sealed, e := c.sealRecords(errTok); e == nil {
				p.Out = append(p.Out, sealed...)
			}
		}
		return 0, err
	}
	if len(out) > 0 {
		sealed, err := c.sealRecords(out)
		if err != nil {
			return 0, err
		}
		p.Out = append(p.Out, sealed...)
	}
	c.attr = c.granted(p.Req)
	p.Attr = c.attr
	if st == sspi.OK {
		c.done = true
		if len(c.plain) > 0 {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: %d bytes followed the last message of the exchange", len(c.plain))
		}
	}
	return st, nil
}

// granted is what the context provides: TLS's protections, and what the exchange
// proved.
func (c *secContext) granted(req sspi.ContextReq) sspi.ContextAttr {
	a := sspi.ISCRetConfidentiality | sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect | sspi.ISCRetConnection
	if c.server {
		a = sspi.ASCRetConfidentiality | sspi.ASCRetReplayDetect | sspi.ASCRetSequenceDetect | sspi.ASCRetConnection
		if req&sspi.ASCReqStream != 0 {
			a |= sspi.ASCRetStream
		}
		if req&sspi.ASCReqExtendedError != 0 {
			a |= sspi.ASCRetExtendedError
		}
		if c.srv != nil {
			if pw, ok := c.srv.delegated.(*PasswordCredentials); c.srv.delegated != nil && (!ok || !pw.Empty()) {
				a |= sspi.ASCRetDelegate
			}
		}
		return a
	}
	if req&sspi.ISCReqStream != 0 {
		a |= sspi.ISCRetStream
	}
	if req&sspi.ISCReqExtendedError != 0 {
		a |= sspi.ISCRetExtendedError
	}
	if req&sspi.ISCReqManualCredValidation != 0 {
		a |= sspi.ISCRetManualCredValidation
	}
	if c.client != nil {
		if c.client.inner.attr&sspi.ISCRetMutualAuth != 0 {
			a |= sspi.ISCRetMutualAuth
		}
		if pw, ok := c.client.sent.(*PasswordCredentials); c.client.sent != nil && (!ok || !pw.Empty()) {
			a |= sspi.ISCRetDelegate
		}
	}
	return a
}

// nextMessage cuts one whole message off the decrypted bytes: a DER TSRequest, or the
// 4-byte Early User Authorization Result a HYBRID_EX client waits for.
func (c *secContext) nextMessage() ([]byte, bool, error) {
	if c.client != nil && c.client.state == clientEarlyAuth && (len(c.plain) == 0 || c.plain[0] != 0x30 || len(c.plain) == rdp.EarlyUserAuthResultLen) {
		if len(c.plain) < rdp.EarlyUserAuthResultLen {
			return nil, false, nil
		}
		msg := c.plain[:rdp.EarlyUserAuthResultLen]
		c.plain = c.plain[rdp.EarlyUserAuthResultLen:]
		return msg, true, nil
	}
	n, err := derLength(c.plain)
	if err != nil {
		return nil, false, err
	}
	if n == 0 || len(c.plain) < n {
		return nil, false, nil
	}
	msg := append([]byte(nil), c.plain[:n]...)
	c.plain = c.plain[n:]
	return msg, true, nil
}

// derLength returns the size of the DER element at the start of b, 0 when b does not yet
// hold its whole header.
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	if b[0] != 0x30 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the peer sent something other than a TSRequest (tag %#02x) inside TLS", b[0])
	}
	if b[1] < 0x80 {
		return 2 + int(b[1]), nil
	}
	k := int(b[1] & 0x7f)
	if k == 0 || k > 3 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: a TSRequest with a %d-octet length", k)
	}
	if len(b) < 2+k {
		return 0, nil
	}
	n := 0
	for _, x := range b[2 : 2+k] {
		n = n<<8 | int(x)
	}
	if n > maxTSRequest {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: a TSRequest of %d bytes exceeds the %d-byte limit", n, maxTSRequest)
	}
	return 2 + k + n, nil
}

// identity is who the server authenticated (or, on a client, who it presented).
func (c *secContext) Identity() sspi.Identity {
	switch {
	case c.srv != nil:
		return c.srv.inner.identity()
	case c.client != nil:
		return c.client.inner.identity()
	}
	return sspi.Identity{}
}

// QueryAttribute answers AttrDelegatedCredentials on a server, and passes everything
// else to Schannel (the connection, the certificates).
func (c *secContext) QueryAttribute(attr sspi.Attribute, out any) error {
	if attr == AttrDelegatedCredentials {
		o, ok := out.(*Delegated)
		if !ok {
			return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: AttrDelegatedCredentials takes a *credssp.Delegated, not %T", out)
		}
		if c.srv == nil || !c.done {
			return sspi.Errorf(sspi.ErrNoContext, "credssp: delegated credentials exist on an established server context")
		}
		*o = c.srv.delegated
		return nil
	}
	if attr == AttrExchangeInfo {
		o, ok := out.(*ExchangeInfo)
		if !ok {
			return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: AttrExchangeInfo takes a *credssp.ExchangeInfo, not %T", out)
		}
		if !c.done {
			return sspi.Errorf(sspi.ErrNoContext, "credssp: the exchange is not established")
		}
		*o = c.exchangeInfo()
		return nil
	}
	if q, ok := c.tls.(sspi.AttributeQuerier); ok {
		return q.QueryAttribute(attr, out)
	}
	return sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: attribute %d is not supported", attr)
}

func (c *secContext) exchangeInfo() ExchangeInfo {
	var cm *common
	var d Delegated
	if c.srv != nil {
		cm, d = &c.srv.common, c.srv.delegated
	} else {
		cm, d = &c.client.common, c.client.sent
	}
	i := ExchangeInfo{Version: int(cm.negotiated()), Inner: cm.inner.packageName(), EarlyUserAuthResult: c.creds.cfg.EarlyUserAuthResult}
	switch d := d.(type) {
	case *PasswordCredentials:
		if d != nil && !d.Empty() {
			i.Delegated = "password"
		}
	case *SmartCardCredentials:
		i.Delegated = "smart card"
	case *RemoteGuardCredentials:
		i.Delegated = "remote guard"
	}
	return i
}

// CompleteAuthToken passes a CompleteAuthToken to the inner package when it asked for
// one (CredSSP then returned its SEC_I_COMPLETE_NEEDED or COMPLETE_AND_CONTINUE).
func (c *secContext) CompleteAuthToken(tok []sspi.Buffer) error {
	var n *inner
	switch {
	case c.srv != nil:
		n = &c.srv.inner
	case c.client != nil:
		n = &c.client.inner
	default:
		return nil
	}
	var b []byte
	if t := sspi.FindBuffer(tok, sspi.BufferToken); t != nil {
		b = t.Data
	}
	return n.complete(b)
}

// EncryptMessage and DecryptMessage protect the application's data with the TLS channel
// once CredSSP is established, as Remote Desktop goes on using it.
func (c *secContext) EncryptMessage(qop uint32, msg []sspi.Buffer, seq uint32) error {
	s, ok := c.tls.(sspi.Sealer)
	if !ok {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: Schannel cannot seal")
	}
	return s.EncryptMessage(qop, msg, seq)
}

func (c *secContext) DecryptMessage(msg []sspi.Buffer, seq uint32) (uint32, error) {
	s, ok := c.tls.(sspi.Sealer)
	if !ok {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: Schannel cannot unseal")
	}
	return s.DecryptMessage(msg, seq)
}

// StreamSizes are Schannel's.
func (c *secContext) StreamSizes() sspi.StreamSizes {
	if r, ok := c.tls.(sspi.StreamSizeReporter); ok {
		return r.StreamSizes()
	}
	return sspi.StreamSizes{}
}

// Close releases both contexts and forgets the delegated credentials.
func (c *secContext) Close() error {
	if cl, ok := c.tls.(sspi.Closer); ok {
		cl.Close()
	}
	if c.srv != nil {
		c.srv.inner.close()
		c.srv.delegated = nil
	}
	if c.client != nil {
		c.client.inner.close()
	}
	clear(c.plain)
	return nil
}
