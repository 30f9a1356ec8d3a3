package testpeers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GSSServerOptions configures MIT's gss-server for StartGSSServer.
type GSSServerOptions struct {
	// Service is the acceptor's host-based service name; default "host@localhost".
	Service string
	// Keytab is gss-server's -keytab (Kerberos acceptors); empty uses KRB5_KTNAME from Env.
	Keytab string
	// Export adds -export: the server exports and re-imports each context, exercising
	// gss_export_sec_context for the mechanism.
	Export bool
	// NTLM is gss-ntlmssp's environment for the server (its users file above all).
	NTLM NTLMEnv
	// Env holds extra KEY=VALUE entries for the server (KRB5_CONFIG, KRB5_KTNAME...).
	Env []string
	// Lifetime bounds how long the server may run at all; zero means 5 minutes. Stop ends it
	// sooner; the test's Cleanup calls Stop.
	Lifetime time.Duration
}

// GSSServer is a running gss-server: socat listens on Addr (127.0.0.1 only) and runs one
// `gss-server -inetd` per connection, since gss-server's own listener binds every interface.
type GSSServer struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Port is Addr's port, for gss-client's -port.
	Port    int
	logFile string
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	once    sync.Once
	done    chan struct{}
	stderr  *capBuffer
}

// Stderr returns the last 64 KiB of socat's diagnostics (-d -d: one line per connection) and
// of gss-server's own stderr.
func (s *GSSServer) Stderr() string { return s.stderr.String() }

// Log returns gss-server's log so far (-logfile, shared by all connections): the tokens it
// received and sent, "Accepted connection using mechanism OID { ... }", and
// `Received message: "..."` for each message it unwrapped.
func (s *GSSServer) Log() string {
	b, _ := os.ReadFile(s.logFile)
	return string(b)
}

// Stop ends socat and every gss-server it started (their process group). Idempotent.
func (s *GSSServer) Stop() {
	s.once.Do(func() {
		stopGroup(s.cmd, s.done)
		s.cancel()
	})
}

// gssServerPrefix is put before gss-server's command line (a debugging hook: strace -f -o ...).
var gssServerPrefix []string

// socatUnsafe are the characters socat's address syntax would misread in the EXEC path.
const socatUnsafe = " ,:!'\"\\{}[]()%"

// StartGSSServer starts gss-server behind socat on a free loopback port and returns it; tb's
// Cleanup stops it. It skips (or fails under SSPI_INTEROP=require) without krb5-gss-samples or
// socat.
func StartGSSServer(tb testing.TB, opts GSSServerOptions) *GSSServer {
	tb.Helper()
	server, _ := RequireGSSSample(tb)
	socat := RequireSocat(tb)
	if opts.Service == "" {
		opts.Service = "host@localhost"
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 5 * time.Minute
	}
	// socat parses its EXEC address itself, so the wrapper's path must be free of its
	// special characters; a test's TempDir usually is, a plain /tmp directory always is.
	dir := tb.TempDir()
	if strings.ContainsAny(dir, socatUnsafe) {
		d, err := os.MkdirTemp("", "gssrv")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	logFile := dir + "/gss-server.log"
	// -verbose: without it the log holds only the messages, not the tokens nor "Accepted
	// connection using mechanism OID", which tests use to see what was negotiated.
	args := []string{server, "-inetd", "-verbose", "-logfile", logFile}
	if opts.Export {
		args = append(args, "-export")
	}
	if opts.Keytab != "" {
		args = append(args, "-keytab", opts.Keytab)
	}
	args = append(args, opts.Service)
	args = append(append([]string(nil), gssServerPrefix...), args...)
	// The wrapper runs gss-server as its child instead of exec'ing it. When a connection ends,
	// socat sends SIGTERM to the program it started; gss-server closes its socket before it
	// logs a refused context, so a directly exec'd gss-server was often killed between the
	// two and the refusal never reached the log. The signal now ends only the shell; gss-server
	// finishes on its own and Stop still ends it, being in socat's process group.
	var script strings.Builder
	script.WriteString("#!/bin/sh\n# one gss-server per connection, run by socat (see gsssample.go)\n")
	for i, a := range args {
		if i > 0 {
			script.WriteString(" ")
		}
		script.WriteString(shellQuote(a))
	}
	script.WriteString("\n")
	wrapper, err := writeTemp(dir, "gss-server.sh", []byte(script.String()), 0o700)
	if err != nil {
		tb.Fatal(err)
	}
	env := peerEnv(tb, dir, opts.NTLM, opts.Env)

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		s, err := startSocat(socat, port, wrapper, logFile, env, opts.Lifetime)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		// Another process may have taken the port between freePort and socat's bind.
		lastErr = err
	}
	tb.Fatalf("testpeers: could not start gss-server behind socat: %v", lastErr)
	return nil
}

