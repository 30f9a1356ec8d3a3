package testpeers

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recordingTB stands in for a test so that Skip and Fatal can be observed: both end the
// calling goroutine, as the real ones do, after recording what was said.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recordingTB on its own goroutine and waits for it.
func run(t *testing.T, f func(tb testing.TB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestRequireSkipsOrFails(t *testing.T) {
	missing := func(tb testing.TB) { Require(tb, "some-debian-package", "/nonexistent/gosspi-peer") }

	t.Setenv(InteropEnv, "")
	r := run(t, missing)
	if !r.skipped || r.failed || !strings.Contains(r.msg, "some-debian-package") || !strings.Contains(r.msg, "install-peers") {
		t.Errorf("without %s: skipped=%v failed=%v msg=%q", InteropEnv, r.skipped, r.failed, r.msg)
	}

	t.Setenv(InteropEnv, "require")
	r = run(t, missing)
	if !r.failed || r.skipped || !strings.Contains(r.msg, "some-debian-package") {
		t.Errorf("with %s=require: skipped=%v failed=%v msg=%q", InteropEnv, r.skipped, r.failed, r.msg)
	}

	// A Python module that does not exist: same rules, through the interpreter check.
	r = run(t, func(tb testing.TB) { RequirePython(tb, "python3-nosuch", "gosspi_no_such_module") })
	if Required() && !r.failed {
		t.Errorf("missing Python module under require: %+v", r)
	}

	// Something that is there passes and returns its path.
	t.Setenv(InteropEnv, "")
	var got string
	r = run(t, func(tb testing.TB) { got = Require(tb, "coreutils", "no-such-program-gosspi", "sh") })
	if r.skipped || r.failed || !strings.HasSuffix(got, "/sh") {
		t.Errorf("Require of sh: %q, %+v", got, r)
	}
}

func TestHandshakeDetectsBrokenPeers(t *testing.T) {
	// An acceptor that never finishes must not loop forever.
	loop := stepFunc(func(in []byte) ([]byte, bool, error) { return []byte("x"), false, nil })
	if _, err := Handshake(loop, loop, 4); err == nil {
		t.Error("endless exchange not detected")
	}
	// A side that stops sending while not done is an error, not success.
	silent := stepFunc(func(in []byte) ([]byte, bool, error) { return nil, false, nil })
	if _, err := Handshake(loop, silent, 0); err == nil {
		t.Error("silent unfinished acceptor not detected")
	}
	// Done on one side only, with nothing left to send, is an error too.
	once := stepFunc(func(in []byte) ([]byte, bool, error) { return nil, true, nil })
	if _, err := Handshake(loop, once, 0); err == nil {
		t.Error("half-finished handshake not detected")
	}
}

type stepFunc func(in []byte) ([]byte, bool, error)

func (f stepFunc) Step(in []byte) ([]byte, bool, error) { return f(in) }
