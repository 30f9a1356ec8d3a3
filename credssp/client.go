package credssp

import (
	"bytes"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/internal/wiretext"
)

// clientState is where a client's exchange stands after the TLS handshake.
type clientState int

const (
	clientStart     clientState = iota // nothing sent yet
	clientNego                         // inner tokens are going back and forth
	clientPubKey                       // pubKeyAuth sent; the server's binding is due
	clientEarlyAuth                    // credentials sent; the Early User Authorization Result is due
	clientDone
)

// innerClientReq is what CredSSP asks of the inner package: keys to seal with, and the
// server authenticated where the mechanism can (Kerberos).
const innerClientReq = sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity |
	sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect | sspi.ISCReqConnection

// clientHandshake is MS-CSSP 3.1.5 for the client, on plaintext TSRequests: the TLS
// layer is below it.
type clientHandshake struct {
	common
	state    clientState
	target   string
	req      sspi.ContextReq
	supplied Delegated // from a SECBUFFER_PKG_PARAMS buffer, with ISC_REQ_USE_SUPPLIED_CREDS
	sent     Delegated // what was delegated
}

func newClientHandshake(c *credentials, target string, req sspi.ContextReq, spk []byte) (*clientHandshake, error) {
	ictx, err := c.inner.NewContext(false)
	if err != nil {
		return nil, err
	}
	h := &clientHandshake{target: target, req: req}
	h.common = common{creds: c, inner: inner{name: c.innerName, ctx: ictx}, spk: spk, version: c.cfg.maxVersion()}
	return h, nil
}

// step consumes one plaintext message from the server (nil at first) and returns the
// next message to send.
func (h *clientHandshake) step(in []byte) ([]byte, sspi.Status, error) {
	switch h.state {
	case clientStart:
		return h.start()
	case clientNego:
		return h.readNego(in)
	case clientPubKey:
		return h.readPubKeyAuth(in)
	case clientEarlyAuth:
		return h.readEarlyUserAuth(in)
	}
	return nil, sspi.ErrInvalidHandle, sspi.Errorf(sspi.ErrInvalidHandle, "credssp: the exchange is over; call InitializeSecurityContext with no input to authenticate again")
}

// start sends the inner package's first token (MS-CSSP 3.1.5 step 1 after TLS).
func (h *clientHandshake) start() ([]byte, sspi.Status, error) {
	tok, st, err := h.inner.step(h.gctx, false, h.target, innerClientReq, nil)
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	if h.inner.done {
		return h.sendPubKeyAuth(tok)
	}
	r := h.request()
	r.negoToken = tok
	h.state = clientNego
	return r.marshal(), continued(st), nil
}

// readNego feeds the server's inner token to the inner package.
func (h *clientHandshake) readNego(in []byte) ([]byte, sspi.Status, error) {
	r, err := h.readRequest(in, "server")
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	if r.negoToken == nil {
		return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the server's TSRequest has no negoTokens while %s is still authenticating", h.inner.name)
	}
	if r.pubKeyAuth != nil {
		return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the server sent pubKeyAuth before the client did")
	}
	tok, st, err := h.inner.step(h.gctx, false, h.target, innerClientReq, r.negoToken)
	if err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	if h.inner.done {
		return h.sendPubKeyAuth(tok)
	}
	out := h.request()
	out.negoToken = tok
	return out.marshal(), continued(st), nil
}

// sendPubKeyAuth decides whether this server may have the credentials, then proves to
// it which TLS key the client saw, with the inner package's last token if any (3.1.5
// step 3).
func (h *clientHandshake) sendPubKeyAuth(tok []byte) ([]byte, sspi.Status, error) {
	if err := h.checkServer(); err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	v := h.negotiated()
	if v >= firstNonceVersion {
		var err error
		if h.nonce, err = randomNonce(h.creds.cfg.Rand); err != nil {
			return nil, sspi.StatusOf(err), err
		}
	}
	sealed, err := h.inner.seal(clientBinding(v, h.nonce, h.spk))
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	r := h.request()
	if len(tok) > 0 {
		r.negoToken = tok
	}
	r.pubKeyAuth = sealed
	r.clientNonce = h.nonce
	h.state = clientPubKey
	return r.marshal(), sspi.ContinueNeeded, nil
}

