package negotiate

import (
	"fmt"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// phase is where a context is in the handshake.
type phase uint8

const (
	phaseStart       phase = iota // nothing sent or received yet
	phaseHintsSent                // server: sent NegTokenInit2, awaiting the client's NegTokenInit
	phaseNegotiating              // client: sent NegTokenInit, awaiting the first NegTokenResp
	phaseWaiting                  // mechanism chosen, tokens flowing
	phaseDone                     // established
)

// context is one Negotiate security context, initiator or acceptor. It drives the chosen
// mechanism at the provider level (its PackageContext), wraps and unwraps its tokens, and
// keeps the mechListMIC bookkeeping of RFC 4178 section 5.
type context struct {
	creds  *credentials
	server bool
	phase  phase

	// The mechanism in use, once there is one.
	cur      *mechCred
	sub      sspi.PackageContext
	mechDone bool // the mechanism's own handshake is complete
	attr     sspi.ContextAttr
	expiry   time.Time
	// direct is set when a server got a raw NTLMSSP or Kerberos token: the mechanism then
	// runs unwrapped in both directions, as if it had been chosen by name.
	direct bool

	// offered is the initiator's list (client only), most preferred first.
	offered []*mechCred
	// startFailures says why mechanisms the client wanted to start optimistically were
	// dropped, for the error when nothing else works.
	startFailures []error
	// mechList is the DER MechTypeList as the initiator sent it: what mechListMIC covers.
	mechList []byte
	// chosenOID is the OID the server echoes in supportedMech (server only).
	chosenOID der.OID
	// failTok is the token the mechanism produced with its failure (a Kerberos KRB-ERROR,
	// asked for with ASC_REQ_EXTENDED_ERROR), valid until the next step; server only.
	failTok []byte

	// firstChoice: the mechanism in use is the initiator's first. mustProtect: the choice
	// must be proven by mechListMICs both ways (RFC 4178 5: not the first choice, or the
	// acceptor sent request-mic; MS-SPNG: DCE style). micSent/micRecvd track the exchange.
	firstChoice bool
	mustProtect bool
	micByMech   bool // mustProtect because the mechanism required it (MechListMICRequirer)
	micSent     bool
	micRecvd    bool

	// Scratch space reused by every step, so a handshake allocates little of its own:
	// small fixed arrays for what is short in practice (Windows offers at most five
	// mechanisms), and a pooled buffer for the mechanism's tokens.
	sp          sspi.StepParams
	inBufs      [4]sspi.Buffer
	scratch     *[]byte
	offeredArr  [4]*mechCred
	oidArr      [8]der.OID
	mechListArr [96]byte
	chosenArr   [16]byte
	init        negTokenInit
	resp        negTokenResp
}

// scratchPool holds the buffers mechanisms write their tokens into before Negotiate
// wraps them; a context holds one only while its handshake runs.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (c *context) releaseScratch() {
	if c.scratch != nil {
		b := (*c.scratch)[:0]
		if cap(b) <= 64<<10 {
			*c.scratch = b
			scratchPool.Put(c.scratch)
		}
		c.scratch = nil
	}
}

// Step runs one leg of the Negotiate handshake.
func (c *context) Step(p *sspi.StepParams) (sspi.Status, error) {
	if c.direct {
		return c.stepDirect(p)
	}
	if len(p.InputToken()) > maxTokenSize {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: a %d-byte token is larger than the %d bytes Negotiate accepts", len(p.InputToken()), maxTokenSize)
	}
	if c.phase == phaseDone {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the %s context is already established", c.cur.mech.name)
	}
	if c.server {
		return c.serverStep(p)
	}
	return c.clientStep(p)
}

func integrityReq(server bool) sspi.ContextReq {
	if server {
		return sspi.ASCReqIntegrity
	}
	return sspi.ISCReqIntegrity
}

func integrityRet(server bool) sspi.ContextAttr {
	if server {
		return sspi.ASCRetIntegrity
	}
	return sspi.ISCRetIntegrity
}

