package sspi

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SchedulerOptions bound the work the async layer does at once.
type SchedulerOptions struct {
	// Workers is how many calls run at the same time; zero means runtime.GOMAXPROCS(0).
	Workers int
	// QueueLength is how many calls may wait for a worker; a call beyond it is refused at
	// once with ErrInsufficientMemory. Zero means 1024 per worker.
	QueueLength int
}

// Scheduler runs async calls on a fixed set of workers behind a bounded queue, so a
// server with many connections bounds its CPU-heavy handshake work instead of starting a
// goroutine per call. The zero value is not usable; use NewScheduler or DefaultScheduler.
type Scheduler struct {
	mu     sync.RWMutex // held for reading while queueing, for writing while closing
	closed bool
	jobs   chan *AsyncContext
	// slots holds a token per call running, on a worker or inline (tryInline): together
	// they never run more than Workers calls at once.
	slots  chan struct{}
	wg     sync.WaitGroup // workers
	inline sync.WaitGroup // calls running inline, which Close waits for as for queued ones
}

// NewScheduler starts a scheduler's workers.
func NewScheduler(opts SchedulerOptions) *Scheduler {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.QueueLength <= 0 {
		opts.QueueLength = 1024 * opts.Workers
	}
	s := &Scheduler{jobs: make(chan *AsyncContext, opts.QueueLength), slots: make(chan struct{}, opts.Workers)}
	s.wg.Add(opts.Workers)
	for range opts.Workers {
		go s.work()
	}
	return s
}

var (
	defaultSchedulerOnce sync.Once
	defaultScheduler     *Scheduler
)

// DefaultScheduler returns the scheduler used by NewAsyncContext: GOMAXPROCS workers and
// a queue of 1024 calls per worker. It is never closed.
func DefaultScheduler() *Scheduler {
	defaultSchedulerOnce.Do(func() { defaultScheduler = NewScheduler(SchedulerOptions{}) })
	return defaultScheduler
}

// Close stops the scheduler taking calls (later ones are refused with
// ErrShutdownInProgress), lets the queued ones finish, and returns when they have.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.jobs)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.inline.Wait()
}

func (s *Scheduler) work() {
	defer s.wg.Done()
	for ac := range s.jobs {
		s.slots <- struct{}{}
		ac.execute()
		<-s.slots
	}
}

// tryInline claims a slot for a call the caller runs on its own goroutine, sparing it
// the hand-off to a worker and back: only while nothing waits in the queue (a call
// never overtakes queued ones) and fewer than Workers calls run. release gives it back.
func (s *Scheduler) tryInline() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || len(s.jobs) > 0 {
		return false
	}
	select {
	case s.slots <- struct{}{}:
		s.inline.Add(1) // under mu: Close, which sets closed under mu, waits for it
		return true
	default:
		return false
	}
}

func (s *Scheduler) release() {
	<-s.slots
	s.inline.Done()
}

var (
	errQueueFull = &Error{Status: ErrInsufficientMemory, Err: errors.New("sspi: async queue is full; retry later or give the Scheduler a longer queue")}
	errShutdown  = &Error{Status: ErrShutdownInProgress, Err: errors.New("sspi: async scheduler is closed")}
)

func (s *Scheduler) submit(ac *AsyncContext) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errShutdown
	}
	select {
	case s.jobs <- ac:
		return nil
	default:
		return errQueueFull
	}
}

// AsyncNotifyFunc is SspiAsyncNotifyCallback: it is called once when an async call
// completes, on a scheduler worker, with the data given to SetNotifyCallback. It may call
// CallStatus, Reinit and the next async call, or Free.
type AsyncNotifyFunc func(ac *AsyncContext, data any)

