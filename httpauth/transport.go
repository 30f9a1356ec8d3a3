package httpauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosspi/sspi"
	_ "github.com/gosspi/sspi/kerberos"  // registers "Kerberos"
	_ "github.com/gosspi/sspi/negotiate" // registers "Negotiate"
	_ "github.com/gosspi/sspi/ntlm"      // registers "NTLM"
)

// MutualAuthPolicy says what Transport demands of the server's final token, the one
// that proves the server's identity (Kerberos's AP-REP, inside SPNEGO for Negotiate).
// A final token that is present is always verified, and a wrong one is always an error.
type MutualAuthPolicy int

const (
	// MutualWhenSupported, the zero value, requires the final token whenever the
	// package can give one: a Kerberos (or Negotiate-with-Kerberos) response without
	// it is an error, so stripping the header cannot silently skip the check. NTLM,
	// which cannot prove the server's identity, passes, alone or inside Negotiate (where
	// SPNEGO's final token, carrying only the mechListMIC, may be missing; when it is
	// present it must verify).
	MutualWhenSupported MutualAuthPolicy = iota
	// MutualRequired refuses any response whose context does not grant mutual
	// authentication: NTLM, which never does, fails with it.
	MutualRequired
	// MutualOptional accepts a success response with no final token, as curl and
	// browsers do, for servers that never send one (gokrb5's SPNEGO service). It is
	// an explicit opt-in: the server's identity is then not checked.
	MutualOptional
)

// DefaultSchemes is the preference order Transport uses when Schemes is empty.
var DefaultSchemes = []string{"Negotiate", "Kerberos", "NTLM"}

// maxLegs bounds the round trips of one handshake: NTLM takes two, SPNEGO three.
const maxLegs = 6

// Transport is an http.RoundTripper that authenticates requests with HTTP Negotiate
// (RFC 4559), NTLM and Kerberos, as Windows' WinHTTP does: it sends a request through
// Base, and when the answer is 401 (or 407 from a proxy) with a challenge for a scheme
// it has credentials for, it runs the handshake and returns the final response.
//
// Each handshake runs on a connection of its own, opened for it and closed when the
// final response's body is closed: NTLM (and SPNEGO when it has more than one leg)
// authenticates the connection, not the request, so every leg must travel over the same
// TCP connection. If the server closes it in the middle, the handshake fails rather than
// continuing on another connection. Requests through an HTTPS proxy (CONNECT) cannot
// authenticate to the proxy with a multi-leg scheme: net/http gives no access to the
// CONNECT exchange.
//
// The request body is sent again on every leg, so a request with a body must have
// GetBody (http.NewRequest sets it for bytes, strings and bytes.Buffer readers); without
// it the handshake fails with a clear error instead of sending an empty body.
//
// A Transport is safe for concurrent use. Its zero value (with Base nil) authenticates
// with Negotiate and the environment's default credentials (KRB5CCNAME, NTLM_USER_FILE
// and NTLMUSER) over a clone of http.DefaultTransport.
type Transport struct {
	// Base carries the requests; nil means http.DefaultTransport. When it is an
	// *http.Transport, each handshake runs on a clone of it (same TLS configuration,
	// proxy and dialer) limited to one connection and HTTP/1.1. Any other RoundTripper
	// is used only for the first, unauthenticated attempt, and handshakes run on a
	// clone of http.DefaultTransport.
	Base http.RoundTripper
	// Credentials are outbound credential handles (sspi.CredOutbound), at most one per
	// package; the handle for a scheme is the one whose Package is the scheme's
	// ("Negotiate", "NTLM" or "Kerberos"), and for Negotiate, when there is no Negotiate
	// handle, the Kerberos one, whose tokens Negotiate servers accept bare (as the
	// credentials of kerberos.DelegatedCredentials are). When set, only these are used.
	Credentials []*sspi.Credentials
	// Identity, when Credentials is empty, is the user name, domain, password and
	// Negotiate package list to acquire credentials with for each scheme; nil means
	// the environment's default credentials.
	Identity *sspi.AuthIdentity
	// Schemes is the preference order among the schemes a server offers; nil means
	// DefaultSchemes. A scheme not listed is never used.
	Schemes []string
	// SPN, if set, is the target name for every request instead of "HTTP/" and the
	// host of the URL (or of the proxy, for a 407).
	SPN string
	// CanonicalizeHost resolves the host's CNAME before building the SPN, as browsers
	// do (Chrome's and Firefox's default on Windows): a request to an alias then asks
	// for a ticket to the real host's name. Off by default: an attacker who controls
	// DNS then chooses the SPN.
	CanonicalizeHost bool
	// Resolver is used by CanonicalizeHost; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Optimistic sends a Negotiate (or Kerberos) token with the first request, before
	// any 401, saving one round trip when Kerberos is expected. Over HTTPS that first
	// token carries no channel bindings (the TLS connection does not exist yet); a
	// server that requires them answers 401 and the handshake is rerun with them.
	Optimistic bool
	// MutualAuth says when the server's final token is required; see MutualAuthPolicy.
	MutualAuth MutualAuthPolicy
	// NoChannelBindings leaves out the tls-server-end-point channel bindings (RFC 5929,
	// Windows' Extended Protection for Authentication) that are otherwise given to the
	// package over HTTPS. Only for servers that refuse bindings they do not understand.
	NoChannelBindings bool
	// Delegate asks for a delegated (forwarded) Kerberos ticket (ISC_REQ_DELEGATE): the
	// server may then act as the user (kerberos.DelegatedCredentials). It is sent only
	// when the user's TGT is forwardable (kerberos.ClientConfig.Forwardable, or
	// krb5.conf's forwardable for an Identity) and, unless the credentials say
	// IgnoreOKAsDelegate, to a service the realm marks OK-AS-DELEGATE. Off by default.
	Delegate bool

	mu       sync.Mutex
	acquired map[string]*sspi.Credentials // by package, when Credentials is empty
}

