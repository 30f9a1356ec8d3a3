package httpauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// Scheme names, as they appear in WWW-Authenticate and Authorization.
const (
	SchemeNegotiate = "Negotiate"
	SchemeNTLM      = "NTLM"
	SchemeKerberos  = "Kerberos"
	// SchemeCredSSP is WinRM's CredSSP scheme (MS-WSMV): TLS records of a CredSSP
	// exchange as tokens, ending with the client's delegated credentials.
	SchemeCredSSP = "CredSSP"
)

// Config configures a Server. The zero value with NTLM or Kerberos set is usable:
// Negotiate and NTLM offered (those whose credentials are set), channel bindings checked
// when a client sends them, authentication persisted for NTLM connections only.
type Config struct {
	// Schemes are offered in this order, one WWW-Authenticate challenge each. Empty means
	// Negotiate, then NTLM when NTLM is set. Kerberos (the bare "Kerberos" scheme, which
	// few clients speak) is offered only when listed.
	Schemes []string
	// NTLM is the NTLM server configuration (its account store), for the NTLM scheme and
	// the NTLM mechanism of Negotiate. Nil leaves NTLM out. Its ChannelBindings is
	// replaced by Config.ChannelBindings.
	NTLM *ntlm.ServerConfig
	// CredSSP is the CredSSP server configuration (its TLS certificate and the inner
	// Negotiate credentials), for the CredSSP scheme WinRM offers. Like Kerberos, the
	// scheme is offered only when Schemes lists it; the client's delegated credentials
	// are not handed to the handler.
	CredSSP *credssp.Config
	// Kerberos is the Kerberos acceptor configuration (its keytab, whose key for
	// HTTP/<host> accepts the tickets browsers and curl ask for), for the Kerberos scheme
	// and the Kerberos mechanism of Negotiate. Nil leaves Kerberos out. Its
	// ChannelBindings is replaced by Config.ChannelBindings.
	Kerberos *kerberos.ServerConfig

	// ChannelBindings is Extended Protection for Authentication: over TLS the server gives
	// every package the tls-server-end-point bindings of its own certificate (RFC 5929),
	// and a token a client computed for another TLS channel (one relayed by a man in the
	// middle) fails with SEC_E_BAD_BINDINGS. The zero value, sspi.BindingsWhenPresent,
	// checks the bindings of clients that send them (curl, requests-ntlm and Windows do);
	// sspi.BindingsRequired refuses clients that send none, and every request over plain
	// HTTP; sspi.BindingsOff ignores them.
	ChannelBindings sspi.ChannelBindingPolicy
	// ServerCertificate returns the certificate the server presented on a TLS connection,
	// for the channel bindings. Nil picks it from TLSConfig (see CertificateFromTLSConfig).
	ServerCertificate func(cs *tls.ConnectionState) (*tls.Certificate, error)
	// TLSConfig is the server's TLS configuration, where ServerCertificate's default looks
	// for the certificate. Install fills it from http.Server.TLSConfig when nil.
	TLSConfig *tls.Config

	// PersistNonNTLM keeps a Negotiate or Kerberos authentication for the rest of its
	// connection, so later requests on it need no header (IIS's authPersistNonNTLM). Off
	// by default: each request carries a ticket. Never across connections.
	PersistNonNTLM bool
	// SingleRequest makes NTLM authenticate one request only, as IIS's
	// authPersistSingleRequest: a later request on the connection without a header gets
	// 401. By default an NTLM-authenticated connection stays authenticated (MS-NTHT), and
	// a request without a header on it is served as that user, as IIS does.
	SingleRequest bool
	// KeepSecurityContext keeps the established security context with the authentication,
	// for a handler that protects messages with it (SecurityContextFromContext): WinRM's
	// message encryption (DecryptWinRMBody, EncryptWinRMBody), whose encrypted requests carry
	// no Authorization header. It therefore also keeps every authentication for the rest of
	// its connection, whatever the package, as PersistNonNTLM does; SingleRequest is then
	// ignored. The context is deleted when the connection closes or authenticates again.
	KeepSecurityContext bool

	// Proxy makes the server a proxy's authentication: 407, Proxy-Authenticate and
	// Proxy-Authorization instead of 401, WWW-Authenticate and Authorization. The
	// Proxy-Authorization header is removed before the request reaches next.
	Proxy bool

	// MaxHandshakes bounds the connections with a handshake in progress (an NTLM
	// CHALLENGE sent, its AUTHENTICATE not yet received); a request that would start one
	// more gets 503 with Retry-After. Zero means 1024.
	MaxHandshakes int
	// HandshakeTimeout bounds how long a handshake in progress keeps its slot and state;
	// after it the next leg starts over. Zero means 1 minute.
	HandshakeTimeout time.Duration

	// Logger gets one record per handshake: the remote address, the scheme, the package,
	// the outcome (the SEC_E status and cause of a failure, the principal of a success)
	// and the duration; never a token, key or password. Nil means slog.Default().
	Logger *slog.Logger
	// Time is the clock; nil means time.Now.
	Time func() time.Time
}

