package negotiate

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// The acceptor (RFC 4178 3.2 and 5, with MS-SPNG 3.2.5).

// ntlmSignature starts every NTLMSSP message.
var ntlmSignature = []byte("NTLMSSP\x00")

func (c *context) serverStep(p *sspi.StepParams) (sspi.Status, error) {
	c.failTok = nil
	first := c.phase == phaseStart || c.phase == phaseHintsSent
	st, err := c.serverLegs(p)
	if err != nil {
		c.reject(p, first)
	}
	return st, err
}

// reject answers a mechanism's failure that came with a token for the client (Kerberos's
// KRB-ERROR: "Clock skew too great") with a NegTokenResp reject carrying it, as MIT's
// SPNEGO acceptor does, when the caller asked for ASC_REQ_EXTENDED_ERROR. The client's
// mechanism reads it for the cause. A raw (un-negotiated) mechanism wrote its own.
func (c *context) reject(p *sspi.StepParams, first bool) {
	if c.failTok == nil || c.direct || !p.Req.Has(sspi.ASCReqExtendedError) {
		return
	}
	out := negTokenResp{negState: reject, responseToken: c.failTok, hasResponseToken: true}
	if first && len(c.chosenOID) > 0 {
		out.supportedMech = c.chosenOID // the first reply names the mechanism (RFC 4178 4.2.2)
	}
	p.Out = appendNegTokenResp(p.Out[:0], &out)
	c.failTok = nil
}

func (c *context) serverLegs(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	switch c.phase {
	case phaseStart, phaseHintsSent:
		if len(in) == 0 {
			if c.phase == phaseStart {
				return c.sendHints(p)
			}
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client's first token is empty")
		}
		return c.serverFirst(p, in)
	}
	return c.serverReply(p, in)
}

// sendHints answers an AcceptSecurityContext without input, as HTTP and SMB servers
// call it to speak first, with Microsoft's NegTokenInit2: the mechanisms this server
// accepts and the fixed hint name Windows sends (MS-SPNG 2.2.1, 3.2.5.2).
func (c *context) sendHints(p *sspi.StepParams) (sspi.Status, error) {
	oids := c.oidArr[:0]
	for _, mc := range c.creds.mechs {
		oids = append(oids, mc.mech.oids...)
	}
	t := negTokenInit{
		hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, oids),
		hasHints: true, hasHintName: true, hintName: []byte(hintNameValue),
	}
	p.Out = appendInitialToken(p.Out, &t)
	c.phase = phaseHintsSent
	return sspi.ContinueNeeded, nil
}