// RoundTrip implements http.RoundTripper. It does not modify req; the response it
// returns is the server's answer to the last leg.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: the request has no URL")
	}
	if t.Optimistic {
		if resp, ok, err := t.optimistic(req); ok || err != nil {
			return resp, err
		}
	}
	resp, err := t.base().RoundTrip(req)
	if err != nil {
		return nil, err
	}
	return t.answer(req, resp)
}

// answer runs a handshake when resp asks for one, and returns resp otherwise.
func (t *Transport) answer(req *http.Request, resp *http.Response) (*http.Response, error) {
	var auth authHeaders
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		auth = wwwAuth
	case http.StatusProxyAuthRequired:
		auth = proxyAuth
	default:
		return resp, nil
	}
	if req.Header.Get(auth.request) != "" {
		// The caller authenticates this request itself.
		return resp, nil
	}
	offered, err := ParseChallenges(resp.Header, auth.challenge)
	if err != nil {
		// A challenge we cannot read is one we cannot answer: the caller sees the 401.
		return resp, nil
	}
	scheme, creds, err := t.choose(offered)
	if err != nil || scheme == "" {
		// Nothing we can answer: the 401 is the caller's to see.
		return resp, nil
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		discard(resp)
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: %s asks for %s authentication, but the request body cannot be sent again: set Request.GetBody (http.NewRequest does for bytes, strings and bytes.Buffer bodies)", boundHost(req.URL.Host), scheme)
	}
	var cb *sspi.ChannelBindings
	if resp.TLS != nil && !t.NoChannelBindings && auth.proxy == false {
		if cb, err = sspi.TLSServerEndPointFromState(*resp.TLS); err != nil {
			discard(resp)
			return nil, err
		}
	}
	discard(resp)
	target, err := t.target(req, auth)
	if err != nil {
		return nil, err
	}
	h := &clientHandshake{t: t, req: req, auth: auth, scheme: scheme, creds: creds, target: target, cb: cb}
	return h.run()
}

