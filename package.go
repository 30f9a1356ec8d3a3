package sspi

import (
	"context"
	"time"
)

// PackageInfo is SecPkgInfo: what EnumerateSecurityPackages and QuerySecurityPackageInfo
// report about a security package.
type PackageInfo struct {
	Capabilities Capabilities // fCapabilities: SECPKG_FLAG_* bits
	Version      uint16       // wVersion
	RPCID        uint16       // wRPCID: RPC_C_AUTHN_* id, or RPCIDNone
	MaxToken     int          // cbMaxToken: the largest token the package produces
	Name         string       // Name: "NTLM", "Negotiate", "Kerberos", ...
	Comment      string       // Comment: a human-readable description
}

// Package is what a security package implements to be found through the registry. It is
// the provider side of the API: applications never call it directly.
//
// A package's optional abilities are further interfaces on its credential and context
// values (Signer, Sealer, Completer, ...), found by type assertion, as x/crypto/ssh does
// with AlgorithmSigner.
type Package interface {
	// Info returns the package's SecPkgInfo. It must not change after Register.
	Info() PackageInfo
	// AcquireCredentials builds the package's side of a credentials handle. It returns an
	// error carrying ErrNoCredentials, ErrUnknownCredentials or ErrNotOwner when it cannot.
	AcquireCredentials(req *CredentialsRequest) (PackageCredentials, error)
}

// CredentialsRequest carries the arguments of AcquireCredentialsHandle to a package.
type CredentialsRequest struct {
	Principal string        // pszPrincipal; "" for the default principal
	Use       CredentialUse // CredInbound, CredOutbound or CredBoth
	LogonID   []byte        // pvLogonId (a LUID on Windows); packages here accept only nil
	// AuthData is pAuthData: nil for the default credentials taken from the environment,
	// *AuthIdentity for a user name and password, or a package-specific value
	// (an NT hash, a keytab, an account store, a TLS certificate).
	AuthData any
	GetKey   GetKeyFunc // pGetKeyFn; nil unless the package documents a use for it
	// Context carries cancellation and deadlines to packages that wait (a KDC round trip).
	Context context.Context
	// DeferLogon asks for the local part of the work only (reading configuration, files
	// and names, and refusing what cannot work), leaving exchanges with an authority, such
	// as Kerberos' AS exchange, to the first context that needs them. Negotiate sets it for
	// its mechanisms: until a context names its target it cannot know whether Kerberos will
	// be used at all, and a target named by IP address never uses it.
	DeferLogon bool
}

// GetKeyFunc is SEC_GET_KEY_FN: a callback through which a package may ask the caller for
// key material for principal, identified by keyVersion.
type GetKeyFunc func(principal string, keyVersion uint32) (key []byte, err error)

// AuthIdentity is SEC_WINNT_AUTH_IDENTITY: a user name, domain and password given to
// AcquireCredentialsHandle. The user may also be written "DOMAIN\user" or "user@domain"
// with Domain empty; packages split it.
type AuthIdentity struct {
	User     string
	Domain   string
	Password string
	// PackageList restricts Negotiate to these packages, comma-separated, with a leading
	// "!" to exclude one (the PackageList of SEC_WINNT_AUTH_IDENTITY_EX).
	PackageList string
}

