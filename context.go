package sspi

import (
	"context"
	"fmt"
	"time"
)

// Context is a security context handle (CtxtHandle): one side of one authenticated
// conversation. InitializeSecurityContext or AcceptSecurityContext creates it on its first
// call; every later leg, the message functions and QueryContextAttributes use it, and
// DeleteSecurityContext ends it.
//
// A Context serves one call at a time, as in SSPI. A second call made while one is running
// (from another goroutine, or through the async layer) is refused with an error carrying
// ErrInvalidHandle and ErrHandleInUse instead of racing.
type Context struct {
	h      handleState
	cred   *Credentials
	pkg    *registeredPackage
	impl   PackageContext
	server bool

	p           StepParams // reused by every step: no allocation per call
	attr        ContextAttr
	start       time.Time
	expiry      time.Time
	established bool
	failed      bool
	// pendingComplete is set while the package waits for CompleteAuthToken.
	pendingComplete bool
}

// InitializeSecurityContext is SSPI's InitializeSecurityContext: the client's side of
// the token loop.
//
// On the first call ctx is nil; a new *Context is returned, to be passed to every later
// call. target is the peer's name (an SPN such as "HTTP/web.example.com", or a host name).
// req holds ISCReq* bits. in holds the peer's last token (a BufferToken) and any
// BufferChannelBindings or BufferPkgParams buffers; out must hold a BufferToken buffer,
// whose Data is either the room the caller provides or, with ISCReqAllocateMemory, filled
// by the package.
//
// It returns OK when the context is established, ContinueNeeded when the token in out must
// be sent and a reply awaited, CompleteNeeded or CompleteAndContinue when CompleteAuthToken
// must be called first. Failures carry: ErrInvalidHandle, ErrInvalidToken,
// ErrLogonDenied, ErrNoCredentials, ErrTargetUnknown, ErrBufferTooSmall (the output did
// not fit the caller's room; the context cannot continue), ErrIncompleteMessage (with a
// BufferMissing count set in in), ErrMutualAuthFailed, ErrUnsupportedFunction,
// ErrInternalError, or others the package documents. Unconsumed input is reported in a
// BufferEmpty buffer of in, turned into BufferExtra.
//
// Calling it again on an established context with no input token starts a
// re-authentication over the same handle (ISCRetReauthentication is then reported).
// The attributes granted are returned by ctx.Attributes and the expiry by ctx.Expiry.
func InitializeSecurityContext(cred *Credentials, ctx *Context, target string, req ContextReq, dataRep DataRep, in, out []Buffer) (*Context, Status, error) {
	return step(context.Background(), cred, ctx, false, target, req, dataRep, in, out)
}

// AcceptSecurityContext is SSPI's AcceptSecurityContext: the server's side of the
// token loop. On the first call ctx is nil and the new *Context is returned. req holds
// ASCReq* bits; in and out are as for InitializeSecurityContext.
//
// It returns OK, ContinueNeeded, CompleteNeeded or CompleteAndContinue, or an error
// carrying ErrInvalidToken, ErrLogonDenied, ErrBadBindings, ErrTimeSkew, ErrMessageAltered
// (a bad MIC), ErrBufferTooSmall, ErrIncompleteMessage, ErrInvalidHandle, or others the
// package documents.
func AcceptSecurityContext(cred *Credentials, ctx *Context, req ContextReq, dataRep DataRep, in, out []Buffer) (*Context, Status, error) {
	return step(context.Background(), cred, ctx, true, "", req, dataRep, in, out)
}

// newContext makes the handle for a first call. The package state is made by the step.
func newContext(cred *Credentials, server bool) (*Context, error) {
	if err := cred.retain(); err != nil {
		return nil, err
	}
	need, dir := CredOutbound, "outbound"
	if server {
		need, dir = CredInbound, "inbound"
	}
	if cred.use&need == 0 {
		cred.release()
		return nil, Errorf(ErrNoCredentials, "sspi: %s credentials were not acquired for %s use", cred.pkg.info.Name, dir)
	}
	c := &Context{cred: cred, pkg: cred.pkg, server: server, start: time.Now()}
	c.h.v.Store(handleBusy)
	return c, nil
}