// authHeaders names the headers of origin (401) or proxy (407) authentication.
type authHeaders struct {
	challenge, request string
	status             int
	proxy              bool
}

var (
	wwwAuth   = authHeaders{"WWW-Authenticate", "Authorization", http.StatusUnauthorized, false}
	proxyAuth = authHeaders{"Proxy-Authenticate", "Proxy-Authorization", http.StatusProxyAuthRequired, true}
)

// schemePackage maps an HTTP scheme to the security package that speaks it.
func schemePackage(scheme string) string {
	switch strings.ToLower(scheme) {
	case "negotiate":
		return "Negotiate"
	case "ntlm":
		return "NTLM"
	case "kerberos":
		return "Kerberos"
	}
	return ""
}

// choose picks the first scheme of the preference order that the server offers and that
// there are credentials for. A scheme whose credentials cannot be acquired (no NTLM user
// file, say) is passed over for the next one.
func (t *Transport) choose(offered []Challenge) (string, *sspi.Credentials, error) {
	prefs := t.Schemes
	if prefs == nil {
		prefs = DefaultSchemes
	}
	var firstErr error
	for _, p := range prefs {
		for _, c := range offered {
			if !c.Is(p) || schemePackage(p) == "" {
				continue
			}
			cred, err := t.credentials(schemePackage(p))
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			return schemePackage(p), cred, nil
		}
	}
	return "", nil, firstErr
}

// credentials returns the handle for pkg: the caller's, or one acquired once with Identity.
func (t *Transport) credentials(pkg string) (*sspi.Credentials, error) {
	if len(t.Credentials) > 0 {
		if c := t.given(pkg); c != nil {
			return c, nil
		}
		// Kerberos tokens go under Negotiate as they are: Windows' Negotiate acceptor
		// (IIS), MIT's and ours take a bare Kerberos token for SPNEGO. This lets the
		// Kerberos-only credentials a server got from its client's delegation
		// (kerberos.DelegatedCredentials) reach a back-end that offers Negotiate only.
		if strings.EqualFold(pkg, "Negotiate") {
			if c := t.given("Kerberos"); c != nil {
				return c, nil
			}
		}
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "httpauth: no %s credentials among Transport.Credentials", pkg)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.acquired[pkg]; c != nil {
		return c, nil
	}
	var authData any
	if t.Identity != nil {
		id := *t.Identity
		authData = &id
	}
	c, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	if err != nil {
		return nil, err
	}
	if t.acquired == nil {
		t.acquired = make(map[string]*sspi.Credentials)
	}
	t.acquired[pkg] = c
	return c, nil
}

// given returns the handle of Credentials for pkg, or nil.
func (t *Transport) given(pkg string) *sspi.Credentials {
	for _, c := range t.Credentials {
		if c != nil && strings.EqualFold(c.Package(), pkg) {
			return c
		}
	}
	return nil
}

