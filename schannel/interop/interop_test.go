package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/schannel"
	"github.com/gosspi/sspi/sockauth"
)

const wait = 20 * time.Second

var versions = []struct {
	name     string
	v        uint16
	openssl  string // s_client / s_server flag
	gnutls   string // a priority string
	curlArgs []string
}{
	{"TLS1.2", tls.VersionTLS12, "-tls1_2", "NORMAL:-VERS-ALL:+VERS-TLS1.2", []string{"--tlsv1.2", "--tls-max", "1.2"}},
	{"TLS1.3", tls.VersionTLS13, "-tls1_3", "NORMAL:-VERS-ALL:+VERS-TLS1.3", []string{"--tlsv1.3"}},
}

func creds(t *testing.T, use sspi.CredentialUse, cfg *schannel.Config) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", schannel.PackageName, use, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// logBuf collects a server's JSON log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitRecord waits for a log line that match accepts.
func (l *logBuf) waitRecord(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && match(m) {
				return m
			}
		}
	}
	t.Fatalf("no log line for %s:\n%s", what, l)
	return nil
}

func ended(m map[string]any) bool { return m["msg"] != nil && m["remote"] != nil && m["status"] != nil }

// ourServer runs a sockauth server of the tls framing on 127.0.0.1 with the PKI's server
// certificate; cfg adds to the credentials.
func ourServer(t *testing.T, p *testpeers.PKI, cfg schannel.Config, s *sockauth.Server) (addr string, log *logBuf) {
	t.Helper()
	cfg.Certificates = []tls.Certificate{p.Server.Cert}
	s.Credentials = creds(t, sspi.CredInbound, &cfg)
	s.Framing = sockauth.FramingTLS
	log = &logBuf{}
	s.Logger = slog.New(slog.NewJSONHandler(log, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return l.Addr().String(), log
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func lit(s string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(s)) }

// count is how many times s occurs in the peer's output.
func waitCount(t *testing.T, p *testpeers.TLSPeer, s string, n int) string {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`(?s)(%s.*){%d}`, regexp.QuoteMeta(s), n))
	out, ok := p.WaitOutput(re, wait)
	if !ok {
		t.Fatalf("the peer did not print %q %d times:\n%s", s, n, out)
	}
	return out
}

// TestOpenSSLClient: openssl s_client against our server, TLS 1.2 and 1.3: the greeting,
// a line echoed, for TLS 1.3 a KeyUpdate the client asks to be answered (our server
// gets SEC_I_RENEGOTIATE and answers through AcceptSecurityContext), and s_client's
// close_notify answered with ours, so that s_client ends cleanly.
func TestOpenSSLClient(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			addr, log := ourServer(t, p, schannel.Config{}, &sockauth.Server{})
			c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", addr, "-servername", "localhost",
				"-CAfile", p.CAFile, "-verify_return_error", v.openssl)
			out := waitCount(t, c, sockauth.DefaultGreeting, 1)
			if !strings.Contains(out, "Verify return code: 0 (ok)") || !strings.Contains(out, "New, "+strings.Replace(v.name, "TLS", "TLSv", 1)) {
				t.Errorf("s_client's summary:\n%s", out)
			}
			c.Send("hello from s_client\n")
			waitCount(t, c, "hello from s_client", 1)
			if v.v == tls.VersionTLS13 {
				// A KeyUpdate with update_requested. s_client looks at the first letter of
				// what one read of its input brings, so the next line waits.
				c.Send("K\n")
				waitCount(t, c, "KEYUPDATE", 1)
				c.Send("after the key update\n")
				waitCount(t, c, "after the key update", 1)
			}
			c.CloseInput()
			if err := c.Wait(wait); err != nil {
				t.Errorf("s_client: %v\n%s", err, c.Output())
			}
			rec := log.waitRecord(t, "the s_client session", ended)
			want := 1.0
			if v.v == tls.VersionTLS13 {
				want = 2
			}
			if rec["status"] != "SEC_E_OK" || rec["messages_in"] != want {
				t.Errorf("server log %v", rec)
			}
		})
	}
}

// TestOpenSSLClientRenegotiation: s_client's TLS 1.2 renegotiation ("R") is refused by
// our server, which ends the session with SEC_E_UNSUPPORTED_FUNCTION.
func TestOpenSSLClientRenegotiation(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	addr, log := ourServer(t, p, schannel.Config{}, &sockauth.Server{})
	c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", addr, "-servername", "localhost",
		"-CAfile", p.CAFile, "-verify_return_error", "-tls1_2")
	waitCount(t, c, sockauth.DefaultGreeting, 1)
	c.Send("R\n")
	rec := log.waitRecord(t, "the renegotiating session", ended)
	if rec["status"] != "SEC_E_UNSUPPORTED_FUNCTION" {
		t.Errorf("server log %v", rec)
	}
	c.CloseInput()
	c.Wait(wait)
	if !strings.Contains(c.Output(), "RENEGOTIATING") {
		t.Errorf("s_client did not renegotiate:\n%s", c.Output())
	}
}