// String returns the identity without its password.
func (a *AuthIdentity) String() string {
	if a.Domain == "" {
		return a.User
	}
	return a.Domain + `\` + a.User
}

// PackageCredentials is a package's side of a credentials handle. It must be safe for
// concurrent use: one credentials handle serves many contexts at once, as in SSPI.
type PackageCredentials interface {
	// NewContext starts the package's state for one security context, as initiator
	// (server false) or acceptor. It is called on the first InitializeSecurityContext or
	// AcceptSecurityContext of a context, and again for a re-authentication.
	NewContext(server bool) (PackageContext, error)
	// Expiry is when the credentials stop being usable; the zero time means never.
	Expiry() time.Time
}

// PackageContext is a package's state for one security context. The core calls it from
// one goroutine at a time.
type PackageContext interface {
	// Step runs one leg of the handshake: it reads p.In (the peer's token and any
	// channel-binding or PKG_PARAMS buffer), appends its own token to p.Out and reports
	// the granted attributes in p.Attr. It returns OK when the context is established,
	// ContinueNeeded (or CompleteNeeded, CompleteAndContinue) otherwise, or an error that
	// carries a SEC_E_* status.
	Step(p *StepParams) (Status, error)
}

// StepParams carries one InitializeSecurityContext or AcceptSecurityContext call to a
// package and its results back. The core reuses one per context, so a step costs no
// allocation of its own.
type StepParams struct {
	Server  bool       // true for AcceptSecurityContext
	Target  string     // pszTargetName (client only): the SPN or host of the peer
	Req     ContextReq // fContextReq: ISCReq* or ASCReq* bits
	DataRep DataRep    // TargetDataRep
	In      []Buffer   // the caller's input buffers (may be nil on the first client call)
	Output  []Buffer   // the caller's output buffers, for packages that write more than a token
	Context context.Context

	// Out is where the package appends its output token: the caller's buffer with length
	// zero, or nil when the package allocates. The core checks the result against the
	// caller's room.
	Out []byte

	// Results, set by the package.
	Attr    ContextAttr // what was granted
	Expiry  time.Time   // when the context expires; zero for never
	Extra   int         // bytes at the end of the input token that were not consumed
	Missing int         // with ErrIncompleteMessage: bytes still needed
}

// InputToken returns the data of the first BufferToken in p.In, or nil.
func (p *StepParams) InputToken() []byte {
	if b := FindBuffer(p.In, BufferToken); b != nil {
		return b.Data
	}
	return nil
}

// The optional interfaces of a PackageContext. The core answers ErrUnsupportedFunction
// for an ability a package lacks.
type (
	// Signer is implemented by contexts that provide integrity (MakeSignature and
	// VerifySignature). msg holds BufferData buffers (signed) and one BufferToken buffer
	// (the signature). seq is MessageSeqNo, used only by datagram contexts.
	Signer interface {
		MakeSignature(qop uint32, msg []Buffer, seq uint32) error
		VerifySignature(msg []Buffer, seq uint32) (qop uint32, err error)
	}
	// Sealer is implemented by contexts that provide confidentiality (EncryptMessage and
	// DecryptMessage). Data buffers are transformed in place.
	Sealer interface {
		EncryptMessage(qop uint32, msg []Buffer, seq uint32) error
		DecryptMessage(msg []Buffer, seq uint32) (qop uint32, err error)
	}
	// StatusDecrypter is implemented by contexts whose DecryptMessage can succeed with a
	// status other than OK (Schannel: Renegotiate, ContextExpired). The core prefers it
	// to Sealer.DecryptMessage, which stays the method of packages whose only success is OK.
	StatusDecrypter interface {
		DecryptMessageStatus(msg []Buffer, seq uint32) (qop uint32, status Status, err error)
	}
	// HandshakeContinuer is implemented by contexts whose handshake goes on once
	// established: Schannel takes post-handshake messages (a TLS 1.3 NewSessionTicket or
	// KeyUpdate) and produces its close_notify through further steps. The core gives such
	// a context every InitializeSecurityContext or AcceptSecurityContext call instead of
	// starting a re-authentication or refusing the call.
	HandshakeContinuer interface {
		ContinuesHandshake()
	}
	// CredentialsChanger is implemented by contexts that can go on with other credentials
	// of the same package, given to InitializeSecurityContext with the existing context
	// (Schannel after SEC_I_INCOMPLETE_CREDENTIALS). Without it the core refuses another
	// handle with ErrWrongCredentialHandle.
	CredentialsChanger interface {
		ChangeCredentials(cred PackageCredentials) error
	}
	// ControlTokenApplier is implemented by contexts that take ApplyControlToken.
	ControlTokenApplier interface {
		ApplyControlToken(in []Buffer) error
	}
	// Completer is implemented by packages that return CompleteNeeded or
	// CompleteAndContinue (CompleteAuthToken).
	Completer interface {
		CompleteAuthToken(token []Buffer) error
	}
	// SizeReporter reports SecPkgContext_Sizes (and, for stream packages, StreamSizes).
	SizeReporter interface {
		Sizes() Sizes
	}
	// StreamSizeReporter reports SecPkgContext_StreamSizes.
	StreamSizeReporter interface {
		StreamSizes() StreamSizes
	}
	// SessionKeyer reports the session key of an established context.
	SessionKeyer interface {
		SessionKey() ([]byte, error)
	}
	// IdentityReporter reports who is at each end of an established context.
	IdentityReporter interface {
		Identity() Identity
	}
	// NegotiationReporter is implemented by negotiating packages (Negotiate): the package
	// actually chosen and the state of the choice.
	NegotiationReporter interface {
		Negotiated() (PackageInfo, NegotiationState)
	}
	// AttributeQuerier answers QueryContextAttributes for ids the core does not know.
	// out is the caller's pointer; the package fills it or returns ErrUnsupportedFunction.
	AttributeQuerier interface {
		QueryAttribute(attr Attribute, out any) error
	}
	// CredentialsQuerier answers QueryCredentialsAttributes for a PackageCredentials.
	CredentialsQuerier interface {
		QueryCredentialsAttribute(attr CredentialAttribute, out any) error
	}
	// MechListMICer is implemented by mechanisms that Negotiate may protect its mechanism
	// list with: SPNEGO's mechListMIC (RFC 4178 §5) is a MIC over the DER MechTypeList made
	// with the chosen mechanism's keys, under the rules MS-SPNG adds for that mechanism
	// (NTLM resets its RC4 state afterwards). Negotiate calls it on the mechanism's
	// established context; applications never do.
	MechListMICer interface {
		MakeMechListMIC(mechList []byte) ([]byte, error)
		VerifyMechListMIC(mechList, mic []byte) error
	}
	// MechListMICRequirer is implemented by mechanisms whose own messages can make SPNEGO's
	// mechListMIC mandatory: MS-SPNG 3.3.5.1 requires it when an NTLM AUTHENTICATE carries
	// a MIC. Negotiate asks once the mechanism has finished.
	MechListMICRequirer interface {
		RequiresMechListMIC() bool
	}
	// Closer is implemented by package values that hold secrets or resources to release
	// on DeleteSecurityContext or FreeCredentialsHandle. Close must zero key material
	// where Go allows.
	Closer interface {
		Close() error
	}
)

// Sizes is SecPkgContext_Sizes.
type Sizes struct {
	MaxToken        int // cbMaxToken
	MaxSignature    int // cbMaxSignature: the size of a MakeSignature token
	BlockSize       int // cbBlockSize: data given to EncryptMessage should be a multiple
	SecurityTrailer int // cbSecurityTrailer: the size of an EncryptMessage token
}

// StreamSizes is SecPkgContext_StreamSizes.
type StreamSizes struct {
	Header         int // cbHeader
	Trailer        int // cbTrailer
	MaximumMessage int // cbMaximumMessage
	Buffers        int // cBuffers
	BlockSize      int // cbBlockSize
}

// Identity names the two ends of an established context: SECPKG_ATTR_NAMES gives the
// client's name as seen by the server (Principal), SECPKG_ATTR_NATIVE_NAMES both.
type Identity struct {
	Package   string // the package that authenticated (for Negotiate, the one chosen)
	User      string // the client's user name, as authenticated
	Domain    string // the client's domain or Kerberos realm
	Principal string // the client's full name: DOMAIN\user or user@REALM
	// Workstation is the client's machine name where the package carries one (NTLM).
	Workstation string
	// Server is the acceptor's name where the package proves it: on a Kerberos client
	// with mutual authentication, the SPN; on a Kerberos server, the service principal
	// (service/host@REALM) the client's ticket was for, which names the key that accepted
	// it. Empty otherwise.
	Server string
	// Authorization says whether the identity carries the client's SIDs and groups and
	// where from: AuthzNone for packages that authenticate names only (NTLM against an
	// account store), AuthzNoPAC for a Kerberos ticket without a PAC, AuthzPAC for a
	// verified PAC, AuthzDomainLogon for an NTLM logon a domain controller checked.
	Authorization AuthorizationSource
	// UserSID is the client's security identifier (S-1-5-21-...-1104) when known, else "".
	UserSID string
	// Token is the client's access token (its names, SIDs and groups: see GroupSIDs) when
	// the package has authorization data for it (a Kerberos PAC, even one without logon
	// information, or a domain controller's validation information); nil otherwise. It is shared: do not modify it.
	Token *AccessToken
}