// stepMech runs one leg of the chosen mechanism with inner as its input token (none when
// hasIn is false) and returns its output token, which stays valid until the next call.
// Channel bindings and the other input buffers reach the mechanism unchanged.
//
// Integrity is always asked of the mechanism, as MIT and Windows do, because the
// mechListMIC that protects the negotiation needs it.
func (c *context) stepMech(p *sspi.StepParams, inner []byte, hasIn bool) ([]byte, error) {
	if c.sub == nil {
		sub, err := c.cur.cred.NewContext(c.server)
		if err != nil {
			return nil, c.mechErr(err)
		}
		c.sub = sub
	}
	bufs := c.inBufs[:0]
	if hasIn {
		bufs = append(bufs, sspi.Buffer{Type: sspi.BufferToken, Data: inner})
	}
	for _, b := range p.In {
		switch b.Type.Base() {
		case sspi.BufferToken, sspi.BufferEmpty, sspi.BufferExtra, sspi.BufferMissing:
		default:
			bufs = append(bufs, b)
		}
	}
	if c.scratch == nil {
		c.scratch = scratchPool.Get().(*[]byte)
	}
	c.sp = sspi.StepParams{
		Server: c.server, Target: p.Target, Req: p.Req | integrityReq(c.server), DataRep: p.DataRep,
		In: bufs, Context: p.Context, Out: (*c.scratch)[:0], Attr: c.attr,
	}
	st, err := c.sub.Step(&c.sp)
	out := c.sp.Out
	*c.scratch = out[:0]
	if err != nil {
		if c.server && len(out) > 0 {
			c.failTok = out
		}
		return nil, c.mechErr(err)
	}
	switch st {
	case sspi.OK:
		c.mechDone = true
	case sspi.ContinueNeeded:
	case sspi.CompleteNeeded, sspi.CompleteAndContinue:
		// The token must be final before SPNEGO wraps it, so complete it here.
		cp, ok := c.sub.(sspi.Completer)
		if !ok {
			return nil, sspi.Errorf(sspi.ErrInternalError, "negotiate: %s returned %v but cannot CompleteAuthToken", c.cur.mech.name, st)
		}
		if err := cp.CompleteAuthToken([]sspi.Buffer{{Type: sspi.BufferToken, Data: out}}); err != nil {
			return nil, c.mechErr(err)
		}
		c.mechDone = st == sspi.CompleteNeeded
	default:
		return nil, sspi.Errorf(sspi.ErrInternalError, "negotiate: %s returned %v from a handshake step", c.cur.mech.name, st)
	}
	c.attr = c.sp.Attr
	if !c.sp.Expiry.IsZero() {
		c.expiry = c.sp.Expiry
	}
	return out, nil
}

// mechErr is a mechanism's failure as Negotiate reports it: the mechanism's own status,
// and a message that says which mechanism failed.
func (c *context) mechErr(err error) error {
	return wrapMechErr(c.cur.mech.name, err)
}

func wrapMechErr(name string, err error) error {
	st := sspi.StatusOf(err)
	if !st.Failed() {
		st = sspi.ErrInternalError
	}
	cause := err
	if e, ok := err.(*sspi.Error); ok && e.Err != nil {
		cause = e.Err // the status goes on the outside once, not twice
	}
	return &sspi.Error{Status: st, Err: fmt.Errorf("negotiate: %w", &MechanismError{Mechanism: name, Err: cause})}
}

func (c *context) closeSub() {
	if cl, ok := c.sub.(sspi.Closer); ok {
		cl.Close()
	}
	c.sub, c.mechDone, c.attr = nil, false, 0
}

