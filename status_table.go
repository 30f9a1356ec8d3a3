// This file is written by hand. Every SECURITY_STATUS constant's trailing comment names
// its SDK constant, and TestConstantsMatchSpec checks each value against the Windows
// SDK headers' values listed in testdata/sspi-constants.txt.

package sspi

// SECURITY_STATUS values. Success codes (OK and the SEC_I_ codes) are returned as a Status;
// failure codes (SEC_E_) are returned as errors that are, or wrap, the Status.
const (
	OK                             Status = 0x00000000 // SEC_E_OK
	ContinueNeeded                 Status = 0x00090312 // SEC_I_CONTINUE_NEEDED
	CompleteNeeded                 Status = 0x00090313 // SEC_I_COMPLETE_NEEDED
	CompleteAndContinue            Status = 0x00090314 // SEC_I_COMPLETE_AND_CONTINUE
	LocalLogon                     Status = 0x00090315 // SEC_I_LOCAL_LOGON
	GenericExtensionReceived       Status = 0x00090316 // SEC_I_GENERIC_EXTENSION_RECEIVED
	ContextExpired                 Status = 0x00090317 // SEC_I_CONTEXT_EXPIRED
	IncompleteCredentials          Status = 0x00090320 // SEC_I_INCOMPLETE_CREDENTIALS
	Renegotiate                    Status = 0x00090321 // SEC_I_RENEGOTIATE
	NoLSAContext                   Status = 0x00090323 // SEC_I_NO_LSA_CONTEXT
	SignatureNeeded                Status = 0x0009035C // SEC_I_SIGNATURE_NEEDED
	NoRenegotiation                Status = 0x00090360 // SEC_I_NO_RENEGOTIATION
	MessageFragment                Status = 0x00090364 // SEC_I_MESSAGE_FRAGMENT
	ContinueNeededMessageOK        Status = 0x00090366 // SEC_I_CONTINUE_NEEDED_MESSAGE_OK
	AsyncCallPending               Status = 0x00090368 // SEC_I_ASYNC_CALL_PENDING
	ErrInsufficientMemory          Status = 0x80090300 // SEC_E_INSUFFICIENT_MEMORY
	ErrInvalidHandle               Status = 0x80090301 // SEC_E_INVALID_HANDLE
	ErrUnsupportedFunction         Status = 0x80090302 // SEC_E_UNSUPPORTED_FUNCTION
	ErrTargetUnknown               Status = 0x80090303 // SEC_E_TARGET_UNKNOWN
	ErrInternalError               Status = 0x80090304 // SEC_E_INTERNAL_ERROR
	ErrSecPkgNotFound              Status = 0x80090305 // SEC_E_SECPKG_NOT_FOUND
	ErrNotOwner                    Status = 0x80090306 // SEC_E_NOT_OWNER
	ErrCannotInstall               Status = 0x80090307 // SEC_E_CANNOT_INSTALL
	ErrInvalidToken                Status = 0x80090308 // SEC_E_INVALID_TOKEN
	ErrCannotPack                  Status = 0x80090309 // SEC_E_CANNOT_PACK
	ErrQOPNotSupported             Status = 0x8009030A // SEC_E_QOP_NOT_SUPPORTED
	ErrNoImpersonation             Status = 0x8009030B // SEC_E_NO_IMPERSONATION
	ErrLogonDenied                 Status = 0x8009030C // SEC_E_LOGON_DENIED
	ErrUnknownCredentials          Status = 0x8009030D // SEC_E_UNKNOWN_CREDENTIALS
	ErrNoCredentials               Status = 0x8009030E // SEC_E_NO_CREDENTIALS
	ErrMessageAltered              Status = 0x8009030F // SEC_E_MESSAGE_ALTERED
	ErrOutOfSequence               Status = 0x80090310 // SEC_E_OUT_OF_SEQUENCE
	ErrNoAuthenticatingAuthority   Status = 0x80090311 // SEC_E_NO_AUTHENTICATING_AUTHORITY
	ErrBadPkgID                    Status = 0x80090316 // SEC_E_BAD_PKGID
	ErrContextExpired              Status = 0x80090317 // SEC_E_CONTEXT_EXPIRED
	ErrIncompleteMessage           Status = 0x80090318 // SEC_E_INCOMPLETE_MESSAGE
	ErrIncompleteCredentials       Status = 0x80090320 // SEC_E_INCOMPLETE_CREDENTIALS
	ErrBufferTooSmall              Status = 0x80090321 // SEC_E_BUFFER_TOO_SMALL
	ErrWrongPrincipal              Status = 0x80090322 // SEC_E_WRONG_PRINCIPAL
	ErrTimeSkew                    Status = 0x80090324 // SEC_E_TIME_SKEW
	ErrUntrustedRoot               Status = 0x80090325 // SEC_E_UNTRUSTED_ROOT
	ErrIllegalMessage              Status = 0x80090326 // SEC_E_ILLEGAL_MESSAGE
	ErrCertUnknown                 Status = 0x80090327 // SEC_E_CERT_UNKNOWN
	ErrCertExpired                 Status = 0x80090328 // SEC_E_CERT_EXPIRED
	ErrEncryptFailure              Status = 0x80090329 // SEC_E_ENCRYPT_FAILURE
	ErrDecryptFailure              Status = 0x80090330 // SEC_E_DECRYPT_FAILURE
	ErrAlgorithmMismatch           Status = 0x80090331 // SEC_E_ALGORITHM_MISMATCH
	ErrSecurityQosFailed           Status = 0x80090332 // SEC_E_SECURITY_QOS_FAILED
	ErrUnfinishedContextDeleted    Status = 0x80090333 // SEC_E_UNFINISHED_CONTEXT_DELETED
	ErrNoTGTReply                  Status = 0x80090334 // SEC_E_NO_TGT_REPLY
	ErrNoIPAddresses               Status = 0x80090335 // SEC_E_NO_IP_ADDRESSES
	ErrWrongCredentialHandle       Status = 0x80090336 // SEC_E_WRONG_CREDENTIAL_HANDLE
	ErrCryptoSystemInvalid         Status = 0x80090337 // SEC_E_CRYPTO_SYSTEM_INVALID
	ErrMaxReferralsExceeded        Status = 0x80090338 // SEC_E_MAX_REFERRALS_EXCEEDED
	ErrMustBeKDC                   Status = 0x80090339 // SEC_E_MUST_BE_KDC
	ErrStrongCryptoNotSupported    Status = 0x8009033A // SEC_E_STRONG_CRYPTO_NOT_SUPPORTED
	ErrTooManyPrincipals           Status = 0x8009033B // SEC_E_TOO_MANY_PRINCIPALS
	ErrNoPAData                    Status = 0x8009033C // SEC_E_NO_PA_DATA
	ErrPKINITNameMismatch          Status = 0x8009033D // SEC_E_PKINIT_NAME_MISMATCH
	ErrSmartcardLogonRequired      Status = 0x8009033E // SEC_E_SMARTCARD_LOGON_REQUIRED
	ErrShutdownInProgress          Status = 0x8009033F // SEC_E_SHUTDOWN_IN_PROGRESS
	ErrKDCInvalidRequest           Status = 0x80090340 // SEC_E_KDC_INVALID_REQUEST
	ErrKDCUnableToRefer            Status = 0x80090341 // SEC_E_KDC_UNABLE_TO_REFER
	ErrKDCUnknownEtype             Status = 0x80090342 // SEC_E_KDC_UNKNOWN_ETYPE
	ErrUnsupportedPreauth          Status = 0x80090343 // SEC_E_UNSUPPORTED_PREAUTH
	ErrDelegationRequired          Status = 0x80090345 // SEC_E_DELEGATION_REQUIRED
	ErrBadBindings                 Status = 0x80090346 // SEC_E_BAD_BINDINGS
	ErrMultipleAccounts            Status = 0x80090347 // SEC_E_MULTIPLE_ACCOUNTS
	ErrNoKerbKey                   Status = 0x80090348 // SEC_E_NO_KERB_KEY
	ErrCertWrongUsage              Status = 0x80090349 // SEC_E_CERT_WRONG_USAGE
	ErrDowngradeDetected           Status = 0x80090350 // SEC_E_DOWNGRADE_DETECTED
	ErrSmartcardCertRevoked        Status = 0x80090351 // SEC_E_SMARTCARD_CERT_REVOKED
	ErrIssuingCAUntrusted          Status = 0x80090352 // SEC_E_ISSUING_CA_UNTRUSTED
	ErrRevocationOfflineC          Status = 0x80090353 // SEC_E_REVOCATION_OFFLINE_C
	ErrPKINITClientFailure         Status = 0x80090354 // SEC_E_PKINIT_CLIENT_FAILURE
	ErrSmartcardCertExpired        Status = 0x80090355 // SEC_E_SMARTCARD_CERT_EXPIRED
	ErrNoS4UProtSupport            Status = 0x80090356 // SEC_E_NO_S4U_PROT_SUPPORT
	ErrCrossrealmDelegationFailure Status = 0x80090357 // SEC_E_CROSSREALM_DELEGATION_FAILURE
	ErrRevocationOfflineKDC        Status = 0x80090358 // SEC_E_REVOCATION_OFFLINE_KDC
	ErrIssuingCAUntrustedKDC       Status = 0x80090359 // SEC_E_ISSUING_CA_UNTRUSTED_KDC
	ErrKDCCertExpired              Status = 0x8009035A // SEC_E_KDC_CERT_EXPIRED
	ErrKDCCertRevoked              Status = 0x8009035B // SEC_E_KDC_CERT_REVOKED
	ErrInvalidParameter            Status = 0x8009035D // SEC_E_INVALID_PARAMETER
	ErrDelegationPolicy            Status = 0x8009035E // SEC_E_DELEGATION_POLICY
	ErrPolicyNLTMOnly              Status = 0x8009035F // SEC_E_POLICY_NLTM_ONLY
	ErrNoContext                   Status = 0x80090361 // SEC_E_NO_CONTEXT
	ErrPKU2UCertFailure            Status = 0x80090362 // SEC_E_PKU2U_CERT_FAILURE
	ErrMutualAuthFailed            Status = 0x80090363 // SEC_E_MUTUAL_AUTH_FAILED
	ErrOnlyHTTPSAllowed            Status = 0x80090365 // SEC_E_ONLY_HTTPS_ALLOWED
	ErrApplicationProtocolMismatch Status = 0x80090367 // SEC_E_APPLICATION_PROTOCOL_MISMATCH
	ErrInvalidUPNName              Status = 0x80090369 // SEC_E_INVALID_UPN_NAME
	ErrExtBufferTooSmall           Status = 0x8009036A // SEC_E_EXT_BUFFER_TOO_SMALL
	ErrInsufficientBuffers         Status = 0x8009036B // SEC_E_INSUFFICIENT_BUFFERS

	// ErrNoSPM is SEC_E_NO_SPM, an alias of SEC_E_INTERNAL_ERROR.
	ErrNoSPM = ErrInternalError
	// ErrNotSupported is SEC_E_NOT_SUPPORTED, an alias of SEC_E_UNSUPPORTED_FUNCTION.
	ErrNotSupported = ErrUnsupportedFunction
)

