package testpeers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeRDP 2.11 (Debian's freerdp2-x11, freerdp2-shadow-x11 and winpr-utils) is the CredSSP
// peer: xfreerdp as the client, freerdp-shadow-cli as the server. Debian builds it without
// GSSAPI, so NTLM is the only package inside its CredSSP; both sides speak TSRequest
// version 6 and go down to the peer's version. Both need an X display, even for
// +auth-only: StartXvfb gives each test a private one.

// RequireFreeRDP returns the paths of xfreerdp, freerdp-shadow-cli and winpr-hash.
func RequireFreeRDP(tb testing.TB) (client, shadow, hash string) {
	tb.Helper()
	return Require(tb, "freerdp2-x11", "xfreerdp"), Require(tb, "freerdp2-shadow-x11", "freerdp-shadow-cli"),
		Require(tb, "winpr-utils", "winpr-hash")
}

// Xvfb is a private X server for FreeRDP's programs.
type Xvfb struct {
	// Display is the DISPLAY value, ":N".
	Display string
	// Authority is the X authority file (XAUTHORITY) with the display's cookie: without
	// it, a client is refused.
	Authority string
	cmd       *exec.Cmd
	done      chan struct{}
	stderr    *capBuffer
	once      sync.Once
}

// Env is the environment of a client of the display: DISPLAY and XAUTHORITY.
func (x *Xvfb) Env() []string {
	return []string{"DISPLAY=" + x.Display, "XAUTHORITY=" + x.Authority}
}

// StartXvfb starts Xvfb on a display number it picks itself (-displayfd), listening on no
// TCP port, and stops it when tb ends.
//
// Two things keep it to its own test when several test binaries run X servers at once.
// -noreset: by default an X server resets when its last client disconnects, and a
// connection that arrives during the reset is accepted and then closed with the clients
// of the old generation. freerdp-shadow-cli connects, disconnects (after enumerating the
// monitors) and connects again at once, and under load its second connection fell into
// that window: "failed to open display". And a cookie (MIT-MAGIC-COOKIE-1) in a private
// authority file that its clients get as XAUTHORITY: an -auth file that does not exist
// leaves the display open to every local client, the other tests' included.
func StartXvfb(tb testing.TB) *Xvfb {
	tb.Helper()
	xvfb := Require(tb, "xvfb", "Xvfb")
	dir := tb.TempDir()
	auth := filepath.Join(dir, "xauthority")
	if err := writeXAuthority(auth); err != nil {
		tb.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-nolisten", "tcp", "-noreset", "-screen", "0", "800x600x24", "-auth", auth)
	cmd.Env = peerEnv(tb, dir, NTLMEnv{}, nil)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	x := &Xvfb{Authority: auth, cmd: cmd, done: make(chan struct{}), stderr: &capBuffer{max: 8 << 10}}
	cmd.Stderr = x.stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		tb.Fatalf("testpeers: start Xvfb: %v", err)
	}
	w.Close()
	go func() { _ = cmd.Wait(); close(x.done) }()
	tb.Cleanup(x.Stop)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if _, err := strconv.Atoi(n); err != nil {
			x.Stop()
			tb.Fatalf("testpeers: Xvfb did not report a display (%q): %s", n, x.stderr.String())
		}
		x.Display = ":" + n
	case <-time.After(DefaultTimeout):
		x.Stop()
		tb.Fatalf("testpeers: Xvfb did not start within %v: %s", DefaultTimeout, x.stderr.String())
	}
	return x
}

