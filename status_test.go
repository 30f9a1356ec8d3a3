package sspi

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{OK, "SEC_E_OK"},
		{ContinueNeeded, "SEC_I_CONTINUE_NEEDED"},
		{ErrLogonDenied, "SEC_E_LOGON_DENIED"},
		{ErrInternalError, "SEC_E_INTERNAL_ERROR"},
		{ErrPolicyNLTMOnly, "SEC_E_POLICY_NLTM_ONLY"},
		{AsyncCallPending, "SEC_I_ASYNC_CALL_PENDING"},
		{Status(0x80091234), "SECURITY_STATUS(0x80091234)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%#x.String() = %q, want %q", uint32(tt.s), got, tt.want)
		}
	}
	if ErrLogonDenied != 0x8009030C || ContinueNeeded != 0x00090312 || ErrBadBindings != 0x80090346 {
		t.Fatal("status values differ from the SDK")
	}
	if ErrNoSPM != ErrInternalError || ErrNotSupported != ErrUnsupportedFunction {
		t.Fatal("aliases wrong")
	}
	if !ErrLogonDenied.Failed() || ContinueNeeded.Failed() || OK.Failed() {
		t.Fatal("Failed wrong")
	}
}

func TestErrorWrapping(t *testing.T) {
	err := Errorf(ErrLogonDenied, "ntlm: NTLMv2 response does not match for %s", `EXAMPLE\alice`)
	if got, want := err.Error(), `SEC_E_LOGON_DENIED: ntlm: NTLMv2 response does not match for EXAMPLE\alice`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("sockauth: %w", err)
	if !errors.Is(wrapped, ErrLogonDenied) {
		t.Fatal("errors.Is through wrapping failed")
	}
	if errors.Is(wrapped, ErrMessageAltered) {
		t.Fatal("errors.Is matched the wrong status")
	}
	if StatusOf(wrapped) != ErrLogonDenied || StatusOf(nil) != OK || StatusOf(errors.New("x")) != ErrInternalError {
		t.Fatal("StatusOf wrong")
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Status != ErrLogonDenied {
		t.Fatal("errors.As failed")
	}
	cause := errors.New("disk on fire")
	if !errors.Is(Errorf(ErrInternalError, "x: %w", cause), cause) {
		t.Fatal("cause not reachable")
	}
	// A bare Status is an error too, and WithStatus keeps an existing status.
	if !errors.Is(fmt.Errorf("w: %w", ErrTimeSkew), ErrTimeSkew) {
		t.Fatal("bare status not matched")
	}
	if StatusOf(WithStatus(ErrInternalError, err)) != ErrLogonDenied {
		t.Fatal("WithStatus replaced an existing status")
	}
	if StatusOf(WithStatus(ErrNoCredentials, errors.New("plain"))) != ErrNoCredentials || WithStatus(ErrNoCredentials, nil) != nil {
		t.Fatal("WithStatus wrong")
	}
}

func TestContextAttrFormat(t *testing.T) {
	a := ContextAttr(ASCRetMutualAuth | ASCRetIntegrity | ASCRetConfidentiality)
	if got := a.Format(true); got != "MUTUAL_AUTH|CONFIDENTIALITY|INTEGRITY" {
		t.Errorf("server Format = %q", got)
	}
	// The same bits read as ISC_RET_ name 0x20000 IDENTIFY: the side matters.
	if got := a.Format(false); got != "MUTUAL_AUTH|CONFIDENTIALITY|IDENTIFY" {
		t.Errorf("client Format = %q", got)
	}
	if got := ContextAttr(1 << 40).Format(false); got != "0x10000000000" {
		t.Errorf("unknown bit = %q", got)
	}
	if ContextAttr(0).Format(true) != "0" {
		t.Error("zero")
	}
}