// TestOpenSSLClientResumption: s_client -sess_out, then -sess_in: s_client reports the
// second session "Reused", from its side.
func TestOpenSSLClientResumption(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			addr, _ := ourServer(t, p, schannel.Config{}, &sockauth.Server{})
			sess := t.TempDir() + "/session.pem"
			for i, flag := range []string{"-sess_out", "-sess_in"} {
				c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", addr, "-servername", "localhost",
					"-CAfile", p.CAFile, "-verify_return_error", v.openssl, flag, sess)
				out := waitCount(t, c, sockauth.DefaultGreeting, 1)
				c.CloseInput()
				if err := c.Wait(wait); err != nil {
					t.Fatalf("s_client %s: %v\n%s", flag, err, c.Output())
				}
				out = c.Output()
				want := []string{"New, ", "Reused, "}[i]
				if !strings.Contains(out, want) {
					t.Errorf("s_client %s: no %q in\n%s", flag, want, out)
				}
			}
		})
	}
}

// TestOpenSSLClientCertificate: s_client -cert/-key against a server that requires a
// client certificate: the server names the client by it; without one, s_client is
// refused.
func TestOpenSSLClientCertificate(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			addr, log := ourServer(t, p, schannel.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ClientRoots}, &sockauth.Server{})
			c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", addr, "-servername", "localhost",
				"-CAfile", p.CAFile, "-verify_return_error", v.openssl, "-cert", p.Client.CertFile, "-key", p.Client.KeyFile)
			waitCount(t, c, sockauth.DefaultGreeting, 1)
			c.CloseInput()
			c.Wait(wait)
			rec := log.waitRecord(t, "the session with a client certificate", ended)
			if rec["status"] != "SEC_E_OK" || rec["identity"] != "CN=alice" {
				t.Errorf("server log %v", rec)
			}

			addr, log = ourServer(t, p, schannel.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ClientRoots}, &sockauth.Server{})
			c = testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", addr, "-servername", "localhost",
				"-CAfile", p.CAFile, "-verify_return_error", v.openssl)
			rec = log.waitRecord(t, "the session without a client certificate", ended)
			if rec["status"] != "SEC_E_LOGON_DENIED" {
				t.Errorf("server log %v", rec)
			}
			c.CloseInput()
			c.Wait(wait)
		})
	}
}

// TestGnuTLSClient: gnutls-cli against our server, TLS 1.2 and 1.3, with and without a
// client certificate, and --resume, which gnutls-cli reports as a resumed session.
func TestGnuTLSClient(t *testing.T) {
	cli, _ := testpeers.RequireGnuTLS(t)
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			addr, log := ourServer(t, p, schannel.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: p.ClientRoots}, &sockauth.Server{})
			base := []string{"127.0.0.1", "-p", port(addr), "--sni-hostname", "localhost", "--verify-hostname", "localhost",
				"--x509cafile", p.CAFile, "--priority", v.gnutls}

			c := testpeers.StartTLSPeer(t, cli, append(base, "--x509certfile", p.Client.CertFile, "--x509keyfile", p.Client.KeyFile)...)
			out := waitCount(t, c, sockauth.DefaultGreeting, 1)
			if !strings.Contains(out, "("+v.name+"-X.509)") && !strings.Contains(out, "("+v.name+")") || !strings.Contains(out, "The certificate is trusted") {
				t.Errorf("gnutls-cli's description:\n%s", out)
			}
			c.Send("hello from gnutls-cli\n")
			waitCount(t, c, "hello from gnutls-cli", 1)
			c.CloseInput()
			if err := c.Wait(wait); err != nil {
				t.Errorf("gnutls-cli: %v\n%s", err, c.Output())
			}
			rec := log.waitRecord(t, "the gnutls-cli session", ended)
			if rec["status"] != "SEC_E_OK" || rec["identity"] != "CN=alice" || rec["messages_in"] != 1.0 {
				t.Errorf("server log %v", rec)
			}

			c = testpeers.StartTLSPeer(t, cli, append(base, "--resume")...)
			out = waitCount(t, c, sockauth.DefaultGreeting, 1)
			if !strings.Contains(out, "This is a resumed session") {
				t.Errorf("gnutls-cli --resume did not resume:\n%s", out)
			}
			c.CloseInput()
			c.Wait(wait)
		})
	}
}

