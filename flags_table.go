// This file is written by hand. Every constant's trailing comment names its SDK
// constant, and TestConstantsMatchSpec checks each value against the Windows SDK
// headers' values listed in testdata/sspi-constants.txt.

package sspi

// ISC_REQ_* flags: what InitializeSecurityContext asks the package for.
const (
	ISCReqDelegate               ContextReq = 0x00000001  // ISC_REQ_DELEGATE
	ISCReqMutualAuth             ContextReq = 0x00000002  // ISC_REQ_MUTUAL_AUTH
	ISCReqReplayDetect           ContextReq = 0x00000004  // ISC_REQ_REPLAY_DETECT
	ISCReqSequenceDetect         ContextReq = 0x00000008  // ISC_REQ_SEQUENCE_DETECT
	ISCReqConfidentiality        ContextReq = 0x00000010  // ISC_REQ_CONFIDENTIALITY
	ISCReqUseSessionKey          ContextReq = 0x00000020  // ISC_REQ_USE_SESSION_KEY
	ISCReqPromptForCreds         ContextReq = 0x00000040  // ISC_REQ_PROMPT_FOR_CREDS
	ISCReqUseSuppliedCreds       ContextReq = 0x00000080  // ISC_REQ_USE_SUPPLIED_CREDS
	ISCReqAllocateMemory         ContextReq = 0x00000100  // ISC_REQ_ALLOCATE_MEMORY
	ISCReqUseDCEStyle            ContextReq = 0x00000200  // ISC_REQ_USE_DCE_STYLE
	ISCReqDatagram               ContextReq = 0x00000400  // ISC_REQ_DATAGRAM
	ISCReqConnection             ContextReq = 0x00000800  // ISC_REQ_CONNECTION
	ISCReqCallLevel              ContextReq = 0x00001000  // ISC_REQ_CALL_LEVEL
	ISCReqFragmentSupplied       ContextReq = 0x00002000  // ISC_REQ_FRAGMENT_SUPPLIED
	ISCReqExtendedError          ContextReq = 0x00004000  // ISC_REQ_EXTENDED_ERROR
	ISCReqStream                 ContextReq = 0x00008000  // ISC_REQ_STREAM
	ISCReqIntegrity              ContextReq = 0x00010000  // ISC_REQ_INTEGRITY
	ISCReqIdentify               ContextReq = 0x00020000  // ISC_REQ_IDENTIFY
	ISCReqNullSession            ContextReq = 0x00040000  // ISC_REQ_NULL_SESSION
	ISCReqManualCredValidation   ContextReq = 0x00080000  // ISC_REQ_MANUAL_CRED_VALIDATION
	ISCReqReserved1              ContextReq = 0x00100000  // ISC_REQ_RESERVED1
	ISCReqFragmentToFit          ContextReq = 0x00200000  // ISC_REQ_FRAGMENT_TO_FIT
	ISCReqForwardCredentials     ContextReq = 0x00400000  // ISC_REQ_FORWARD_CREDENTIALS
	ISCReqNoIntegrity            ContextReq = 0x00800000  // ISC_REQ_NO_INTEGRITY
	ISCReqUseHTTPStyle           ContextReq = 0x01000000  // ISC_REQ_USE_HTTP_STYLE
	ISCReqUnverifiedTargetName   ContextReq = 0x20000000  // ISC_REQ_UNVERIFIED_TARGET_NAME
	ISCReqConfidentialityOnly    ContextReq = 0x40000000  // ISC_REQ_CONFIDENTIALITY_ONLY
	ISCReqMessages               ContextReq = 0x100000000 // ISC_REQ_MESSAGES
	ISCReqDeferredCredValidation ContextReq = 0x200000000 // ISC_REQ_DEFERRED_CRED_VALIDATION
	ISCReqNoPostHandshakeAuth    ContextReq = 0x400000000 // ISC_REQ_NO_POST_HANDSHAKE_AUTH
)

