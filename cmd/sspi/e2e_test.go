package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
)

// The end-to-end tests run this test binary as the sspi command (TestMain sends it to
// main when SSPI_TEST_MAIN is set), so they exercise main, the flags, the exit statuses,
// signals and the real standard streams.

func TestMain(m *testing.M) {
	if os.Getenv("SSPI_TEST_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

// cmdEnv is the environment of a child sspi: the caller's without the variables that
// would change where credentials come from, plus extra. Under the race detector a child
// would sleep a second before exiting (GORACE's atexit_sleep_ms, a last chance for
// goroutines still running to race): the children's work is done by then, a race while
// they ran still fails them (exit status 66), and the sleeps cost a second per child.
func cmdEnv(extra ...string) []string {
	var out []string
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "NTLM_USER_FILE", "NTLMUSER", "SSPI_PASSWORD", "KRB5CCNAME", "KRB5_KTNAME":
			continue
		case "GORACE":
			gorace = v + " " + gorace // the caller's options too (halt_on_error, log_path)
			continue
		}
		out = append(out, kv)
	}
	return append(append(out, "SSPI_TEST_MAIN=1", "GORACE="+gorace), extra...)
}

// syncBuffer is a bytes.Buffer safe for a child's output and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// served is a running `sspi serve`.
type served struct {
	cmd            *exec.Cmd
	addr           string
	mechanisms     string // what the start-up line says can authenticate a client
	user, password string // the ephemeral account, if one was made
	stderr         *syncBuffer
	done           chan error
}

// startServe runs `sspi serve --listen 127.0.0.1:0 ARGS` and waits for it to listen.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = cmdEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	ephemeral := false
	for s.addr == "" || ephemeral && s.password == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("sspi serve ended: %s", s.stderr)
			}
			var ev map[string]string
			if json.Unmarshal([]byte(line), &ev) == nil {
				switch ev["event"] {
				case "listening":
					s.addr, ephemeral = ev["address"], ev["accounts"] == "ephemeral"
					s.mechanisms = ev["mechanisms"]
				case "ephemeral_account":
					s.user, s.password = ev["user"], ev["password"]
				}
				continue
			}
			f := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "listening on "):
				s.addr, ephemeral = f[2], strings.Contains(line, "accounts: ephemeral")
				if _, m, ok := strings.Cut(line, ": "); ok {
					s.mechanisms, _, _ = strings.Cut(m, ";")
				}
			case strings.HasPrefix(line, "  user "):
				s.user = f[1]
			case strings.HasPrefix(line, "  password "):
				s.password = f[1]
			}
		case <-timeout:
			t.Fatalf("sspi serve did not start: %s", s.stderr)
		}
	}
	go func() {
		for range lines { // keep draining stdout
		}
	}()
	return s
}

// stop sends SIGTERM and returns the exit status.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return exitCode(err)
	case <-time.After(20 * time.Second):
		t.Fatal("sspi serve did not stop on SIGTERM")
	}
	return -1
}

