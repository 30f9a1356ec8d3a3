package credssp

import "github.com/gosspi/sspi"

// NTSTATUS codes a CredSSP errorCode carries (MS-ERREF 2.3.1).
const (
	statusLogonFailure        uint32 = 0xC000006D // STATUS_LOGON_FAILURE
	statusNoSuchUser          uint32 = 0xC0000064 // STATUS_NO_SUCH_USER
	statusWrongPassword       uint32 = 0xC000006A // STATUS_WRONG_PASSWORD
	statusAccountRestriction  uint32 = 0xC000006E // STATUS_ACCOUNT_RESTRICTION
	statusInvalidLogonHours   uint32 = 0xC000006F // STATUS_INVALID_LOGON_HOURS
	statusInvalidWorkstation  uint32 = 0xC0000070 // STATUS_INVALID_WORKSTATION
	statusPasswordExpired     uint32 = 0xC0000071 // STATUS_PASSWORD_EXPIRED
	statusAccountDisabled     uint32 = 0xC0000072 // STATUS_ACCOUNT_DISABLED
	statusAccountExpired      uint32 = 0xC0000193 // STATUS_ACCOUNT_EXPIRED
	statusPasswordMustChange  uint32 = 0xC0000224 // STATUS_PASSWORD_MUST_CHANGE
	statusAccountLockedOut    uint32 = 0xC0000234 // STATUS_ACCOUNT_LOCKED_OUT
	statusLogonTypeNotGranted uint32 = 0xC000015B // STATUS_LOGON_TYPE_NOT_GRANTED
	statusAccessDenied        uint32 = 0xC0000022 // STATUS_ACCESS_DENIED
	statusNoLogonServers      uint32 = 0xC000005E // STATUS_NO_LOGON_SERVERS
	statusTimeDifferenceAtDC  uint32 = 0xC0000133 // STATUS_TIME_DIFFERENCE_AT_DC
	statusNotSupported        uint32 = 0xC00000BB // STATUS_NOT_SUPPORTED
	statusNoMemory            uint32 = 0xC0000017 // STATUS_NO_MEMORY
	statusInternalError       uint32 = 0xC00000E5 // STATUS_INTERNAL_ERROR
	statusInvalidParameter    uint32 = 0xC000000D // STATUS_INVALID_PARAMETER
	statusUnsuccessful        uint32 = 0xC0000001 // STATUS_UNSUCCESSFUL
)

// fromNTStatus maps, for a client, the errorCode a server sent to our status. Many
// NTSTATUS values are one SSPI failure (every reason a logon was refused is
// SEC_E_LOGON_DENIED, as LsaLogonUser's callers see it). A code in SSPI's own facility
// (0x8009xxxx: some servers send the SECURITY_STATUS itself) is taken as it is; any other
// failure is SEC_E_LOGON_DENIED, because the server reports that the inner
// authentication failed.
func fromNTStatus(code uint32) sspi.Status {
	switch code {
	case statusLogonFailure, statusNoSuchUser, statusWrongPassword, statusAccountRestriction,
		statusInvalidLogonHours, statusInvalidWorkstation, statusPasswordExpired,
		statusAccountDisabled, statusAccountExpired, statusPasswordMustChange,
		statusAccountLockedOut, statusLogonTypeNotGranted, statusAccessDenied:
		return sspi.ErrLogonDenied
	case statusNoLogonServers:
		return sspi.ErrNoAuthenticatingAuthority
	case statusTimeDifferenceAtDC:
		return sspi.ErrTimeSkew
	case statusNotSupported:
		return sspi.ErrUnsupportedFunction
	case statusNoMemory:
		return sspi.ErrInsufficientMemory
	case statusInternalError:
		return sspi.ErrInternalError
	case statusInvalidParameter:
		return sspi.ErrInvalidToken
	}
	if code&0xFFFF0000 == 0x80090000 {
		return sspi.Status(code)
	}
	return sspi.ErrLogonDenied
}

// toNTStatus maps, for a server, the status of its failure to the errorCode it sends: the
// NTSTATUS Windows would send where there is one, and the SECURITY_STATUS itself
// otherwise (Windows clients show either as the error code).
func toNTStatus(s sspi.Status) uint32 {
	switch s {
	case sspi.ErrLogonDenied:
		return statusLogonFailure
	case sspi.ErrNoAuthenticatingAuthority:
		return statusNoLogonServers
	case sspi.ErrTimeSkew:
		return statusTimeDifferenceAtDC
	case sspi.ErrUnsupportedFunction:
		return statusNotSupported
	case sspi.ErrInsufficientMemory:
		return statusNoMemory
	case sspi.ErrInternalError:
		return statusInternalError
	case sspi.ErrInvalidToken:
		return statusInvalidParameter
	}
	if s.Failed() {
		return uint32(s)
	}
	return statusUnsuccessful
}