// ISC_RET_* flags: what InitializeSecurityContext reports the package granted.
const (
	ISCRetDelegate               ContextAttr = 0x00000001  // ISC_RET_DELEGATE
	ISCRetMutualAuth             ContextAttr = 0x00000002  // ISC_RET_MUTUAL_AUTH
	ISCRetReplayDetect           ContextAttr = 0x00000004  // ISC_RET_REPLAY_DETECT
	ISCRetSequenceDetect         ContextAttr = 0x00000008  // ISC_RET_SEQUENCE_DETECT
	ISCRetConfidentiality        ContextAttr = 0x00000010  // ISC_RET_CONFIDENTIALITY
	ISCRetUseSessionKey          ContextAttr = 0x00000020  // ISC_RET_USE_SESSION_KEY
	ISCRetUsedCollectedCreds     ContextAttr = 0x00000040  // ISC_RET_USED_COLLECTED_CREDS
	ISCRetUsedSuppliedCreds      ContextAttr = 0x00000080  // ISC_RET_USED_SUPPLIED_CREDS
	ISCRetAllocatedMemory        ContextAttr = 0x00000100  // ISC_RET_ALLOCATED_MEMORY
	ISCRetUsedDCEStyle           ContextAttr = 0x00000200  // ISC_RET_USED_DCE_STYLE
	ISCRetDatagram               ContextAttr = 0x00000400  // ISC_RET_DATAGRAM
	ISCRetConnection             ContextAttr = 0x00000800  // ISC_RET_CONNECTION
	ISCRetIntermediateReturn     ContextAttr = 0x00001000  // ISC_RET_INTERMEDIATE_RETURN
	ISCRetCallLevel              ContextAttr = 0x00002000  // ISC_RET_CALL_LEVEL
	ISCRetExtendedError          ContextAttr = 0x00004000  // ISC_RET_EXTENDED_ERROR
	ISCRetStream                 ContextAttr = 0x00008000  // ISC_RET_STREAM
	ISCRetIntegrity              ContextAttr = 0x00010000  // ISC_RET_INTEGRITY
	ISCRetIdentify               ContextAttr = 0x00020000  // ISC_RET_IDENTIFY
	ISCRetNullSession            ContextAttr = 0x00040000  // ISC_RET_NULL_SESSION
	ISCRetManualCredValidation   ContextAttr = 0x00080000  // ISC_RET_MANUAL_CRED_VALIDATION
	ISCRetReserved1              ContextAttr = 0x00100000  // ISC_RET_RESERVED1
	ISCRetFragmentOnly           ContextAttr = 0x00200000  // ISC_RET_FRAGMENT_ONLY
	ISCRetForwardCredentials     ContextAttr = 0x00400000  // ISC_RET_FORWARD_CREDENTIALS
	ISCRetUsedHTTPStyle          ContextAttr = 0x01000000  // ISC_RET_USED_HTTP_STYLE
	ISCRetNoAdditionalToken      ContextAttr = 0x02000000  // ISC_RET_NO_ADDITIONAL_TOKEN
	ISCRetReauthentication       ContextAttr = 0x08000000  // ISC_RET_REAUTHENTICATION
	ISCRetConfidentialityOnly    ContextAttr = 0x40000000  // ISC_RET_CONFIDENTIALITY_ONLY
	ISCRetMessages               ContextAttr = 0x100000000 // ISC_RET_MESSAGES
	ISCRetDeferredCredValidation ContextAttr = 0x200000000 // ISC_RET_DEFERRED_CRED_VALIDATION
	ISCRetNoPostHandshakeAuth    ContextAttr = 0x400000000 // ISC_RET_NO_POST_HANDSHAKE_AUTH
)

