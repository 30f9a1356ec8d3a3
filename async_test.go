package sspi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// asyncHandshake drives one handshake entirely through the async layer: each callback
// reads its leg's result and queues the peer's next leg on the peer's AsyncContext, after
// Reinit. It reports on done once.
type asyncHandshake struct {
	t          *testing.T
	ccred      *Credentials
	scred      *Credentials
	client     *AsyncContext
	server     *AsyncContext
	cctx, sctx *Context
	cout, sout []Buffer
	inFlight   atomic.Bool  // a call is queued and its callback has not run
	calls      atomic.Int32 // calls queued
	callbacks  atomic.Int32 // callbacks run
	done       chan error
	once       sync.Once
}

func (h *asyncHandshake) finish(err error) { h.once.Do(func() { h.done <- err }) }

func (h *asyncHandshake) queued(err error) {
	if err != nil {
		h.finish(err)
		return
	}
}

func (h *asyncHandshake) begin() {
	if !h.inFlight.CompareAndSwap(false, true) {
		h.finish(errors.New("two calls in flight"))
	}
	h.calls.Add(1)
}

func (h *asyncHandshake) called() {
	h.callbacks.Add(1)
	if !h.inFlight.CompareAndSwap(true, false) {
		h.finish(errors.New("callback ran twice for one call"))
	}
}

func (h *asyncHandshake) start() {
	h.client.SetNotifyCallback(h.onClient, nil)
	h.server.SetNotifyCallback(h.onServer, nil)
	h.cout = []Buffer{{Type: BufferToken}}
	h.begin()
	h.queued(InitializeSecurityContextAsync(h.client, h.ccred, nil, "host/x", ISCReqAllocateMemory|ISCReqMutualAuth, NativeDataRep, nil, h.cout))
}

func (h *asyncHandshake) onClient(ac *AsyncContext, _ any) {
	h.called()
	st, err := ac.CallStatus()
	if err != nil {
		h.finish(err)
		return
	}
	h.cctx = ac.Context()
	if st == OK && len(h.cout[0].Data) == 0 {
		h.finish(nil)
		return
	}
	if st == OK && h.sctx != nil && h.sctx.Established() {
		h.finish(nil)
		return
	}
	tok := h.cout[0].Data
	h.server.Reinit()
	h.sout = []Buffer{{Type: BufferToken}}
	h.begin()
	h.queued(AcceptSecurityContextAsync(h.server, h.scred, h.sctx, ASCReqAllocateMemory|ASCReqMutualAuth, NativeDataRep, []Buffer{{Type: BufferToken, Data: tok}}, h.sout))
}

func (h *asyncHandshake) onServer(ac *AsyncContext, _ any) {
	h.called()
	st, err := ac.CallStatus()
	if err != nil {
		h.finish(err)
		return
	}
	h.sctx = ac.Context()
	if st == OK && len(h.sout[0].Data) == 0 {
		h.finish(nil)
		return
	}
	tok := h.sout[0].Data
	h.client.Reinit()
	h.cout = []Buffer{{Type: BufferToken}}
	h.begin()
	h.queued(InitializeSecurityContextAsync(h.client, h.ccred, h.cctx, "host/x", ISCReqAllocateMemory|ISCReqMutualAuth, NativeDataRep, []Buffer{{Type: BufferToken, Data: tok}}, h.cout))
}

