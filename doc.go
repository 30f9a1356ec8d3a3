// Package sspi is a portable, pure-Go implementation of the Security Support Provider
// Interface: Microsoft's API for authenticating a client to a server and protecting the
// messages between them, with pluggable security packages. This module has five: NTLM
// (package ntlm), Kerberos (package kerberos), Negotiate (package negotiate, SPNEGO),
// Schannel (package schannel, TLS) and CredSSP (package credssp, Negotiate inside TLS).
// It runs anywhere Go does and speaks the packages' real wire formats, so a Go program can
// authenticate to Windows and Kerberos services, and Windows and Kerberos clients can
// authenticate to a Go server.
//
// # Two layers
//
// The SSPI-shaped layer is for people who know SSPI or port code from it: every SSPI
// function has a Go twin of the same name and meaning, over the same buffer lists:
//
//	SSPI                              Go
//	AcquireCredentialsHandle          AcquireCredentialsHandle
//	FreeCredentialsHandle             FreeCredentialsHandle
//	QueryCredentialsAttributes        QueryCredentialsAttributes
//	InitializeSecurityContext         InitializeSecurityContext
//	AcceptSecurityContext             AcceptSecurityContext
//	CompleteAuthToken                 CompleteAuthToken
//	DeleteSecurityContext             DeleteSecurityContext
//	QueryContextAttributes            QueryContextAttributes
//	MakeSignature / VerifySignature   MakeSignature / VerifySignature
//	EncryptMessage / DecryptMessage   EncryptMessage / DecryptMessage
//	ApplyControlToken                 ApplyControlToken
//	EnumerateSecurityPackages         EnumerateSecurityPackages
//	QuerySecurityPackageInfo          QuerySecurityPackageInfo
//	SspiCreateAsyncContext            NewAsyncContext
//	SspiSetAsyncNotifyCallback        (*AsyncContext).SetNotifyCallback
//	SspiAsyncContextRequiresNotify    (*AsyncContext).RequiresNotify
//	SspiGetAsyncCallStatus            (*AsyncContext).CallStatus
//	SspiReinitAsyncContext            (*AsyncContext).Reinit
//	SspiFreeAsyncContext              (*AsyncContext).Free
//	Sspi*Async                        AcquireCredentialsHandleAsync, InitializeSecurityContextAsync,
//	                                  AcceptSecurityContextAsync, DeleteSecurityContextAsync,
//	                                  FreeCredentialsHandleAsync
//
// The Go-shaped layer, ClientContext and ServerContext, is for everyone else: Step with
// the peer's token until Established, then Wrap/Unwrap, Sign/Verify, Identity and
// SessionKey. It is built on the SSPI-shaped layer, never beside it.
//
// # Statuses and errors
//
// Every SECURITY_STATUS is a Status constant with its real value; String gives the SDK name.
// Success codes (OK, ContinueNeeded, CompleteNeeded, CompleteAndContinue,
// IncompleteCredentials, AsyncCallPending, ...) are returned as values. Failures are
// returned as errors that carry their status and cause: errors.Is(err, sspi.ErrLogonDenied)
// works through any wrapping, StatusOf(err) gives the code a Windows caller would see, and
// err.Error() reads "SEC_E_LOGON_DENIED: ntlm: NTLMv2 response does not match for EXAMPLE\alice".
//
// # Buffers
//
// A []Buffer is a SecBufferDesc. Output tokens are either caller-sized (Data's length is
// the room; ErrBufferTooSmall when a token does not fit) or allocated by the package with
// ISCReqAllocateMemory / ASCReqAllocateMemory. Input not consumed is reported by turning a
// BufferEmpty input buffer into BufferExtra; a short message fails with
// ErrIncompleteMessage and a BufferMissing buffer whose Size is the count still needed.
// Channel-binding (BufferChannelBindings) and BufferPkgParams buffers reach the package
// untouched. A channel-binding buffer holds a SEC_CHANNEL_BINDINGS structure: build it
// with ChannelBindings.Marshal, for TLS from TLSServerEndPoint or
// TLSServerEndPointFromState; packages read it with ParseChannelBindings and send its Hash.
//
// # Handles
//
// A Context serves one call at a time; a concurrent second call is refused with
// ErrHandleInUse (status ErrInvalidHandle) instead of racing. A Credentials handle serves any
// number of contexts at once. Delete and Free are idempotent, and a deleted or freed handle
// gives ErrInvalidHandle. A failed handshake step leaves a context that refuses further
// steps until it is deleted; a failed first step returns no context at all.
//
// # Asynchronous calls
//
// The async calls queue work on a Scheduler (a fixed number of workers behind a bounded
// queue) and return only whether it was queued; a full queue is refused at once with
// ErrInsufficientMemory. The result arrives through CallStatus and the notify callback,
// which runs exactly once per call. SetContext and Wait add a context.Context's
// cancellation and deadlines; ServerContext.StepContext wraps it all for servers.
//
// # Security packages
//
// Packages live in their own Go packages and register themselves on import, like
// database/sql drivers:
//
//	import _ "github.com/gosspi/sspi/ntlm"
//
// A package implements Package, PackageCredentials and PackageContext, plus the optional
// interfaces (Signer, Sealer, Completer, SizeReporter, SessionKeyer, IdentityReporter,
// NegotiationReporter, AttributeQuerier, Closer) for what it can do; the core answers
// ErrUnsupportedFunction for the rest.
//
// # Differences from Windows
//
// There are no logon sessions: a non-nil logon id gives ErrNotOwner, and default
// credentials come from the environment the way the rest of the ecosystem finds them
// (NTLM_USER_FILE, NTLMUSER, KRB5CCNAME, KRB5_KTNAME, KRB5_CONFIG). DataRep is passed through
// and ignored, as Windows' connection packages do. The async functions, which Windows
// offers only to kernel-mode TLS, work with every package here.
package sspi