// ASC_REQ_* flags: what AcceptSecurityContext asks the package for. Above 0x800 the
// numbering differs from ISC_REQ_* (ASC_REQ_INTEGRITY is 0x20000, ISC_REQ_INTEGRITY 0x10000).
const (
	ASCReqDelegate             ContextReq = 0x00000001  // ASC_REQ_DELEGATE
	ASCReqMutualAuth           ContextReq = 0x00000002  // ASC_REQ_MUTUAL_AUTH
	ASCReqReplayDetect         ContextReq = 0x00000004  // ASC_REQ_REPLAY_DETECT
	ASCReqSequenceDetect       ContextReq = 0x00000008  // ASC_REQ_SEQUENCE_DETECT
	ASCReqConfidentiality      ContextReq = 0x00000010  // ASC_REQ_CONFIDENTIALITY
	ASCReqUseSessionKey        ContextReq = 0x00000020  // ASC_REQ_USE_SESSION_KEY
	ASCReqSessionTicket        ContextReq = 0x00000040  // ASC_REQ_SESSION_TICKET
	ASCReqAllocateMemory       ContextReq = 0x00000100  // ASC_REQ_ALLOCATE_MEMORY
	ASCReqUseDCEStyle          ContextReq = 0x00000200  // ASC_REQ_USE_DCE_STYLE
	ASCReqDatagram             ContextReq = 0x00000400  // ASC_REQ_DATAGRAM
	ASCReqConnection           ContextReq = 0x00000800  // ASC_REQ_CONNECTION
	ASCReqCallLevel            ContextReq = 0x00001000  // ASC_REQ_CALL_LEVEL
	ASCReqFragmentSupplied     ContextReq = 0x00002000  // ASC_REQ_FRAGMENT_SUPPLIED
	ASCReqExtendedError        ContextReq = 0x00008000  // ASC_REQ_EXTENDED_ERROR
	ASCReqStream               ContextReq = 0x00010000  // ASC_REQ_STREAM
	ASCReqIntegrity            ContextReq = 0x00020000  // ASC_REQ_INTEGRITY
	ASCReqLicensing            ContextReq = 0x00040000  // ASC_REQ_LICENSING
	ASCReqIdentify             ContextReq = 0x00080000  // ASC_REQ_IDENTIFY
	ASCReqAllowNullSession     ContextReq = 0x00100000  // ASC_REQ_ALLOW_NULL_SESSION
	ASCReqAllowNonUserLogons   ContextReq = 0x00200000  // ASC_REQ_ALLOW_NON_USER_LOGONS
	ASCReqAllowContextReplay   ContextReq = 0x00400000  // ASC_REQ_ALLOW_CONTEXT_REPLAY
	ASCReqFragmentToFit        ContextReq = 0x00800000  // ASC_REQ_FRAGMENT_TO_FIT
	ASCReqNoToken              ContextReq = 0x01000000  // ASC_REQ_NO_TOKEN
	ASCReqProxyBindings        ContextReq = 0x04000000  // ASC_REQ_PROXY_BINDINGS
	ASCReqAllowMissingBindings ContextReq = 0x10000000  // ASC_REQ_ALLOW_MISSING_BINDINGS
	ASCReqMessages             ContextReq = 0x100000000 // ASC_REQ_MESSAGES
)

