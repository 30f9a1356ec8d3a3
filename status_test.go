package sspi

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
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

// TestConstantsMatchSpec checks every row of the spec's tables against the Go constants.
// The spec sits beside the checkout (../shared); a clone without it skips.
func TestConstantsMatchSpec(t *testing.T) {
	raw, err := os.ReadFile("../shared/spec/sspi-constants.md")
	if err != nil {
		t.Skip("shared/spec not beside the checkout: ", err)
	}
	row := regexp.MustCompile(`(?m)^\| (SEC_[EI]_\w+) \| (0x[0-9A-Fa-f]+) \|`)
	byName := map[string]Status{}
	for s, n := range statusNames {
		byName[n] = s
	}
	n := 0
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		v, _ := strconv.ParseUint(m[2], 0, 32)
		got, ok := byName[m[1]]
		if m[1] == "SEC_E_OK" {
			got, ok = OK, true
		}
		if !ok {
			t.Errorf("%s has no constant", m[1])
			continue
		}
		if uint64(got) != v {
			t.Errorf("%s = %#x, spec says %#x", m[1], uint32(got), v)
		}
		n++
	}
	if n < 90 {
		t.Fatalf("only %d status rows checked", n)
	}
	// Spot checks on the flag tables, whose ISC and ASC numberings differ.
	for name, pair := range map[string][2]uint64{
		"ISC_REQ_INTEGRITY":            {uint64(ISCReqIntegrity), 0x10000},
		"ASC_REQ_INTEGRITY":            {uint64(ASCReqIntegrity), 0x20000},
		"ISC_REQ_ALLOCATE_MEMORY":      {uint64(ISCReqAllocateMemory), 0x100},
		"ASC_REQ_ALLOCATE_MEMORY":      {uint64(ASCReqAllocateMemory), 0x100},
		"ISC_RET_REAUTHENTICATION":     {uint64(ISCRetReauthentication), 0x08000000},
		"ISC_REQ_MESSAGES":             {uint64(ISCReqMessages), 0x100000000},
		"SECBUFFER_CHANNEL_BINDINGS":   {uint64(BufferChannelBindings), 14},
		"SECBUFFER_READONLY":           {uint64(BufferReadOnly), 0x80000000},
		"SECPKG_ATTR_NEGOTIATION_INFO": {uint64(AttrNegotiationInfo), 12},
		"SECPKG_FLAG_NEGOTIABLE":       {uint64(CapNegotiable), 0x800},
		"SECPKG_CRED_BOTH":             {uint64(CredBoth), 3},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %#x, want %#x", name, pair[0], pair[1])
		}
		if !strings.Contains(string(raw), name) {
			t.Errorf("%s not in the spec", name)
		}
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