func TestAsyncManyConcurrentHandshakes(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 500
	}
	sched := NewScheduler(SchedulerOptions{Workers: 4, QueueLength: 2 * n})
	defer sched.Close()
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	hs := make([]*asyncHandshake, n)
	for i := range hs {
		hs[i] = &asyncHandshake{t: t, ccred: ccred, scred: scred, client: sched.NewAsyncContext(), server: sched.NewAsyncContext(), done: make(chan error, 1)}
	}
	for _, h := range hs {
		h.start()
	}
	deadline := time.After(60 * time.Second)
	for i, h := range hs {
		select {
		case err := <-h.done:
			if err != nil {
				t.Fatalf("handshake %d: %v", i, err)
			}
		case <-deadline:
			t.Fatalf("handshake %d did not finish", i)
		}
	}
	for i, h := range hs {
		// Mutual authentication: client leg 1, server 2, client 3, server 4 (with its
		// proof), client 5 consuming it.
		if c, cb := h.calls.Load(), h.callbacks.Load(); c != 5 || cb != 5 {
			t.Fatalf("handshake %d: %d calls, %d callbacks", i, c, cb)
		}
		if !h.cctx.Established() || !h.sctx.Established() || !h.cctx.Attributes().Has(ISCRetMutualAuth) {
			t.Fatalf("handshake %d not established", i)
		}
		if err := errors.Join(h.client.Free(), h.server.Free(), DeleteSecurityContext(h.cctx), DeleteSecurityContext(h.sctx)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAsyncReinitAcrossLegs(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	ac := NewAsyncContext()
	defer ac.Free()
	if st, err := ac.CallStatus(); st != OK || err != nil {
		t.Fatal("fresh async context:", st, err)
	}
	if ac.RequiresNotify() {
		t.Fatal("RequiresNotify without a callback")
	}
	var sctx *Context
	var cctx *Context
	out := []Buffer{{Type: BufferToken}}
	var status Status
	for leg := 0; leg < 5; leg++ {
		var err error
		var in []Buffer
		if leg > 0 {
			in = []Buffer{{Type: BufferToken, Data: out[0].Data}}
		}
		cctx, status, err = InitializeSecurityContext(ccred, cctx, "x", ISCReqAllocateMemory, NativeDataRep, in, out)
		if err != nil {
			t.Fatal(err)
		}
		if status == OK && len(out[0].Data) == 0 {
			break
		}
		if err := ac.Reinit(); err != nil {
			t.Fatal(err)
		}
		if err := AcceptSecurityContextAsync(ac, scred, sctx, ASCReqAllocateMemory, NativeDataRep, []Buffer{{Type: BufferToken, Data: out[0].Data}}, out); err != nil {
			t.Fatal(err)
		}
		if st, _ := ac.CallStatus(); st != AsyncCallPending && st != ContinueNeeded && st != OK {
			t.Fatalf("status while queued: %v", st)
		}
		st, err := ac.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sctx = ac.Context()
		if st == OK {
			break
		}
		if st != ContinueNeeded {
			t.Fatalf("leg %d: %v", leg, st)
		}
	}
	if sctx == nil || !sctx.Established() {
		t.Fatal("server context not established through reused async context")
	}
}

// blockedScheduler returns a one-worker scheduler whose worker is stuck in a step until
// release is called, and the handle of that blocked step.
func blockedScheduler(t *testing.T, queue int) (sched *Scheduler, release func()) {
	t.Helper()
	sched = NewScheduler(SchedulerOptions{Workers: 1, QueueLength: queue})
	block := make(chan struct{})
	cred := mustCreds(t, CredOutbound, &scriptedCreds{User: "blocker", Password: "pw", Block: block})
	ac := sched.NewAsyncContext()
	started := make(chan struct{})
	ac.SetNotifyCallback(func(*AsyncContext, any) {}, nil)
	if err := InitializeSecurityContextAsync(ac, cred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ac.Context().h.v.Load() != handleBusy || len(sched.jobs) != 0 {
			time.Sleep(time.Millisecond)
		}
		close(started)
	}()
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(block) }) }
	t.Cleanup(func() { release(); sched.Close() })
	return sched, release
}

func TestAsyncQueueFullRefusedAtOnce(t *testing.T) {
	sched, release := blockedScheduler(t, 1)
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "alice", Password: "pw"})
	a, b := sched.NewAsyncContext(), sched.NewAsyncContext()
	if err := InitializeSecurityContextAsync(a, ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}}); err != nil {
		t.Fatal("queue with room refused:", err)
	}
	start := time.Now()
	err := InitializeSecurityContextAsync(b, ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}})
	wantStatus(t, err, ErrInsufficientMemory)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusal took %v", d)
	}
	if b.Context() != nil {
		t.Fatal("refused first leg left a context")
	}
	if st, err := b.CallStatus(); st != OK || err != nil {
		t.Fatal("refused call left state:", st, err)
	}
	release()
	if st, err := a.Wait(context.Background()); err != nil || st != ContinueNeeded {
		t.Fatal(st, err)
	}
	// After the queue drains, b can be used.
	if err := InitializeSecurityContextAsync(b, ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}}); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Wait(context.Background()); err != nil || st != ContinueNeeded {
		t.Fatal(st, err)
	}
}

func TestAsyncCancellation(t *testing.T) {
	sched, release := blockedScheduler(t, 4)
	var steps atomic.Int64
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "alice", Password: "pw", Steps: &steps})
	ac := sched.NewAsyncContext()
	ctx, cancel := context.WithCancel(context.Background())
	if err := ac.SetContext(ctx); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	ac.SetNotifyCallback(func(*AsyncContext, any) { calls.Add(1) }, nil)
	if !ac.RequiresNotify() {
		t.Fatal("RequiresNotify false with a callback")
	}
	if err := InitializeSecurityContextAsync(ac, ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := ac.CallStatus(); st != AsyncCallPending {
		t.Fatalf("queued call status %v", st)
	}
	// Wait with a short deadline: the call is still pending behind the blocked worker.
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	st, err := ac.Wait(short)
	cancelShort()
	if st != AsyncCallPending || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(st, err)
	}
	cancel()
	release()
	st, err = ac.Wait(context.Background())
	if !errors.Is(err, context.Canceled) || st != ErrInternalError {
		t.Fatalf("cancelled call: %v %v", st, err)
	}
	if steps.Load() != 0 {
		t.Fatal("a cancelled call ran its step")
	}
	if ac.Context() != nil {
		t.Fatal("cancelled first leg kept its context")
	}
	if calls.Load() != 1 {
		t.Fatalf("callback ran %d times", calls.Load())
	}
}