// ASC_RET_* flags: what AcceptSecurityContext reports the package granted.
const (
	ASCRetDelegate           ContextAttr = 0x00000001  // ASC_RET_DELEGATE
	ASCRetMutualAuth         ContextAttr = 0x00000002  // ASC_RET_MUTUAL_AUTH
	ASCRetReplayDetect       ContextAttr = 0x00000004  // ASC_RET_REPLAY_DETECT
	ASCRetSequenceDetect     ContextAttr = 0x00000008  // ASC_RET_SEQUENCE_DETECT
	ASCRetConfidentiality    ContextAttr = 0x00000010  // ASC_RET_CONFIDENTIALITY
	ASCRetUseSessionKey      ContextAttr = 0x00000020  // ASC_RET_USE_SESSION_KEY
	ASCRetSessionTicket      ContextAttr = 0x00000040  // ASC_RET_SESSION_TICKET
	ASCRetAllocatedMemory    ContextAttr = 0x00000100  // ASC_RET_ALLOCATED_MEMORY
	ASCRetUsedDCEStyle       ContextAttr = 0x00000200  // ASC_RET_USED_DCE_STYLE
	ASCRetDatagram           ContextAttr = 0x00000400  // ASC_RET_DATAGRAM
	ASCRetConnection         ContextAttr = 0x00000800  // ASC_RET_CONNECTION
	ASCRetCallLevel          ContextAttr = 0x00002000  // ASC_RET_CALL_LEVEL
	ASCRetThirdLegFailed     ContextAttr = 0x00004000  // ASC_RET_THIRD_LEG_FAILED
	ASCRetExtendedError      ContextAttr = 0x00008000  // ASC_RET_EXTENDED_ERROR
	ASCRetStream             ContextAttr = 0x00010000  // ASC_RET_STREAM
	ASCRetIntegrity          ContextAttr = 0x00020000  // ASC_RET_INTEGRITY
	ASCRetLicensing          ContextAttr = 0x00040000  // ASC_RET_LICENSING
	ASCRetIdentify           ContextAttr = 0x00080000  // ASC_RET_IDENTIFY
	ASCRetNullSession        ContextAttr = 0x00100000  // ASC_RET_NULL_SESSION
	ASCRetAllowNonUserLogons ContextAttr = 0x00200000  // ASC_RET_ALLOW_NON_USER_LOGONS
	ASCRetAllowContextReplay ContextAttr = 0x00400000  // ASC_RET_ALLOW_CONTEXT_REPLAY
	ASCRetFragmentOnly       ContextAttr = 0x00800000  // ASC_RET_FRAGMENT_ONLY
	ASCRetNoToken            ContextAttr = 0x01000000  // ASC_RET_NO_TOKEN
	ASCRetNoAdditionalToken  ContextAttr = 0x02000000  // ASC_RET_NO_ADDITIONAL_TOKEN
	ASCRetMessages           ContextAttr = 0x100000000 // ASC_RET_MESSAGES
	ASCRetNoProxyBindings    ContextAttr = 0x04000000  // ASC_RET_NO_PROXY_BINDINGS
	ASCRetMissingBindings    ContextAttr = 0x10000000  // ASC_RET_MISSING_BINDINGS
)

// SECBUFFER_* types of a Buffer.
const (
	BufferEmpty                        BufferType = 0x00000000 // SECBUFFER_EMPTY
	BufferData                         BufferType = 0x00000001 // SECBUFFER_DATA
	BufferToken                        BufferType = 0x00000002 // SECBUFFER_TOKEN
	BufferPkgParams                    BufferType = 0x00000003 // SECBUFFER_PKG_PARAMS
	BufferMissing                      BufferType = 0x00000004 // SECBUFFER_MISSING
	BufferExtra                        BufferType = 0x00000005 // SECBUFFER_EXTRA
	BufferStreamTrailer                BufferType = 0x00000006 // SECBUFFER_STREAM_TRAILER
	BufferStreamHeader                 BufferType = 0x00000007 // SECBUFFER_STREAM_HEADER
	BufferNegotiationInfo              BufferType = 0x00000008 // SECBUFFER_NEGOTIATION_INFO
	BufferPadding                      BufferType = 0x00000009 // SECBUFFER_PADDING
	BufferStream                       BufferType = 0x0000000A // SECBUFFER_STREAM
	BufferMechlist                     BufferType = 0x0000000B // SECBUFFER_MECHLIST
	BufferMechlistSignature            BufferType = 0x0000000C // SECBUFFER_MECHLIST_SIGNATURE
	BufferTarget                       BufferType = 0x0000000D // SECBUFFER_TARGET
	BufferChannelBindings              BufferType = 0x0000000E // SECBUFFER_CHANNEL_BINDINGS
	BufferChangePassResponse           BufferType = 0x0000000F // SECBUFFER_CHANGE_PASS_RESPONSE
	BufferTargetHost                   BufferType = 0x00000010 // SECBUFFER_TARGET_HOST
	BufferAlert                        BufferType = 0x00000011 // SECBUFFER_ALERT
	BufferApplicationProtocols         BufferType = 0x00000012 // SECBUFFER_APPLICATION_PROTOCOLS
	BufferSRTPProtectionProfiles       BufferType = 0x00000013 // SECBUFFER_SRTP_PROTECTION_PROFILES
	BufferSRTPMasterKeyIdentifier      BufferType = 0x00000014 // SECBUFFER_SRTP_MASTER_KEY_IDENTIFIER
	BufferTokenBinding                 BufferType = 0x00000015 // SECBUFFER_TOKEN_BINDING
	BufferPresharedKey                 BufferType = 0x00000016 // SECBUFFER_PRESHARED_KEY
	BufferPresharedKeyIdentity         BufferType = 0x00000017 // SECBUFFER_PRESHARED_KEY_IDENTITY
	BufferDTLSMTU                      BufferType = 0x00000018 // SECBUFFER_DTLS_MTU
	BufferSendGenericTLSExtension      BufferType = 0x00000019 // SECBUFFER_SEND_GENERIC_TLS_EXTENSION
	BufferSubscribeGenericTLSExtension BufferType = 0x0000001A // SECBUFFER_SUBSCRIBE_GENERIC_TLS_EXTENSION
	BufferFlags                        BufferType = 0x0000001B // SECBUFFER_FLAGS
	BufferTrafficSecrets               BufferType = 0x0000001C // SECBUFFER_TRAFFIC_SECRETS
	BufferCertificateRequestContext    BufferType = 0x0000001D // SECBUFFER_CERTIFICATE_REQUEST_CONTEXT
)

