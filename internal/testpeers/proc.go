package testpeers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds every single exchange with a peer (one line out, one line back) and
// every one-shot peer command. Generous, because a loaded CI machine with two cores can be slow
// to start Python; a hung peer is still noticed well within the test binary's own time-out.
const DefaultTimeout = 30 * time.Second

// errTimeout is wrapped by every error caused by a peer that did not answer in time.
var errTimeout = errors.New("testpeers: peer did not answer in time")

// capBuffer keeps the last max bytes written to it, for a peer's stderr in error messages.
type capBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

// Write keeps p, dropping the oldest bytes beyond max.
func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	if len(c.buf) > c.max {
		c.buf = append([]byte(nil), c.buf[len(c.buf)-c.max:]...)
	}
	return len(p), nil
}

// String returns what is kept, trimmed.
func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(bytes.TrimSpace(c.buf))
}

// lineProc is a child process spoken to one line at a time over stdin/stdout, each answer
// awaited with a time-out. It runs in its own process group so that Close can end it and
// anything it started, by that group's id, without touching other processes.
type lineProc struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string // stdout lines; closed at EOF
	stderr  *capBuffer
	timeout time.Duration

	mu     sync.Mutex // one exchange at a time
	closed bool
	waited chan struct{} // closed when cmd.Wait returns
	err    error         // cmd.Wait's result
}

func startLineProc(name string, cmd *exec.Cmd, timeout time.Duration) (*lineProc, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	p := &lineProc{
		name: name, cmd: cmd, timeout: timeout,
		lines:  make(chan string, 16),
		stderr: &capBuffer{max: 16 << 10},
		waited: make(chan struct{}),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// The read end is ours, not os/exec's: with cmd.StdoutPipe, Wait closes it as soon as
	// the process exits, and a peer that prints its last line and exits at once (an ERROR
	// line, then exit 1) loses that line whenever Wait wins the race with the reader.
	stdout, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close() // the child has its own copy; EOF comes when it (and anything it started) is gone
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("testpeers: start %s: %w", name, err)
	}
	go func() {
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 64<<20) // tokens and wrapped messages, base64 in one line
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.waited)
	}()
	return p, nil
}

// exchange writes line (a newline is added) and returns the next line of output. A peer that
// takes longer than the time-out is killed: its state is unknown after that.
func (p *lineProc) exchange(line string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", fmt.Errorf("testpeers: %s is closed", p.name)
	}
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("testpeers: write to %s: %w%s", p.name, err, p.stderrSuffix())
	}
	return p.readLocked()
}

// read returns the next line of output without writing anything first.
func (p *lineProc) read() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readLocked()
}

func (p *lineProc) readLocked() (string, error) {
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case l, ok := <-p.lines:
		if !ok {
			// Give Wait a moment so the exit status makes it into the message.
			status := "still running"
			select {
			case <-p.waited:
				status = fmt.Sprint(p.err)
			case <-time.After(2 * time.Second):
			}
			return "", fmt.Errorf("testpeers: %s closed its output (%s)%s", p.name, status, p.stderrSuffix())
		}
		return l, nil
	case <-timer.C:
		p.kill()
		return "", fmt.Errorf("%w: %s after %v%s", errTimeout, p.name, p.timeout, p.stderrSuffix())
	}
}

func (p *lineProc) stderrSuffix() string {
	if s := p.stderr.String(); s != "" {
		return "; stderr: " + s
	}
	return ""
}

// kill ends the process group the child leads (and only that group).
func (p *lineProc) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// close closes stdin (a well-behaved peer exits on EOF), waits up to five seconds, then kills
// the group. It is idempotent and returns the exit error of a peer that exited on its own
// with a failure.
func (p *lineProc) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.waited
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.stdin.Close()
	select {
	case <-p.waited:
	case <-time.After(5 * time.Second):
		p.kill()
		<-p.waited
		return fmt.Errorf("testpeers: %s did not exit after stdin closed; killed", p.name)
	}
	// A process killed on purpose, or one that ended with status 0, is not an error here.
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.ExitCode() > 0 {
		return fmt.Errorf("testpeers: %s: %w%s", p.name, p.err, p.stderrSuffix())
	}
	return nil
}

// writeTemp writes data to name in dir with mode perm and returns the full path.
func writeTemp(dir, name string, data []byte, perm os.FileMode) (string, error) {
	path := dir + string(os.PathSeparator) + name
	if err := os.WriteFile(path, data, perm); err != nil {
		return "", err
	}
	return path, nil
}

