package winrm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"

	// The packages a Transport may use; Negotiate and CredSSP compose the others through
	// the registry.
	_ "github.com/gosspi/sspi/credssp"
	_ "github.com/gosspi/sspi/kerberos"
	_ "github.com/gosspi/sspi/negotiate"
	_ "github.com/gosspi/sspi/ntlm"
)

// soapContentType is the type of WinRM's SOAP bodies.
const soapContentType = "application/soap+xml;charset=UTF-8"

// maxResponse bounds a response body: WinRM's own default MaxEnvelopeSizekb is 500 KiB,
// base64 and MIME framing add to it.
const maxResponse = 8 << 20

// Encryption says when a Transport seals WinRM's messages (MS-WSMV 2.2.9.1).
type Encryption int

const (
	// EncryptOverHTTP seals every message over plain HTTP and leaves HTTPS to TLS, as
	// pywinrm's "auto" and Windows' own client do. The default.
	EncryptOverHTTP Encryption = iota
	// EncryptAlways seals every message, over HTTPS too.
	EncryptAlways
	// EncryptNever sends messages unsealed, even over plain HTTP where anyone on the path
	// reads and changes them: only for servers with AllowUnencrypted set, and only by
	// choice.
	EncryptNever
)

// Transport is a masterzen/winrm Transporter that authenticates with a gosspi package
// (Negotiate, NTLM, Kerberos or CredSSP) and seals WinRM's messages with the security
// context, over one kept-alive HTTP connection. Give it to winrm.Parameters:
//
//	params := winrm.DefaultParameters
//	params.TransportDecorator = func() winrm.Transporter { return &sspiwinrm.Transport{Credentials: cred} }
//	client, err := winrm.NewClientWithParameters(endpoint, "", "", params)
//
// masterzen/winrm's user and password are not used: the credentials are the
// Transport's. A Transport serves one winrm.Client; its methods are safe for concurrent
// use, the requests going one at a time.
type Transport struct {
	// Package is the security package: "Negotiate" (the default: Kerberos, else NTLM),
	// "Kerberos", "NTLM" or "CredSSP". The HTTP scheme follows: Negotiate for the first
	// three (NTLM and Kerberos tokens go bare under it, as pywinrm and Windows send them),
	// CredSSP for CredSSP.
	Package string
	// Credentials is an outbound handle of Package. When nil, Identity (or the
	// environment's defaults when that is nil too) is used to acquire one; the Transport
	// frees only handles it acquired.
	Credentials *sspi.Credentials
	// Identity is the user, domain and password to acquire credentials with.
	Identity *sspi.AuthIdentity
	// SPN is the target name; empty means "HTTP/" and the endpoint's host, which is what
	// Windows registers for WinRM, or "WSMAN/" and the host for CredSSP, the name
	// Windows' "Allow delegating fresh credentials" policy lists for WinRM. A CredSSP
	// handle delegates only to targets its credssp.Config.DelegateTo (or, with NTLM inside,
	// DelegateToNTLMOnly) allows: WSMAN/* is not among Windows' defaults.
	SPN string
	// Req is the context requirements; zero means sspi.DefaultClientReq (mutual
	// authentication, integrity, confidentiality, replay and sequence detection), and for
	// CredSSP delegation with TLS's protections.
	Req sspi.ContextReq
	// Encryption says when messages are sealed; see Encryption.
	Encryption Encryption
	// TLSConfig is the client's TLS configuration over HTTPS; nil builds one from the
	// endpoint (CACert, Insecure, TLSServerName, Cert and Key).
	TLSConfig *tls.Config
	// Dial opens the TCP connection; nil means a net.Dialer with the endpoint's timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu       sync.Mutex
	endpoint *winrm.Endpoint
	url      string
	tlsConf  *tls.Config
	ownCred  bool
	conn     net.Conn
	br       *bufio.Reader
	sess     *sspi.ClientContext // the established context of conn
}

var errNoEndpoint = errors.New("winrm: Transport.Post before Transport.Transport: create the client with winrm.NewClientWithParameters")

// Transport takes the endpoint's configuration; masterzen/winrm calls it once, from
// NewClientWithParameters.
func (t *Transport) Transport(ep *winrm.Endpoint) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	scheme := "http"
	if ep.HTTPS {
		scheme = "https"
		conf := t.TLSConfig
		if conf == nil {
			var err error
			if conf, err = endpointTLS(ep); err != nil {
				return err
			}
		}
		t.tlsConf = conf
	}
	t.endpoint = ep
	t.url = fmt.Sprintf("%s://%s/wsman", scheme, net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port)))
	return nil
}