// Attribute bits OR-ed into a BufferType; Type.Base masks them off.
const (
	BufferAttrMask             BufferType = 0xF0000000 // SECBUFFER_ATTRMASK
	BufferReadOnly             BufferType = 0x80000000 // SECBUFFER_READONLY
	BufferReadOnlyWithChecksum BufferType = 0x10000000 // SECBUFFER_READONLY_WITH_CHECKSUM
	BufferReserved             BufferType = 0x60000000 // SECBUFFER_RESERVED
)

// SECPKG_CRED_* credential use, for AcquireCredentialsHandle.
const (
	CredInbound             CredentialUse = 0x00000001 // SECPKG_CRED_INBOUND
	CredOutbound            CredentialUse = 0x00000002 // SECPKG_CRED_OUTBOUND
	CredBoth                CredentialUse = 0x00000003 // SECPKG_CRED_BOTH
	CredDefault             CredentialUse = 0x00000004 // SECPKG_CRED_DEFAULT
	CredReserved            CredentialUse = 0xF0000000 // SECPKG_CRED_RESERVED
	CredAutologonRestricted CredentialUse = 0x00000010 // SECPKG_CRED_AUTOLOGON_RESTRICTED
	CredProcessPolicyOnly   CredentialUse = 0x00000020 // SECPKG_CRED_PROCESS_POLICY_ONLY
)

// Target data representation (SECURITY_*_DREP).
const (
	NativeDataRep  DataRep = 0x10 // SECURITY_NATIVE_DREP
	NetworkDataRep DataRep = 0x00 // SECURITY_NETWORK_DREP
)

// Quality-of-protection values for EncryptMessage.
const (
	QOPWrapNoEncrypt uint32 = 0x80000001 // SECQOP_WRAP_NO_ENCRYPT (also KERB_WRAP_NO_ENCRYPT): integrity only
	QOPWrapOOBData   uint32 = 0x40000000 // SECQOP_WRAP_OOB_DATA
)