func step(gctx context.Context, cred *Credentials, ctx *Context, server bool, target string, req ContextReq, dataRep DataRep, in, out []Buffer) (*Context, Status, error) {
	first := ctx == nil
	if first {
		var err error
		if ctx, err = newContext(cred, server); err != nil {
			return nil, StatusOf(err), err
		}
	} else if err := ctx.h.enter(errContextFreed); err != nil {
		return ctx, StatusOf(err), err
	}
	status, err := ctx.run(gctx, cred, server, target, req, dataRep, in, out)
	if err != nil && first {
		// SSPI hands back no context when the first call fails.
		ctx.h.leave()
		DeleteSecurityContext(ctx)
		return nil, status, err
	}
	ctx.h.leave()
	return ctx, status, err
}

// run is one leg, with the handle held: the call is checked, the package context is
// (re)started when this call begins a handshake, the package steps, and its output
// reaches the caller's buffers.
func (c *Context) run(gctx context.Context, cred *Credentials, server bool, target string, req ContextReq, dataRep DataRep, in, out []Buffer) (Status, error) {
	if st, err := c.checkCall(cred, server); err != nil {
		return st, err
	}
	reauth, err := c.startHandshake(server, in)
	if err != nil {
		return StatusOf(err), err
	}
	o := newOutputToken(out, req)
	p := &c.p
	*p = StepParams{Server: server, Target: target, Req: req, DataRep: dataRep, In: in, Output: out, Context: gctx, Attr: c.attr}
	if o.buf != nil && !o.alloc {
		p.Out = o.buf.Data[:0:o.room]
	}
	status, err := c.impl.Step(p)
	if err != nil {
		return c.stepFailed(err, server, req, in, &o)
	}
	return c.stepDone(status, server, reauth, in, &o)
}

// checkCall refuses a call on a context that cannot take it: one that failed, one of the
// other side, or credentials the package cannot move to.
func (c *Context) checkCall(cred *Credentials, server bool) (Status, error) {
	if c.failed {
		return ErrInvalidHandle, errContextFailed
	}
	if c.server != server {
		return ErrInvalidHandle, Errorf(ErrInvalidHandle, "sspi: a %s context was passed to %s", sideName(c.server), stepName(server))
	}
	if cred != nil && cred != c.cred {
		if err := c.changeCredentials(cred); err != nil {
			return StatusOf(err), err
		}
	}
	return OK, nil
}

// startHandshake makes the package context when this call begins a handshake: the first
// call, or a re-authentication over an established handle. It reports whether it was a
// re-authentication, and refuses a call on an established context that starts none.
//
// A package that keeps its handshake going once established (Schannel's post-handshake
// messages and shutdown) gets every step; for the others, a client re-authenticates by
// calling again with no input once established, and a server does when a new first
// token arrives on an established context (HTTP does this).
func (c *Context) startHandshake(server bool, in []Buffer) (reauth bool, err error) {
	_, continues := c.impl.(HandshakeContinuer)
	if c.impl == nil || (c.established && !continues && (server == (len(tokenOf(in)) > 0))) {
		impl, err := c.cred.impl.NewContext(server)
		if err != nil {
			return false, WithStatus(ErrInternalError, err)
		}
		if c.impl != nil {
			reauth = true
			if cl, ok := c.impl.(Closer); ok {
				cl.Close()
			}
		}
		c.impl, c.established, c.pendingComplete = impl, false, false
	}
	if c.established && !continues {
		return false, Errorf(ErrInvalidHandle, "sspi: %s context is already established", c.pkg.info.Name)
	}
	return reauth, nil
}

