package sspi

import (
	"math/bits"
	"strings"
)

// ContextReq holds the fContextReq bits given to InitializeSecurityContext (ISCReq*
// constants) or AcceptSecurityContext (ASCReq*). The two sets share values up to 0x800 and
// differ above it, so a package reads them knowing which side it is on.
type ContextReq uint64

// ContextAttr holds the pfContextAttr bits a package reports as granted: ISCRet* on the
// client, ASCRet* on the server. They say what the context really provides, which may be
// less or more than was asked.
type ContextAttr uint64

// CredentialUse is fCredentialUse of AcquireCredentialsHandle (SECPKG_CRED_*).
type CredentialUse uint32

// DataRep is the TargetDataRep of InitializeSecurityContext and AcceptSecurityContext
// (SECURITY_NATIVE_DREP or SECURITY_NETWORK_DREP). Packages in this module ignore it, as
// Windows' connection-oriented packages do; it is passed through for ported code.
type DataRep uint32

// Attribute is a SECPKG_ATTR_* id for QueryContextAttributes.
type Attribute uint32

// CredentialAttribute is a SECPKG_CRED_ATTR_* id for QueryCredentialsAttributes.
type CredentialAttribute uint32

// NegotiationState is SecPkgContext_NegotiationInfo.NegotiationState (SECPKG_NEGOTIATION_*).
type NegotiationState uint32

// Capabilities holds the SECPKG_FLAG_* bits of PackageInfo.Capabilities.
type Capabilities uint32

// Has reports whether every bit of want is set in r.
func (r ContextReq) Has(want ContextReq) bool { return r&want == want }

// Has reports whether every bit of want is set in a.
func (a ContextAttr) Has(want ContextAttr) bool { return a&want == want }

// Has reports whether every bit of want is set in c.
func (c Capabilities) Has(want Capabilities) bool { return c&want == want }

// iscNames and ascNames name the ISC_RET_ and ASC_RET_ bits for ContextAttr.Format; the two
// numberings differ, so one table would misname half the bits.
var (
	iscNames = map[uint64]string{}
	ascNames = map[uint64]string{}
)

func init() {
	for v, n := range map[ContextAttr]string{
		ISCRetDelegate: "DELEGATE", ISCRetMutualAuth: "MUTUAL_AUTH", ISCRetReplayDetect: "REPLAY_DETECT",
		ISCRetSequenceDetect: "SEQUENCE_DETECT", ISCRetConfidentiality: "CONFIDENTIALITY",
		ISCRetUseSessionKey: "USE_SESSION_KEY", ISCRetUsedCollectedCreds: "USED_COLLECTED_CREDS",
		ISCRetUsedSuppliedCreds: "USED_SUPPLIED_CREDS", ISCRetAllocatedMemory: "ALLOCATED_MEMORY",
		ISCRetUsedDCEStyle: "USED_DCE_STYLE", ISCRetDatagram: "DATAGRAM", ISCRetConnection: "CONNECTION",
		ISCRetIntermediateReturn: "INTERMEDIATE_RETURN", ISCRetCallLevel: "CALL_LEVEL",
		ISCRetExtendedError: "EXTENDED_ERROR", ISCRetStream: "STREAM", ISCRetIntegrity: "INTEGRITY",
		ISCRetIdentify: "IDENTIFY", ISCRetNullSession: "NULL_SESSION",
		ISCRetManualCredValidation: "MANUAL_CRED_VALIDATION", ISCRetFragmentOnly: "FRAGMENT_ONLY",
		ISCRetForwardCredentials: "FORWARD_CREDENTIALS", ISCRetUsedHTTPStyle: "USED_HTTP_STYLE",
		ISCRetNoAdditionalToken: "NO_ADDITIONAL_TOKEN", ISCRetReauthentication: "REAUTHENTICATION",
		ISCRetConfidentialityOnly: "CONFIDENTIALITY_ONLY", ISCRetMessages: "MESSAGES",
	} {
		iscNames[uint64(v)] = n
	}
	for v, n := range map[ContextAttr]string{
		ASCRetDelegate: "DELEGATE", ASCRetMutualAuth: "MUTUAL_AUTH", ASCRetReplayDetect: "REPLAY_DETECT",
		ASCRetSequenceDetect: "SEQUENCE_DETECT", ASCRetConfidentiality: "CONFIDENTIALITY",
		ASCRetUseSessionKey: "USE_SESSION_KEY", ASCRetSessionTicket: "SESSION_TICKET",
		ASCRetAllocatedMemory: "ALLOCATED_MEMORY", ASCRetUsedDCEStyle: "USED_DCE_STYLE",
		ASCRetDatagram: "DATAGRAM", ASCRetConnection: "CONNECTION", ASCRetCallLevel: "CALL_LEVEL",
		ASCRetThirdLegFailed: "THIRD_LEG_FAILED", ASCRetExtendedError: "EXTENDED_ERROR",
		ASCRetStream: "STREAM", ASCRetIntegrity: "INTEGRITY", ASCRetLicensing: "LICENSING",
		ASCRetIdentify: "IDENTIFY", ASCRetNullSession: "NULL_SESSION",
		ASCRetAllowNonUserLogons: "ALLOW_NON_USER_LOGONS", ASCRetAllowContextReplay: "ALLOW_CONTEXT_REPLAY",
		ASCRetFragmentOnly: "FRAGMENT_ONLY", ASCRetNoToken: "NO_TOKEN",
		ASCRetNoAdditionalToken: "NO_ADDITIONAL_TOKEN", ASCRetMessages: "MESSAGES",
		ASCRetNoProxyBindings: "NO_PROXY_BINDINGS", ASCRetMissingBindings: "MISSING_BINDINGS",
	} {
		ascNames[uint64(v)] = n
	}
}

// Format names the bits of a as "MUTUAL_AUTH|INTEGRITY|...", read as ASC_RET_* bits when
// server is true and as ISC_RET_* bits otherwise; unknown bits are shown in hex.
func (a ContextAttr) Format(server bool) string {
	names := iscNames
	if server {
		names = ascNames
	}
	var b strings.Builder
	for v := uint64(a); v != 0; {
		bit := uint64(1) << bits.TrailingZeros64(v)
		v &^= bit
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		if n, ok := names[bit]; ok {
			b.WriteString(n)
		} else {
			b.WriteString("0x")
			b.WriteString(strings.ToUpper(uintHex(bit)))
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

func uintHex(v uint64) string {
	const digits = "0123456789abcdef"
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = digits[v&0xf]
		v >>= 4
		if v == 0 {
			return string(buf[i:])
		}
	}
}

// RPC authentication-service ids (wRPCID of SecPkgInfo, RPC_C_AUTHN_* in rpcdce.h).
const (
	RPCIDNegotiate uint16 = 9      // RPC_C_AUTHN_GSS_NEGOTIATE
	RPCIDNTLM      uint16 = 10     // RPC_C_AUTHN_WINNT
	RPCIDSchannel  uint16 = 14     // RPC_C_AUTHN_GSS_SCHANNEL (UNISP_RPC_ID)
	RPCIDKerberos  uint16 = 16     // RPC_C_AUTHN_GSS_KERBEROS
	RPCIDDigest    uint16 = 21     // RPC_C_AUTHN_DIGEST
	RPCIDNone      uint16 = 0xFFFF // SECPKG_ID_NONE: a package without an RPC id (CredSSP)
)
