package credssp

import (
	"bytes"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/internal/wiretext"
)

// serverState is where a server's exchange stands after the TLS handshake.
type serverState int

const (
	serverNego     serverState = iota // inner tokens, then the client's pubKeyAuth
	serverAuthInfo                    // binding answered; the client's credentials are due
	serverDone
)

const innerServerReq = sspi.ASCReqMutualAuth | sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity |
	sspi.ASCReqReplayDetect | sspi.ASCReqSequenceDetect | sspi.ASCReqConnection

// serverHandshake is MS-CSSP 3.1.5 for the server, on plaintext TSRequests.
type serverHandshake struct {
	common
	state     serverState
	finalTok  []byte // the inner package's last token, not sent yet
	delegated Delegated
	id        sspi.Identity
}

func newServerHandshake(c *credentials, spk []byte) (*serverHandshake, error) {
	ictx, err := c.inner.NewContext(true)
	if err != nil {
		return nil, err
	}
	h := &serverHandshake{}
	h.common = common{creds: c, inner: inner{name: c.innerName, ctx: ictx}, spk: spk, version: c.cfg.maxVersion()}
	return h, nil
}

// step consumes one plaintext TSRequest from the client and returns the next message.
func (h *serverHandshake) step(in []byte) ([]byte, sspi.Status, error) {
	r, err := h.readRequest(in, "client")
	if err != nil {
		if h.peerVersion != 0 && sspi.StatusOf(err) == sspi.ErrDowngradeDetected && h.sendsErrorCode() {
			h.errToken = (&tsRequest{version: h.version, errorCode: toNTStatus(sspi.ErrDowngradeDetected), hasErrorCode: true}).marshal()
		}
		return nil, sspi.StatusOf(err), err
	}
	switch h.state {
	case serverNego:
		return h.readNego(r)
	case serverAuthInfo:
		return h.readAuthInfo(r)
	}
	return nil, sspi.ErrInvalidHandle, sspi.Errorf(sspi.ErrInvalidHandle, "credssp: the exchange is over")
}

// readNego feeds the client's inner token to the inner package and, once that is done,
// checks the client's pubKeyAuth (3.1.5 steps 2-4).
func (h *serverHandshake) readNego(r *tsRequest) ([]byte, sspi.Status, error) {
	st := sspi.OK
	if r.negoToken != nil {
		if h.inner.done {
			return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the client sent another negoToken after %s finished", h.inner.name)
		}
		tok, s, err := h.inner.step(h.gctx, true, "", innerServerReq, r.negoToken)
		if err != nil {
			return nil, sspi.StatusOf(err), h.failInner(err)
		}
		st = s
		if !h.inner.done {
			out := h.request()
			out.negoToken = tok
			return out.marshal(), continued(st), nil
		}
		if len(tok) > 0 {
			h.finalTok = tok
		}
	}
	if !h.inner.done {
		return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the client's TSRequest has no negoTokens while %s is still authenticating", h.inner.name)
	}
	if r.pubKeyAuth == nil {
		if h.finalTok == nil {
			return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the client sent neither a negoToken nor pubKeyAuth")
		}
		// Kerberos' AP-REP (or SPNEGO's last word) goes first; pubKeyAuth follows.
		out := h.request()
		out.negoToken, h.finalTok = h.finalTok, nil
		return out.marshal(), sspi.ContinueNeeded, nil
	}
	return h.answerPubKeyAuth(r)
}

// answerPubKeyAuth checks that the client bound the inner authentication to this
// server's own TLS key and answers with the server's binding.
func (h *serverHandshake) answerPubKeyAuth(r *tsRequest) ([]byte, sspi.Status, error) {
	v := h.negotiated()
	if v >= firstNonceVersion {
		if r.clientNonce == nil {
			return nil, sspi.ErrBadBindings, h.failInner(sspi.Errorf(sspi.ErrBadBindings, "credssp: version %d pubKeyAuth without a clientNonce", v))
		}
		h.nonce = append([]byte(nil), r.clientNonce...)
	}
	// Below version 5 a clientNonce means nothing; FreeRDP sends one anyway, having
	// announced version 6 before it knew ours, so it is ignored.
	got, err := h.inner.open(r.pubKeyAuth)
	if err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	if !bindingEqual(got, clientBinding(v, h.nonce, h.spk)) {
		return nil, sspi.ErrBadBindings, h.failInner(sspi.Errorf(sspi.ErrBadBindings, "credssp: the client's pubKeyAuth does not match this server's TLS key (version %d): the client authenticated through a man in the middle, or the TLS certificate changed", v))
	}
	sealed, err := h.inner.seal(serverBinding(v, h.nonce, h.spk))
	if err != nil {
		return nil, sspi.StatusOf(err), err
	}
	out := h.request()
	out.negoToken, h.finalTok = h.finalTok, nil
	out.pubKeyAuth = sealed
	out.clientNonce = h.nonce // echoed, as Windows does
	h.state = serverAuthInfo
	return out.marshal(), sspi.ContinueNeeded, nil
}