// serverFirst takes the client's first token: SPNEGO, or a raw NTLMSSP or Kerberos token
// recognised by its magic.
func (c *context) serverFirst(p *sspi.StepParams, in []byte) (sspi.Status, error) {
	switch {
	case bytes.HasPrefix(in, ntlmSignature):
		return c.startDirect(p, mechNTLM)
	case in[0] == der.TagApplication:
		mech, ok := der.PeekGSSMech(in)
		switch {
		case !ok:
			return 0, malformed("initial token", der.ErrNotGSSToken)
		case mech.Equal(oidSPNEGO):
		case mechByOID(mech) == mechKerberos || mech.Equal(oidKRB5U2U):
			return c.startDirect(p, mechKerberos)
		default:
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the initial token is for mechanism %s, which Negotiate does not accept", oidName(mech))
		}
	case in[0] == der.Context(1):
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: a NegTokenResp arrived where the client's NegTokenInit was expected")
	default:
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the first token is neither SPNEGO, NTLMSSP nor Kerberos (it starts %x)", in[:min(len(in), 8)])
	}

	t := &c.init
	t.mechTypes = c.oidArr[:0]
	defer c.forgetInput()
	if err := parseInitialToken(in, t); err != nil {
		return 0, err
	}
	if !t.hasMechTypes || len(t.mechTypes) == 0 {
		// An empty list once crashed a Go server (gofiber/contrib#2145); here it is refused.
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client's NegTokenInit lists no mechanisms")
	}
	c.mechList = append(c.mechListArr[:0], t.mechTypesDER...)

	// RFC 4178 3.2 step 2: the first mechanism of the client's list that this server can
	// serve. The client's order wins, as with Windows, MIT and Heimdal.
	idx := -1
	for i, o := range t.mechTypes {
		if m := mechByOID(o); m != nil {
			if mc := c.creds.find(m); mc != nil {
				c.cur, idx = mc, i
				break
			}
		}
	}
	if idx < 0 {
		return 0, c.noCommonMech(t.mechTypes)
	}
	// Echo the OID the client used: Windows lists the MS Kerberos OID and expects it back.
	c.chosenOID = append(c.chosenArr[:0], t.mechTypes[idx]...)
	c.firstChoice = mechByOID(t.mechTypes[0]) == c.cur.mech
	c.mustProtect = !c.firstChoice || p.Req.Has(sspi.ASCReqUseDCEStyle)
	c.phase = phaseWaiting

	out := negTokenResp{negState: acceptIncomplete, supportedMech: c.chosenOID}
	var mechOut []byte
	switch {
	case !c.firstChoice:
		// The optimistic token, if any, is for a mechanism we do not serve: ignore it and
		// ask for MICs, which will prove the client really preferred this one (RFC 4178 5).
		out.negState = requestMIC
	case t.hasMechToken:
		o, err := c.stepMech(p, t.mechToken, true)
		if err != nil {
			return 0, err
		}
		mechOut = o
	}
	return c.serverLeg(p, &out, mechOut, t.hasMIC, t.mechListMIC)
}

// noCommonMech is the failure when the client offers nothing this server can serve:
// SEC_E_SECPKG_NOT_FOUND, the status GSS_S_BAD_MECH maps to (RFC 4178 says BAD_MECH).
func (c *context) noCommonMech(offered []der.OID) error {
	var b strings.Builder
	fmt.Fprintf(&b, "negotiate: no mechanism in common: the client offers %s; this server accepts %s", oidNames(offered), c.creds.names())
	var told []*mechanism
	for _, o := range offered {
		if m := mechByOID(o); m != nil && !slices.Contains(told, m) {
			told = append(told, m)
			if why := c.creds.whyMissing(m); why != nil {
				fmt.Fprintf(&b, " (%v)", why)
			}
		}
	}
	return sspi.Errorf(sspi.ErrSecPkgNotFound, "%s", b.String())
}

// startDirect serves a raw mechanism token: the mechanism runs with the caller's own
// parameters and tokens, no SPNEGO in either direction, as Windows' Negotiate does for
// browsers (raw NTLMSSP) and for clients that send a bare Kerberos AP-REQ.
func (c *context) startDirect(p *sspi.StepParams, m *mechanism) (sspi.Status, error) {
	if c.creds.cfg.RejectRawTokens {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client sent a raw %s token and this server accepts only SPNEGO (Config.RejectRawTokens)", m.name)
	}
	mc := c.creds.find(m)
	if mc == nil {
		if why := c.creds.whyMissing(m); why != nil {
			return 0, &sspi.Error{Status: sspi.ErrSecPkgNotFound, Err: fmt.Errorf("negotiate: the client sent a raw %s token but %s is not available on this server: %w", m.name, m.name, why)}
		}
		return 0, sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: the client sent a raw %s token but this server does not serve %s (it accepts %s)", m.name, m.name, c.creds.names())
	}
	sub, err := mc.cred.NewContext(true)
	if err != nil {
		return 0, wrapMechErr(m.name, err)
	}
	c.cur, c.sub, c.direct = mc, sub, true
	return c.stepDirect(p)
}

