package tokendump

import (
	"fmt"

	"github.com/gosspi/sspi/internal/der"
)

var (
	oidSPNEGO  = der.MustOID("1.3.6.1.5.5.2")
	oidKRB5    = der.MustOID("1.2.840.113554.1.2.2")
	oidMSKRB5  = der.MustOID("1.2.840.48018.1.2.2")
	oidKRB5U2U = der.MustOID("1.2.840.113554.1.2.2.3")
)

var oidNames = map[string]string{
	"1.3.6.1.5.5.2":          "SPNEGO",
	"1.2.840.113554.1.2.2":   "Kerberos V5",
	"1.2.840.48018.1.2.2":    "Kerberos V5 (Microsoft's legacy OID)",
	"1.2.840.113554.1.2.2.3": "Kerberos V5 user-to-user",
	"1.3.6.1.4.1.311.2.2.10": "NTLM",
	"1.3.6.1.4.1.311.2.2.30": "NegoEx",
	"1.3.5.1.5.2.7":          "IAKERB",
	"1.3.6.1.5.2.5":          "IAKERB",
}

func oidName(o der.OID) string {
	s := o.String()
	if n, ok := oidNames[s]; ok {
		return s + " (" + n + ")"
	}
	return s
}

// krbErrorNames are RFC 4120 7.5.9's error codes (and the ones MIT and Windows add).
var krbErrorNames = map[int32]string{
	0: "KDC_ERR_NONE", 1: "KDC_ERR_NAME_EXP", 2: "KDC_ERR_SERVICE_EXP", 3: "KDC_ERR_BAD_PVNO",
	4: "KDC_ERR_C_OLD_MAST_KVNO", 5: "KDC_ERR_S_OLD_MAST_KVNO", 6: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
	7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 8: "KDC_ERR_PRINCIPAL_NOT_UNIQUE", 9: "KDC_ERR_NULL_KEY",
	10: "KDC_ERR_CANNOT_POSTDATE", 11: "KDC_ERR_NEVER_VALID", 12: "KDC_ERR_POLICY",
	13: "KDC_ERR_BADOPTION", 14: "KDC_ERR_ETYPE_NOSUPP", 15: "KDC_ERR_SUMTYPE_NOSUPP",
	16: "KDC_ERR_PADATA_TYPE_NOSUPP", 17: "KDC_ERR_TRTYPE_NOSUPP", 18: "KDC_ERR_CLIENT_REVOKED",
	19: "KDC_ERR_SERVICE_REVOKED", 20: "KDC_ERR_TGT_REVOKED", 21: "KDC_ERR_CLIENT_NOTYET",
	22: "KDC_ERR_SERVICE_NOTYET", 23: "KDC_ERR_KEY_EXPIRED", 24: "KDC_ERR_PREAUTH_FAILED",
	25: "KDC_ERR_PREAUTH_REQUIRED", 26: "KDC_ERR_SERVER_NOMATCH", 27: "KDC_ERR_MUST_USE_USER2USER",
	28: "KDC_ERR_PATH_NOT_ACCEPTED", 29: "KDC_ERR_SVC_UNAVAILABLE", 31: "KRB_AP_ERR_BAD_INTEGRITY",
	32: "KRB_AP_ERR_TKT_EXPIRED", 33: "KRB_AP_ERR_TKT_NYV", 34: "KRB_AP_ERR_REPEAT",
	35: "KRB_AP_ERR_NOT_US", 36: "KRB_AP_ERR_BADMATCH", 37: "KRB_AP_ERR_SKEW",
	38: "KRB_AP_ERR_BADADDR", 39: "KRB_AP_ERR_BADVERSION", 40: "KRB_AP_ERR_MSG_TYPE",
	41: "KRB_AP_ERR_MODIFIED", 42: "KRB_AP_ERR_BADORDER", 44: "KRB_AP_ERR_BADKEYVER",
	45: "KRB_AP_ERR_NOKEY", 46: "KRB_AP_ERR_MUT_FAIL", 47: "KRB_AP_ERR_BADDIRECTION",
	48: "KRB_AP_ERR_METHOD", 49: "KRB_AP_ERR_BADSEQ", 50: "KRB_AP_ERR_INAPP_CKSUM",
	51: "KRB_AP_PATH_NOT_ACCEPTED", 52: "KRB_ERR_RESPONSE_TOO_BIG", 60: "KRB_ERR_GENERIC",
	61: "KRB_ERR_FIELD_TOOLONG", 62: "KDC_ERROR_CLIENT_NOT_TRUSTED", 63: "KDC_ERROR_KDC_NOT_TRUSTED",
	64: "KDC_ERROR_INVALID_SIG", 65: "KDC_ERR_KEY_TOO_WEAK", 66: "KDC_ERR_CERTIFICATE_MISMATCH",
	67: "KRB_AP_ERR_NO_TGT", 68: "KDC_ERR_WRONG_REALM", 69: "KRB_AP_ERR_USER_TO_USER_REQUIRED",
	70: "KDC_ERR_CANT_VERIFY_CERTIFICATE", 71: "KDC_ERR_INVALID_CERTIFICATE",
	72: "KDC_ERR_REVOKED_CERTIFICATE", 73: "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
	75: "KDC_ERR_CLIENT_NAME_MISMATCH", 76: "KDC_ERR_KDC_NAME_MISMATCH",
	90: "KDC_ERR_PREAUTH_EXPIRED", 91: "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
	93: "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
}