// readAuthInfo takes the delegated credentials (3.1.5 step 5) and ends the exchange.
func (h *serverHandshake) readAuthInfo(r *tsRequest) ([]byte, sspi.Status, error) {
	if r.authInfo == nil {
		return nil, sspi.ErrInvalidToken, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the client's last TSRequest has no authInfo")
	}
	if h.nonce != nil && r.clientNonce != nil && !bytes.Equal(r.clientNonce, h.nonce) {
		return nil, sspi.ErrBadBindings, sspi.Errorf(sspi.ErrBadBindings, "credssp: the client's clientNonce changed between its messages")
	}
	plain, err := h.inner.open(r.authInfo)
	if err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	creds, err := parseTSCredentials(plain)
	clear(plain)
	if err != nil {
		return nil, sspi.ErrInvalidToken, h.failInner(sspi.WithStatus(sspi.ErrInvalidToken, err))
	}
	h.id = h.inner.identity()
	if err := h.checkDelegatedUser(creds); err != nil {
		return nil, sspi.StatusOf(err), h.failInner(err)
	}
	h.delegated = creds
	allowed := h.creds.cfg.Authorize == nil || h.creds.cfg.Authorize(h.id, creds)
	h.state = serverDone
	if h.creds.cfg.EarlyUserAuthResult {
		if !allowed {
			// The refusal travels as the Early User Authorization Result; the core hands
			// it out with the failure (extended error).
			h.errToken = rdp.AppendEarlyUserAuthResult(nil, rdp.AuthzAccessDenied)
			return nil, sspi.ErrLogonDenied, sspi.Errorf(sspi.ErrLogonDenied, "credssp: %s is authenticated but Config.Authorize refused access", wiretext.Name(h.id.Principal))
		}
		return rdp.AppendEarlyUserAuthResult(nil, rdp.AuthzSuccess), sspi.OK, nil
	}
	if !allowed {
		return nil, sspi.ErrLogonDenied, h.failInner(sspi.Errorf(sspi.ErrLogonDenied, "credssp: %s is authenticated but Config.Authorize refused access", wiretext.Name(h.id.Principal)))
	}
	return nil, sspi.OK, nil
}

// checkDelegatedUser refuses password credentials for someone other than the user the
// inner package authenticated, unless Config.AllowDelegatedUserMismatch.
func (h *serverHandshake) checkDelegatedUser(d Delegated) error {
	pw, ok := d.(*PasswordCredentials)
	if !ok || pw.Empty() || h.creds.cfg.AllowDelegatedUserMismatch {
		return nil
	}
	domain, user := splitUser(pw.Domain, pw.User)
	idDomain, idUser := splitUser(h.id.Domain, h.id.User)
	if strings.EqualFold(user, idUser) && (domain == "" || idDomain == "" || strings.EqualFold(domain, idDomain) || sameRealm(domain, idDomain)) {
		return nil
	}
	return sspi.Errorf(sspi.ErrLogonDenied, "credssp: the delegated credentials are for %s but %s authenticated %s (set Config.AllowDelegatedUserMismatch to accept, as Windows does)",
		wiretext.Name(pw.String()), h.inner.packageName(), wiretext.Name(h.id.Principal))
}

// splitUser turns "DOMAIN\user" and "user@domain" with no domain into their parts.
func splitUser(domain, user string) (string, string) {
	if domain != "" {
		return domain, user
	}
	if d, u, ok := strings.Cut(user, `\`); ok {
		return d, u
	}
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		return user[i+1:], user[:i]
	}
	return "", user
}

// sameRealm accepts a NetBIOS domain against the first label of a DNS realm
// (EXAMPLE and EXAMPLE.COM), the two names Windows uses for one domain.
func sameRealm(a, b string) bool {
	fa, _, _ := strings.Cut(a, ".")
	fb, _, _ := strings.Cut(b, ".")
	return strings.EqualFold(fa, fb)
}