// checkServer applies ISC_REQ_MUTUAL_AUTH, the target name and the delegation policy once
// the inner package is done, before anything is sealed for the server.
func (h *clientHandshake) checkServer() error {
	mutual := h.inner.attr&sspi.ISCRetMutualAuth != 0
	if h.req&sspi.ISCReqMutualAuth != 0 && !mutual {
		return sspi.Errorf(sspi.ErrMutualAuthFailed, "credssp: ISC_REQ_MUTUAL_AUTH was asked but %s did not authenticate the server (NTLM cannot; use Kerberos)", h.inner.packageName())
	}
	if proved := h.inner.identity().Server; proved != "" && !samePrincipal(proved, h.target) {
		return sspi.Errorf(sspi.ErrWrongPrincipal, "credssp: the server proved it is %s, not the target %s", wiretext.Name(proved), wiretext.Name(h.target))
	}
	if h.req&sspi.ISCReqDelegate == 0 {
		return nil
	}
	if _, err := h.delegated(); err != nil {
		return err
	}
	cfg := &h.creds.cfg
	if mutual {
		if !matchSPN(h.target, cfg.delegateTo()) {
			return sspi.Errorf(sspi.ErrDelegationPolicy, "credssp: the delegation policy does not allow fresh credentials to %s (Config.DelegateTo: %s)", wiretext.Name(h.target), strings.Join(cfg.delegateTo(), ", "))
		}
		return nil
	}
	if !matchSPN(h.target, cfg.DelegateToNTLMOnly) {
		return sspi.Errorf(sspi.ErrPolicyNLTMOnly, "credssp: only %s authenticated the exchange, which does not authenticate the server, and Config.DelegateToNTLMOnly does not list %s", h.inner.packageName(), wiretext.Name(h.target))
	}
	return nil
}

// delegated is what goes into authInfo: the empty set without ISC_REQ_DELEGATE, the
// caller's SECBUFFER_PKG_PARAMS with ISC_REQ_USE_SUPPLIED_CREDS, else the credentials'.
func (h *clientHandshake) delegated() (Delegated, error) {
	if h.req&sspi.ISCReqDelegate == 0 {
		return &PasswordCredentials{}, nil
	}
	if h.req&sspi.ISCReqUseSuppliedCreds != 0 {
		if h.supplied == nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "credssp: ISC_REQ_USE_SUPPLIED_CREDS without a SECBUFFER_PKG_PARAMS buffer holding the credentials to delegate (credssp.MarshalCredentials)")
		}
		return h.supplied, nil
	}
	if h.creds.delegate == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "credssp: ISC_REQ_DELEGATE but there is nothing to delegate: acquire the credentials with a user and password, or set Config.Delegate")
	}
	return h.creds.delegate, nil
}

// readPubKeyAuth checks the server's answer to the binding (3.1.5 step 4) and sends the
// credentials (step 5).
func (h *clientHandshake) readPubKeyAuth(in []byte) ([]byte, sspi.Status, error) {
	r, err := h.readRequest(in, "server")
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	if r.pubKeyAuth == nil {
		return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the server's TSRequest has no pubKeyAuth")
	}
	// Below version 5 there is no nonce to echo; FreeRDP's server sends one anyway.
	if h.nonce != nil && r.clientNonce != nil && !bytes.Equal(r.clientNonce, h.nonce) {
		return nil, sspi.ErrBadBindings, sspi.Errorf(sspi.ErrBadBindings, "credssp: the server echoed a different clientNonce")
	}
	got, err := h.inner.open(r.pubKeyAuth)
	if err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	v := h.negotiated()
	if !bindingEqual(got, serverBinding(v, h.nonce, h.spk)) {
		return nil, sspi.ErrBadBindings, h.failInner(sspi.Errorf(sspi.ErrBadBindings, "credssp: the server's pubKeyAuth does not match the TLS key this client saw (version %d): a man in the middle, or a server that is not the one %s authenticated", v, h.inner.packageName()))
	}
	creds, err := h.delegated()
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	plain := marshalTSCredentials(creds)
	sealed, err := h.inner.seal(plain)
	clear(plain)
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	h.sent = creds
	out := h.request()
	out.authInfo = sealed
	if h.creds.cfg.EarlyUserAuthResult {
		h.state = clientEarlyAuth
		return out.marshal(), sspi.ContinueNeeded, nil
	}
	h.state = clientDone
	return out.marshal(), sspi.OK, nil
}

// readEarlyUserAuth reads HYBRID_EX's Early User Authorization Result (MS-RDPBCGR
// 2.2.10.2), which the server sends in place of a TSRequest.
func (h *clientHandshake) readEarlyUserAuth(in []byte) ([]byte, sspi.Status, error) {
	if len(in) != rdp.EarlyUserAuthResultLen {
		// A server that failed after all sends a TSRequest with its errorCode.
		if _, err := h.readRequest(in, "server"); err != nil {
			return nil, sspi.StatusOf(err), err
		}
	}
	v, err := rdp.ParseEarlyUserAuthResult(in)
	if err != nil {
		return nil, sspi.ErrInvalidToken, sspi.WithStatus(sspi.ErrInvalidToken, err)
	}
	if v != rdp.AuthzSuccess {
		return nil, sspi.ErrLogonDenied, sspi.Errorf(sspi.ErrLogonDenied, "credssp: the server authenticated the user but refused access (Early User Authorization Result 0x%08X)", v)
	}
	h.state = clientDone
	return nil, sspi.OK, nil
}
