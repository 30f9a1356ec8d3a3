package testpeers

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TLSCert is a certificate chain and its key, in memory and as PEM files.
type TLSCert struct {
	Cert     tls.Certificate
	CertFile string // the leaf, then its issuer
	KeyFile  string // PKCS #8
}

// PKI is what the TLS interop tests need, made in memory and written to a temporary
// directory: a private CA whose certificate is CAFile, and a client CA.
type PKI struct {
	Dir          string
	CAFile       string
	Roots        *x509.CertPool
	ClientCAFile string
	ClientRoots  *x509.CertPool

	// Server is valid for localhost and 127.0.0.1, issued by the CA.
	Server TLSCert
	// Expired is Server's twin whose validity ended yesterday.
	Expired TLSCert
	// Untrusted is valid for localhost, issued by a CA nobody trusts.
	Untrusted TLSCert
	// Client is CN=alice, a client certificate issued by the client CA.
	Client TLSCert
}

// NewPKI makes a PKI in a temporary directory of tb.
func NewPKI(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{Dir: tb.TempDir()}
	caKey, ca := newCA(tb, "gosspi interop CA")
	p.CAFile = p.writePEM(tb, "ca.pem", "CERTIFICATE", ca.Raw)
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(ca)
	ccaKey, cca := newCA(tb, "gosspi interop client CA")
	p.ClientCAFile = p.writePEM(tb, "client-ca.pem", "CERTIFICATE", cca.Raw)
	p.ClientRoots = x509.NewCertPool()
	p.ClientRoots.AddCert(cca)
	otherKey, other := newCA(tb, "a CA nobody trusts")

	now := time.Now()
	names := []string{"localhost"}
	p.Server = p.leaf(tb, "server", ca, caKey, "localhost", names, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageServerAuth)
	p.Expired = p.leaf(tb, "expired", ca, caKey, "localhost", names, now.Add(-72*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageServerAuth)
	p.Untrusted = p.leaf(tb, "untrusted", other, otherKey, "localhost", names, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageServerAuth)
	p.Client = p.leaf(tb, "client", cca, ccaKey, "alice", nil, now.Add(-time.Hour), now.Add(24*time.Hour), x509.ExtKeyUsageClientAuth)
	return p
}

var serialMu sync.Mutex

func randomSerial(tb testing.TB) *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func newCA(tb testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(tb), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-96 * time.Hour), NotAfter: time.Now().Add(96 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return key, cert
}

func (p *PKI) leaf(tb testing.TB, file string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, from, to time.Time, usage x509.ExtKeyUsage) TLSCert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(tb), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if dns != nil {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
	certFile := filepath.Join(p.Dir, file+".pem")
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		tb.Fatal(err)
	}
	return TLSCert{
		Cert:     tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: leaf},
		CertFile: certFile,
		KeyFile:  p.writePEM(tb, file+"-key.pem", "PRIVATE KEY", pkcs8),
	}
}

func (p *PKI) writePEM(tb testing.TB, name, typ string, der []byte) string {
	tb.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// RequireOpenSSL returns the openssl program (Debian package openssl).
func RequireOpenSSL(tb testing.TB) string { return Require(tb, "openssl", "openssl") }

// RequireGnuTLS returns gnutls-cli and gnutls-serv (Debian package gnutls-bin).
func RequireGnuTLS(tb testing.TB) (cli, serv string) {
	return Require(tb, "gnutls-bin", "gnutls-cli"), Require(tb, "gnutls-bin", "gnutls-serv")
}

// RequireCurl returns curl (Debian package curl).
func RequireCurl(tb testing.TB) string { return Require(tb, "curl", "curl") }

// TLSPeer is a TLS peer process started by a test (openssl s_server or s_client,
// gnutls-serv or gnutls-cli), spoken to through its standard input and watched through
// its output. The test's Cleanup ends it.
type TLSPeer struct {
	// Network and Addr are what to dial, for a server: tcp 127.0.0.1:PORT for s_server,
	// and a unix socket for gnutls-serv, which binds every interface and so runs in a
	// network namespace of its own, reached through socat.
	Network, Addr string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *capBuffer
	waited chan struct{}
	err    error // cmd.Wait's, once waited is closed
}

// Dial connects to the server.
func (s *TLSPeer) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, s.Network, s.Addr)
}

// Output is what the peer has printed so far (stdout and stderr, the last 64 KiB).
func (s *TLSPeer) Output() string { return s.out.String() }

// Send writes to the peer's standard input.
func (s *TLSPeer) Send(text string) error {
	_, err := io.WriteString(s.stdin, text)
	return err
}

// CloseInput closes the peer's standard input: a client then says goodbye.
func (s *TLSPeer) CloseInput() { s.stdin.Close() }