// TestCurl: curl over HTTPS to an HTTP handler whose TLS is our server's (sockauth's tls
// framing over Schannel), TLS 1.2 and 1.3, with and without a client certificate.
func TestCurl(t *testing.T) {
	curl := testpeers.RequireCurl(t)
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			addr, _ := ourServer(t, p, schannel.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: p.ClientRoots}, &sockauth.Server{Handler: httpResponder})
			url := "https://localhost:" + port(addr) + "/hello"
			args := append([]string{"--silent", "--show-error", "--cacert", p.CAFile, "--resolve", "localhost:" + port(addr) + ":127.0.0.1"}, v.curlArgs...)
			out, errOut, err := testpeers.RunTLSClient(t, "", curl, append(args, url)...)
			if err != nil || out != "GET /hello over "+v.name+" from (anonymous)\n" {
				t.Errorf("curl: %q, %v\n%s", out, err, errOut)
			}
			out, errOut, err = testpeers.RunTLSClient(t, "", curl, append(args, "--cert", p.Client.CertFile, "--key", p.Client.KeyFile, url)...)
			if err != nil || out != "GET /hello over "+v.name+" from CN=alice\n" {
				t.Errorf("curl with a client certificate: %q, %v\n%s", out, err, errOut)
			}
		})
	}
}

// httpResponder answers one HTTP/1.1 request over the session's TLS byte stream (read
// and written through Schannel's DecryptMessage and EncryptMessage), naming the protocol
// and the client's certificate.
func httpResponder(_ context.Context, c *sockauth.Conn) error {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	var ci schannel.ConnectionInfo
	if err := sspi.QueryContextAttributes(c.SecurityContext(), sspi.AttrConnectionInfo, &ci); err != nil {
		return err
	}
	who := c.Identity().Principal
	if who == "" {
		who = "(anonymous)"
	}
	body := fmt.Sprintf("%s %s over %s from %s\n", req.Method, req.URL.Path, strings.Replace(tls.VersionName(ci.Version), " ", "", 1), who)
	resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Close: true, Request: req,
		ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)),
		Header: http.Header{"Content-Type": {"text/plain"}}}
	if err := resp.Write(c); err != nil {
		return err
	}
	return c.Close()
}

// ourClient runs a handshake of our client (sockauth's tls framing) with a peer.
func ourClient(t *testing.T, cred *sspi.Credentials, peer *testpeers.TLSPeer, target string) (*sockauth.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	nc, err := peer.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl := &sockauth.Client{Credentials: cred, Framing: sockauth.FramingTLS, Target: target, Timeout: wait}
	c, err := cl.Handshake(ctx, nc)
	if err != nil {
		nc.Close()
	}
	return c, err
}

// wwwPage asks s_server -www for its status page, which describes the session from the
// server's side, and reads it to the server's close.
func wwwPage(t *testing.T, c *sockauth.Conn) string {
	t.Helper()
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the page: %v (%d bytes)", err, len(page))
	}
	c.Close()
	return string(page)
}

func resumed(t *testing.T, c *sockauth.Conn) bool {
	var si schannel.SessionInfo
	if err := sspi.QueryContextAttributes(c.SecurityContext(), sspi.AttrSessionInfo, &si); err != nil {
		t.Fatal(err)
	}
	return si.Resumed()
}

// TestOpenSSLServer: our client against openssl s_server -www, TLS 1.2 and 1.3. The
// server's status page says "New" for the first session and "Reused" for the second
// context of the same credentials handle to the same target (resumption, seen from the
// server's side, and from ours in SECPKG_ATTR_SESSION_INFO).
func TestOpenSSLServer(t *testing.T) {
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			s := testpeers.StartOpenSSLServer(t, "-cert", p.Server.CertFile, "-key", p.Server.KeyFile, "-www", v.openssl)
			cred := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots})
			proto := strings.Replace(v.name, "TLS", "TLSv", 1)
			for i, want := range []string{"New, " + proto, "Reused, " + proto} {
				c, err := ourClient(t, cred, s, "localhost")
				if err != nil {
					t.Fatalf("connection %d: %v", i+1, err)
				}
				if c.Identity().Server != "localhost" {
					t.Errorf("identity %+v", c.Identity())
				}
				if !resumed(t, c) != (i == 0) {
					// The TLS 1.3 ticket of the first session arrives after its handshake:
					// only the second context can say.
					t.Errorf("connection %d: SessionInfo resumed = %v", i+1, !(i == 0))
				}
				page := wwwPage(t, c)
				if !strings.Contains(page, want) || !strings.Contains(page, "no client certificate available") {
					t.Errorf("connection %d: no %q in s_server's page:\n%s", i+1, want, page)
				}
			}
		})
	}
}