// SECPKG_ATTR_* ids for QueryContextAttributes.
const (
	AttrSizes                      Attribute = 0x00000000 // SECPKG_ATTR_SIZES
	AttrNames                      Attribute = 0x00000001 // SECPKG_ATTR_NAMES
	AttrLifespan                   Attribute = 0x00000002 // SECPKG_ATTR_LIFESPAN
	AttrDCEInfo                    Attribute = 0x00000003 // SECPKG_ATTR_DCE_INFO
	AttrStreamSizes                Attribute = 0x00000004 // SECPKG_ATTR_STREAM_SIZES
	AttrKeyInfo                    Attribute = 0x00000005 // SECPKG_ATTR_KEY_INFO
	AttrAuthority                  Attribute = 0x00000006 // SECPKG_ATTR_AUTHORITY
	AttrProtoInfo                  Attribute = 0x00000007 // SECPKG_ATTR_PROTO_INFO
	AttrPasswordExpiry             Attribute = 0x00000008 // SECPKG_ATTR_PASSWORD_EXPIRY
	AttrSessionKey                 Attribute = 0x00000009 // SECPKG_ATTR_SESSION_KEY
	AttrPackageInfo                Attribute = 0x0000000A // SECPKG_ATTR_PACKAGE_INFO
	AttrUserFlags                  Attribute = 0x0000000B // SECPKG_ATTR_USER_FLAGS
	AttrNegotiationInfo            Attribute = 0x0000000C // SECPKG_ATTR_NEGOTIATION_INFO
	AttrNativeNames                Attribute = 0x0000000D // SECPKG_ATTR_NATIVE_NAMES
	AttrFlags                      Attribute = 0x0000000E // SECPKG_ATTR_FLAGS
	AttrUseValidated               Attribute = 0x0000000F // SECPKG_ATTR_USE_VALIDATED
	AttrCredentialName             Attribute = 0x00000010 // SECPKG_ATTR_CREDENTIAL_NAME
	AttrTargetInformation          Attribute = 0x00000011 // SECPKG_ATTR_TARGET_INFORMATION
	AttrAccessToken                Attribute = 0x00000012 // SECPKG_ATTR_ACCESS_TOKEN
	AttrTarget                     Attribute = 0x00000013 // SECPKG_ATTR_TARGET
	AttrAuthenticationID           Attribute = 0x00000014 // SECPKG_ATTR_AUTHENTICATION_ID
	AttrLogoffTime                 Attribute = 0x00000015 // SECPKG_ATTR_LOGOFF_TIME
	AttrNegoKeys                   Attribute = 0x00000016 // SECPKG_ATTR_NEGO_KEYS
	AttrPromptingNeeded            Attribute = 0x00000018 // SECPKG_ATTR_PROMPTING_NEEDED
	AttrUniqueBindings             Attribute = 0x00000019 // SECPKG_ATTR_UNIQUE_BINDINGS
	AttrEndpointBindings           Attribute = 0x0000001A // SECPKG_ATTR_ENDPOINT_BINDINGS
	AttrClientSpecifiedTarget      Attribute = 0x0000001B // SECPKG_ATTR_CLIENT_SPECIFIED_TARGET
	AttrLastClientTokenStatus      Attribute = 0x0000001E // SECPKG_ATTR_LAST_CLIENT_TOKEN_STATUS
	AttrNegoPkgInfo                Attribute = 0x0000001F // SECPKG_ATTR_NEGO_PKG_INFO
	AttrNegoStatus                 Attribute = 0x00000020 // SECPKG_ATTR_NEGO_STATUS
	AttrContextDeleted             Attribute = 0x00000021 // SECPKG_ATTR_CONTEXT_DELETED
	AttrDTLSMTU                    Attribute = 0x00000022 // SECPKG_ATTR_DTLS_MTU
	AttrApplicationProtocol        Attribute = 0x00000023 // SECPKG_ATTR_APPLICATION_PROTOCOL
	AttrNegotiatedTLSExtensions    Attribute = 0x00000024 // SECPKG_ATTR_NEGOTIATED_TLS_EXTENSIONS
	AttrIsLoopback                 Attribute = 0x00000025 // SECPKG_ATTR_IS_LOOPBACK
	AttrSubjectSecurityAttributes  Attribute = 0x00000080 // SECPKG_ATTR_SUBJECT_SECURITY_ATTRIBUTES
	AttrIssuerList                 Attribute = 0x00000050 // SECPKG_ATTR_ISSUER_LIST
	AttrRemoteCred                 Attribute = 0x00000051 // SECPKG_ATTR_REMOTE_CRED
	AttrLocalCred                  Attribute = 0x00000052 // SECPKG_ATTR_LOCAL_CRED
	AttrRemoteCertContext          Attribute = 0x00000053 // SECPKG_ATTR_REMOTE_CERT_CONTEXT
	AttrLocalCertContext           Attribute = 0x00000054 // SECPKG_ATTR_LOCAL_CERT_CONTEXT
	AttrRootStore                  Attribute = 0x00000055 // SECPKG_ATTR_ROOT_STORE
	AttrSupportedAlgs              Attribute = 0x00000056 // SECPKG_ATTR_SUPPORTED_ALGS
	AttrCipherStrengths            Attribute = 0x00000057 // SECPKG_ATTR_CIPHER_STRENGTHS
	AttrSupportedProtocols         Attribute = 0x00000058 // SECPKG_ATTR_SUPPORTED_PROTOCOLS
	AttrIssuerListEx               Attribute = 0x00000059 // SECPKG_ATTR_ISSUER_LIST_EX
	AttrConnectionInfo             Attribute = 0x0000005A // SECPKG_ATTR_CONNECTION_INFO
	AttrEAPKeyBlock                Attribute = 0x0000005B // SECPKG_ATTR_EAP_KEY_BLOCK
	AttrMappedCredAttr             Attribute = 0x0000005C // SECPKG_ATTR_MAPPED_CRED_ATTR
	AttrSessionInfo                Attribute = 0x0000005D // SECPKG_ATTR_SESSION_INFO
	AttrAppData                    Attribute = 0x0000005E // SECPKG_ATTR_APP_DATA
	AttrRemoteCertificates         Attribute = 0x0000005F // SECPKG_ATTR_REMOTE_CERTIFICATES
	AttrClientCertPolicy           Attribute = 0x00000060 // SECPKG_ATTR_CLIENT_CERT_POLICY
	AttrCCPolicyResult             Attribute = 0x00000061 // SECPKG_ATTR_CC_POLICY_RESULT
	AttrUseNCrypt                  Attribute = 0x00000062 // SECPKG_ATTR_USE_NCRYPT
	AttrLocalCertInfo              Attribute = 0x00000063 // SECPKG_ATTR_LOCAL_CERT_INFO
	AttrCipherInfo                 Attribute = 0x00000064 // SECPKG_ATTR_CIPHER_INFO
	AttrEAPPRFInfo                 Attribute = 0x00000065 // SECPKG_ATTR_EAP_PRF_INFO
	AttrSupportedSignatures        Attribute = 0x00000066 // SECPKG_ATTR_SUPPORTED_SIGNATURES
	AttrRemoteCertChain            Attribute = 0x00000067 // SECPKG_ATTR_REMOTE_CERT_CHAIN
	AttrUIInfo                     Attribute = 0x00000068 // SECPKG_ATTR_UI_INFO
	AttrEarlyStart                 Attribute = 0x00000069 // SECPKG_ATTR_EARLY_START
	AttrKeyingMaterialInfo         Attribute = 0x0000006A // SECPKG_ATTR_KEYING_MATERIAL_INFO
	AttrKeyingMaterial             Attribute = 0x0000006B // SECPKG_ATTR_KEYING_MATERIAL
	AttrSRTPParameters             Attribute = 0x0000006C // SECPKG_ATTR_SRTP_PARAMETERS
	AttrTokenBinding               Attribute = 0x0000006D // SECPKG_ATTR_TOKEN_BINDING
	AttrConnectionInfoEx           Attribute = 0x0000006E // SECPKG_ATTR_CONNECTION_INFO_EX
	AttrKeyingMaterialTokenBinding Attribute = 0x0000006F // SECPKG_ATTR_KEYING_MATERIAL_TOKEN_BINDING
	AttrKeyingMaterialInproc       Attribute = 0x00000070 // SECPKG_ATTR_KEYING_MATERIAL_INPROC
)