// AsyncContext is SspiAsyncContext: it tracks one asynchronous SSPI call at a time.
//
// The life of one: NewAsyncContext, SetNotifyCallback, an async call (which returns only
// whether it was queued), then CallStatus (AsyncCallPending while it runs, then the call's
// own result) from the callback or after Wait; Reinit to reuse it for the next leg of a
// handshake, or Free. A second call while one is in flight is refused with ErrHandleInUse,
// and so is a call on a security context that has a call in flight.
type AsyncContext struct {
	state  atomic.Uint32
	sched  *Scheduler
	done   chan struct{} // one slot: a completion signal for Wait
	cb     AsyncNotifyFunc
	cbData any
	gctx   context.Context

	// The queued call.
	op       asyncOp
	cred     *Credentials
	sctx     *Context
	newCtx   bool                    // sctx was made for this call (the first leg)
	public   atomic.Pointer[Context] // what Context reports; read while the call runs
	target   string
	req      ContextReq
	dataRep  DataRep
	in, out  []Buffer
	acquire  acquireArgs
	runCtx   context.Context
	callback AsyncNotifyFunc
	callData any

	// The result.
	status Status
	err    error
	expiry time.Time
}

type acquireArgs struct {
	principal, pkg string
	use            CredentialUse
	logonID        []byte
	authData       any
	getKey         GetKeyFunc
}

type asyncOp uint8

const (
	opNone asyncOp = iota
	opAcquire
	opInitialize
	opAccept
	opDelete
	opFree
)

// AsyncContext states.
const (
	asyncReady uint32 = iota
	asyncPending
	asyncDone
	asyncFreed
)

// NewAsyncContext is SspiCreateAsyncContext: an AsyncContext whose calls run on the
// DefaultScheduler.
func NewAsyncContext() *AsyncContext { return DefaultScheduler().NewAsyncContext() }

// NewAsyncContext returns an AsyncContext whose calls run on s.
func (s *Scheduler) NewAsyncContext() *AsyncContext {
	return &AsyncContext{sched: s, done: make(chan struct{}, 1)}
}

// SetNotifyCallback is SspiSetAsyncNotifyCallback: f is called once per later call, when
// it completes. It is refused while a call is in flight.
func (ac *AsyncContext) SetNotifyCallback(f AsyncNotifyFunc, data any) error {
	if err := ac.idle(); err != nil {
		return err
	}
	ac.cb, ac.cbData = f, data
	return nil
}

// SetContext attaches a context.Context to later calls: a call still queued when it is
// cancelled or past its deadline completes with an error that wraps ctx.Err() instead of
// running, and packages that wait (a KDC round trip) stop waiting.
func (ac *AsyncContext) SetContext(ctx context.Context) error {
	if err := ac.idle(); err != nil {
		return err
	}
	ac.gctx = ctx
	return nil
}

func (ac *AsyncContext) idle() error {
	if ac == nil {
		return &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: nil async context")}
	}
	switch ac.state.Load() {
	case asyncPending:
		return errBusy
	case asyncFreed:
		return errAsyncFreed
	}
	return nil
}

// RequiresNotify is SspiAsyncContextRequiresNotify: whether completion will be reported
// through a callback (one is set), so the caller must not free or reuse the context before
// the callback has run.
func (ac *AsyncContext) RequiresNotify() bool { return ac.cb != nil }

// CallStatus is SspiGetAsyncCallStatus: AsyncCallPending while the call runs, then the
// call's own result: its success status with a nil error, or its failure status with the
// error. Before any call, it returns OK.
func (ac *AsyncContext) CallStatus() (Status, error) {
	switch ac.state.Load() {
	case asyncPending:
		return AsyncCallPending, nil
	case asyncFreed:
		return ErrInvalidHandle, errAsyncFreed
	case asyncReady:
		return OK, nil
	}
	return ac.status, ac.err
}

// Wait blocks until the call in flight completes or ctx is done, and returns CallStatus.
// If ctx ends first it returns ctx's error with AsyncCallPending; the call goes on.
func (ac *AsyncContext) Wait(ctx context.Context) (Status, error) {
	for ac.state.Load() == asyncPending {
		select {
		case <-ac.done:
		case <-ctx.Done():
			return AsyncCallPending, ctx.Err()
		}
	}
	return ac.CallStatus()
}

// Reinit is SspiReinitAsyncContext: it makes a completed AsyncContext ready for the next
// call (the next leg of a handshake), keeping its callback and context.Context.
func (ac *AsyncContext) Reinit() error {
	for {
		switch st := ac.state.Load(); st {
		case asyncPending:
			return errBusy
		case asyncFreed:
			return errAsyncFreed
		case asyncReady:
			return nil
		default:
			if ac.state.CompareAndSwap(st, asyncReady) {
				select {
				case <-ac.done:
				default:
				}
				return nil
			}
		}
	}
}

