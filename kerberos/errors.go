package kerberos

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/wiretext"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// ErrReplay is the cause of the refusal of an authenticator the server has already seen.
var ErrReplay = errors.New("kerberos: replayed authenticator")

// statusForCode maps a Kerberos error code (RFC 4120 7.5.9) to the SSPI status Windows
// reports for it.
func statusForCode(code int32) sspi.Status {
	switch code {
	case errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, errorcode.KDC_ERR_PREAUTH_FAILED,
		errorcode.KRB_AP_ERR_BAD_INTEGRITY, errorcode.KDC_ERR_CLIENT_REVOKED,
		errorcode.KDC_ERR_KEY_EXPIRED, errorcode.KRB_AP_ERR_MODIFIED,
		errorcode.KRB_AP_ERR_REPEAT, errorcode.KDC_ERR_POLICY:
		return sspi.ErrLogonDenied
	case errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return sspi.ErrTargetUnknown
	case errorcode.KRB_AP_ERR_SKEW:
		return sspi.ErrTimeSkew
	case errorcode.KDC_ERR_ETYPE_NOSUPP:
		return sspi.ErrKDCUnknownEtype
	case errorcode.KRB_AP_ERR_TKT_EXPIRED:
		return sspi.ErrContextExpired
	case errorcode.KRB_AP_ERR_NOKEY, errorcode.KRB_AP_ERR_BADKEYVER, errorcode.KRB_AP_ERR_NOT_US:
		return sspi.ErrWrongPrincipal
	}
	return sspi.ErrLogonDenied
}

// codeNames are the error names gokrb5 puts in its error strings, for errors that lost
// their KRBError value on the way (gokrb5 wraps errors as strings).
var codeNames = []struct {
	name string
	code int32
}{
	{"KDC_ERR_C_PRINCIPAL_UNKNOWN", errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
	{"KDC_ERR_S_PRINCIPAL_UNKNOWN", errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN},
	{"KDC_ERR_PREAUTH_FAILED", errorcode.KDC_ERR_PREAUTH_FAILED},
	{"KRB_AP_ERR_BAD_INTEGRITY", errorcode.KRB_AP_ERR_BAD_INTEGRITY},
	{"KRB_AP_ERR_SKEW", errorcode.KRB_AP_ERR_SKEW},
	{"KDC_ERR_ETYPE_NOSUPP", errorcode.KDC_ERR_ETYPE_NOSUPP},
	{"KDC_ERR_CLIENT_REVOKED", errorcode.KDC_ERR_CLIENT_REVOKED},
	{"KDC_ERR_KEY_EXPIRED", errorcode.KDC_ERR_KEY_EXPIRED},
	{"KRB_AP_ERR_TKT_EXPIRED", errorcode.KRB_AP_ERR_TKT_EXPIRED},
	{"KRB_AP_ERR_REPEAT", errorcode.KRB_AP_ERR_REPEAT},
	{"KRB_AP_ERR_NOT_US", errorcode.KRB_AP_ERR_NOT_US},
	{"KRB_AP_ERR_BADMATCH", errorcode.KRB_AP_ERR_BADMATCH},
	{"KRB_AP_ERR_MODIFIED", errorcode.KRB_AP_ERR_MODIFIED},
	{"KRB_AP_ERR_NOKEY", errorcode.KRB_AP_ERR_NOKEY},
	{"KRB_AP_ERR_BADKEYVER", errorcode.KRB_AP_ERR_BADKEYVER},
}

// kdcError maps an error from a gokrb5 KDC exchange to an SSPI status with the cause kept.
func kdcError(what string, err error) error {
	var ke messages.KRBError
	if errors.As(err, &ke) {
		return &sspi.Error{Status: statusForCode(ke.ErrorCode), Err: bounded("kerberos: "+what+": ", err)}
	}
	s := err.Error()
	for _, c := range codeNames {
		if strings.Contains(s, c.name) {
			return &sspi.Error{Status: statusForCode(c.code), Err: bounded("kerberos: "+what+": ", err)}
		}
	}
	switch {
	case strings.Contains(s, "Networking_Error"), strings.Contains(s, "could not get KDC"),
		strings.Contains(s, "Configuration_Error"), strings.Contains(s, "no KDCs"):
		return &sspi.Error{Status: sspi.ErrNoAuthenticatingAuthority, Err: bounded("kerberos: "+what+": ", err)}
	case strings.Contains(s, "Decrypting_Error"), strings.Contains(s, "integrity"):
		// The AS-REP did not decrypt with the key made from the password.
		return &sspi.Error{Status: sspi.ErrLogonDenied, Err: bounded("kerberos: "+what+": ", err)}
	}
	return &sspi.Error{Status: sspi.ErrLogonDenied, Err: bounded("kerberos: "+what+": ", err)}
}

// errEmptyTicket: gokrb5 handed out a ticket without ciphertext.
var errEmptyTicket = errors.New("the KDC's ticket has no encrypted part")

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
	for _, c := range codeNames {
		if c.code == ke.Code {
			name = " " + c.name
		}
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

// undecodable reports a message the ASN.1 library could not decode. Its error is left
// out: it prints the library's field parameters, pointers included, and is no help.
func undecodable(what string) error {
	return sspi.Errorf(sspi.ErrInvalidToken, "kerberos: malformed %s: not the DER encoding RFC 4120 defines", what)
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