// killGroupOnCancel runs cmd (made with exec.CommandContext) in its own process group and
// has its context's end kill the whole group, so that a peer's children die with it.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// stopGroup asks the process group cmd leads to end (SIGTERM), kills it after five seconds,
// and returns once cmd has been waited for: done is closed after cmd.Wait returns.
func stopGroup(cmd *exec.Cmd, done <-chan struct{}) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// runOneShot runs a one-shot peer client cmd, made with exec.CommandContext(ctx, ...) and
// bounded by timeout, to its end, with stdout and stderr combined into output. A non-zero
// exit is a result the tests assert on, not an error; the error says the client timed out
// (wrapping errTimeout, with its output) or could not be run at all.
func runOneShot(ctx context.Context, name string, cmd *exec.Cmd, timeout time.Duration) (output string, exitCode int, err error) {
	killGroupOnCancel(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	output = out.String()
	if ctx.Err() != nil {
		return output, 0, fmt.Errorf("%w: %s after %v; output: %s", errTimeout, name, timeout, output)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		return output, ee.ExitCode(), nil
	default:
		return output, 0, fmt.Errorf("testpeers: %s: %w", name, err)
	}
	return output, 0, nil
}

// startAnnounced starts cmd (made with exec.CommandContext) in its own process group, its
// stderr copied into log, and waits up to 10 s for a line containing marker, which is how
// the peer says it listens (a probe connection would show in its log). It keeps draining
// stderr to EOF, since a peer blocked on a full pipe stops serving. done is closed once cmd
// has been waited for. On an error the process has ended; the caller still cancels cmd's
// context.
func startAnnounced(name string, cmd *exec.Cmd, log *capBuffer, marker string) (done chan struct{}, err error) {
	killGroupOnCancel(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done = make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			log.Write([]byte(line + "\n"))
			if !signalled && strings.Contains(line, marker) {
				close(ready)
				signalled = true
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-ready:
		return done, nil
	case <-done:
		return nil, fmt.Errorf("%s exited: %s", name, log.String())
	case <-time.After(10 * time.Second):
		stopGroup(cmd, done)
		return nil, fmt.Errorf("%s did not start listening within 10s", name)
	}
}

// daemon describes a long-running peer for serveDaemon.
type daemon struct {
	name string     // in errors: "krb5kdc", "samba"
	out  *capBuffer // takes its stdout and stderr, quoted in errors
	// ready returns nil once the peer serves, else what it still waits for; it is polled
	// every 20 ms for up to within.
	ready  func() error
	within time.Duration
	grace  time.Duration // from SIGTERM to SIGKILL when stopping
	log    func() string // the peer's own log, appended to errors; may be nil
	// beforeStop and afterStop, when set, run before SIGTERM and once the whole group is
	// dead.
	beforeStop, afterStop func()
}

// serveDaemon starts cmd (made with exec.CommandContext on a context that cancel ends, its
// Env set) in its own process group that dies with the test binary, and waits until
// d.ready. It returns the peer's idempotent stop: SIGTERM to the group, SIGKILL after
// d.grace, then SIGKILL to whatever of the group (a worker, smbd) outlived the leader. When
// the peer exits or is not ready in time it stops it and returns an error with its output
// and log.
func serveDaemon(cmd *exec.Cmd, cancel context.CancelFunc, d daemon) (stop func(), err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("testpeers: start %s: %w", d.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if d.beforeStop != nil {
				d.beforeStop()
			}
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(d.grace):
			}
			cancel()
			<-exited
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			if d.afterStop != nil {
				d.afterStop()
			}
		})
	}
	fail := func(format string, args ...any) error {
		log := ""
		if d.log != nil {
			log = "\n" + d.log()
		}
		stop()
		return fmt.Errorf("testpeers: %s %s: %s%s", d.name, fmt.Sprintf(format, args...), d.out.String(), log)
	}
	deadline := time.Now().Add(d.within)
	for {
		waiting := d.ready()
		if waiting == nil {
			return stop, nil
		}
		select {
		case <-exited:
			return nil, fail("exited before it was ready (%v)", waiting)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fail("not ready after %v (%v)", d.within, waiting)
		}
	}
}

// serving returns a daemon.ready that waits until every addr takes TCP connections.
func serving(addrs ...string) func() error {
	return func() error {
		for len(addrs) > 0 {
			if !dialable(addrs[0]) {
				return fmt.Errorf("not serving %s", addrs[0])
			}
			addrs = addrs[1:]
		}
		return nil
	}
}

// dialable reports whether a TCP connection to addr succeeds within a second.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