// CloseIdleConnections closes Base's idle connections (handshake connections are never
// idle: each closes with its response) and frees the credentials the Transport acquired.
// The Transport stays usable: it acquires them again when needed.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
	t.mu.Lock()
	acq := t.acquired
	t.acquired = nil
	t.mu.Unlock()
	for _, c := range acq {
		sspi.FreeCredentialsHandle(c)
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// target is the SPN for req: SPN, or HTTP/ and the host (the proxy's for a 407), without
// its port, as Windows and browsers build it.
func (t *Transport) target(req *http.Request, auth authHeaders) (string, error) {
	if t.SPN != "" {
		return t.SPN, nil
	}
	host := req.URL.Hostname()
	if auth.proxy {
		u, err := proxyURL(t.base(), req)
		if err != nil || u == nil {
			return "", sspi.Errorf(sspi.ErrTargetUnknown, "httpauth: a 407 came but no proxy is configured for %s; set Transport.SPN", boundHost(req.URL.Host))
		}
		host = u.Hostname()
	}
	if host == "" {
		return "", sspi.Errorf(sspi.ErrTargetUnknown, "httpauth: the request URL has no host to build the SPN from; set Transport.SPN")
	}
	if t.CanonicalizeHost && net.ParseIP(host) == nil {
		r := t.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		cname, err := r.LookupCNAME(ctx, host)
		cancel()
		if err == nil && cname != "" {
			host = strings.TrimSuffix(cname, ".")
		}
	}
	return "HTTP/" + strings.ToLower(host), nil
}

func proxyURL(rt http.RoundTripper, req *http.Request) (*url.URL, error) {
	if tr, ok := rt.(*http.Transport); ok && tr.Proxy != nil {
		return tr.Proxy(req)
	}
	return nil, nil
}

// optimistic sends the first request with a token already; ok reports whether resp is
// the answer to give the caller (it is not when the server ignored or refused the
// token: the ordinary path then runs).
func (t *Transport) optimistic(req *http.Request) (resp *http.Response, ok bool, err error) {
	if req.Header.Get("Authorization") != "" {
		return nil, false, nil
	}
	scheme, creds, err := t.choose([]Challenge{{Scheme: "Negotiate"}, {Scheme: "Kerberos"}})
	if err != nil || scheme == "" {
		return nil, false, nil
	}
	target, err := t.target(req, wwwAuth)
	if err != nil {
		return nil, false, err
	}
	h := &clientHandshake{t: t, req: req, auth: wwwAuth, scheme: scheme, creds: creds, target: target, optimistic: true}
	resp, err = h.run()
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// Refused or not wanted: answer this 401 as if no token had been sent.
		r, err := t.answer(stripAuth(req), resp)
		return r, true, err
	}
	return resp, true, nil
}

func stripAuth(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	if req.GetBody != nil {
		r.Body, _ = req.GetBody()
	}
	return r
}