// stepFailed reports a failed step. SEC_E_INCOMPLETE_MESSAGE leaves the context usable
// and says in a BufferMissing how much more input is needed; any other failure ends it.
func (c *Context) stepFailed(err error, server bool, req ContextReq, in []Buffer, o *outputToken) (Status, error) {
	if StatusOf(err) == ErrIncompleteMessage {
		markInput(in, BufferMissing, nil, c.p.Missing)
	} else {
		c.failed = true
	}
	// With ISC_REQ_EXTENDED_ERROR (ASC_REQ_EXTENDED_ERROR) a package may fail with a
	// token that tells the peer why (CredSSP's errorCode, a TLS alert): it is handed
	// out with the error, as Windows does. Without the flag it is dropped.
	extErr := ISCReqExtendedError
	if server {
		extErr = ASCReqExtendedError
	}
	// A token that cannot be placed (no output buffer, or one too small) is dropped: the
	// package's own status and cause are what the caller needs, not the buffer's.
	if len(c.p.Out) > 0 && req.Has(extErr) {
		o.place(c, c.p.Out)
	}
	if st := StatusOf(err); st.Failed() {
		return st, err
	}
	return ErrInternalError, WithStatus(ErrInternalError, err)
}

// stepDone hands a successful step's results to the caller: the token, unconsumed
// input as a BufferExtra, the attributes granted, the expiry, and what the status
// means for the context.
func (c *Context) stepDone(status Status, server, reauth bool, in []Buffer, o *outputToken) (Status, error) {
	p := &c.p
	tok := p.Out
	if st, err := o.place(c, tok); err != nil {
		return st, err
	}
	if p.Extra > 0 {
		if t := tokenOf(in); p.Extra <= len(t) {
			markInput(in, BufferExtra, t[len(t)-p.Extra:], p.Extra)
		}
	}
	attr := p.Attr
	if o.alloc && len(tok) > 0 {
		attr |= ContextAttr(ISCRetAllocatedMemory) // same bit as ASCRetAllocatedMemory
	}
	if reauth && !server {
		attr |= ISCRetReauthentication
	}
	c.attr = attr
	if !p.Expiry.IsZero() {
		c.expiry = p.Expiry
	}
	switch status {
	case OK:
		c.established = true
	case CompleteNeeded:
		c.pendingComplete = true
		c.established = true
	case CompleteAndContinue:
		c.pendingComplete = true
	case ContinueNeeded, IncompleteCredentials:
	default:
		c.failed = true
		return ErrInternalError, Errorf(ErrInternalError, "sspi: package %s returned %v from a handshake step", c.pkg.info.Name, status)
	}
	return status, nil
}

// outputToken is where a step's token goes: the caller's BufferToken buffer, into the
// room the caller gave it, or (with allocate-memory) set to the package's own slice.
type outputToken struct {
	buf   *Buffer
	alloc bool
	room  int // the caller's room, without allocate-memory
}

func newOutputToken(out []Buffer, req ContextReq) outputToken {
	o := outputToken{buf: FindBuffer(out, BufferToken), alloc: req.Has(ISCReqAllocateMemory)} // same bit as ASCReqAllocateMemory
	if o.buf != nil && !o.alloc {
		o.room = len(o.buf.Data)
	}
	return o
}

// place puts a package's output token in the caller's token buffer: the package's own
// slice with allocate-memory, a copy into the caller's room otherwise. A token with no
// buffer to go to, or too big for the room, ends the context.
func (o *outputToken) place(c *Context, tok []byte) (Status, error) {
	switch {
	case len(tok) == 0:
		if o.buf != nil {
			o.buf.Data = o.buf.Data[:0]
		}
	case o.buf == nil:
		c.failed = true
		return ErrInvalidParameter, &Error{Status: ErrInvalidParameter, Err: errNoOutputBuffer}
	case o.alloc:
		o.buf.Data = tok
	case len(tok) > o.room:
		c.failed = true
		return ErrBufferTooSmall, Errorf(ErrBufferTooSmall, "sspi: %s produced a %d-byte token but the output buffer holds %d; size it from QuerySecurityPackageInfo's MaxToken or use ISCReqAllocateMemory", c.pkg.info.Name, len(tok), o.room)
	default:
		o.buf.Data = o.buf.Data[:copy(o.buf.Data, tok)]
	}
	return OK, nil
}