func krbErrorName(code int32) string { return numbered(krbErrorNames, code, "%d") }

var etypeNames = map[int32]string{
	1: "des-cbc-crc", 3: "des-cbc-md5", 16: "des3-cbc-sha1", 17: "aes128-cts-hmac-sha1-96",
	18: "aes256-cts-hmac-sha1-96", 19: "aes128-cts-hmac-sha256-128", 20: "aes256-cts-hmac-sha384-192",
	23: "rc4-hmac", 24: "rc4-hmac-exp", 25: "camellia128-cts-cmac", 26: "camellia256-cts-cmac",
}

func etypeName(e int32) string { return numbered(etypeNames, e, "%d") }

var adTypeNames = map[int32]string{
	1: "AD-IF-RELEVANT", 2: "AD-INTENDED-FOR-SERVER", 3: "AD-INTENDED-FOR-APPLICATION-CLASS",
	4: "AD-KDC-ISSUED", 5: "AD-AND-OR", 6: "AD-MANDATORY-TICKET-EXTENSIONS",
	7: "AD-IN-TICKET-EXTENSIONS", 8: "AD-MANDATORY-FOR-KDC", 9: "OSF-DCE", 64: "SESAME",
	65: "AD-OSF-DCE-PKI-CERTID", 71: "AD-INITIAL-VERIFIED-CAS", 128: "AD-WIN2K-PAC",
	129: "AD-ETYPE-NEGOTIATION", 141: "KERB-AUTH-DATA-TOKEN-RESTRICTIONS",
	142: "KERB-LOCAL", 143: "AD-AUTH-DATA-AP-OPTIONS", 144: "KERB-AUTH-DATA-TARGET-NAME",
	512: "AD-CAMMAC", 513: "AD-AUTHENTICATION-INDICATOR", 514: "AD-SIGNTICKET",
}

func adTypeName(t int32) string { return numbered(adTypeNames, t, "%d") }

var pacBufferNames = map[uint32]string{
	1: "KERB_VALIDATION_INFO (logon info)", 2: "PAC_CREDENTIAL_INFO", 6: "server checksum",
	7: "KDC (privsvr) checksum", 10: "PAC_CLIENT_INFO", 11: "S4U_DELEGATION_INFO",
	12: "UPN_DNS_INFO", 13: "PAC_CLIENT_CLAIMS_INFO", 14: "PAC_DEVICE_INFO",
	15: "PAC_DEVICE_CLAIMS_INFO", 16: "ticket checksum", 17: "PAC_ATTRIBUTES_INFO",
	18: "PAC_REQUESTOR", 19: "extended KDC checksum",
}

var ticketFlagNames = []bitName{
	{1 << 30, "forwardable"}, {1 << 29, "forwarded"}, {1 << 28, "proxiable"}, {1 << 27, "proxy"},
	{1 << 26, "may-postdate"}, {1 << 25, "postdated"}, {1 << 24, "invalid"}, {1 << 23, "renewable"},
	{1 << 22, "initial"}, {1 << 21, "pre-authent"}, {1 << 20, "hw-authent"},
	{1 << 19, "transited-policy-checked"}, {1 << 18, "ok-as-delegate"}, {1 << 16, "enc-pa-rep"},
	{1 << 15, "anonymous"}, {1 << 31, "reserved"},
}

var apOptionNames = []bitName{{1 << 30, "use-session-key"}, {1 << 29, "mutual-required"}, {1 << 31, "reserved"}}

// gssFlagNames are RFC 4121 4.1.1.1's checksum flags (and Microsoft's additions).
var gssFlagNames = []bitName{
	{1, "DELEG"}, {2, "MUTUAL"}, {4, "REPLAY"}, {8, "SEQUENCE"}, {16, "CONF"}, {32, "INTEG"},
	{64, "ANON"}, {0x80, "PROT_READY"}, {0x100, "TRANS"}, {0x1000, "DCE_STYLE"}, {0x2000, "IDENTIFY"}, {0x4000, "EXTENDED_ERROR"},
}

var nameTypeNames = map[int32]string{
	0: "NT-UNKNOWN", 1: "NT-PRINCIPAL", 2: "NT-SRV-INST", 3: "NT-SRV-HST", 4: "NT-SRV-XHST",
	5: "NT-UID", 6: "NT-X500-PRINCIPAL", 7: "NT-SMTP-NAME", 10: "NT-ENTERPRISE", 11: "NT-WELLKNOWN",
	-128: "NT-MS-PRINCIPAL", -129: "NT-MS-PRINCIPAL-AND-ID", -130: "NT-ENT-PRINCIPAL-AND-ID",
}

func nameTypeName(t int32) string {
	if n, ok := nameTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

// numbered formats v with format and, when names knows it, adds its name in parentheses:
// "18 (aes256-cts-hmac-sha1-96)", "99".
func numbered[K comparable](names map[K]string, v K, format string) string {
	s := fmt.Sprintf(format, v)
	if n, ok := names[v]; ok {
		return s + " (" + n + ")"
	}
	return s
}