// stepDirect runs a raw (un-negotiated) mechanism with the caller's own parameters.
func (c *context) stepDirect(p *sspi.StepParams) (sspi.Status, error) {
	st, err := c.sub.Step(p)
	if err != nil {
		return 0, c.mechErr(err)
	}
	c.attr = p.Attr
	if !p.Expiry.IsZero() {
		c.expiry = p.Expiry
	}
	if st == sspi.OK || st == sspi.CompleteNeeded {
		c.mechDone = true
		c.phase = phaseDone
	}
	return st, nil
}

// canMIC reports whether the mechanism can make a mechListMIC: it knows how (the
// MechListMICer upgrade) and the context has integrity.
func (c *context) canMIC() bool {
	_, ok := c.sub.(sspi.MechListMICer)
	return ok && c.attr&integrityRet(c.server) != 0
}

func (c *context) makeMIC() ([]byte, error) {
	m, ok := c.sub.(sspi.MechListMICer)
	if !ok {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "negotiate: %s cannot make a mechListMIC", c.cur.mech.name)
	}
	mic, err := m.MakeMechListMIC(c.mechList)
	if err != nil {
		return nil, c.mechErr(err)
	}
	c.micSent = true
	return mic, nil
}

func (c *context) peerName() string {
	if c.server {
		return "client"
	}
	return "server"
}

// verifyMIC checks the peer's mechListMIC over the initiator's mechanism list.
func (c *context) verifyMIC(mic []byte) error {
	if c.micRecvd {
		return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the %s sent a second mechListMIC", c.peerName())
	}
	m, ok := c.sub.(sspi.MechListMICer)
	if !ok {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "negotiate: the %s sent a mechListMIC, which %s cannot verify", c.peerName(), c.cur.mech.name)
	}
	if err := m.VerifyMechListMIC(c.mechList, mic); err != nil {
		return &sspi.Error{Status: sspi.ErrMessageAltered, Err: fmt.Errorf(
			"negotiate: mechListMIC from the %s does not match (%s): the mechanism list was altered on the way, or the peer's keys differ: %w",
			c.peerName(), c.cur.mech.name, err)}
	}
	c.micRecvd = true
	return nil
}

// forgetInput drops the parsed tokens, whose slices alias the caller's buffers, so that a
// context does not keep them alive (or look at them) after the step.
func (c *context) forgetInput() {
	c.init = negTokenInit{}
	c.resp = negTokenResp{}
	clear(c.oidArr[:])
}

// finish marks the context established. The scratch buffer goes back to the pool:
// callers finish only after the last mechanism token has been copied out of it.
func (c *context) finish(p *sspi.StepParams) {
	c.phase = phaseDone
	c.releaseScratch()
	p.Attr = c.attr
	if !c.expiry.IsZero() {
		p.Expiry = c.expiry
	}
}

// The optional interfaces, forwarded to the chosen mechanism: after establishment a
// Negotiate context is its mechanism's context.

func (c *context) ready(what string) error {
	if c.sub == nil {
		return sspi.Errorf(sspi.ErrNoContext, "negotiate: no mechanism has been chosen yet, so there is no %s", what)
	}
	return nil
}

func (c *context) unsupported(what string) error {
	return sspi.Errorf(sspi.ErrUnsupportedFunction, "negotiate: %s does not support %s", c.cur.mech.name, what)
}

// MakeSignature forwards to the chosen mechanism.
func (c *context) MakeSignature(qop uint32, msg []sspi.Buffer, seq uint32) error {
	if err := c.ready("signing"); err != nil {
		return err
	}
	s, ok := c.sub.(sspi.Signer)
	if !ok {
		return c.unsupported("MakeSignature")
	}
	return s.MakeSignature(qop, msg, seq)
}

// VerifySignature forwards to the chosen mechanism.
func (c *context) VerifySignature(msg []sspi.Buffer, seq uint32) (uint32, error) {
	if err := c.ready("signing"); err != nil {
		return 0, err
	}
	s, ok := c.sub.(sspi.Signer)
	if !ok {
		return 0, c.unsupported("VerifySignature")
	}
	return s.VerifySignature(msg, seq)
}