// SECPKG_CRED_ATTR_* ids for QueryCredentialsAttributes.
const (
	CredAttrNames            CredentialAttribute = 0x00000001 // SECPKG_CRED_ATTR_NAMES
	CredAttrSSIProvider      CredentialAttribute = 0x00000002 // SECPKG_CRED_ATTR_SSI_PROVIDER
	CredAttrKDCProxySettings CredentialAttribute = 0x00000003 // SECPKG_CRED_ATTR_KDC_PROXY_SETTINGS
	CredAttrCert             CredentialAttribute = 0x00000004 // SECPKG_CRED_ATTR_CERT
	CredAttrPACBypass        CredentialAttribute = 0x00000005 // SECPKG_CRED_ATTR_PAC_BYPASS
	CredAttrTicketLogon      CredentialAttribute = 0x000004B0 // SECPKG_CRED_ATTR_TICKET_LOGON
)

// SECPKG_NEGOTIATION_* states reported in NegotiationInfo.
const (
	NegotiationComplete     NegotiationState = 0x00000000 // SECPKG_NEGOTIATION_COMPLETE
	NegotiationOptimistic   NegotiationState = 0x00000001 // SECPKG_NEGOTIATION_OPTIMISTIC
	NegotiationInProgress   NegotiationState = 0x00000002 // SECPKG_NEGOTIATION_IN_PROGRESS
	NegotiationDirect       NegotiationState = 0x00000003 // SECPKG_NEGOTIATION_DIRECT
	NegotiationTryMulticred NegotiationState = 0x00000004 // SECPKG_NEGOTIATION_TRY_MULTICRED
)

