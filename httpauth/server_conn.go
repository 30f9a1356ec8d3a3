package httpauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
)

type connKey struct{}

// connState is one connection's authentication: a handshake in progress, or the
// authentication it persists. Its mutex serialises the connection's requests while they
// touch it (HTTP/1.1 sends one at a time anyway); lock order is connState.mu, then
// Server.mu.
type connState struct {
	remote string

	mu       sync.Mutex
	hs       *handshake
	auth     *authentication // persisted for the connection; nil when none
	bindings []byte          // SEC_CHANNEL_BINDINGS of the TLS channel, once computed
	cbDone   bool
}

// handshake is one authentication exchange in progress on a connection.
type handshake struct {
	scheme  string
	ctx     *sspi.ServerContext
	started time.Time
	legs    int
	tls     bool // channel bindings were given
}

// Handler returns next behind authentication: a request reaches next only when it is
// authenticated, with its identity in the request's context (IdentityFromContext).
func (s *Server) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, next) })
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	values := r.Header.Values(s.names.authorization)
	if s.cfg.Proxy {
		r.Header.Del(s.names.authorization)
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		s.logger().LogAttrs(r.Context(), slog.LevelError, "httpauth: Server.ConnContext is not installed in the http.Server (use Server.Install); refusing the request",
			slog.String("remote", r.RemoteAddr))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if len(values) > 1 {
		s.refuseHeader(w, r, http.StatusBadRequest, fmt.Errorf("%w: %d %s headers", ErrMalformedHeader, len(values), s.names.authorization))
		return
	}
	cs.mu.Lock()
	a, status := s.authenticate(w, r, cs, values)
	cs.mu.Unlock()
	if a == nil {
		s.fail(w, status)
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, a)))
}

// authenticate runs one leg of the handshake for the request. It returns the
// authentication to serve the request with, or nil and the status to answer, having set
// the response's challenge headers.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, cs *connState, values []string) (*authentication, int) {
	if len(values) == 0 {
		// A connection that authenticated with NTLM (or with anything, when
		// PersistNonNTLM is set) stays authenticated: that is how MS-NTHT and IIS
		// treat a request without a header on it.
		if cs.auth != nil {
			return cs.auth, 0
		}
		s.offer(w)
		return nil, s.names.status
	}
	scheme, token, err := ParseAuthorization(values[0])
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrHeaderTooLong) {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
		s.logRefusal(r, status, err)
		return nil, status
	}
	scheme = s.offered(scheme)
	if scheme == "" || token == nil {
		// A scheme not offered (Basic, say), or one without a token: try again.
		s.offer(w)
		return nil, s.names.status
	}
	// A header starts a new authentication, even on an authenticated connection.
	cs.auth.release()
	cs.auth = nil
	hs, status := s.handshakeFor(r, cs, scheme, token)
	if hs == nil {
		return nil, status
	}
	out, err := hs.ctx.StepContext(r.Context(), token)
	hs.legs++
	if err != nil {
		s.endHandshake(r.Context(), cs, err)
		if errors.Is(err, sspi.ErrInsufficientMemory) {
			w.Header().Set("Retry-After", "1")
			return nil, http.StatusServiceUnavailable
		}
		s.offer(w)
		return nil, s.names.status
	}
	if !hs.ctx.Established() {
		if !s.keepPending(cs) {
			s.endHandshake(r.Context(), cs, errors.New("too many handshakes in progress"))
			w.Header().Set("Retry-After", "1")
			return nil, http.StatusServiceUnavailable
		}
		w.Header().Set(s.names.challenge, FormatHeader(scheme, out))
		return nil, s.names.status
	}
	id, err := hs.ctx.Identity()
	if err != nil {
		s.endHandshake(r.Context(), cs, err)
		s.offer(w)
		return nil, s.names.status
	}
	a := &authentication{id: id, scheme: scheme}
	if s.cfg.KeepSecurityContext {
		a.ctx, hs.ctx = hs.ctx, nil // endHandshake leaves it to the authentication
	}
	if s.persists(id) {
		cs.auth = a
	}
	s.endHandshake(r.Context(), cs, nil, slog.String("principal", id.Principal), slog.String("package", id.Package))
	if len(out) > 0 {
		// The final token (Kerberos's AP-REP inside SPNEGO's accept-completed) goes on
		// the successful response: it is the server's half of mutual authentication.
		w.Header().Set(s.names.challenge, FormatHeader(scheme, out))
	}
	return a, 0
}

