package sspi

import (
	"errors"
	"fmt"
	"strconv"
)

// Status is a SECURITY_STATUS: the 32-bit result code every SSPI function returns.
//
// Values with the high bit set (SEC_E_*) are failures; they are returned as errors
// (Status implements error, and *Error carries a Status together with its cause).
// The others (SEC_E_OK and the SEC_I_* success-with-info codes such as ContinueNeeded)
// are returned as plain values, never as errors.
type Status uint32

// String returns the SDK name of s, such as "SEC_E_LOGON_DENIED", or its hexadecimal
// value when s is not a known code.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "SECURITY_STATUS(0x" + strconv.FormatUint(uint64(s), 16) + ")"
}

// Error returns the SDK name, so that a bare Status can be returned and compared as an error.
func (s Status) Error() string { return s.String() }

// Failed reports whether s is a failure (SEC_E_*) code.
func (s Status) Failed() bool { return int32(s) < 0 }

// Error is a failed SSPI call: the status a Windows caller would see and the cause behind it.
//
// errors.Is(err, sspi.ErrLogonDenied) is true for an *Error whose Status is ErrLogonDenied,
// however deeply it is wrapped, and errors.Is/As also reach the cause.
type Error struct {
	Status Status // the SEC_E_* code
	Err    error  // what happened, in words a user can act on; may be nil
}

// Error returns "STATUS_NAME: cause".
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Status.String()
	}
	return e.Status.String() + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Status, so errors.Is(err, sspi.ErrLogonDenied) works.
func (e *Error) Is(target error) bool {
	s, ok := target.(Status)
	return ok && s == e.Status
}

// Errorf returns an *Error with the given status and a cause formatted as with fmt.Errorf
// (so %w wraps). Packages use it for every failure they return:
//
//	return sspi.Errorf(sspi.ErrLogonDenied, "ntlm: NTLMv2 response does not match for %s\\%s", domain, user)
func Errorf(status Status, format string, args ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// WithStatus returns err as an *Error carrying status, unless err already carries a
// failure status, which is kept. It returns nil for a nil err.
func WithStatus(status Status, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := statusOf(err); ok {
		return err
	}
	return &Error{Status: status, Err: err}
}

// StatusOf returns the SECURITY_STATUS an error stands for: OK for nil, the status of an
// *Error or Status in err's chain, and ErrInternalError for any other error.
func StatusOf(err error) Status {
	if err == nil {
		return OK
	}
	if s, ok := statusOf(err); ok {
		return s
	}
	return ErrInternalError
}

func statusOf(err error) (Status, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Status, true
	}
	var s Status
	if errors.As(err, &s) {
		return s, true
	}
	return 0, false
}