// EncryptMessage forwards to the chosen mechanism.
func (c *context) EncryptMessage(qop uint32, msg []sspi.Buffer, seq uint32) error {
	if err := c.ready("sealing"); err != nil {
		return err
	}
	s, ok := c.sub.(sspi.Sealer)
	if !ok {
		return c.unsupported("EncryptMessage")
	}
	return s.EncryptMessage(qop, msg, seq)
}

// DecryptMessage forwards to the chosen mechanism.
func (c *context) DecryptMessage(msg []sspi.Buffer, seq uint32) (uint32, error) {
	if err := c.ready("sealing"); err != nil {
		return 0, err
	}
	s, ok := c.sub.(sspi.Sealer)
	if !ok {
		return 0, c.unsupported("DecryptMessage")
	}
	return s.DecryptMessage(msg, seq)
}

// Sizes forwards to the chosen mechanism; before there is one it reports Negotiate's
// MaxToken and nothing else.
func (c *context) Sizes() sspi.Sizes {
	if c.sub != nil {
		if s, ok := c.sub.(sspi.SizeReporter); ok {
			return s.Sizes()
		}
	}
	return sspi.Sizes{MaxToken: MaxToken}
}

// SessionKey forwards to the chosen mechanism.
func (c *context) SessionKey() ([]byte, error) {
	if err := c.ready("session key"); err != nil {
		return nil, err
	}
	s, ok := c.sub.(sspi.SessionKeyer)
	if !ok {
		return nil, c.unsupported("session keys")
	}
	return s.SessionKey()
}

// Identity forwards to the chosen mechanism and names it as the package.
func (c *context) Identity() sspi.Identity {
	if c.sub == nil {
		return sspi.Identity{}
	}
	ir, ok := c.sub.(sspi.IdentityReporter)
	if !ok {
		return sspi.Identity{Package: c.cur.mech.name}
	}
	id := ir.Identity()
	if id.Package == "" {
		id.Package = c.cur.mech.name
	}
	return id
}

// Negotiated reports the chosen mechanism (SECPKG_ATTR_NEGOTIATION_INFO): Optimistic while
// a client's first choice is unconfirmed, InProgress while tokens flow, Direct while a raw
// mechanism token is being served, Complete once established.
func (c *context) Negotiated() (sspi.PackageInfo, sspi.NegotiationState) {
	switch {
	case c.cur == nil:
		return negotiateInfo, sspi.NegotiationInProgress
	case c.phase == phaseDone:
		return c.cur.info, sspi.NegotiationComplete
	case c.direct:
		return c.cur.info, sspi.NegotiationDirect
	case c.phase == phaseNegotiating:
		return c.cur.info, sspi.NegotiationOptimistic
	}
	return c.cur.info, sspi.NegotiationInProgress
}

// QueryAttribute forwards attributes the core does not answer to the chosen mechanism.
func (c *context) QueryAttribute(attr sspi.Attribute, out any) error {
	if err := c.ready(fmt.Sprintf("context attribute %d", attr)); err != nil {
		return err
	}
	aq, ok := c.sub.(sspi.AttributeQuerier)
	if !ok {
		return c.unsupported(fmt.Sprintf("context attribute %d", attr))
	}
	return aq.QueryAttribute(attr, out)
}

// CompleteAuthToken forwards to a raw mechanism; a negotiated one is completed inside Step.
func (c *context) CompleteAuthToken(token []sspi.Buffer) error {
	if c.direct {
		if cp, ok := c.sub.(sspi.Completer); ok {
			return cp.CompleteAuthToken(token)
		}
	}
	return sspi.Errorf(sspi.ErrUnsupportedFunction, "negotiate: nothing to complete")
}

// Close releases the mechanism's context and forgets the handshake state.
func (c *context) Close() error {
	var err error
	if cl, ok := c.sub.(sspi.Closer); ok {
		err = cl.Close()
	}
	c.sub = nil
	c.releaseScratch()
	return err
}