// Free is SspiFreeAsyncContext. It is idempotent, and refused while a call is in flight
// (free it in the callback, or after Wait).
func (ac *AsyncContext) Free() error {
	for {
		switch st := ac.state.Load(); st {
		case asyncPending:
			return errBusy
		case asyncFreed:
			return nil
		default:
			if ac.state.CompareAndSwap(st, asyncFreed) {
				ac.public.Store(nil)
				ac.sctx, ac.cred, ac.in, ac.out, ac.err = nil, nil, nil, nil, nil
				ac.acquire = acquireArgs{}
				return nil
			}
		}
	}
}

// Context returns the security context of the last InitializeSecurityContextAsync or
// AcceptSecurityContextAsync call: on a first leg, the new context (nil once that call has
// failed, as SSPI returns no handle then).
func (ac *AsyncContext) Context() *Context { return ac.public.Load() }

// Credentials returns the handle made by a completed AcquireCredentialsHandleAsync.
func (ac *AsyncContext) Credentials() *Credentials { return ac.cred }

// Expiry returns the expiry reported by the last completed call.
func (ac *AsyncContext) Expiry() time.Time { return ac.expiry }

// begin claims the AsyncContext for a call.
func (ac *AsyncContext) begin(op asyncOp) error {
	if ac == nil {
		return &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: nil async context")}
	}
	if !ac.state.CompareAndSwap(asyncReady, asyncPending) {
		switch ac.state.Load() {
		case asyncPending:
			return errBusy
		case asyncFreed:
			return errAsyncFreed
		default:
			return Errorf(ErrInvalidHandle, "sspi: async context holds a completed call; call Reinit before the next one")
		}
	}
	ac.op = op
	ac.callback, ac.callData = ac.cb, ac.cbData
	ac.runCtx = ac.gctx
	if ac.runCtx == nil {
		ac.runCtx = context.Background()
	}
	ac.status, ac.err, ac.newCtx = AsyncCallPending, nil, false
	return nil
}

// queue hands the claimed call to the scheduler, undoing the claims if it cannot.
func (ac *AsyncContext) queue() error {
	err := ac.sched.submit(ac)
	if err == nil {
		return nil
	}
	switch ac.op {
	case opInitialize, opAccept, opDelete:
		if ac.newCtx {
			ac.sctx.h.leave()
			DeleteSecurityContext(ac.sctx)
			ac.sctx = nil
			ac.public.Store(nil)
		} else if ac.sctx != nil {
			ac.sctx.h.leave()
		}
	}
	ac.state.Store(asyncReady)
	return err
}

// execute runs the queued call on a worker and reports it.
func (ac *AsyncContext) execute() {
	var status Status
	var err error
	if cerr := ac.runCtx.Err(); cerr != nil && ac.op != opDelete && ac.op != opFree {
		err = &Error{Status: ErrInternalError, Err: fmt.Errorf("sspi: async call cancelled before it ran: %w", cerr)}
		status = ErrInternalError
		if ac.sctx != nil {
			ac.sctx.h.leave()
		}
	} else {
		status, err = ac.run()
	}
	if err != nil && ac.newCtx && ac.sctx != nil {
		ac.sctx.h.leave()
		DeleteSecurityContext(ac.sctx)
		ac.sctx = nil
		ac.public.Store(nil)
	}
	if err != nil && !status.Failed() {
		status = StatusOf(err)
	}
	ac.status, ac.err = status, err
	ac.in, ac.out = nil, nil
	cb, data := ac.callback, ac.callData
	ac.callback, ac.callData = nil, nil
	ac.state.Store(asyncDone)
	if cb != nil {
		cb(ac, data)
	}
	select {
	case ac.done <- struct{}{}:
	default:
	}
}

func (ac *AsyncContext) run() (Status, error) {
	switch ac.op {
	case opAcquire:
		a := ac.acquire
		ac.acquire = acquireArgs{}
		cred, exp, err := acquireCredentials(ac.runCtx, a.principal, a.pkg, a.use, a.logonID, a.authData, a.getKey)
		ac.cred, ac.expiry = cred, exp
		return StatusOf(err), err
	case opInitialize, opAccept:
		c := ac.sctx
		status, err := c.run(ac.runCtx, ac.cred, ac.op == opAccept, ac.target, ac.req, ac.dataRep, ac.in, ac.out)
		ac.expiry = c.expiry
		c.h.leave()
		return status, err
	case opDelete:
		if ac.sctx == nil {
			return OK, nil
		}
		ac.sctx.h.v.Store(handleFreed)
		err := ac.sctx.destroy()
		return StatusOf(err), err
	case opFree:
		err := FreeCredentialsHandle(ac.cred)
		return StatusOf(err), err
	}
	return ErrInternalError, Errorf(ErrInternalError, "sspi: unknown async operation %d", ac.op)
}