func TestAsyncHandleRules(t *testing.T) {
	sched, release := blockedScheduler(t, 8)
	ccred := mustCreds(t, CredOutbound, &scriptedCreds{User: "alice", Password: "pw"})
	ac := sched.NewAsyncContext()
	if err := InitializeSecurityContextAsync(ac, ccred, nil, "x", ISCReqAllocateMemory, NativeDataRep, nil, []Buffer{{Type: BufferToken}}); err != nil {
		t.Fatal(err)
	}
	ctx := ac.Context()
	// A second call on a busy async context, or on a security context with a call in
	// flight, is refused.
	err := InitializeSecurityContextAsync(ac, ccred, ctx, "x", 0, NativeDataRep, nil, nil)
	if !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("second call on busy async context: %v", err)
	}
	other := sched.NewAsyncContext()
	if err := InitializeSecurityContextAsync(other, ccred, ctx, "x", 0, NativeDataRep, nil, nil); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("call on a busy security context: %v", err)
	}
	if _, _, err := InitializeSecurityContext(ccred, ctx, "x", 0, NativeDataRep, nil, nil); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("sync call on a busy security context: %v", err)
	}
	if err := ac.Free(); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("free while pending: %v", err)
	}
	if err := ac.Reinit(); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("reinit while pending: %v", err)
	}
	if err := ac.SetNotifyCallback(nil, nil); !errors.Is(err, ErrHandleInUse) {
		t.Fatalf("set callback while pending: %v", err)
	}
	release()
	if _, err := ac.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A completed call must be reinitialised before the next.
	if err := InitializeSecurityContextAsync(ac, ccred, ctx, "x", 0, NativeDataRep, nil, nil); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("call without reinit: %v", err)
	}
	// Delete asynchronously, twice: both succeed, and the context is gone.
	ac.Reinit()
	if err := DeleteSecurityContextAsync(ac, ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := ac.Wait(context.Background()); st != OK || err != nil {
		t.Fatal(st, err)
	}
	var sz Sizes
	wantStatus(t, QueryContextAttributes(ctx, AttrSizes, &sz), ErrInvalidHandle)
	ac.Reinit()
	if err := DeleteSecurityContextAsync(ac, ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := ac.Wait(context.Background()); st != OK || err != nil {
		t.Fatal("second delete:", st, err)
	}
	// Use after free.
	if err := ac.Free(); err != nil {
		t.Fatal(err)
	}
	if err := ac.Free(); err != nil {
		t.Fatal("free not idempotent:", err)
	}
	wantStatus(t, ac.Reinit(), ErrInvalidHandle)
	if st, err := ac.CallStatus(); st != ErrInvalidHandle || !errors.Is(err, ErrInvalidHandle) {
		t.Fatal(st, err)
	}
	wantStatus(t, InitializeSecurityContextAsync(ac, ccred, nil, "x", 0, NativeDataRep, nil, nil), ErrInvalidHandle)
}

func TestAsyncCredentials(t *testing.T) {
	ac := NewAsyncContext()
	defer ac.Free()
	if err := AcquireCredentialsHandleAsync(ac, "", scriptedName, CredOutbound, nil, &scriptedCreds{User: "u"}, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := ac.Wait(context.Background()); st != OK || err != nil {
		t.Fatal(st, err)
	}
	cred := ac.Credentials()
	if cred == nil || cred.Package() != scriptedName {
		t.Fatal("no credentials")
	}
	ac.Reinit()
	if err := AcquireCredentialsHandleAsync(ac, "", "missing", CredOutbound, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := ac.Wait(context.Background()); st != ErrSecPkgNotFound || !errors.Is(err, ErrSecPkgNotFound) {
		t.Fatal(st, err)
	}
	ac.Reinit()
	if err := FreeCredentialsHandleAsync(ac, cred); err != nil {
		t.Fatal(err)
	}
	if st, err := ac.Wait(context.Background()); st != OK || err != nil {
		t.Fatal(st, err)
	}
	_, _, err := InitializeSecurityContext(cred, nil, "x", 0, NativeDataRep, nil, nil)
	wantStatus(t, err, ErrInvalidHandle)
}

func TestSchedulerClosed(t *testing.T) {
	sched := NewScheduler(SchedulerOptions{Workers: 1, QueueLength: 1})
	sched.Close()
	sched.Close()
	ac := sched.NewAsyncContext()
	wantStatus(t, AcquireCredentialsHandleAsync(ac, "", scriptedName, CredOutbound, nil, &scriptedCreds{}, nil), ErrShutdownInProgress)
}