// SECPKG_FLAG_* capability bits of PackageInfo.Capabilities.
const (
	CapIntegrity                  Capabilities = 0x00000001 // SECPKG_FLAG_INTEGRITY
	CapPrivacy                    Capabilities = 0x00000002 // SECPKG_FLAG_PRIVACY
	CapTokenOnly                  Capabilities = 0x00000004 // SECPKG_FLAG_TOKEN_ONLY
	CapDatagram                   Capabilities = 0x00000008 // SECPKG_FLAG_DATAGRAM
	CapConnection                 Capabilities = 0x00000010 // SECPKG_FLAG_CONNECTION
	CapMultiRequired              Capabilities = 0x00000020 // SECPKG_FLAG_MULTI_REQUIRED
	CapClientOnly                 Capabilities = 0x00000040 // SECPKG_FLAG_CLIENT_ONLY
	CapExtendedError              Capabilities = 0x00000080 // SECPKG_FLAG_EXTENDED_ERROR
	CapImpersonation              Capabilities = 0x00000100 // SECPKG_FLAG_IMPERSONATION
	CapAcceptWin32Name            Capabilities = 0x00000200 // SECPKG_FLAG_ACCEPT_WIN32_NAME
	CapStream                     Capabilities = 0x00000400 // SECPKG_FLAG_STREAM
	CapNegotiable                 Capabilities = 0x00000800 // SECPKG_FLAG_NEGOTIABLE
	CapGSSCompatible              Capabilities = 0x00001000 // SECPKG_FLAG_GSS_COMPATIBLE
	CapLogon                      Capabilities = 0x00002000 // SECPKG_FLAG_LOGON
	CapASCIIBuffers               Capabilities = 0x00004000 // SECPKG_FLAG_ASCII_BUFFERS
	CapFragment                   Capabilities = 0x00008000 // SECPKG_FLAG_FRAGMENT
	CapMutualAuth                 Capabilities = 0x00010000 // SECPKG_FLAG_MUTUAL_AUTH
	CapDelegation                 Capabilities = 0x00020000 // SECPKG_FLAG_DELEGATION
	CapReadOnlyWithChecksum       Capabilities = 0x00040000 // SECPKG_FLAG_READONLY_WITH_CHECKSUM
	CapRestrictedTokens           Capabilities = 0x00080000 // SECPKG_FLAG_RESTRICTED_TOKENS
	CapNegoExtender               Capabilities = 0x00100000 // SECPKG_FLAG_NEGO_EXTENDER
	CapNegotiable2                Capabilities = 0x00200000 // SECPKG_FLAG_NEGOTIABLE2
	CapAppContainerPassthrough    Capabilities = 0x00400000 // SECPKG_FLAG_APPCONTAINER_PASSTHROUGH
	CapAppContainerChecks         Capabilities = 0x00800000 // SECPKG_FLAG_APPCONTAINER_CHECKS
	CapCredentialIsolationEnabled Capabilities = 0x01000000 // SECPKG_FLAG_CREDENTIAL_ISOLATION_ENABLED
	CapApplyLoopback              Capabilities = 0x02000000 // SECPKG_FLAG_APPLY_LOOPBACK
)