// Wait waits up to d for the peer to exit and returns how it did.
func (s *TLSPeer) Wait(d time.Duration) error {
	select {
	case <-s.waited:
		return s.err
	case <-time.After(d):
		return fmt.Errorf("%w: still running after %v", errTimeout, d)
	}
}

// WaitOutput waits up to d for the peer's output to match re, and returns the output.
func (s *TLSPeer) WaitOutput(re *regexp.Regexp, d time.Duration) (string, bool) {
	end := time.Now().Add(d)
	for {
		out := s.Output()
		if re.MatchString(out) {
			return out, true
		}
		if time.Now().After(end) {
			return out, false
		}
		select {
		case <-s.waited:
			out = s.Output()
			return out, re.MatchString(out)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop ends the peer's process group.
func (s *TLSPeer) stop() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-s.waited
}

var acceptLine = regexp.MustCompile(`(?m)^ACCEPT (127\.0\.0\.1:\d+)\s*$`)

// StartOpenSSLServer starts `openssl s_server -accept 127.0.0.1:0` with args, waits for
// the port it prints, and stops it at the end of the test.
func StartOpenSSLServer(tb testing.TB, args ...string) *TLSPeer {
	tb.Helper()
	openssl := RequireOpenSSL(tb)
	argv := append([]string{"s_server", "-accept", "127.0.0.1:0"}, args...)
	s := startTLSServer(tb, exec.Command(openssl, argv...), nil)
	out, ok := s.WaitOutput(acceptLine, DefaultTimeout)
	if !ok {
		s.stop()
		tb.Fatalf("testpeers: openssl %s did not start:\n%s", strings.Join(argv, " "), out)
	}
	s.Network, s.Addr = "tcp", acceptLine.FindStringSubmatch(out)[1]
	return s
}

var gnutlsListening = regexp.MustCompile(`listening on IPv4 .* port (\d+)\.\.\.done`)

// StartGnuTLSServer starts gnutls-serv with args in a network namespace of its own
// (unshare -rn), since it listens on every interface and has no option to do otherwise,
// and bridges its port to a unix socket with socat. Dial reaches it.
func StartGnuTLSServer(tb testing.TB, args ...string) *TLSPeer {
	tb.Helper()
	_, serv := RequireGnuTLS(tb)
	socat := RequireSocat(tb)
	unshare := Require(tb, "util-linux", "unshare")
	ip := Require(tb, "iproute2", "ip")
	dir := tb.TempDir()
	sock := filepath.Join(dir, "gnutls.sock")
	const port = "5556" // private to the namespace
	script := fmt.Sprintf(`%s link set lo up || exit 1
%s -p %s %s &
exec %s UNIX-LISTEN:%s,fork TCP:127.0.0.1:%s`, ip, serv, port, shellQuoteAll(args), socat, sock, port)
	s := startTLSServer(tb, exec.Command(unshare, "-rn", "sh", "-c", script), nil)
	out, ok := s.WaitOutput(gnutlsListening, DefaultTimeout)
	if !ok {
		s.stop()
		tb.Fatalf("testpeers: gnutls-serv %s did not start:\n%s", strings.Join(args, " "), out)
	}
	// socat starts beside gnutls-serv: wait for its socket.
	for end := time.Now().Add(DefaultTimeout); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			s.stop()
			tb.Fatalf("testpeers: socat in front of gnutls-serv did not start:\n%s", s.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Network, s.Addr = "unix", sock
	return s
}

func shellQuoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// StartTLSPeer starts a TLS peer program with args in the private environment.
func StartTLSPeer(tb testing.TB, name string, args ...string) *TLSPeer {
	tb.Helper()
	return startTLSServer(tb, exec.Command(name, args...), nil)
}

func startTLSServer(tb testing.TB, cmd *exec.Cmd, extraEnv []string) *TLSPeer {
	tb.Helper()
	cmd.Env = Environ(tb, NTLMEnv{}, extraEnv...)
	cmd.Dir = tb.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &TLSPeer{cmd: cmd, out: &capBuffer{max: 64 << 10}, waited: make(chan struct{})}
	cmd.Stderr = s.out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	// s_server reads commands from its standard input: it stays open until the end.
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpeers: start %s: %v", cmd.Path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.out.Write([]byte(sc.Text() + "\n"))
		}
		s.err = cmd.Wait()
		close(s.waited)
	}()
	tb.Cleanup(func() {
		s.stdin.Close()
		s.stop()
	})
	return s
}

// RunTLSClient runs a TLS client peer (openssl s_client, gnutls-cli, curl) to its end,
// with input on its standard input, under DefaultTimeout, in the private environment.
// It returns standard output, standard error and the error of the run.
func RunTLSClient(tb testing.TB, input string, name string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(tb, NTLMEnv{})
	cmd.Dir = tb.TempDir()
	cmd.Stdin = strings.NewReader(input)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	killGroupOnCancel(cmd)
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %v", errTimeout, err)
	}
	return o.String(), e.String(), err
}