func startSocat(socat string, port int, wrapper, logFile string, env []string, lifetime time.Duration) (*GSSServer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	listen := fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port)
	// -d -d makes socat announce "listening on", which is how we know it is ready without
	// connecting (a probe connection would start a gss-server and litter the log).
	// -t 10: once one side has closed, socat waits up to 10 s (default 0.5 s) for the other
	// before it tears the connection down, so a slow gss-server can still answer.
	cmd := exec.CommandContext(ctx, socat, "-d", "-d", "-t", "10", listen, "EXEC:"+wrapper)
	cmd.Env = env
	s := &GSSServer{
		Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, logFile: logFile,
		cmd: cmd, cancel: cancel, stderr: &capBuffer{max: 64 << 10},
	}
	// socat -d -d logs every connection; gss-server's own stderr (its children inherit it)
	// lands there too.
	var err error
	if s.done, err = startAnnounced("socat", cmd, s.stderr, "listening on"); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// GSSClientOptions configures one run of MIT's gss-client.
type GSSClientOptions struct {
	// Service is the target host-based service name; default "host@localhost".
	Service string
	// Mech selects the mechanism by dotted OID (-mech); empty leaves gss-client's default
	// (Kerberos).
	Mech string
	// SPNEGO adds -spnego: negotiate through SPNEGO, limited to Mech when it is set.
	SPNEGO bool
	// User and Password are -user/-pass: gss_acquire_cred_with_password, no ccache or users
	// file needed ("DOMAIN\user" for NTLM).
	User, Password string
	// Verbose drops -q. gss-client then inquires the context and the name types after a good
	// handshake and, with gss-ntlmssp (which lacks gss_inquire_names_for_mech), exits 1 even
	// though authentication succeeded; keep it false for NTLM.
	Verbose bool
	// Message is the text gss-client wraps and sends; default "gosspi test message".
	Message string
	// Args are extra gss-client flags: -nomutual, -seq, -noreplay, -d (delegate), -f
	// (message from file), -ccount N, -mcount N, -v1, -na (no auth), -nw (no wrap), -nx (no
	// encryption), -nm (no MIC).
	Args []string
	// NTLM and Env are the client's environment, as for a GSSPeer.
	NTLM NTLMEnv
	Env  []string
	// Timeout bounds the run; zero means DefaultTimeout.
	Timeout time.Duration
}

// GSSClientResult is the outcome of one gss-client run.
type GSSClientResult struct {
	// Output is stdout and stderr together, in order.
	Output string
	// ExitCode is gss-client's status: 0 after a handshake and a verified message exchange.
	ExitCode int
}

// RunGSSClient runs gss-client against addr ("127.0.0.1:port") and returns its output and exit
// status. A non-zero exit status is not an error (tests assert on it); a time-out or a failure
// to start is.
func RunGSSClient(tb testing.TB, addr string, opts GSSClientOptions) (GSSClientResult, error) {
	tb.Helper()
	_, client := RequireGSSSample(tb)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return GSSClientResult{}, err
	}
	if opts.Mech == MechNTLM || opts.NTLM.User != "" || len(opts.NTLM.Users) > 0 {
		RequireGSSNTLMSSP(tb)
	}
	if opts.Service == "" {
		opts.Service = "host@localhost"
	}
	if opts.Message == "" {
		opts.Message = "gosspi test message"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	args := []string{"-port", port}
	if opts.Mech != "" {
		args = append(args, "-mech", "{ "+strings.ReplaceAll(opts.Mech, ".", " ")+" }")
	}
	if opts.SPNEGO {
		args = append(args, "-spnego")
	}
	if opts.User != "" {
		args = append(args, "-user", opts.User)
	}
	if opts.Password != "" {
		args = append(args, "-pass", opts.Password)
	}
	if !opts.Verbose {
		args = append(args, "-q")
	}
	args = append(args, opts.Args...)
	args = append(args, host, opts.Service, opts.Message)

	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, args...)
	cmd.Env = peerEnv(tb, tb.TempDir(), opts.NTLM, opts.Env)
	out, code, err := runOneShot(ctx, "gss-client", cmd, opts.Timeout)
	return GSSClientResult{Output: out, ExitCode: code}, err
}

// gssMechLogOID renders a dotted OID the way gss-server logs it: "{ 1 3 6 ... }".
func gssMechLogOID(oid string) string {
	parts := strings.Split(oid, ".")
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return oid
		}
	}
	return "{ " + strings.Join(parts, " ") + " }"
}

// logWait is how long the log helpers wait: gss-server writes its log through stdio, so a
// connection's lines appear only when that gss-server exits, a moment after the client does.
const logWait = 5 * time.Second

// WaitLog waits up to timeout for substr to appear in the log and reports whether it did.
func (s *GSSServer) WaitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(s.Log(), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GSSServerAcceptError is what gss-server logs when gss_accept_sec_context fails.
const GSSServerAcceptError = "GSS-API error accepting context"

// AcceptedMech reports whether the server's log shows a context accepted with mech (dotted),
// waiting for the log to be written.
func (s *GSSServer) AcceptedMech(mech string) bool {
	return s.WaitLog("Accepted connection using mechanism OID "+gssMechLogOID(mech), logWait)
}

// ReceivedMessage reports whether the server's log shows msg received and unwrapped, waiting
// for the log to be written. For a negative check, wait for another line first (such as
// GSSServerAcceptError) and then look at Log.
func (s *GSSServer) ReceivedMessage(msg string) bool {
	return s.WaitLog(fmt.Sprintf("Received message: %q", msg), logWait)
}
