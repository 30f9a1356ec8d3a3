package krbclient

import (
	"strconv"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// KRB-ERROR codes the client tells apart (RFC 4120 7.5.9), beyond those in package wire.
const (
	errNameExp           = 1
	errServiceExp        = 2
	errBadPVNO           = 3
	errCOldMastKVNO      = 4
	errPrincipalNotUniq  = 8
	errNullKey           = 9
	errCannotPostdate    = 10
	errNeverValid        = 11
	errPolicy            = 12
	errBadOption         = 13
	errETypeNoSupp       = 14
	errSumTypeNoSupp     = 15
	errPADataTypeNoSupp  = 16
	errClientRevoked     = 18
	errServiceRevoked    = 19
	errTGTRevoked        = 20
	errClientNotYet      = 21
	errServiceNotYet     = 22
	errKeyExpired        = 23
	errServiceUnavail    = 29
	errBadIntegrity      = 31
	errTktExpired        = 32
	errModified          = 41
	errUnknownCritFASTOp = 93
)

var codeNames = map[int32]string{
	errNameExp: "KDC_ERR_NAME_EXP", errServiceExp: "KDC_ERR_SERVICE_EXP", errBadPVNO: "KDC_ERR_BAD_PVNO",
	errCOldMastKVNO: "KDC_ERR_C_OLD_MAST_KVNO", wire.KDCErrCPrincipalUnknown: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	wire.KDCErrSPrincipalUnknown: "KDC_ERR_S_PRINCIPAL_UNKNOWN", errPrincipalNotUniq: "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
	errNullKey: "KDC_ERR_NULL_KEY", errCannotPostdate: "KDC_ERR_CANNOT_POSTDATE", errNeverValid: "KDC_ERR_NEVER_VALID",
	errPolicy: "KDC_ERR_POLICY", errBadOption: "KDC_ERR_BADOPTION", errETypeNoSupp: "KDC_ERR_ETYPE_NOSUPP",
	errSumTypeNoSupp: "KDC_ERR_SUMTYPE_NOSUPP", errPADataTypeNoSupp: "KDC_ERR_PADATA_TYPE_NOSUPP",
	errClientRevoked: "KDC_ERR_CLIENT_REVOKED", errServiceRevoked: "KDC_ERR_SERVICE_REVOKED",
	errTGTRevoked: "KDC_ERR_TGT_REVOKED", errClientNotYet: "KDC_ERR_CLIENT_NOTYET",
	errServiceNotYet: "KDC_ERR_SERVICE_NOTYET", errKeyExpired: "KDC_ERR_KEY_EXPIRED",
	wire.KDCErrPreauthFailed: "KDC_ERR_PREAUTH_FAILED", wire.KDCErrPreauthRequired: "KDC_ERR_PREAUTH_REQUIRED",
	errServiceUnavail: "KDC_ERR_SVC_UNAVAILABLE", errBadIntegrity: "KRB_AP_ERR_BAD_INTEGRITY",
	errTktExpired: "KRB_AP_ERR_TKT_EXPIRED", wire.KRBAPErrSkew: "KRB_AP_ERR_SKEW", errModified: "KRB_AP_ERR_MODIFIED",
	wire.KRBErrResponseTooBig: "KRB_ERR_RESPONSE_TOO_BIG", wire.KRBErrGeneric: "KRB_ERR_GENERIC",
	wire.KDCErrWrongRealm: "KDC_ERR_WRONG_REALM", errUnknownCritFASTOp: "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
}

// maxText bounds what of a KDC's e-text (or any string from the wire) goes into an error.
const maxText = 96

func bound(s string) string {
	if len(s) > maxText {
		s = s[:maxText] + "..."
	}
	out := []byte(s)
	for i, c := range out {
		if c < 0x20 || c == 0x7f {
			out[i] = '?'
		}
	}
	return string(out)
}

// KDCError is a KRB-ERROR a KDC answered with. errors.As finds it inside the *sspi.Error the
// client returns, whose status says what it means for the caller (KDCError.Status).
type KDCError struct {
	// Code is the error-code (wire.KDCErrPreauthFailed, ...).
	Code int32
	// Realm is the realm of the KDC that answered.
	Realm string
	// Text is the KDC's e-text, bounded and with control characters replaced.
	Text string
	// ServerTime is the KDC's clock when it answered (stime).
	ServerTime time.Time
	// NTStatus is the NTSTATUS an Active Directory KDC gave as the reason
	// (StatusAccountDisabled, ...), or 0.
	NTStatus uint32
}

// Name is the RFC 4120 name of the code ("KDC_ERR_PREAUTH_FAILED").
func (e *KDCError) Name() string {
	if n, ok := codeNames[e.Code]; ok {
		return n
	}
	return "KRB5 error " + strconv.Itoa(int(e.Code))
}

func (e *KDCError) Error() string {
	s := "the KDC of " + bound(e.Realm) + " answered " + e.Name()
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	if t, ok := ntStatusText[e.NTStatus]; ok {
		s += " with " + t.name
	} else if e.NTStatus != 0 {
		s += " with NTSTATUS 0x" + strconv.FormatUint(uint64(e.NTStatus), 16)
	}
	return s
}

// Status is the SSPI status Windows reports for the code.
func (e *KDCError) Status() sspi.Status {
	switch e.Code {
	case wire.KDCErrCPrincipalUnknown, wire.KDCErrPreauthFailed, errBadIntegrity, errPolicy,
		errClientRevoked, errClientNotYet, errNameExp, wire.KDCErrPreauthRequired, errNullKey:
		return sspi.ErrLogonDenied
	case errKeyExpired:
		return sspi.ErrLogonDenied
	case wire.KDCErrSPrincipalUnknown, errServiceExp, errServiceRevoked, errServiceNotYet, errPrincipalNotUniq:
		return sspi.ErrTargetUnknown
	case wire.KRBAPErrSkew:
		return sspi.ErrTimeSkew
	case errETypeNoSupp:
		return sspi.ErrKDCUnknownEtype
	case errSumTypeNoSupp:
		return sspi.ErrAlgorithmMismatch
	case errPADataTypeNoSupp:
		return sspi.ErrUnsupportedPreauth
	case wire.KDCErrWrongRealm:
		return sspi.ErrNoAuthenticatingAuthority
	case errTktExpired, errTGTRevoked:
		return sspi.ErrContextExpired
	case errBadOption, errCannotPostdate, errNeverValid:
		return sspi.ErrKDCInvalidRequest
	}
	return sspi.ErrInternalError
}

// hint says what the caller can do about a code.
func (e *KDCError) hint() string {
	if t, ok := ntStatusText[e.NTStatus]; ok {
		return t.meaning
	}
	switch e.Code {
	case wire.KDCErrCPrincipalUnknown:
		return "check the user name and realm"
	case wire.KDCErrPreauthFailed, errBadIntegrity:
		return "the password or key is wrong"
	case errKeyExpired:
		return "the password has expired; change it"
	case errClientRevoked:
		return "the account is disabled or locked"
	case wire.KRBAPErrSkew:
		return "the clocks of this machine and the KDC differ by more than the allowed skew; synchronise them"
	case errETypeNoSupp:
		return "the KDC and this client share no encryption type; check default_tkt_enctypes, permitted_enctypes and allow_rc4"
	case wire.KDCErrSPrincipalUnknown:
		return "the KDC does not know the service name; check the SPN"
	}
	return ""
}

func kdcError(k *wire.KRBError, realm string) *KDCError {
	e := &KDCError{Code: k.Code, Realm: realm, ServerTime: k.STime, NTStatus: extendedStatus(k.EData)}
	if k.HasEText {
		e.Text = bound(k.EText)
	}
	return e
}

// failure wraps a KDC error with its status and the action that failed.
func failure(what string, e *KDCError) error {
	if h := e.hint(); h != "" {
		return sspi.Errorf(e.Status(), "krbclient: %s: %w; %s", what, e, h)
	}
	return sspi.Errorf(e.Status(), "krbclient: %s: %w", what, e)
}