// handshakeFor returns the connection's handshake to feed token to: the one in progress,
// or a new one when there is none, it is for another scheme, it expired, or token is a
// first token (a client that starts over).
func (s *Server) handshakeFor(r *http.Request, cs *connState, scheme string, token []byte) (*handshake, int) {
	now := s.now()
	if hs := cs.hs; hs != nil {
		switch {
		case hs.scheme != scheme:
			s.endHandshake(r.Context(), cs, errors.New("abandoned: the client changed scheme"))
		case now.Sub(hs.started) > s.hsExpiry:
			s.endHandshake(r.Context(), cs, errors.New("abandoned: handshake timed out"))
		case isInitialToken(token):
			s.endHandshake(r.Context(), cs, errors.New("abandoned: the client started over"))
		default:
			return hs, 0
		}
	}
	cb := s.channelBindings(r, cs)
	cs.hs = &handshake{
		scheme:  scheme,
		ctx:     sspi.NewServerContext(s.creds[scheme], sspi.ServerOptions{ChannelBindings: cb}),
		started: now,
		tls:     cb != nil,
	}
	return cs.hs, 0
}

// keepPending counts the connection's handshake among those in progress, unless
// MaxHandshakes are already, counting out the expired ones.
func (s *Server) keepPending(cs *connState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[cs]; ok {
		return true
	}
	if len(s.pending) >= s.maxHS {
		s.sweepLocked()
		if len(s.pending) >= s.maxHS {
			return false
		}
	}
	s.pending[cs] = struct{}{}
	return true
}

// sweepLocked ends the expired handshakes of connections not busy right now.
func (s *Server) sweepLocked() {
	now := s.now()
	for other := range s.pending {
		if !other.mu.TryLock() {
			continue
		}
		if hs := other.hs; hs == nil || now.Sub(hs.started) > s.hsExpiry {
			s.logHandshake(context.Background(), other, hs, errors.New("abandoned: handshake timed out"))
			if hs != nil {
				hs.ctx.Close()
			}
			other.hs = nil
			delete(s.pending, other)
		}
		other.mu.Unlock()
	}
}

// endHandshake logs the connection's handshake with its outcome (err nil for success)
// and releases it. cs.mu is held.
func (s *Server) endHandshake(ctx context.Context, cs *connState, err error, attrs ...slog.Attr) {
	hs := cs.hs
	if hs == nil {
		return
	}
	s.logHandshake(ctx, cs, hs, err, attrs...)
	if hs.ctx != nil {
		hs.ctx.Close()
	}
	cs.hs = nil
	s.mu.Lock()
	delete(s.pending, cs)
	s.mu.Unlock()
}

// dropHandshake ends a handshake the connection's end interrupted. cs.mu is held.
func (s *Server) dropHandshake(cs *connState, why string) {
	if cs.hs != nil {
		s.endHandshake(context.Background(), cs, errors.New("abandoned: "+why))
	}
}

func (s *Server) logHandshake(ctx context.Context, cs *connState, hs *handshake, err error, attrs ...slog.Attr) {
	if hs == nil {
		return
	}
	all := []slog.Attr{
		slog.String("remote", cs.remote),
		slog.String("scheme", hs.scheme),
		slog.Int("legs", hs.legs),
		slog.Bool("channel_bindings", hs.tls),
		slog.Duration("duration", s.now().Sub(hs.started)),
	}
	level, msg := slog.LevelInfo, "httpauth: authenticated"
	if err != nil {
		level, msg = slog.LevelWarn, "httpauth: authentication failed"
		if st := sspi.StatusOf(err); st != sspi.OK {
			all = append(all, slog.String("status", st.String()))
		}
		all = append(all, slog.String("cause", err.Error()))
	}
	s.logger().LogAttrs(ctx, level, msg, append(all, attrs...)...)
}

func (s *Server) logRefusal(r *http.Request, status int, err error) {
	s.logger().LogAttrs(r.Context(), slog.LevelWarn, "httpauth: request refused",
		slog.String("remote", r.RemoteAddr), slog.Int("http_status", status), slog.String("cause", err.Error()))
}