// discard drains a little of a body we will not return, so its connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// boundHost keeps a host name from the URL short enough for an error message.
func boundHost(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// clientHandshake is one authentication exchange: a security context and the connection it
// runs on.
type clientHandshake struct {
	t          *Transport
	req        *http.Request
	auth       authHeaders
	scheme     string
	creds      *sspi.Credentials
	target     string
	cb         *sspi.ChannelBindings
	optimistic bool

	ctx   *sspi.ClientContext
	conn  *pinnedTransport
	leaf  []byte // the certificate the channel bindings name
	legs  int
	first bool
}

// run drives the legs: make a token, send the request with it, read the server's answer,
// until the server stops asking.
func (h *clientHandshake) run() (*http.Response, error) {
	opts := sspi.ClientOptions{Target: h.target, Req: h.reqFlags()}
	if h.cb != nil {
		opts.ChannelBindings = h.cb.Marshal()
	}
	h.ctx = sspi.NewClientContext(h.creds, opts)
	h.conn = newPinnedTransport(h.t.Base)
	ok := false
	defer func() {
		if !ok {
			h.ctx.Close()
			h.conn.close()
		}
	}()
	var in []byte
	for {
		h.legs++
		if h.legs > maxLegs {
			return nil, sspi.Errorf(sspi.ErrIllegalMessage, "httpauth: the server still asks for %s tokens after %d requests", h.scheme, maxLegs)
		}
		out, err := h.ctx.Step(in)
		if err != nil {
			return nil, err
		}
		resp, err := h.send(out)
		if err != nil {
			return nil, err
		}
		tok, err := h.serverToken(resp)
		if err != nil {
			discard(resp)
			return nil, err
		}
		if resp.StatusCode == h.auth.status && len(tok) > 0 && !h.ctx.Established() {
			discard(resp)
			in = tok
			continue
		}
		if resp.StatusCode == h.auth.status {
			// Refused: a failed logon, or a token the server did not take. The 401 (or
			// 407) is the caller's to see, on a connection that is closed with it.
			ok = true
			h.ctx.Close()
			resp.Body = h.conn.closeWith(resp.Body)
			return resp, nil
		}
		if err := h.finish(tok); err != nil {
			discard(resp)
			return nil, err
		}
		ok = true
		h.ctx.Close()
		resp.Body = h.conn.closeWith(resp.Body)
		return resp, nil
	}
}

func (h *clientHandshake) reqFlags() sspi.ContextReq {
	r := sspi.ISCReqConnection | sspi.ISCReqMutualAuth
	if h.t.Delegate {
		r |= sspi.ISCReqDelegate
	}
	return r
}

// send sends the request with token over the handshake's connection.
func (h *clientHandshake) send(token []byte) (*http.Response, error) {
	r := h.req.Clone(h.req.Context())
	if h.req.Body != nil && h.req.Body != http.NoBody {
		if h.req.GetBody == nil {
			// Only the optimistic first request can get here; it consumes the body.
			if h.legs > 1 {
				return nil, sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: the request body cannot be sent again: set Request.GetBody")
			}
			r.Body = h.req.Body
		} else {
			b, err := h.req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
	}
	if len(token) > 0 {
		r.Header.Set(h.auth.request, FormatHeader(h.scheme, token))
	}
	resp, err := h.conn.RoundTrip(r)
	if err != nil && h.conn.dials.Load() > 1 {
		return nil, sspi.Errorf(sspi.ErrIllegalMessage, "httpauth: the connection of the %s handshake with %s closed after leg %d; the handshake is bound to one connection (a server or proxy that does not keep connections alive breaks it)", h.scheme, boundHost(h.req.URL.Host), h.legs-1)
	}
	if err != nil {
		return nil, err
	}
	if err := h.checkChannel(resp); err != nil {
		discard(resp)
		return nil, err
	}
	return resp, nil
}

// checkChannel makes sure every leg reached the server whose certificate the channel
// bindings name, so that the bindings describe the channel the tokens really travel on.
func (h *clientHandshake) checkChannel(resp *http.Response) error {
	if h.cb == nil {
		return nil
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return sspi.Errorf(sspi.ErrBadBindings, "httpauth: the handshake left TLS; its channel bindings cannot hold")
	}
	leaf := resp.TLS.PeerCertificates[0].Raw
	if h.leaf == nil {
		want, err := sspi.TLSServerEndPoint(resp.TLS.PeerCertificates[0])
		if err != nil {
			return err
		}
		if !bytes.Equal(want.ApplicationData, h.cb.ApplicationData) {
			return sspi.Errorf(sspi.ErrBadBindings, "httpauth: %s presented another certificate on the handshake's connection than on the first; refusing to authenticate", boundHost(h.req.URL.Host))
		}
		h.leaf = leaf
		return nil
	}
	if !bytes.Equal(leaf, h.leaf) {
		return sspi.Errorf(sspi.ErrBadBindings, "httpauth: %s changed its certificate during the handshake", boundHost(h.req.URL.Host))
	}
	return nil
}

// serverToken returns the token of the server's challenge for our scheme, or nil.
func (h *clientHandshake) serverToken(resp *http.Response) ([]byte, error) {
	cs, err := ParseChallenges(resp.Header, h.auth.challenge)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the server's %s header during the %s handshake: %v", h.auth.challenge, h.scheme, err)
	}
	for _, c := range cs {
		if !c.Is(h.scheme) || c.Token68 == "" {
			continue
		}
		tok, err := c.Token()
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the server's %s token: %v", h.scheme, err)
		}
		return tok, nil
	}
	return nil, nil
}