// TestOpenSSLServerClientCertificate: s_server -Verify (a certificate required) gets
// ours; s_server -verify (asked for) with a client that has none: InitializeSecurityContext
// says SEC_I_INCOMPLETE_CREDENTIALS, the client goes on without, and the page says so.
func TestOpenSSLServerClientCertificate(t *testing.T) {
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			s := testpeers.StartOpenSSLServer(t, "-cert", p.Server.CertFile, "-key", p.Server.KeyFile, "-www", v.openssl,
				"-Verify", "2", "-CAfile", p.ClientCAFile, "-verify_return_error")
			cred := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots, Certificates: []tls.Certificate{p.Client.Cert}})
			c, err := ourClient(t, cred, s, "localhost")
			if err != nil {
				t.Fatal(err)
			}
			if page := wwwPage(t, c); !regexp.MustCompile(`Subject: ?CN ?= ?alice`).MatchString(page) {
				t.Errorf("s_server's page does not show our certificate:\n%s", page)
			}

			s = testpeers.StartOpenSSLServer(t, "-cert", p.Server.CertFile, "-key", p.Server.KeyFile, "-www", v.openssl,
				"-verify", "2", "-CAfile", p.ClientCAFile)
			anon := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots})
			var statuses []sspi.Status
			nc, err := s.Dial(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			cl := &sockauth.Client{Credentials: anon, Framing: sockauth.FramingTLS, Target: "localhost", Timeout: wait,
				Trace: func(l sockauth.Leg) { statuses = append(statuses, l.Status) }}
			c, err = cl.Handshake(context.Background(), nc)
			if err != nil {
				t.Fatal(err)
			}
			if !containsStatus(statuses, sspi.IncompleteCredentials) {
				t.Errorf("statuses %v; want SEC_I_INCOMPLETE_CREDENTIALS on the way", statuses)
			}
			if page := wwwPage(t, c); !strings.Contains(page, "no client certificate available") {
				t.Errorf("s_server's page:\n%s", page)
			}
		})
	}
}

func containsStatus(ss []sspi.Status, s sspi.Status) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestOpenSSLServerCertificateFailures: against a real server, a certificate for another
// name, an expired one and one from an untrusted CA each fail with their SEC_E status.
func TestOpenSSLServerCertificateFailures(t *testing.T) {
	p := testpeers.NewPKI(t)
	cases := []struct {
		name   string
		cert   testpeers.TLSCert
		target string
		want   sspi.Status
	}{
		{"wrong host name", p.Server, "wrong.example", sspi.ErrWrongPrincipal},
		{"expired", p.Expired, "localhost", sspi.ErrCertExpired},
		{"untrusted", p.Untrusted, "localhost", sspi.ErrUntrustedRoot},
	}
	for _, v := range versions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				s := testpeers.StartOpenSSLServer(t, "-cert", tc.cert.CertFile, "-key", tc.cert.KeyFile, "-www", v.openssl)
				cred := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots})
				_, err := ourClient(t, cred, s, tc.target)
				if !errors.Is(err, tc.want) {
					t.Errorf("%v; want %v", err, tc.want)
				}
			})
		}
	}
}

// TestGnuTLSServer: our client against gnutls-serv --echo, TLS 1.2 and 1.3: a line and
// its echo; a client certificate gnutls-serv requires; and the second context of a
// credentials handle resumes.
func TestGnuTLSServer(t *testing.T) {
	p := testpeers.NewPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			s := testpeers.StartGnuTLSServer(t, "--echo", "--x509certfile", p.Server.CertFile, "--x509keyfile", p.Server.KeyFile,
				"--x509cafile", p.ClientCAFile, "--require-client-cert", "--priority", v.gnutls)
			cred := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots, Certificates: []tls.Certificate{p.Client.Cert}})
			for i := range 2 {
				c, err := ourClient(t, cred, s, "localhost")
				if err != nil {
					t.Fatalf("connection %d: %v\n%s", i+1, err, s.Output())
				}
				line := fmt.Sprintf("hello gnutls-serv %d\n", i)
				if _, err := c.Write([]byte(line)); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(line))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != line {
					t.Errorf("echo %q, %v", got, err)
				}
				if i == 1 && !resumed(t, c) {
					t.Errorf("the second connection did not resume")
				}
				c.Close()
			}

			anon := creds(t, sspi.CredOutbound, &schannel.Config{RootCAs: p.Roots})
			c, err := ourClient(t, anon, s, "localhost")
			if err == nil {
				// TLS 1.3: the refusal arrives after our side has finished.
				c.Write([]byte("x\n"))
				_, err = c.ReadMessage()
				c.Close()
			}
			if err == nil {
				t.Errorf("gnutls-serv --require-client-cert served a client without a certificate")
			}
		})
	}
}