// writeXAuthority writes an X authority file with one random MIT-MAGIC-COOKIE-1 for any
// address and display (FamilyWild, no display number): the server reads it with -auth and
// its clients with XAUTHORITY, before the display number is known. An entry is the
// family, then four counted strings: address, display number, protocol name, data.
func writeXAuthority(path string) error {
	cookie := make([]byte, 16)
	if _, err := rand.Read(cookie); err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xff}) // FamilyWild
	for _, f := range [][]byte{nil, nil, []byte("MIT-MAGIC-COOKIE-1"), cookie} {
		b.Write([]byte{byte(len(f) >> 8), byte(len(f))})
		b.Write(f)
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// state says whether the X server still runs, and its output, for a peer's failure message.
func (x *Xvfb) state() string {
	select {
	case <-x.done:
		return fmt.Sprintf("Xvfb %s has exited (%v): %s", x.Display, x.cmd.ProcessState, x.stderr.String())
	default:
		return fmt.Sprintf("Xvfb %s runs: %s", x.Display, x.stderr.String())
	}
}

// Stop ends the X server (its process group only).
func (x *Xvfb) Stop() {
	x.once.Do(func() { stopGroup(x.cmd, x.done) })
}

// RDPUser is one account of a FreeRDP server's SAM file.
type RDPUser struct {
	Domain, User, Password string
}

// WinprHash returns the SAM-file line winpr-hash writes for u ("user:domain::nthash:::").
func WinprHash(tb testing.TB, u RDPUser) string {
	tb.Helper()
	_, _, hash := RequireFreeRDP(tb)
	args := []string{"-u", u.User, "-p", u.Password, "-f", "sam"}
	if u.Domain != "" {
		args = append(args, "-d", u.Domain)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hash, args...)
	cmd.Env = peerEnv(tb, tb.TempDir(), NTLMEnv{}, nil)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("testpeers: winpr-hash: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// ShadowOptions configures StartFreeRDPShadow.
type ShadowOptions struct {
	// Users are written to the SAM file (/sam-file) through winpr-hash.
	Users []RDPUser
	// Args are extra command-line arguments (for example "/sec:nla" is always given;
	// "+sec-ext" allows HYBRID_EX).
	Args []string
	// Lifetime bounds how long the server may run at all; zero means 5 minutes.
	Lifetime time.Duration
}

// Shadow is a running freerdp-shadow-cli: an RDP server that requires NLA (CredSSP) on
// 127.0.0.1, sharing a private Xvfb display.
type Shadow struct {
	Addr   string
	Xvfb   *Xvfb
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	log    *capBuffer
}

// Log returns the server's output so far (FreeRDP logs to stdout).
func (s *Shadow) Log() string { return s.log.String() }

// Stop ends the server's process group.
func (s *Shadow) Stop() {
	s.cancel()
	<-s.done
}

// StartFreeRDPShadow starts freerdp-shadow-cli with /sec:nla and a SAM file of opts.Users,
// bound to 127.0.0.1 on a free port, with a private Xvfb, HOME and environment; it returns
// once the port accepts connections and stops the server when tb ends.
func StartFreeRDPShadow(tb testing.TB, opts ShadowOptions) *Shadow {
	tb.Helper()
	_, shadow, _ := RequireFreeRDP(tb)
	x := StartXvfb(tb)
	dir := tb.TempDir()
	var sam strings.Builder
	for _, u := range opts.Users {
		sam.WriteString(WinprHash(tb, u) + "\n")
	}
	samFile := filepath.Join(dir, "sam")
	if err := os.WriteFile(samFile, []byte(sam.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 5 * time.Minute
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), opts.Lifetime)
		args := append([]string{"/bind-address:127.0.0.1", "/port:" + strconv.Itoa(port), "/sec:nla", "/sam-file:" + samFile}, opts.Args...)
		cmd := exec.CommandContext(ctx, shadow, args...)
		cmd.Env = peerEnv(tb, dir, NTLMEnv{}, x.Env())
		cmd.Dir = dir
		killGroupOnCancel(cmd)
		s := &Shadow{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Xvfb: x, cmd: cmd, cancel: cancel, done: make(chan struct{}), log: &capBuffer{max: 64 << 10}}
		cmd.Stdout, cmd.Stderr = s.log, s.log
		if err := cmd.Start(); err != nil {
			cancel()
			tb.Fatalf("testpeers: start freerdp-shadow-cli: %v", err)
		}
		go func() { _ = cmd.Wait(); close(s.done) }()
		if err := waitListening(port, s.done, 20*time.Second); err != nil {
			s.Stop()
			lastErr = fmt.Errorf("%v; log: %s; %s", err, s.Log(), x.state())
			continue
		}
		tb.Cleanup(s.Stop)
		return s
	}
	tb.Fatalf("testpeers: freerdp-shadow-cli did not start: %v", lastErr)
	return nil
}

// waitListening polls /proc/net/tcp for a listening socket on 127.0.0.1:port, so that no
// probe connection reaches the server (each would be an RDP client to it).
func waitListening(port int, done <-chan struct{}, timeout time.Duration) error {
	want := fmt.Sprintf("0100007F:%04X 00000000:0000 0A", port)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile("/proc/net/tcp"); err == nil && bytes.Contains(b, []byte(want)) {
			return nil
		}
		select {
		case <-done:
			return errors.New("the server exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listening on 127.0.0.1:%d after %v", port, timeout)
}

// XFreeRDPOptions configures one run of xfreerdp.
type XFreeRDPOptions struct {
	Domain, User, Password string
	// Sec is the /sec: value: "nla" (HYBRID) by default, "ext" for HYBRID_EX.
	Sec string
	// Args are extra arguments.
	Args []string
	// X is the X display; nil starts a private Xvfb for this run.
	X *Xvfb
	// Timeout bounds the run; zero means DefaultTimeout.
	Timeout time.Duration
}

// XFreeRDPResult is the outcome of one xfreerdp run.
type XFreeRDPResult struct {
	Output   string
	ExitCode int
}

// RunXFreeRDP runs `xfreerdp /v:addr /sec:nla +auth-only /cert:ignore` with the given
// credentials: it authenticates with CredSSP and exits, 0 on success. A non-zero exit is
// not an error (tests assert on it); a time-out or a failure to start is.
func RunXFreeRDP(tb testing.TB, addr string, opts XFreeRDPOptions) (XFreeRDPResult, error) {
	tb.Helper()
	client, _, _ := RequireFreeRDP(tb)
	if opts.X == nil {
		opts.X = StartXvfb(tb)
	}
	if opts.Sec == "" {
		opts.Sec = "nla"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	args := []string{"/v:" + addr, "/sec:" + opts.Sec, "+auth-only", "/cert:ignore", "/u:" + opts.User, "/p:" + opts.Password}
	if opts.Domain != "" {
		args = append(args, "/d:"+opts.Domain)
	}
	args = append(args, opts.Args...)
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, args...)
	dir := tb.TempDir()
	cmd.Env = peerEnv(tb, dir, NTLMEnv{}, opts.X.Env())
	cmd.Dir = dir
	out, code, err := runOneShot(ctx, "xfreerdp", cmd, opts.Timeout)
	return XFreeRDPResult{Output: out, ExitCode: code}, err
}