// Server authenticates HTTP requests with SSPI packages: see the package documentation.
// Its ConnContext and ConnState must be installed in the http.Server (Install does it).
type Server struct {
	cfg      Config
	schemes  []string                     // offered, canonical spelling
	creds    map[string]*sspi.Credentials // by scheme
	maxHS    int
	hsExpiry time.Duration
	names    headerNames

	mu      sync.Mutex
	conns   map[net.Conn]*connState
	pending map[*connState]struct{} // connections with a handshake in progress
}

// headerNames are the names and status of origin-server or proxy authentication.
type headerNames struct {
	challenge, authorization string
	status                   int
}

// NewServer acquires the credentials of every scheme cfg offers.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{
		cfg:      cfg,
		creds:    make(map[string]*sspi.Credentials),
		maxHS:    cfg.MaxHandshakes,
		hsExpiry: cfg.HandshakeTimeout,
		conns:    make(map[net.Conn]*connState),
		pending:  make(map[*connState]struct{}),
		names:    headerNames{HeaderWWWAuthenticate, HeaderAuthorization, http.StatusUnauthorized},
	}
	if cfg.Proxy {
		s.names = headerNames{HeaderProxyAuthenticate, HeaderProxyAuthorization, http.StatusProxyAuthRequired}
	}
	if s.maxHS <= 0 {
		s.maxHS = 1024
	}
	if s.hsExpiry <= 0 {
		s.hsExpiry = time.Minute
	}
	schemes := cfg.Schemes
	if len(schemes) == 0 {
		schemes = []string{SchemeNegotiate}
		if cfg.NTLM != nil {
			schemes = append(schemes, SchemeNTLM)
		}
	}
	for _, name := range schemes {
		scheme, authData, err := s.schemeCredentials(name)
		if err != nil {
			s.Close()
			return nil, err
		}
		if _, dup := s.creds[scheme]; dup {
			continue
		}
		c, _, err := sspi.AcquireCredentialsHandle("", scheme, sspi.CredInbound, nil, authData, nil)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("httpauth: credentials for %s: %w", scheme, err)
		}
		s.creds[scheme] = c
		s.schemes = append(s.schemes, scheme)
	}
	return s, nil
}

// schemeCredentials returns the canonical scheme name and the authData of its package.
func (s *Server) schemeCredentials(name string) (string, any, error) {
	policy := s.cfg.ChannelBindings
	var ntlmCfg *ntlm.ServerConfig
	if s.cfg.NTLM != nil {
		c := *s.cfg.NTLM
		c.ChannelBindings = ntlm.ChannelBindingPolicy(policy)
		ntlmCfg = &c
	}
	var krbCfg *kerberos.ServerConfig
	if s.cfg.Kerberos != nil {
		c := *s.cfg.Kerberos
		c.ChannelBindings = policy
		krbCfg = &c
	}
	switch {
	case strings.EqualFold(name, SchemeNegotiate):
		nc := &negotiate.Config{Credentials: map[string]any{}, ChannelBindings: policy}
		if krbCfg != nil {
			nc.Mechanisms = append(nc.Mechanisms, negotiate.Kerberos)
			nc.Credentials[negotiate.Kerberos] = krbCfg
		}
		if ntlmCfg != nil {
			nc.Mechanisms = append(nc.Mechanisms, negotiate.NTLM)
			nc.Credentials[negotiate.NTLM] = ntlmCfg
		}
		if len(nc.Mechanisms) == 0 {
			return "", nil, errors.New("httpauth: Negotiate needs Config.NTLM or Config.Kerberos")
		}
		return SchemeNegotiate, nc, nil
	case strings.EqualFold(name, SchemeNTLM):
		if ntlmCfg == nil {
			return "", nil, errors.New("httpauth: the NTLM scheme needs Config.NTLM")
		}
		return SchemeNTLM, ntlmCfg, nil
	case strings.EqualFold(name, SchemeCredSSP):
		if s.cfg.CredSSP == nil {
			return "", nil, errors.New("httpauth: the CredSSP scheme needs Config.CredSSP")
		}
		c := *s.cfg.CredSSP
		return SchemeCredSSP, &c, nil
	case strings.EqualFold(name, SchemeKerberos):
		if krbCfg == nil {
			return "", nil, errors.New("httpauth: the Kerberos scheme needs Config.Kerberos")
		}
		return SchemeKerberos, krbCfg, nil
	}
	return "", nil, fmt.Errorf("httpauth: unknown scheme %q (Negotiate, NTLM, Kerberos or CredSSP)", bound(name))
}