// logLines returns the server's JSON log lines.
func (s *served) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// sspiCmd runs the sspi command to completion.
func sspiCmd(t *testing.T, environ []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = cmdEnv(environ...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return exitCode(err), out.String(), errb.String()
}

// TestServeConnectEphemeral is the newcomer's path: `sspi serve` with nothing set up,
// `sspi connect` with the account it printed.
func TestServeConnectEphemeral(t *testing.T) {
	s := startServe(t, "--package", "NTLM")
	if s.user == "" || s.password == "" {
		t.Fatalf("no ephemeral account printed (addr %q)", s.addr)
	}
	pw := "SSPI_PASSWORD=" + s.password
	code, out, errOut := sspiCmd(t, []string{pw}, "", "connect", s.addr, "--package", "NTLM", "--user", s.user)
	if code != exitOK || !strings.Contains(out, `"This is your server speaking"`) || !strings.Contains(out, "SEC_I_CONTINUE_NEEDED") || !strings.Contains(out, "status:      SEC_E_OK") {
		t.Fatalf("connect: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = sspiCmd(t, []string{pw}, "", "connect", s.addr, "--package", "NTLM", "--user", s.user, "--message", "round trip", "--json")
	var res connectResult
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || !res.OK || res.Echo == nil || *res.Echo != "round trip" || len(res.Legs) != 2 {
		t.Fatalf("connect --json: %d %v\n%s\n%s", code, err, out, errOut)
	}
	// A wrong password: exit 1; the server closes the connection, which is what the client
	// knows (the server's log has the status, below).
	code, out, errOut = sspiCmd(t, []string{"SSPI_PASSWORD=wrong"}, "", "connect", s.addr, "--package", "NTLM", "--user", s.user, "--json")
	if err := json.Unmarshal([]byte(out), &res); code != exitAuth || err != nil || res.OK || res.Status != "DISCONNECTED" || !strings.Contains(errOut, "the server closed the connection after the handshake; see its log") {
		t.Fatalf("wrong password: %d\n%s\n%s", code, out, errOut)
	}
	// The password from a file.
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(s.password+"\n"), 0o600)
	if code, out, errOut := sspiCmd(t, nil, "", "connect", s.addr, "--package", "NTLM", "--user", s.user, "--password-file", pwFile); code != exitOK {
		t.Fatalf("--password-file: %d\n%s\n%s", code, out, errOut)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d after SIGTERM: %s", code, s.stderr)
	}
	// With no flags at all, as a newcomer types it: the default package on both sides.
	d := startServe(t)
	if code, out, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=" + d.password}, "", "connect", d.addr, "--user", d.user, "--message", "hi"); code != exitOK || !strings.Contains(out, `echo:        "hi"`) {
		t.Fatalf("defaults (%s): %d\n%s\n%s", defaultPackage(), code, out, errOut)
	}
	d.stop(t)
	log := s.stderr.String()
	if strings.Count(log, "status=SEC_E_OK") != 3 || !strings.Contains(log, "status=SEC_E_LOGON_DENIED") || !strings.Contains(log, "shutting down") {
		t.Errorf("server log:\n%s", log)
	}
	if strings.Contains(log, s.password) {
		t.Errorf("the password is in the log")
	}
}

// TestServeConnectGSS: an account file made with `sspi accounts`, the gss framing, every
// protection, JSON logs, and stored credentials on the client.
func TestServeConnectGSS(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "users.ntlm")
	if code, _, errOut := sspiCmd(t, nil, "Pa55-word\n", "accounts", "add", "--file", file, `TESTDOM\alice`); code != exitOK {
		t.Fatalf("accounts add: %s", errOut)
	}
	s := startServe(t, "--package", "NTLM", "--framing", "gss", "--accounts", file, "--json")
	if s.user != "" {
		t.Fatal("an ephemeral account was made although --accounts was given")
	}
	pw := "SSPI_PASSWORD=Pa55-word"
	for _, prot := range []string{"seal", "sign"} {
		code, out, errOut := sspiCmd(t, []string{pw}, "", "connect", s.addr, "--package", "NTLM", "--framing", "gss", "--user", `TESTDOM\alice`, "--protect", prot, "--message", "via "+prot)
		if code != exitOK || !strings.Contains(out, "MIC over it: verified") {
			t.Fatalf("--protect %s: %d\n%s\n%s", prot, code, out, errOut)
		}
	}
	// The server requires integrity: an unprotected session is refused, after the logon,
	// by closing the connection (the log, below, has SEC_E_SECURITY_QOS_FAILED).
	code, _, errOut := sspiCmd(t, []string{pw}, "", "connect", s.addr, "--package", "NTLM", "--framing", "gss", "--user", `TESTDOM\alice`, "--protect", "none")
	if code != exitAuth || !strings.Contains(errOut, "the server closed the connection after the handshake; see its log") {
		t.Fatalf("--protect none against --require integrity: %d %s", code, errOut)
	}
	// Stored credentials: gss-ntlmssp's users file and NTLMUSER.
	users := filepath.Join(dir, "client-users")
	os.WriteFile(users, []byte("TESTDOM:alice:Pa55-word\n"), 0o600)
	code, out, errOut := sspiCmd(t, []string{"NTLM_USER_FILE=" + users, "NTLMUSER=TESTDOM\\alice"}, "", "connect", s.addr, "--package", "NTLM", "--framing", "gss", "--json")
	var res connectResult
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.MIC == nil || !*res.MIC {
		t.Fatalf("stored credentials: %d %v\n%s\n%s", code, err, out, errOut)
	}
	s.stop(t)
	lines := s.logLines(t)
	var ok, refused int
	for _, l := range lines {
		switch l["status"] {
		case "SEC_E_OK":
			ok++
			if l["identity"] != `TESTDOM\alice` || l["package"] != "NTLM" || l["attributes"] == "" {
				t.Errorf("log line %v", l)
			}
		case "SEC_E_SECURITY_QOS_FAILED":
			refused++
		}
	}
	if ok != 3 || refused != 1 {
		t.Errorf("log: %d ok, %d refused:\n%s", ok, refused, s.stderr)
	}
}