func endpointTLS(ep *winrm.Endpoint) (*tls.Config, error) {
	conf := &tls.Config{InsecureSkipVerify: ep.Insecure, ServerName: ep.TLSServerName}
	if conf.ServerName == "" {
		conf.ServerName = ep.Host
	}
	if len(ep.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CACert) {
			return nil, errors.New("winrm: the endpoint's CACert holds no PEM certificate")
		}
		conf.RootCAs = pool
	}
	if len(ep.Cert) > 0 || len(ep.Key) > 0 {
		cert, err := tls.X509KeyPair(ep.Cert, ep.Key)
		if err != nil {
			return nil, fmt.Errorf("winrm: the endpoint's client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Post sends one SOAP message and returns the server's answer, authenticating first when
// the connection has not yet. A connection the server has closed, or a session it no
// longer knows (401), is replaced once.
func (t *Transport) Post(_ *winrm.Client, msg *soap.SoapMessage) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.endpoint == nil {
		return "", errNoEndpoint
	}
	body := []byte(msg.String())
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var out string
		var retry bool
		out, retry, err = t.post(body)
		if err == nil {
			return out, nil
		}
		t.closeConn()
		if !retry {
			break
		}
	}
	return "", err
}

// post sends body once; retry says whether a new connection may help.
func (t *Transport) post(body []byte) (_ string, retry bool, err error) {
	fresh := t.conn == nil
	if fresh {
		if err := t.dial(); err != nil {
			return "", false, err
		}
	}
	var resp *http.Response
	if t.encrypting() {
		if t.sess == nil {
			// Authenticate with an empty body first, as Windows and pywinrm do: the body
			// can only be sealed once the context exists.
			if resp, err = t.handshake(nil); err != nil {
				return "", !fresh, err
			}
			if _, err := readBody(resp); err != nil {
				return "", false, err
			}
		}
		resp, err = t.sendSealed(body)
	} else {
		resp, err = t.roundTrip(body, soapContentType, "")
		if err == nil && resp.StatusCode == http.StatusUnauthorized {
			readBody(resp)
			resp, err = t.handshake(body)
		}
	}
	if err != nil {
		return "", !fresh, err
	}
	if resp.StatusCode == http.StatusUnauthorized && t.sess != nil {
		readBody(resp)
		return "", !fresh, errors.New("winrm: the server no longer accepts the session (401)")
	}
	return t.answer(resp)
}

func (t *Transport) encrypting() bool {
	switch t.Encryption {
	case EncryptAlways:
		return true
	case EncryptNever:
		return false
	}
	return t.tlsConf == nil
}

// answer reads a response: unseals it when sealed, and turns a status other than 200
// into an error carrying the (bounded) SOAP fault.
func (t *Transport) answer(resp *http.Response) (string, bool, error) {
	raw, err := readBody(resp)
	if err != nil {
		return "", false, err
	}
	plain := raw
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "multipart/") {
		if t.sess == nil {
			return "", false, errors.New("winrm: a sealed response on a connection without a security context")
		}
		if plain, _, err = httpauth.DecryptWinRMBody(t.sess.Handle(), raw, ct); err != nil {
			return "", false, fmt.Errorf("winrm: unsealing the response: %w", err)
		}
	} else if t.encrypting() && len(raw) > 0 {
		// A server must not answer a sealed request in the clear: a man in the middle could.
		return "", false, fmt.Errorf("winrm: the server answered a sealed request with an unsealed %q body (HTTP %d)", bounded(ct), resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("winrm: HTTP %d: %s", resp.StatusCode, bounded(string(plain)))
	}
	return string(plain), false, nil
}

// bounded cuts text from the wire to a length fit for an error message.
func bounded(s string) string {
	const max = 512
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("winrm: reading the response: %w", err)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("winrm: the response is larger than %d bytes", maxResponse)
	}
	return b, nil
}

func (t *Transport) sendSealed(body []byte) (*http.Response, error) {
	// The protocol names the HTTP scheme, not the package: a bare Kerberos token under
	// Negotiate is sealed as HTTP-SPNEGO-session-encrypted, as Windows and pywinrm send it.
	protocol := httpauth.WinRMProtocolSPNEGO
	if t.scheme() != httpauth.SchemeNegotiate {
		protocol = httpauth.WinRMProtocol(t.sess.Handle())
	}
	sealed, ct, err := httpauth.EncryptWinRMBodyAs(t.sess.Handle(), protocol, body, soapContentType)
	if err != nil {
		return nil, fmt.Errorf("winrm: sealing the request: %w", err)
	}
	return t.roundTrip(sealed, ct, "")
}

// Close ends the connection and the security context, and frees the credentials the
// Transport acquired.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeConn()
	if t.ownCred && t.Credentials != nil {
		sspi.FreeCredentialsHandle(t.Credentials)
		t.Credentials, t.ownCred = nil, false
	}
	return nil
}

func (t *Transport) closeConn() {
	if t.conn != nil {
		t.conn.Close()
		t.conn, t.br = nil, nil
	}
	if t.sess != nil {
		t.sess.Close()
		t.sess = nil
	}
}

func (t *Transport) dial() error {
	ep := t.endpoint
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout())
	defer cancel()
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("winrm: connecting to %s: %w", addr, err)
	}
	if t.tlsConf != nil {
		tc := tls.Client(c, t.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return fmt.Errorf("winrm: TLS with %s: %w", addr, err)
		}
		c = tc
	}
	t.conn, t.br = c, bufio.NewReader(c)
	return nil
}

func (t *Transport) timeout() time.Duration {
	if t.endpoint.Timeout > 0 {
		return t.endpoint.Timeout
	}
	return 60 * time.Second
}

// roundTrip writes one POST on the connection and reads its response's header.
func (t *Transport) roundTrip(body []byte, contentType, authorization string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "gosspi WinRM client")
	if authorization != "" {
		req.Header.Set(httpauth.HeaderAuthorization, authorization)
	}
	req.ContentLength = int64(len(body))
	t.conn.SetDeadline(time.Now().Add(t.timeout()))
	if err := req.Write(t.conn); err != nil {
		return nil, fmt.Errorf("winrm: sending: %w", err)
	}
	resp, err := http.ReadResponse(t.br, req)
	if err != nil {
		return nil, fmt.Errorf("winrm: reading the response: %w", err)
	}
	return resp, nil
}

var _ winrm.Transporter = (*Transport)(nil)
