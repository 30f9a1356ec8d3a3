package sspi

import (
	"errors"
	"sync/atomic"
)

// ErrHandleInUse is the cause given when a handle is used by a second call while a first
// is still running. SSPI handles belong to one thread at a time; here that rule is
// checked instead of becoming a data race. The error carries ErrInvalidHandle.
var ErrHandleInUse = errors.New("sspi: handle is in use by another call; a context serves one call at a time")

// Pre-built errors, so refusing a call costs no allocation.
var (
	errBusy          = &Error{Status: ErrInvalidHandle, Err: ErrHandleInUse}
	errNilContext    = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: nil security context")}
	errNilCred       = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: nil credentials handle")}
	errContextFreed  = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: security context has been deleted")}
	errCredFreed     = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: credentials handle has been freed")}
	errAsyncFreed    = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: async context has been freed")}
	errContextFailed = &Error{Status: ErrInvalidHandle, Err: errors.New("sspi: security context failed earlier; delete it and start again")}
)

// Handle states. A handle moves idle → busy → idle for each call, and to freed once.
const (
	handleIdle uint32 = iota
	handleBusy
	handleFreed
)

// handleState is the ownership word of a Context or AsyncContext.
type handleState struct{ v atomic.Uint32 }

// enter claims the handle for one call.
func (h *handleState) enter(freed error) error {
	if h.v.CompareAndSwap(handleIdle, handleBusy) {
		return nil
	}
	if h.v.Load() == handleFreed {
		return freed
	}
	return errBusy
}

// leave ends the call begun by enter.
func (h *handleState) leave() { h.v.Store(handleIdle) }

// free moves the handle to freed. It reports false (with errBusy) while a call runs, and
// true with a nil error if the handle was already freed, so freeing is idempotent.
func (h *handleState) free() (first bool, err error) {
	for {
		switch h.v.Load() {
		case handleFreed:
			return false, nil
		case handleBusy:
			return false, errBusy
		}
		if h.v.CompareAndSwap(handleIdle, handleFreed) {
			return true, nil
		}
	}
}
