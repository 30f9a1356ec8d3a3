package ntlm

import (
	"strconv"
	"strings"

	"github.com/gosspi/sspi"
)

// NTStatus is an NTSTATUS code (MS-ERREF 2.3) as a domain controller or winbind answers
// a logon with. It is an error, so a Verifier can return it, wrap it, or put it in a
// *LogonError; the server maps it to a SECURITY_STATUS with SSPIStatus.
type NTStatus uint32

// The NTSTATUS codes of logon refusals and of an authority that cannot answer.
const (
	StatusSuccess                        NTStatus = 0x00000000
	StatusInvalidInfoClass               NTStatus = 0xC0000003
	StatusInvalidParameter               NTStatus = 0xC000000D
	StatusAccessDenied                   NTStatus = 0xC0000022
	StatusNoLogonServers                 NTStatus = 0xC000005E
	StatusNoSuchUser                     NTStatus = 0xC0000064
	StatusWrongPassword                  NTStatus = 0xC000006A
	StatusLogonFailure                   NTStatus = 0xC000006D
	StatusAccountRestriction             NTStatus = 0xC000006E
	StatusInvalidLogonHours              NTStatus = 0xC000006F
	StatusInvalidWorkstation             NTStatus = 0xC0000070
	StatusPasswordExpired                NTStatus = 0xC0000071
	StatusAccountDisabled                NTStatus = 0xC0000072
	StatusInsufficientResources          NTStatus = 0xC000009A
	StatusNotSupported                   NTStatus = 0xC00000BB
	StatusNoSuchDomain                   NTStatus = 0xC00000DF
	StatusTimeDifferenceAtDC             NTStatus = 0xC0000133
	StatusLogonTypeNotGranted            NTStatus = 0xC000015B
	StatusNoTrustSAMAccount              NTStatus = 0xC000018B
	StatusTrustedDomainFailure           NTStatus = 0xC000018C
	StatusTrustedRelationshipFailure     NTStatus = 0xC000018D
	StatusNetlogonNotStarted             NTStatus = 0xC0000192
	StatusAccountExpired                 NTStatus = 0xC0000193
	StatusNologonInterdomainTrustAccount NTStatus = 0xC0000198
	StatusNologonWorkstationTrustAccount NTStatus = 0xC0000199
	StatusNologonServerTrustAccount      NTStatus = 0xC000019A
	StatusPasswordMustChange             NTStatus = 0xC0000224
	StatusAccountLockedOut               NTStatus = 0xC0000234
	StatusDowngradeDetected              NTStatus = 0xC0000388
	StatusAuthenticationFirewallFailed   NTStatus = 0xC0000413
)

type ntStatusInfo struct {
	name, desc string
	sspi       sspi.Status
}