// AcquireCredentialsHandleAsync is SspiAcquireCredentialsHandleAsync: AcquireCredentialsHandle
// run on ac's scheduler. It returns nil if the call was queued, or the error that kept it
// from being queued (ErrInsufficientMemory for a full queue, ErrInvalidHandle for a busy
// or freed ac). The handle comes from ac.Credentials once CallStatus reports OK.
func AcquireCredentialsHandleAsync(ac *AsyncContext, principal, pkg string, use CredentialUse, logonID []byte, authData any, getKey GetKeyFunc) error {
	if err := ac.begin(opAcquire); err != nil {
		return err
	}
	ac.cred, ac.sctx = nil, nil
	ac.acquire = acquireArgs{principal: principal, pkg: pkg, use: use, logonID: logonID, authData: authData, getKey: getKey}
	return ac.queue()
}

// InitializeSecurityContextAsync is SspiInitializeSecurityContextAsync:
// InitializeSecurityContext run on ac's scheduler. On a first leg (ctx nil) the new context
// is ac.Context() at once. ctx is held for the call: another call on it is refused until
// this one completes. in and out belong to the call until then. It returns nil if the
// call was queued, or the error that kept it from being queued.
func InitializeSecurityContextAsync(ac *AsyncContext, cred *Credentials, ctx *Context, target string, req ContextReq, dataRep DataRep, in, out []Buffer) error {
	return queueStep(ac, opInitialize, cred, ctx, target, req, dataRep, in, out)
}

// AcceptSecurityContextAsync is SspiAcceptSecurityContextAsync: AcceptSecurityContext run
// on ac's scheduler, with the rules of InitializeSecurityContextAsync.
func AcceptSecurityContextAsync(ac *AsyncContext, cred *Credentials, ctx *Context, req ContextReq, dataRep DataRep, in, out []Buffer) error {
	return queueStep(ac, opAccept, cred, ctx, "", req, dataRep, in, out)
}

func queueStep(ac *AsyncContext, op asyncOp, cred *Credentials, ctx *Context, target string, req ContextReq, dataRep DataRep, in, out []Buffer) error {
	if err := ac.begin(op); err != nil {
		return err
	}
	if ctx == nil {
		c, err := newContext(cred, op == opAccept)
		if err != nil {
			ac.state.Store(asyncReady)
			return err
		}
		ctx, ac.newCtx = c, true
	} else if err := ctx.h.enter(errContextFreed); err != nil {
		ac.state.Store(asyncReady)
		return err
	}
	ac.cred, ac.sctx, ac.target, ac.req, ac.dataRep, ac.in, ac.out = cred, ctx, target, req, dataRep, in, out
	ac.public.Store(ctx)
	return ac.queue()
}

// DeleteSecurityContextAsync is SspiDeleteSecurityContextAsync. The context is held from
// now on; it is refused if another call on it is in flight.
func DeleteSecurityContextAsync(ac *AsyncContext, ctx *Context) error {
	if ctx == nil {
		return errNilContext
	}
	if err := ac.begin(opDelete); err != nil {
		return err
	}
	switch err := ctx.h.enter(errContextFreed); err {
	case nil:
	case errContextFreed:
		ctx = nil // deleting twice succeeds, as DeleteSecurityContext does
	default:
		ac.state.Store(asyncReady)
		return err
	}
	ac.sctx, ac.cred = ctx, nil
	return ac.queue()
}

// FreeCredentialsHandleAsync is SspiFreeCredentialsHandleAsync.
func FreeCredentialsHandleAsync(ac *AsyncContext, cred *Credentials) error {
	if err := ac.begin(opFree); err != nil {
		return err
	}
	ac.cred, ac.sctx = cred, nil
	return ac.queue()
}