// finish checks the successful response's final token: a present token must complete the
// context, and a missing one is an error when the policy wants the server's proof.
func (h *clientHandshake) finish(tok []byte) error {
	if len(tok) > 0 {
		if h.ctx.Established() {
			return sspi.Errorf(sspi.ErrMutualAuthFailed, "httpauth: the server sent a %s token after the handshake had finished", h.scheme)
		}
		out, err := h.ctx.Step(tok)
		if err != nil {
			return sspi.Errorf(sspi.StatusOf(err), "httpauth: the server's final %s token does not verify (a server other than the one the ticket is for, or a token altered on the way); refusing its response: %w", h.scheme, err)
		}
		if len(out) > 0 || !h.ctx.Established() {
			return sspi.Errorf(sspi.ErrMutualAuthFailed, "httpauth: the server answered %s before the %s handshake finished", h.req.URL.Scheme, h.scheme)
		}
	}
	if !h.ctx.Established() {
		if h.t.MutualAuth == MutualOptional {
			return nil
		}
		if h.t.MutualAuth == MutualWhenSupported && h.ctx.Package() == "NTLM" {
			// SPNEGO with NTLM inside: the final token would carry only the
			// mechListMIC, which proves nothing about who the server is, and many
			// servers (and every NTLM one) never send it. NTLM cannot give mutual
			// authentication, so as documented it passes; a token that is present
			// is still verified above.
			return nil
		}
		return sspi.Errorf(sspi.ErrMutualAuthFailed, "httpauth: the server accepted the request but sent no final %s token, so its identity is unproven (set MutualAuth to MutualOptional for servers that never send one)", h.scheme)
	}
	if h.t.MutualAuth == MutualRequired && !h.ctx.Attributes().Has(sspi.ISCRetMutualAuth) {
		return sspi.Errorf(sspi.ErrMutualAuthFailed, "httpauth: the %s context grants no mutual authentication (NTLM never does), and Transport.MutualAuth requires it", h.scheme)
	}
	return nil
}

// errSecondConnection is what a handshake's transport answers when asked for a second
// connection; send turns it into the error the caller sees.
var errSecondConnection = errors.New("httpauth: the handshake's connection is gone")

// pinnedTransport is an http.Transport for one handshake: one connection, HTTP/1.1,
// and a count of the connections it opened, so that a second one is noticed.
type pinnedTransport struct {
	*http.Transport
	dials atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
}

func newPinnedTransport(base http.RoundTripper) *pinnedTransport {
	var tr *http.Transport
	if bt, ok := base.(*http.Transport); ok {
		tr = bt.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	p := &pinnedTransport{Transport: tr}
	tr.MaxConnsPerHost = 1
	tr.MaxIdleConnsPerHost = 1
	tr.DisableKeepAlives = false
	tr.IdleConnTimeout = 30 * time.Second
	// HTTP/2 multiplexes streams and forbids connection-based authentication (RFC 7540
	// section 8.1.2 has no place for it; IIS downgrades to HTTP/1.1 for it).
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig.NextProtos = nil
	}
	dial := tr.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if p.dials.Add(1) > 1 {
			return nil, errSecondConnection
		}
		return p.track(dial(ctx, network, addr))
	}
	if dt := tr.DialTLSContext; dt != nil {
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p.dials.Add(1) > 1 {
				return nil, errSecondConnection
			}
			return p.track(dt(ctx, network, addr))
		}
	}
	return p
}

func (p *pinnedTransport) track(c net.Conn, err error) (net.Conn, error) {
	if err == nil {
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
	}
	return c, err
}

// close closes the handshake's connection itself: net/http returns a connection to its
// idle pool asynchronously after the body's end, so CloseIdleConnections alone could miss it.
func (p *pinnedTransport) close() {
	p.CloseIdleConnections()
	p.mu.Lock()
	cs := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// closeWith returns body whose Close also closes the handshake's connection, which has
// then gone back to its idle pool: an authenticated NTLM connection is never left open
// for another user's requests.
func (p *pinnedTransport) closeWith(body io.ReadCloser) io.ReadCloser {
	return &closingBody{ReadCloser: body, p: p}
}

type closingBody struct {
	io.ReadCloser
	p    *pinnedTransport
	once sync.Once
}

func (b *closingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.p.close)
	return err
}

var _ http.RoundTripper = (*Transport)(nil)