// Close frees the server's credentials. Handshakes in progress fail afterwards.
func (s *Server) Close() error {
	for _, c := range s.creds {
		sspi.FreeCredentialsHandle(c)
	}
	return nil
}

// Install sets hs.ConnContext and hs.ConnState to the server's, calling any that were set
// before, and takes hs.TLSConfig for the channel bindings when Config.TLSConfig is nil.
// Call it before the server starts.
func (s *Server) Install(hs *http.Server) {
	prevCtx, prevState := hs.ConnContext, hs.ConnState
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return s.ConnContext(ctx, c)
	}
	hs.ConnState = func(c net.Conn, st http.ConnState) {
		s.ConnState(c, st)
		if prevState != nil {
			prevState(c, st)
		}
	}
	if s.cfg.TLSConfig == nil {
		s.cfg.TLSConfig = hs.TLSConfig
	}
}

// ConnContext is for http.Server.ConnContext: it gives each connection its
// authentication state. It must be paired with ConnState, which releases that state.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	cs := &connState{remote: c.RemoteAddr().String()}
	s.mu.Lock()
	s.conns[c] = cs
	s.mu.Unlock()
	return context.WithValue(ctx, connKey{}, cs)
}

// ConnState is for http.Server.ConnState: it releases a connection's state, and any
// handshake in progress on it, when the connection closes or is hijacked.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	s.mu.Lock()
	cs := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if cs != nil {
		cs.mu.Lock()
		s.dropHandshake(cs, "connection closed during the handshake")
		cs.auth.release()
		cs.auth = nil
		cs.mu.Unlock()
	}
}

// IdentityFromContext returns the identity a Handler authenticated the request's client as.
func IdentityFromContext(ctx context.Context) (sspi.Identity, bool) {
	a, ok := ctx.Value(authKey{}).(*authentication)
	if !ok {
		return sspi.Identity{}, false
	}
	return a.id, true
}

// SecurityContextFromContext returns the security context the request was authenticated
// with, when Config.KeepSecurityContext is set: its Wrap and Unwrap (or
// DecryptWinRMBody and EncryptWinRMBody with its Handle) protect the conversation. The
// handlers of one connection run one at a time, as HTTP/1.1 serves its requests, and so
// may use it; it must not be kept beyond the request.
func SecurityContextFromContext(ctx context.Context) (*sspi.ServerContext, bool) {
	a, ok := ctx.Value(authKey{}).(*authentication)
	if !ok || a.ctx == nil {
		return nil, false
	}
	return a.ctx, true
}

type authKey struct{}

// authentication is what a connection or request is authenticated as.
type authentication struct {
	id     sspi.Identity
	scheme string
	ctx    *sspi.ServerContext // with Config.KeepSecurityContext only
}

// release deletes the kept security context, if any. It accepts nil.
func (a *authentication) release() {
	if a != nil && a.ctx != nil {
		a.ctx.Close()
		a.ctx = nil
	}
}

func (s *Server) now() time.Time {
	if s.cfg.Time != nil {
		return s.cfg.Time()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.cfg.Logger != nil {
		return s.cfg.Logger
	}
	return slog.Default()
}