// changeCredentials moves the context to another credentials handle of the same package,
// as Schannel's client does when a server asks for a certificate the first credentials
// lack (SEC_I_INCOMPLETE_CREDENTIALS): the caller acquires credentials with one and calls
// InitializeSecurityContext again with them and the same context.
func (c *Context) changeCredentials(cred *Credentials) error {
	cc, ok := c.impl.(CredentialsChanger)
	if !ok || cred.pkg.pkg != c.pkg.pkg {
		return Errorf(ErrWrongCredentialHandle, "sspi: the credentials handle is not the one this context was started with (%s cannot change credentials during a handshake)", c.pkg.info.Name)
	}
	if err := cred.retain(); err != nil {
		return err
	}
	if err := cc.ChangeCredentials(cred.impl); err != nil {
		cred.release()
		return WithStatus(ErrWrongCredentialHandle, err)
	}
	old := c.cred
	c.cred = cred
	old.release()
	return nil
}

func sideName(server bool) string {
	if server {
		return "server (AcceptSecurityContext)"
	}
	return "client (InitializeSecurityContext)"
}

func stepName(server bool) string {
	if server {
		return "AcceptSecurityContext"
	}
	return "InitializeSecurityContext"
}

func tokenOf(bufs []Buffer) []byte {
	if b := FindBuffer(bufs, BufferToken); b != nil {
		return b.Data
	}
	return nil
}

// markInput turns the first BufferEmpty of in into a BufferExtra or BufferMissing report,
// as SSPI does with the second input buffer.
func markInput(in []Buffer, t BufferType, data []byte, n int) {
	for i := range in {
		if in[i].Type == BufferEmpty {
			in[i] = Buffer{Type: t, Data: data, Size: n}
			return
		}
	}
}

// CompleteAuthToken is SSPI's CompleteAuthToken: it finishes a token after a step
// returned CompleteNeeded or CompleteAndContinue. token is the output list of that step.
// It returns an error carrying ErrInvalidHandle, ErrInvalidToken, or
// ErrUnsupportedFunction for a package that never asks for it.
func CompleteAuthToken(ctx *Context, token []Buffer) error {
	if ctx == nil {
		return errNilContext
	}
	if err := ctx.h.enter(errContextFreed); err != nil {
		return err
	}
	defer ctx.h.leave()
	cp, ok := ctx.impl.(Completer)
	if !ok {
		return errUnsupported(ctx.pkg.info.Name, "CompleteAuthToken")
	}
	if err := cp.CompleteAuthToken(token); err != nil {
		return WithStatus(ErrInvalidToken, err)
	}
	ctx.pendingComplete = false
	return nil
}

// DeleteSecurityContext is SSPI's DeleteSecurityContext. It releases the context's
// state and zeroes its keys where the package can. It is idempotent: deleting a deleted or
// nil context returns nil. Deleting a context while another call on it runs is refused
// with ErrHandleInUse.
func DeleteSecurityContext(ctx *Context) error {
	if ctx == nil {
		return nil
	}
	first, err := ctx.h.free()
	if !first {
		return err
	}
	return ctx.destroy()
}

// destroy releases a context whose handle is already marked freed.
func (ctx *Context) destroy() error {
	var cerr error
	if cl, ok := ctx.impl.(Closer); ok {
		cerr = cl.Close()
	}
	ctx.impl = nil
	ctx.p = StepParams{}
	if rerr := ctx.cred.release(); cerr == nil {
		cerr = rerr
	}
	return cerr
}

// Established reports whether the handshake has completed (OK was returned).
func (c *Context) Established() bool { return c.established && !c.pendingComplete }

// Attributes returns the ISCRet*/ASCRet* bits granted by the last step: what the context
// really provides.
func (c *Context) Attributes() ContextAttr { return c.attr }

// Expiry returns when the context expires; zero means the package set no limit.
func (c *Context) Expiry() time.Time { return c.expiry }

// Server reports whether the context is an acceptor's.
func (c *Context) Server() bool { return c.server }

// Package returns the name of the package the context was made with (for Negotiate,
// "Negotiate"; NegotiationInfo names the package chosen).
func (c *Context) Package() string { return c.pkg.info.Name }

// withImpl runs f with the handle held, for the message and attribute functions.
func (c *Context) withImpl(f func(PackageContext) error) error {
	if c == nil {
		return errNilContext
	}
	if err := c.h.enter(errContextFreed); err != nil {
		return err
	}
	defer c.h.leave()
	if c.impl == nil {
		return Errorf(ErrInvalidHandle, "sspi: security context has no state yet")
	}
	return f(c.impl)
}