// statusNames maps every known Status to its SDK name.
var statusNames = map[Status]string{
	OK:                             "SEC_E_OK",
	ContinueNeeded:                 "SEC_I_CONTINUE_NEEDED",
	CompleteNeeded:                 "SEC_I_COMPLETE_NEEDED",
	CompleteAndContinue:            "SEC_I_COMPLETE_AND_CONTINUE",
	LocalLogon:                     "SEC_I_LOCAL_LOGON",
	GenericExtensionReceived:       "SEC_I_GENERIC_EXTENSION_RECEIVED",
	ContextExpired:                 "SEC_I_CONTEXT_EXPIRED",
	IncompleteCredentials:          "SEC_I_INCOMPLETE_CREDENTIALS",
	Renegotiate:                    "SEC_I_RENEGOTIATE",
	NoLSAContext:                   "SEC_I_NO_LSA_CONTEXT",
	SignatureNeeded:                "SEC_I_SIGNATURE_NEEDED",
	NoRenegotiation:                "SEC_I_NO_RENEGOTIATION",
	MessageFragment:                "SEC_I_MESSAGE_FRAGMENT",
	ContinueNeededMessageOK:        "SEC_I_CONTINUE_NEEDED_MESSAGE_OK",
	AsyncCallPending:               "SEC_I_ASYNC_CALL_PENDING",
	ErrInsufficientMemory:          "SEC_E_INSUFFICIENT_MEMORY",
	ErrInvalidHandle:               "SEC_E_INVALID_HANDLE",
	ErrUnsupportedFunction:         "SEC_E_UNSUPPORTED_FUNCTION",
	ErrTargetUnknown:               "SEC_E_TARGET_UNKNOWN",
	ErrInternalError:               "SEC_E_INTERNAL_ERROR",
	ErrSecPkgNotFound:              "SEC_E_SECPKG_NOT_FOUND",
	ErrNotOwner:                    "SEC_E_NOT_OWNER",
	ErrCannotInstall:               "SEC_E_CANNOT_INSTALL",
	ErrInvalidToken:                "SEC_E_INVALID_TOKEN",
	ErrCannotPack:                  "SEC_E_CANNOT_PACK",
	ErrQOPNotSupported:             "SEC_E_QOP_NOT_SUPPORTED",
	ErrNoImpersonation:             "SEC_E_NO_IMPERSONATION",
	ErrLogonDenied:                 "SEC_E_LOGON_DENIED",
	ErrUnknownCredentials:          "SEC_E_UNKNOWN_CREDENTIALS",
	ErrNoCredentials:               "SEC_E_NO_CREDENTIALS",
	ErrMessageAltered:              "SEC_E_MESSAGE_ALTERED",
	ErrOutOfSequence:               "SEC_E_OUT_OF_SEQUENCE",
	ErrNoAuthenticatingAuthority:   "SEC_E_NO_AUTHENTICATING_AUTHORITY",
	ErrBadPkgID:                    "SEC_E_BAD_PKGID",
	ErrContextExpired:              "SEC_E_CONTEXT_EXPIRED",
	ErrIncompleteMessage:           "SEC_E_INCOMPLETE_MESSAGE",
	ErrIncompleteCredentials:       "SEC_E_INCOMPLETE_CREDENTIALS",
	ErrBufferTooSmall:              "SEC_E_BUFFER_TOO_SMALL",
	ErrWrongPrincipal:              "SEC_E_WRONG_PRINCIPAL",
	ErrTimeSkew:                    "SEC_E_TIME_SKEW",
	ErrUntrustedRoot:               "SEC_E_UNTRUSTED_ROOT",
	ErrIllegalMessage:              "SEC_E_ILLEGAL_MESSAGE",
	ErrCertUnknown:                 "SEC_E_CERT_UNKNOWN",
	ErrCertExpired:                 "SEC_E_CERT_EXPIRED",
	ErrEncryptFailure:              "SEC_E_ENCRYPT_FAILURE",
	ErrDecryptFailure:              "SEC_E_DECRYPT_FAILURE",
	ErrAlgorithmMismatch:           "SEC_E_ALGORITHM_MISMATCH",
	ErrSecurityQosFailed:           "SEC_E_SECURITY_QOS_FAILED",
	ErrUnfinishedContextDeleted:    "SEC_E_UNFINISHED_CONTEXT_DELETED",
	ErrNoTGTReply:                  "SEC_E_NO_TGT_REPLY",
	ErrNoIPAddresses:               "SEC_E_NO_IP_ADDRESSES",
	ErrWrongCredentialHandle:       "SEC_E_WRONG_CREDENTIAL_HANDLE",
	ErrCryptoSystemInvalid:         "SEC_E_CRYPTO_SYSTEM_INVALID",
	ErrMaxReferralsExceeded:        "SEC_E_MAX_REFERRALS_EXCEEDED",
	ErrMustBeKDC:                   "SEC_E_MUST_BE_KDC",
	ErrStrongCryptoNotSupported:    "SEC_E_STRONG_CRYPTO_NOT_SUPPORTED",
	ErrTooManyPrincipals:           "SEC_E_TOO_MANY_PRINCIPALS",
	ErrNoPAData:                    "SEC_E_NO_PA_DATA",
	ErrPKINITNameMismatch:          "SEC_E_PKINIT_NAME_MISMATCH",
	ErrSmartcardLogonRequired:      "SEC_E_SMARTCARD_LOGON_REQUIRED",
	ErrShutdownInProgress:          "SEC_E_SHUTDOWN_IN_PROGRESS",
	ErrKDCInvalidRequest:           "SEC_E_KDC_INVALID_REQUEST",
	ErrKDCUnableToRefer:            "SEC_E_KDC_UNABLE_TO_REFER",
	ErrKDCUnknownEtype:             "SEC_E_KDC_UNKNOWN_ETYPE",
	ErrUnsupportedPreauth:          "SEC_E_UNSUPPORTED_PREAUTH",
	ErrDelegationRequired:          "SEC_E_DELEGATION_REQUIRED",
	ErrBadBindings:                 "SEC_E_BAD_BINDINGS",
	ErrMultipleAccounts:            "SEC_E_MULTIPLE_ACCOUNTS",
	ErrNoKerbKey:                   "SEC_E_NO_KERB_KEY",
	ErrCertWrongUsage:              "SEC_E_CERT_WRONG_USAGE",
	ErrDowngradeDetected:           "SEC_E_DOWNGRADE_DETECTED",
	ErrSmartcardCertRevoked:        "SEC_E_SMARTCARD_CERT_REVOKED",
	ErrIssuingCAUntrusted:          "SEC_E_ISSUING_CA_UNTRUSTED",
	ErrRevocationOfflineC:          "SEC_E_REVOCATION_OFFLINE_C",
	ErrPKINITClientFailure:         "SEC_E_PKINIT_CLIENT_FAILURE",
	ErrSmartcardCertExpired:        "SEC_E_SMARTCARD_CERT_EXPIRED",
	ErrNoS4UProtSupport:            "SEC_E_NO_S4U_PROT_SUPPORT",
	ErrCrossrealmDelegationFailure: "SEC_E_CROSSREALM_DELEGATION_FAILURE",
	ErrRevocationOfflineKDC:        "SEC_E_REVOCATION_OFFLINE_KDC",
	ErrIssuingCAUntrustedKDC:       "SEC_E_ISSUING_CA_UNTRUSTED_KDC",
	ErrKDCCertExpired:              "SEC_E_KDC_CERT_EXPIRED",
	ErrKDCCertRevoked:              "SEC_E_KDC_CERT_REVOKED",
	ErrInvalidParameter:            "SEC_E_INVALID_PARAMETER",
	ErrDelegationPolicy:            "SEC_E_DELEGATION_POLICY",
	ErrPolicyNLTMOnly:              "SEC_E_POLICY_NLTM_ONLY",
	ErrNoContext:                   "SEC_E_NO_CONTEXT",
	ErrPKU2UCertFailure:            "SEC_E_PKU2U_CERT_FAILURE",
	ErrMutualAuthFailed:            "SEC_E_MUTUAL_AUTH_FAILED",
	ErrOnlyHTTPSAllowed:            "SEC_E_ONLY_HTTPS_ALLOWED",
	ErrApplicationProtocolMismatch: "SEC_E_APPLICATION_PROTOCOL_MISMATCH",
	ErrInvalidUPNName:              "SEC_E_INVALID_UPN_NAME",
	ErrExtBufferTooSmall:           "SEC_E_EXT_BUFFER_TOO_SMALL",
	ErrInsufficientBuffers:         "SEC_E_INSUFFICIENT_BUFFERS",
}