// ntStatuses names the codes and maps them as Windows' SSPI maps a logon's NTSTATUS:
// whatever is about the account or its password is SEC_E_LOGON_DENIED, whatever is
// about reaching a domain controller is SEC_E_NO_AUTHENTICATING_AUTHORITY.
var ntStatuses = map[NTStatus]ntStatusInfo{
	StatusSuccess:                        {"STATUS_SUCCESS", "success", 0},
	StatusInvalidInfoClass:               {"STATUS_INVALID_INFO_CLASS", "the domain controller does not support this validation level", sspi.ErrNoAuthenticatingAuthority},
	StatusInvalidParameter:               {"STATUS_INVALID_PARAMETER", "the domain controller refused a parameter", sspi.ErrNoAuthenticatingAuthority},
	StatusAccessDenied:                   {"STATUS_ACCESS_DENIED", "the domain controller refused the secure channel", sspi.ErrNoAuthenticatingAuthority},
	StatusNoLogonServers:                 {"STATUS_NO_LOGON_SERVERS", "no domain controller could be reached", sspi.ErrNoAuthenticatingAuthority},
	StatusNoSuchUser:                     {"STATUS_NO_SUCH_USER", "unknown user", sspi.ErrLogonDenied},
	StatusWrongPassword:                  {"STATUS_WRONG_PASSWORD", "wrong password", sspi.ErrLogonDenied},
	StatusLogonFailure:                   {"STATUS_LOGON_FAILURE", "logon failure (unknown user or wrong password)", sspi.ErrLogonDenied},
	StatusAccountRestriction:             {"STATUS_ACCOUNT_RESTRICTION", "account restriction", sspi.ErrLogonDenied},
	StatusInvalidLogonHours:              {"STATUS_INVALID_LOGON_HOURS", "outside the account's logon hours", sspi.ErrLogonDenied},
	StatusInvalidWorkstation:             {"STATUS_INVALID_WORKSTATION", "the account may not log on from this workstation", sspi.ErrLogonDenied},
	StatusPasswordExpired:                {"STATUS_PASSWORD_EXPIRED", "the password has expired", sspi.ErrLogonDenied},
	StatusAccountDisabled:                {"STATUS_ACCOUNT_DISABLED", "the account is disabled", sspi.ErrLogonDenied},
	StatusInsufficientResources:          {"STATUS_INSUFFICIENT_RESOURCES", "the domain controller is out of resources", sspi.ErrInsufficientMemory},
	StatusNotSupported:                   {"STATUS_NOT_SUPPORTED", "the domain controller does not support the request", sspi.ErrNoAuthenticatingAuthority},
	StatusNoSuchDomain:                   {"STATUS_NO_SUCH_DOMAIN", "unknown domain", sspi.ErrNoAuthenticatingAuthority},
	StatusTimeDifferenceAtDC:             {"STATUS_TIME_DIFFERENCE_AT_DC", "the clocks of this server and the domain controller differ too much", sspi.ErrTimeSkew},
	StatusLogonTypeNotGranted:            {"STATUS_LOGON_TYPE_NOT_GRANTED", "the account may not log on over the network", sspi.ErrLogonDenied},
	StatusNoTrustSAMAccount:              {"STATUS_NO_TRUST_SAM_ACCOUNT", "the domain has no machine account for this server", sspi.ErrNoAuthenticatingAuthority},
	StatusTrustedDomainFailure:           {"STATUS_TRUSTED_DOMAIN_FAILURE", "the trust with the user's domain failed", sspi.ErrNoAuthenticatingAuthority},
	StatusTrustedRelationshipFailure:     {"STATUS_TRUSTED_RELATIONSHIP_FAILURE", "the secure channel to the domain failed", sspi.ErrNoAuthenticatingAuthority},
	StatusNetlogonNotStarted:             {"STATUS_NETLOGON_NOT_STARTED", "the Netlogon service is not running", sspi.ErrNoAuthenticatingAuthority},
	StatusAccountExpired:                 {"STATUS_ACCOUNT_EXPIRED", "the account has expired", sspi.ErrLogonDenied},
	StatusNologonInterdomainTrustAccount: {"STATUS_NOLOGON_INTERDOMAIN_TRUST_ACCOUNT", "a trust account cannot log on", sspi.ErrLogonDenied},
	StatusNologonWorkstationTrustAccount: {"STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT", "a workstation trust account cannot log on interactively", sspi.ErrLogonDenied},
	StatusNologonServerTrustAccount:      {"STATUS_NOLOGON_SERVER_TRUST_ACCOUNT", "a server trust account cannot log on interactively", sspi.ErrLogonDenied},
	StatusPasswordMustChange:             {"STATUS_PASSWORD_MUST_CHANGE", "the password must be changed before the first logon", sspi.ErrLogonDenied},
	StatusAccountLockedOut:               {"STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out", sspi.ErrLogonDenied},
	StatusDowngradeDetected:              {"STATUS_DOWNGRADE_DETECTED", "the domain controller detected a downgrade", sspi.ErrNoAuthenticatingAuthority},
	StatusAuthenticationFirewallFailed:   {"STATUS_AUTHENTICATION_FIREWALL_FAILED", "the authentication firewall refused the logon", sspi.ErrLogonDenied},
}

// Name is the code's symbolic name, STATUS_WRONG_PASSWORD, or 0xC000006A for one
// this package does not name.
func (s NTStatus) Name() string {
	if i, ok := ntStatuses[s]; ok {
		return i.name
	}
	return "0x" + strings.ToUpper(strconv.FormatUint(uint64(s), 16))
}

// Description says in words what the code means for a logon.
func (s NTStatus) Description() string {
	if i, ok := ntStatuses[s]; ok {
		return i.desc
	}
	return "logon refused with NTSTATUS " + s.Name()
}

// Error is "STATUS_WRONG_PASSWORD: wrong password".
func (s NTStatus) Error() string { return s.Name() + ": " + s.Description() }

// Is makes StatusNoSuchUser match ErrNoSuchUser, so that a verifier's unknown user and
// an account store's are one case to the server and to a VerifierChain.
func (s NTStatus) Is(target error) bool { return s == StatusNoSuchUser && target == ErrNoSuchUser }

// SSPIStatus is the SECURITY_STATUS AcceptSecurityContext returns for a logon refused
// with s: SEC_E_LOGON_DENIED for the account's own faults (whichever: Windows does not
// tell a client that an account exists but is disabled), SEC_E_NO_AUTHENTICATING_AUTHORITY
// when no domain controller could answer, SEC_E_TIME_SKEW for clocks apart. A code this
// package does not know is a denial.
func (s NTStatus) SSPIStatus() sspi.Status {
	if i, ok := ntStatuses[s]; ok && i.sspi != 0 {
		return i.sspi
	}
	return sspi.ErrLogonDenied
}

// ParseNTStatusName returns the code of a symbolic name as Samba prints them,
// NT_STATUS_WRONG_PASSWORD or STATUS_WRONG_PASSWORD, or a hexadecimal 0xC000006A.
func ParseNTStatusName(name string) (NTStatus, bool) {
	name = strings.TrimSpace(name)
	if v, ok := strings.CutPrefix(strings.ToLower(name), "0x"); ok {
		n, err := strconv.ParseUint(v, 16, 32)
		return NTStatus(n), err == nil
	}
	name = strings.TrimPrefix(strings.ToUpper(name), "NT_")
	for s, i := range ntStatuses {
		if i.name == name {
			return s, true
		}
	}
	return 0, false
}