func (s *Server) refuseHeader(w http.ResponseWriter, r *http.Request, status int, err error) {
	s.logRefusal(r, status, err)
	s.fail(w, status)
}

// fail writes the status with its standard text only: the cause is in the log.
func (s *Server) fail(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// offer sets one fresh challenge per scheme offered, in order.
func (s *Server) offer(w http.ResponseWriter) {
	h := w.Header()
	h.Del(s.names.challenge)
	for _, sc := range s.schemes {
		h.Add(s.names.challenge, sc)
	}
}

// offered returns the canonical name of scheme if it is offered, else "".
func (s *Server) offered(scheme string) string {
	for _, sc := range s.schemes {
		if strings.EqualFold(sc, scheme) {
			return sc
		}
	}
	return ""
}

// persists reports whether an authentication of id lasts for its connection.
func (s *Server) persists(id sspi.Identity) bool {
	if s.cfg.KeepSecurityContext {
		return true
	}
	if strings.EqualFold(id.Package, "NTLM") {
		return !s.cfg.SingleRequest
	}
	return s.cfg.PersistNonNTLM
}

// isInitialToken reports whether token can only start a handshake: an NTLM NEGOTIATE
// message, a GSS InitialContextToken (SPNEGO's NegTokenInit, a framed Kerberos AP-REQ)
// or a bare AP-REQ.
func isInitialToken(token []byte) bool {
	if len(token) >= 12 && string(token[:8]) == "NTLMSSP\x00" {
		return token[8] == 1 && token[9] == 0 && token[10] == 0 && token[11] == 0
	}
	return len(token) > 0 && (token[0] == 0x60 || token[0] == 0x6e)
}

// channelBindings returns the connection's SEC_CHANNEL_BINDINGS, nil over plain HTTP or
// when the certificate cannot be found (logged; with BindingsRequired the package then
// refuses every client).
func (s *Server) channelBindings(r *http.Request, cs *connState) []byte {
	if r.TLS == nil || s.cfg.ChannelBindings == sspi.BindingsOff {
		return nil
	}
	if cs.cbDone {
		return cs.bindings
	}
	cs.cbDone = true
	cb, err := s.tlsBindings(r.TLS)
	if err != nil {
		s.logger().LogAttrs(r.Context(), slog.LevelError, "httpauth: no channel bindings for the TLS connection",
			slog.String("remote", r.RemoteAddr), slog.String("cause", err.Error()))
		return nil
	}
	cs.bindings = cb
	return cb
}

func (s *Server) tlsBindings(st *tls.ConnectionState) ([]byte, error) {
	get := s.cfg.ServerCertificate
	if get == nil {
		get = func(st *tls.ConnectionState) (*tls.Certificate, error) {
			return certificateFromTLSConfig(s.cfg.TLSConfig, st)
		}
	}
	cert, err := get(st)
	if err != nil {
		return nil, err
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("httpauth: no server certificate")
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	cb, err := sspi.TLSServerEndPoint(leaf)
	if err != nil {
		return nil, err
	}
	return cb.Marshal(), nil
}

// certificateFromTLSConfig returns the certificate crypto/tls chose from cfg for the
// connection st, as far as the connection state tells: GetCertificate's answer for the
// server name, else the only certificate, else the first valid for the server name, else
// the first.
func certificateFromTLSConfig(cfg *tls.Config, st *tls.ConnectionState) (*tls.Certificate, error) {
	if cfg == nil {
		return nil, errors.New("httpauth: no TLS configuration to find the server certificate in (set Config.TLSConfig or Config.ServerCertificate)")
	}
	if cfg.GetCertificate != nil {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: st.ServerName})
		if c != nil || err != nil {
			return c, err
		}
	}
	switch len(cfg.Certificates) {
	case 0:
		return nil, errors.New("httpauth: the TLS configuration has no certificate")
	case 1:
		return &cfg.Certificates[0], nil
	}
	for i := range cfg.Certificates {
		c := &cfg.Certificates[i]
		leaf := c.Leaf
		if leaf == nil && len(c.Certificate) > 0 {
			leaf, _ = x509.ParseCertificate(c.Certificate[0])
		}
		if leaf != nil && st.ServerName != "" && leaf.VerifyHostname(st.ServerName) == nil {
			return c, nil
		}
	}
	return &cfg.Certificates[0], nil
}