// Names is SecPkgContext_Names (AttrNames): the client's name as the context knows it.
type Names struct{ UserName string }

// NativeNames is SecPkgContext_NativeNames (AttrNativeNames).
type NativeNames struct {
	ClientName string
	ServerName string
}

// Lifespan is SecPkgContext_Lifespan (AttrLifespan).
type Lifespan struct{ Start, Expiry time.Time }

// SessionKey is SecPkgContext_SessionKey (AttrSessionKey). The slice is a copy the
// caller owns and should zero when done.
type SessionKey struct{ Key []byte }

// NegotiationInfo is SecPkgContext_NegotiationInfo (AttrNegotiationInfo): the package
// actually in use and how far the choice has come.
type NegotiationInfo struct {
	PackageInfo PackageInfo
	State       NegotiationState
}

// QueryContextAttributes is SSPI's QueryContextAttributes. out points to the type
// the id names:
//
//	AttrSizes            *Sizes
//	AttrStreamSizes      *StreamSizes
//	AttrNames            *Names
//	AttrNativeNames      *NativeNames
//	AttrLifespan         *Lifespan
//	AttrSessionKey       *SessionKey
//	AttrNegotiationInfo  *NegotiationInfo
//	AttrPackageInfo      *PackageInfo
//	AttrFlags            *ContextAttr
//	AttrAccessToken      *AccessToken (a copy; see AccessToken.Source)
//	AttrLogoffTime       *time.Time (the zero time for never or unknown)
//
// Other ids go to the package. It returns an error carrying ErrInvalidParameter for the
// wrong pointer type, ErrUnsupportedFunction when the package does not report the
// attribute, ErrInvalidHandle for a deleted context, or ErrNoContext when the attribute
// needs an established context.
func QueryContextAttributes(ctx *Context, attr Attribute, out any) error {
	if ctx == nil {
		return errNilContext
	}
	if err := ctx.h.enter(errContextFreed); err != nil {
		return err
	}
	defer ctx.h.leave()
	// What the core keeps is there from the first call on, package state or not.
	switch attr {
	case AttrPackageInfo:
		return queryValue(attr, out, ctx.pkg.info)
	case AttrFlags:
		return queryValue(attr, out, ctx.attr)
	case AttrLifespan:
		return queryValue(attr, out, Lifespan{Start: ctx.start, Expiry: ctx.expiry})
	case AttrNegotiationInfo:
		return ctx.queryNegotiationInfo(out)
	}
	if ctx.impl == nil {
		return Errorf(ErrInvalidHandle, "sspi: security context has no state yet")
	}
	switch attr {
	case AttrSizes:
		return ctx.querySizes(out)
	case AttrStreamSizes:
		return ctx.queryStreamSizes(out)
	case AttrNames, AttrNativeNames:
		return ctx.queryNames(attr, out)
	case AttrSessionKey:
		return ctx.querySessionKey(out)
	case AttrAccessToken, AttrLogoffTime:
		return ctx.queryAccessToken(attr, out)
	}
	if aq, ok := ctx.impl.(AttributeQuerier); ok {
		return WithStatus(ErrUnsupportedFunction, aq.QueryAttribute(attr, out))
	}
	return errUnsupported(ctx.pkg.info.Name, fmt.Sprintf("context attribute %d", attr))
}

// queryValue stores v in out, which must be a non-nil *T.
func queryValue[T any](attr Attribute, out any, v T) error {
	o, err := outAs[T](attr, out)
	if err == nil {
		*o = v
	}
	return err
}

// queryNegotiationInfo answers AttrNegotiationInfo: the package's own report where it
// negotiates (Negotiate), else the context's package, complete once established.
func (ctx *Context) queryNegotiationInfo(out any) error {
	o, err := outAs[NegotiationInfo](AttrNegotiationInfo, out)
	if err != nil {
		return err
	}
	o.PackageInfo, o.State = ctx.negotiation()
	return nil
}