// serverReply takes a NegTokenResp from the client.
func (c *context) serverReply(p *sspi.StepParams, in []byte) (sspi.Status, error) {
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client's token is empty")
	}
	r := &c.resp
	defer c.forgetInput()
	if err := parseNegTokenResp(in, r); err != nil {
		return 0, err
	}
	switch {
	case r.negState == reject:
		return 0, sspi.Errorf(sspi.ErrLogonDenied, "negotiate: the client gave up the %s negotiation (negState reject)", c.cur.mech.name)
	case r.supportedMech != nil:
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client's NegTokenResp names a mechanism (%s); only the server's first reply may", oidName(r.supportedMech))
	case !r.hasResponseToken && !r.hasMIC:
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client's NegTokenResp carries neither a token nor a mechListMIC")
	}
	var mechOut []byte
	switch {
	case !c.mechDone:
		if !r.hasResponseToken {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client sent no %s token and %s has not finished", c.cur.mech.name, c.cur.mech.name)
		}
		o, err := c.stepMech(p, r.responseToken, true)
		if err != nil {
			return 0, err
		}
		mechOut = o
	case len(r.responseToken) > 0:
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client sent a %s token after %s had finished", c.cur.mech.name, c.cur.mech.name)
	}
	out := negTokenResp{negState: acceptIncomplete}
	return c.serverLeg(p, &out, mechOut, r.hasMIC, r.mechListMIC)
}

// serverLeg finishes one acceptor leg: the mechListMIC rules once the mechanism is
// complete, then the reply. out carries negState (and supportedMech on the first leg).
func (c *context) serverLeg(p *sspi.StepParams, out *negTokenResp, mechOut []byte, hasMIC bool, mic []byte) (sspi.Status, error) {
	sentBefore := c.micSent
	done := false
	if c.mechDone {
		if r, ok := c.sub.(sspi.MechListMICRequirer); ok && !c.mustProtect && r.RequiresMechListMIC() {
			c.mustProtect, c.micByMech = true, true
		}
		if hasMIC {
			if err := c.verifyMIC(mic); err != nil {
				return 0, err
			}
		} else if c.mustProtect && len(mechOut) == 0 {
			// The client sent the mechanism's last token, so its MIC had to come with it
			// (MIT refuses the same); leaving it out is how a downgrade would look.
			return 0, c.missingClientMIC()
		}
		// RFC 4178 5: a MIC is sent when the choice needs protecting, and always in
		// answer to one. Otherwise it is left out, as Windows and MIT leave it out when
		// the client's first choice was taken and the client sent none.
		if (c.mustProtect || c.micRecvd) && !c.micSent {
			if !c.canMIC() {
				return 0, sspi.Errorf(sspi.ErrDowngradeDetected, "negotiate: %s cannot make the mechListMIC the negotiation needs (no integrity), so the choice cannot be protected", c.cur.mech.name)
			}
			m, err := c.makeMIC()
			if err != nil {
				return 0, err
			}
			out.mechListMIC, out.hasMIC = m, true
		}
		done = !(c.mustProtect || c.micRecvd) || (c.micSent && c.micRecvd)
	} else if hasMIC {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the client sent a mechListMIC before %s finished", c.cur.mech.name)
	}
	if len(mechOut) > 0 {
		out.responseToken, out.hasResponseToken = mechOut, true
	}
	if done {
		out.negState = acceptCompleted
		c.finish(p)
		if sentBefore && !out.hasResponseToken {
			// The client sent its MIC after checking ours, and finished there: it expects
			// no further token (MIT's initiator and ours both stop at that point).
			return sspi.OK, nil
		}
		p.Out = appendNegTokenResp(p.Out, out)
		return sspi.OK, nil
	}
	p.Out = appendNegTokenResp(p.Out, out)
	p.Attr = c.attr
	return sspi.ContinueNeeded, nil
}

func (c *context) missingClientMIC() error {
	why := "the client asked for DCE style"
	switch {
	case c.micByMech:
		why = c.cur.mech.name + " requires it (MS-SPNG 3.3.5.1: its messages carried or called for a MIC)"
	case !c.firstChoice:
		why = c.cur.mech.name + " is not the client's first choice"
	}
	return sspi.Errorf(sspi.ErrDowngradeDetected, "negotiate: the client's last %s token came without a mechListMIC, which is required because %s; the negotiation may have been tampered with", c.cur.mech.name, why)
}
