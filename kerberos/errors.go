package kerberos

import (
	"errors"
	"fmt"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/wiretext"
)

// ErrReplay is the cause of the refusal of an authenticator the server has already seen.
var ErrReplay = errors.New("kerberos: replayed authenticator")

// Kerberos error codes (RFC 4120 7.5.9) an acceptor's KRB-ERROR may carry.
const (
	errCPrincipalUnknown = wire.KDCErrCPrincipalUnknown
	errSPrincipalUnknown = wire.KDCErrSPrincipalUnknown
	errPolicy            = 12
	errBadOption         = 13
	errETypeNoSupp       = 14
	errClientRevoked     = 18
	errKeyExpired        = 23
	errPreauthFailed     = wire.KDCErrPreauthFailed
	errBadIntegrity      = 31
	errTktExpired        = 32
	errTktNYV            = 33
	errRepeat            = 34
	errNotUs             = 35
	errBadMatch          = 36
	errSkew              = wire.KRBAPErrSkew
	errModified          = 41
	errBadKeyVer         = 44
	errNoKey             = 45
	errInappCksum        = 50
	errGeneric           = wire.KRBErrGeneric
)

// statusForCode maps a Kerberos error code in a server's KRB-ERROR to the SSPI status
// Windows reports for it.
func statusForCode(code int32) sspi.Status {
	switch code {
	case errCPrincipalUnknown, errPreauthFailed, errBadIntegrity, errClientRevoked,
		errKeyExpired, errModified, errRepeat, errPolicy:
		return sspi.ErrLogonDenied
	case errSPrincipalUnknown:
		return sspi.ErrTargetUnknown
	case errSkew, errTktNYV:
		return sspi.ErrTimeSkew
	case errETypeNoSupp:
		return sspi.ErrKDCUnknownEtype
	case errTktExpired:
		return sspi.ErrContextExpired
	case errNoKey, errBadKeyVer, errNotUs:
		return sspi.ErrWrongPrincipal
	}
	return sspi.ErrLogonDenied
}

// codeNames are the RFC 4120 names of the codes, for error text.
var codeNames = map[int32]string{
	errCPrincipalUnknown: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	errSPrincipalUnknown: "KDC_ERR_S_PRINCIPAL_UNKNOWN",
	errPolicy:            "KDC_ERR_POLICY",
	errETypeNoSupp:       "KDC_ERR_ETYPE_NOSUPP",
	errClientRevoked:     "KDC_ERR_CLIENT_REVOKED",
	errKeyExpired:        "KDC_ERR_KEY_EXPIRED",
	errPreauthFailed:     "KDC_ERR_PREAUTH_FAILED",
	errBadIntegrity:      "KRB_AP_ERR_BAD_INTEGRITY",
	errBadOption:         "KDC_ERR_BADOPTION",
	errTktExpired:        "KRB_AP_ERR_TKT_EXPIRED",
	errTktNYV:            "KRB_AP_ERR_TKT_NYV",
	errRepeat:            "KRB_AP_ERR_REPEAT",
	errNotUs:             "KRB_AP_ERR_NOT_US",
	errBadMatch:          "KRB_AP_ERR_BADMATCH",
	errSkew:              "KRB_AP_ERR_SKEW",
	errModified:          "KRB_AP_ERR_MODIFIED",
	errBadKeyVer:         "KRB_AP_ERR_BADKEYVER",
	errNoKey:             "KRB_AP_ERR_NOKEY",
	errInappCksum:        "KRB_AP_ERR_INAPP_CKSUM",
	errGeneric:           "KRB_ERR_GENERIC",
}

// kdcError puts what failed in front of an error of the KDC exchanges (krbclient), keeping
// its status (which krbclient chose from the KRB-ERROR's code, *krbclient.KDCError still
// reachable through errors.As) and its cause, bounded.
func kdcError(what string, err error) error {
	return &sspi.Error{Status: statusOr(err, sspi.ErrLogonDenied), Err: bounded("kerberos: "+what+": ", causeOf(err))}
}

// statusOr is err's failure status, or def when it carries none.
func statusOr(err error, def sspi.Status) sspi.Status {
	var se *sspi.Error
	if errors.As(err, &se) {
		return se.Status
	}
	return def
}

// causeOf is the cause inside an *sspi.Error, so that a status is not printed twice.
func causeOf(err error) error {
	var se *sspi.Error
	if errors.As(err, &se) && se.Err != nil {
		return se.Err
	}
	return err
}

// krbErrorToken maps a KRB-ERROR received in place of an AP-REP.
func krbErrorToken(b []byte) error {
	var ke wire.KRBError
	if err := ke.Unmarshal(b); err != nil {
		return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: malformed KRB-ERROR from the server: %v", err)
	}
	return &sspi.Error{Status: statusForCode(ke.Code), Err: bounded("kerberos: the server refused the AP-REQ: ", krbErrorText(&ke))}
}

// krbErrorText describes a KRB-ERROR: its code, the code's name, and the e-text (bounded
// by the caller).
func krbErrorText(ke *wire.KRBError) error {
	name := ""
	if n, ok := codeNames[ke.Code]; ok {
		name = " " + n
	}
	if ke.HasEText && ke.EText != "" {
		return fmt.Errorf("KRB-ERROR %d%s: %s", ke.Code, name, ke.EText)
	}
	return fmt.Errorf("KRB-ERROR %d%s", ke.Code, name)
}

// malformed reports a token our own parsers refused; their errors are short and carry
// nothing from the wire but numbers.
func malformed(what string, err error) error {
	return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: malformed %s: %v", what, err)
}

// boundedError keeps an error reachable for errors.Is and errors.As while its text is
// bounded: a KDC's or server's e-text is copied from the wire.
type boundedError struct {
	msg string
	err error
}

func (e *boundedError) Error() string { return e.msg }
func (e *boundedError) Unwrap() error { return e.err }

func bounded(prefix string, err error) error {
	return &boundedError{msg: prefix + wiretext.Bound(err.Error(), wiretext.MaxCause), err: err}
}