// negotiation is AttrNegotiationInfo's answer; the caller holds the handle.
func (ctx *Context) negotiation() (PackageInfo, NegotiationState) {
	if nr, ok := ctx.impl.(NegotiationReporter); ok {
		return nr.Negotiated()
	}
	if !ctx.established {
		return ctx.pkg.info, NegotiationInProgress
	}
	return ctx.pkg.info, NegotiationComplete
}

// negotiated is QueryContextAttributes(AttrNegotiationInfo) without an answer passed
// through an interface, which would cost the Go layer an allocation for every session.
func (ctx *Context) negotiated() (PackageInfo, NegotiationState, error) {
	if err := ctx.h.enter(errContextFreed); err != nil {
		return PackageInfo{}, 0, err
	}
	defer ctx.h.leave()
	info, state := ctx.negotiation()
	return info, state, nil
}

func (ctx *Context) querySizes(out any) error {
	o, err := outAs[Sizes](AttrSizes, out)
	if err != nil {
		return err
	}
	sr, ok := ctx.impl.(SizeReporter)
	if !ok {
		return errUnsupported(ctx.pkg.info.Name, "SECPKG_ATTR_SIZES")
	}
	*o = sr.Sizes()
	return nil
}

func (ctx *Context) queryStreamSizes(out any) error {
	o, err := outAs[StreamSizes](AttrStreamSizes, out)
	if err != nil {
		return err
	}
	sr, ok := ctx.impl.(StreamSizeReporter)
	if !ok {
		return errUnsupported(ctx.pkg.info.Name, "SECPKG_ATTR_STREAM_SIZES")
	}
	*o = sr.StreamSizes()
	return nil
}

// queryNames answers AttrNames and AttrNativeNames from the package's identity, which
// is only settled once the context is established.
func (ctx *Context) queryNames(attr Attribute, out any) error {
	name := ctx.pkg.info.Name
	ir, ok := ctx.impl.(IdentityReporter)
	if !ok {
		return errUnsupported(name, "SECPKG_ATTR_NAMES")
	}
	if !ctx.established {
		return Errorf(ErrNoContext, "sspi: names are known only once the %s context is established", name)
	}
	id := ir.Identity()
	if attr == AttrNames {
		o, err := outAs[Names](attr, out)
		if err == nil {
			o.UserName = id.Principal
		}
		return err
	}
	return queryValue(attr, out, NativeNames{ClientName: id.Principal, ServerName: id.Server})
}

func (ctx *Context) querySessionKey(out any) error {
	name := ctx.pkg.info.Name
	o, err := outAs[SessionKey](AttrSessionKey, out)
	if err != nil {
		return err
	}
	sk, ok := ctx.impl.(SessionKeyer)
	if !ok {
		return errUnsupported(name, "SECPKG_ATTR_SESSION_KEY")
	}
	if !ctx.established {
		return Errorf(ErrNoContext, "sspi: the session key exists only once the %s context is established", name)
	}
	k, err := sk.SessionKey()
	if err != nil {
		return WithStatus(ErrNoContext, err)
	}
	o.Key = k
	return nil
}

func outAs[T any](attr Attribute, out any) (*T, error) {
	o, ok := out.(*T)
	if !ok || o == nil {
		var zero T
		return nil, Errorf(ErrInvalidParameter, "sspi: context attribute %d needs a non-nil %T, got %T", attr, &zero, out)
	}
	return o, nil
}

// MakeSignature is SSPI's MakeSignature: it signs the BufferData buffers of msg and
// writes the signature into its BufferToken buffer (sized from Sizes.MaxSignature). seq is
// MessageSeqNo, used only by datagram contexts; connection contexts number messages
// themselves. Errors carry ErrInvalidHandle, ErrNoContext, ErrInvalidToken (no token
// buffer, or too small), ErrUnsupportedFunction, or ErrQOPNotSupported.
func MakeSignature(ctx *Context, qop uint32, msg []Buffer, seq uint32) error {
	return ctx.withImpl(func(impl PackageContext) error {
		s, ok := impl.(Signer)
		if !ok {
			return errUnsupported(ctx.pkg.info.Name, "MakeSignature")
		}
		if !ctx.Established() {
			return errNotEstablished(ctx)
		}
		return WithStatus(ErrInternalError, s.MakeSignature(qop, msg, seq))
	})
}