// TestServeSignalFinishesHandshake: SIGTERM while a handshake is half done; the server
// finishes it, sends the greeting, and exits 0.
func TestServeSignalFinishesHandshake(t *testing.T) {
	s := startServe(t, "--package", "NTLM")
	cred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: s.user, Password: s.password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	cc := sspi.NewClientContext(cred, sspi.ClientOptions{})
	defer cc.Close()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	frame := func(b []byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) }
	neg, _ := cc.Step(nil)
	nc.Write(frame(neg))
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatal(err)
	}
	ch := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	io.ReadFull(nc, ch)

	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	auth, err := cc.Step(ch)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write(frame(auth))
	greeting, err := io.ReadAll(nc)
	if err != nil || len(greeting) < 4+16 {
		t.Fatalf("greeting after SIGTERM: %d bytes, %v; log:\n%s", len(greeting), err, s.stderr)
	}
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if code := exitCode(err); code != exitOK {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not exit")
	}
	if !strings.Contains(s.stderr.String(), "status=SEC_E_OK") {
		t.Errorf("log:\n%s", s.stderr)
	}
}

func TestConnectFailures(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	code, _, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=x"}, "", "connect", addr, "--package", "NTLM", "--user", "alice")
	if code != exitAuth || errOut == "" {
		t.Errorf("connection refused: %d %q", code, errOut)
	}
	code, _, errOut = sspiCmd(t, nil, "", "connect", addr, "--package", "NTLM", "--user", "alice", "--password-file", "/nonexistent")
	if code != exitAuth {
		t.Errorf("missing password file: %d %q", code, errOut)
	}
	code, _, errOut = sspiCmd(t, []string{"SSPI_PASSWORD=x"}, "", "connect", addr, "--package", "NoSuchPackage", "--user", "alice")
	if code != exitUsage || !strings.Contains(errOut, `unknown package "NoSuchPackage" (known packages: `) {
		t.Errorf("unknown package: %d %q", code, errOut)
	}
}

// TestServeUnusableKeytab: a keytab named with --keytab that cannot be used stops the
// server at start-up (exit 1, the path and the reason) instead of serving without
// Kerberos; with the NTLM package, --keytab is a usage error. The server must not get as
// far as listening.
func TestServeUnusableKeytab(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.keytab")
	os.WriteFile(junk, []byte("not a keytab\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--keytab", "/nonexistent/krb5.keytab"}, exitAuth, []string{"--keytab /nonexistent/krb5.keytab", "no such file or directory"}},
		{[]string{"--package", "Negotiate", "--keytab", junk}, exitAuth, []string{"--keytab " + junk, "keytab"}},
		{[]string{"--package", "Kerberos", "--keytab", "/nonexistent/krb5.keytab"}, exitAuth, []string{"/nonexistent/krb5.keytab", "no such file or directory"}},
		{[]string{"--package", "NTLM", "--keytab", junk}, exitUsage, []string{"--keytab, --spn and --replay-cache are for Kerberos"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"serve", "--listen", "127.0.0.1:0"}, tc.args...)...)
		cmd.Env = cmdEnv()
		var errb syncBuffer
		cmd.Stderr = &errb
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on") {
				t.Errorf("serve %q started: %s", tc.args, sc.Text())
				cmd.Process.Kill()
			}
		}
		code := exitCode(cmd.Wait())
		cancel()
		if code != tc.code {
			t.Errorf("serve %q: exit %d, want %d; stderr %s", tc.args, code, tc.code, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("serve %q: stderr lacks %q: %s", tc.args, w, errb.String())
			}
		}
	}
}

// TestServeMechanismsLine: the start-up line names the mechanisms that can authenticate a
// client. Without a keytab, Negotiate has NTLM only. (With one, TestServeNegotiateKeytab.)
func TestServeMechanismsLine(t *testing.T) {
	if _, err := os.Stat("/etc/krb5.keytab"); err == nil {
		t.Skip("the host's default keytab would give the server Kerberos")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "NTLM"},
		{[]string{"--package", "NTLM"}, "NTLM"},
		{[]string{"--json"}, "NTLM"},
	} {
		s := startServe(t, tc.args...)
		if s.mechanisms != tc.want {
			t.Errorf("serve %q: mechanisms %q, want %q", tc.args, s.mechanisms, tc.want)
		}
		s.stop(t)
	}
}