// VerifySignature is SSPI's VerifySignature: it checks the signature in msg's
// BufferToken against its BufferData buffers and returns the QOP it was made with. Errors
// carry ErrMessageAltered (bad signature), ErrOutOfSequence (a replayed, lost or reordered
// message), ErrInvalidToken, ErrInvalidHandle or ErrUnsupportedFunction.
func VerifySignature(ctx *Context, msg []Buffer, seq uint32) (qop uint32, err error) {
	err = ctx.withImpl(func(impl PackageContext) error {
		s, ok := impl.(Signer)
		if !ok {
			return errUnsupported(ctx.pkg.info.Name, "VerifySignature")
		}
		if !ctx.Established() {
			return errNotEstablished(ctx)
		}
		var e error
		qop, e = s.VerifySignature(msg, seq)
		return WithStatus(ErrMessageAltered, e)
	})
	return qop, err
}

// EncryptMessage is SSPI's EncryptMessage: it seals msg's BufferData buffers in place
// and writes the security trailer into its BufferToken buffer (sized from
// Sizes.SecurityTrailer); stream packages use BufferStreamHeader and BufferStreamTrailer
// instead. qop QOPWrapNoEncrypt asks for integrity only where the package allows it.
func EncryptMessage(ctx *Context, qop uint32, msg []Buffer, seq uint32) error {
	return ctx.withImpl(func(impl PackageContext) error {
		s, ok := impl.(Sealer)
		if !ok {
			return errUnsupported(ctx.pkg.info.Name, "EncryptMessage")
		}
		if !ctx.Established() {
			return errNotEstablished(ctx)
		}
		return WithStatus(ErrEncryptFailure, s.EncryptMessage(qop, msg, seq))
	})
}

// DecryptMessage is SSPI's DecryptMessage: it unseals msg's BufferData buffers in
// place after checking the trailer in its BufferToken buffer, and returns the QOP used.
//
// status is OK, or for stream packages (Schannel) another success code: Renegotiate when
// the peer sent a handshake message, to be passed to InitializeSecurityContext or
// AcceptSecurityContext (it is in a BufferExtra buffer), and ContextExpired when the peer
// closed the connection (close_notify). Errors carry ErrMessageAltered, ErrOutOfSequence,
// ErrIncompleteMessage (stream packages, with a BufferMissing count), ErrDecryptFailure,
// ErrInvalidToken or ErrInvalidHandle; status is then the error's.
func DecryptMessage(ctx *Context, msg []Buffer, seq uint32) (qop uint32, status Status, err error) {
	err = ctx.withImpl(func(impl PackageContext) error {
		sd, isSD := impl.(StatusDecrypter)
		s, isS := impl.(Sealer)
		if !isSD && !isS {
			return errUnsupported(ctx.pkg.info.Name, "DecryptMessage")
		}
		if !ctx.Established() {
			return errNotEstablished(ctx)
		}
		var e error
		if isSD {
			qop, status, e = sd.DecryptMessageStatus(msg, seq)
		} else {
			qop, e = s.DecryptMessage(msg, seq)
		}
		return WithStatus(ErrDecryptFailure, e)
	})
	if err != nil {
		return qop, StatusOf(err), err
	}
	return qop, status, nil
}

// ApplyControlToken is SSPI's ApplyControlToken: it hands the package a control token
// in a BufferToken buffer of in. Schannel takes SCHANNEL_SHUTDOWN (schannel.Shutdown), after
// which the next InitializeSecurityContext or AcceptSecurityContext returns the
// close_notify alert to send. Errors carry ErrInvalidHandle, ErrInvalidToken or
// ErrUnsupportedFunction.
func ApplyControlToken(ctx *Context, in []Buffer) error {
	return ctx.withImpl(func(impl PackageContext) error {
		a, ok := impl.(ControlTokenApplier)
		if !ok {
			return errUnsupported(ctx.pkg.info.Name, "ApplyControlToken")
		}
		return WithStatus(ErrInvalidToken, a.ApplyControlToken(in))
	})
}

func errNotEstablished(c *Context) error {
	return Errorf(ErrNoContext, "sspi: the %s context is not established yet; finish the handshake first", c.pkg.info.Name)
}
