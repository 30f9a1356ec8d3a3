package negotiate

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
)

// The initiator (RFC 4178 3.2 and 5, with MS-SPNG 3.1.5).

func (c *context) clientStep(p *sspi.StepParams) (sspi.Status, error) {
	if c.phase == phaseStart {
		return c.clientFirst(p)
	}
	return c.clientReply(p)
}

// clientFirst sends the NegTokenInit: the mechanism list in preference order and the
// optimistic token of the first mechanism (RFC 4178 3.2 step 1).
func (c *context) clientFirst(p *sspi.StepParams) (sspi.Status, error) {
	c.offered = c.offeredArr[:0]
	ipTarget := !c.creds.cfg.KerberosIPTargets && targetHostIsIP(p.Target)
	for _, mc := range c.creds.mechs {
		if ipTarget && mc.mech.needsHostName {
			c.startFailures = append(c.startFailures, &MechanismError{Mechanism: mc.mech.name, Err: sspi.Errorf(sspi.ErrTargetUnknown,
				"negotiate: not offered because the target %q names its host by IP address, as Windows does (negotiate.Config.KerberosIPTargets allows it)", boundName(p.Target))})
			continue
		}
		c.offered = append(c.offered, mc)
	}
	if len(c.offered) == 0 {
		errs := c.otherFailures()
		return 0, &sspi.Error{Status: sspi.StatusOf(errs[0]), Err: &mechErrors{what: "no mechanism can be used for target " + boundName(p.Target), errs: errs}}
	}
	c.mustProtect = p.Req.Has(sspi.ISCReqUseDCEStyle) // MS-SPNG: DCE style always exchanges MICs
	optimistic := !c.creds.cfg.NoOptimisticToken

	// A server that speaks first (SMB, MS-SPNG's NegTokenInit2) lists what it accepts.
	// The list is not integrity-protected, so it never narrows the offer: a
	// man-in-the-middle who struck Kerberos from it would otherwise make NTLM our
	// unprotected first choice. It only spares an optimistic token the server cannot use.
	var serverMechs []der.OID
	hints := false
	if in := p.InputToken(); len(in) > 0 {
		if err := parseInitialToken(in, &c.init); err != nil {
			return 0, err
		}
		if c.init.hasMechTypes {
			serverMechs, hints = c.init.mechTypes, true
			common := false
			for _, mc := range c.offered {
				common = common || listed(serverMechs, mc.mech)
			}
			if !common {
				return 0, sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: the server accepts %s and the client has %s: no mechanism in common",
					oidNames(serverMechs), c.creds.names())
			}
		}
	}

	var tok []byte
	for optimistic && len(c.offered) > 0 {
		if hints && !listed(serverMechs, c.offered[0].mech) {
			break // no optimistic token; the server picks from the whole list
		}
		c.cur = c.offered[0]
		out, err := c.stepMech(p, nil, false)
		if err == nil {
			tok = out
			break
		}
		// A first choice that cannot start (Kerberos without a ticket or a KDC) is dropped
		// before anything is sent, as MIT does, so the server never sees it offered.
		c.startFailures = append(c.startFailures, startFailure(err))
		c.closeSub()
		c.cur = nil
		c.offered = c.offered[1:]
	}
	if len(c.offered) == 0 {
		errs := c.otherFailures()
		return 0, &sspi.Error{Status: sspi.StatusOf(errs[0]), Err: &mechErrors{what: "no mechanism could start", errs: errs}}
	}

	oids := c.oidArr[:0]
	for _, mc := range c.offered {
		oids = append(oids, mc.mech.oids...)
	}
	c.mechList = appendMechTypeList(c.mechListArr[:0], oids)
	c.init = negTokenInit{hasMechTypes: true, mechTypesDER: c.mechList, mechToken: tok, hasMechToken: len(tok) > 0}
	p.Out = appendInitialToken(p.Out, &c.init)
	c.forgetInput()
	c.phase = phaseNegotiating
	p.Attr = c.attr
	return sspi.ContinueNeeded, nil
}

// maxNameInError bounds a target name quoted in an error.
const maxNameInError = 256

func boundName(s string) string {
	if len(s) > maxNameInError {
		return s[:maxNameInError] + "..."
	}
	return s
}

// targetHostIsIP reports whether the target names its host by IP address:
// "host/192.0.2.1", "HTTP/[2001:db8::1]:8080@REALM", "host@192.0.2.1" or a bare address.
func targetHostIsIP(target string) bool {
	host := strings.TrimSpace(target)
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[i+1:]
		if j := strings.LastIndexByte(host, '@'); j >= 0 {
			host = host[:j] // the realm
		}
		if j := strings.IndexByte(host, '/'); j >= 0 {
			host = host[:j] // a three-part SPN's service name (ldap/host/domain)
		}
	} else if i := strings.IndexByte(host, '@'); i >= 0 {
		host = host[i+1:] // GSS host-based form, service@host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	_, err := netip.ParseAddr(host)
	return err == nil
}

// otherFailures lists why each mechanism the client is not using was left out: at
// AcquireCredentialsHandle, for this target, or because it could not start.
func (c *context) otherFailures() []error {
	errs := make([]error, 0, len(c.creds.missing)+len(c.startFailures))
	errs = append(errs, c.creds.missing...)
	return append(errs, c.startFailures...)
}

// withOthers adds to the failure of the mechanism in use the reasons the others were not
// used, so that a client whose Kerberos was refused and whose NTLM then failed learns both
// (each a MechanismError, all reachable through errors.Is and errors.As). The status is
// the failure's own.
func (c *context) withOthers(err error) error {
	others := c.otherFailures()
	var agg *mechErrors
	var oe *othersError
	if len(others) == 0 || errors.As(err, &agg) || errors.As(err, &oe) {
		return err
	}
	// The failure stays as it reads; for errors.As it is also the current mechanism's.
	lead := err
	var me *MechanismError
	if !errors.As(err, &me) && c.cur != nil {
		lead = &MechanismError{Mechanism: c.cur.mech.name, Err: err}
	}
	return &sspi.Error{Status: sspi.StatusOf(err), Err: &othersError{err: err, errs: append([]error{lead}, others...)}}
}

// othersError is a mechanism's failure together with why the other mechanisms were not
// used; it unwraps to all of them.
type othersError struct {
	err  error   // the failure
	errs []error // the failure (as a MechanismError), then the others
}

func (e *othersError) Error() string {
	var b strings.Builder
	if se, ok := e.err.(*sspi.Error); ok && se.Err != nil {
		b.WriteString(se.Err.Error()) // the status is said once, outside
	} else {
		b.WriteString(e.err.Error())
	}
	b.WriteString("; not used: ")
	for i, o := range e.errs[1:] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(o.Error())
	}
	return b.String()
}

func (e *othersError) Unwrap() []error { return e.errs }

// startFailure restates a mechanism's failure for the aggregate error: "Kerberos:
// SEC_E_NO_CREDENTIALS: cause", one per mechanism, each keeping its status.
func startFailure(err error) error {
	var me *MechanismError
	if !errors.As(err, &me) {
		return err
	}
	return &MechanismError{Mechanism: me.Mechanism, Err: &sspi.Error{Status: sspi.StatusOf(err), Err: me.Err}}
}

// listed reports whether any of oids stands for m.
func listed(oids []der.OID, m *mechanism) bool {
	for _, o := range oids {
		if mechByOID(o) == m {
			return true
		}
	}
	return false
}

func (c *context) offeredMech(m *mechanism) *mechCred {
	for _, mc := range c.offered {
		if mc.mech == m {
			return mc
		}
	}
	return nil
}

func (c *context) offeredNames() string { return mechNames(c.offered) }

// clientReply handles a NegTokenResp from the server. What the reply must carry depends
// on the state it finds the client in, each handled by its own method: awaiting the
// server's choice (phaseNegotiating: readChoice, which moves to phaseWaiting), or settled
// on a mechanism (readMechReply) that is still running or has finished with only the
// mechListMIC exchange left (continueMech, then readServerMIC). The leg then ends in
// serverCompleted (accept-completed) or answerServer.
func (c *context) clientReply(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	if len(in) == 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server's reply is empty; a NegTokenResp was expected")
	}
	defer c.forgetInput()
	leg := clientLeg{resp: &c.resp}
	if err := parseNegTokenResp(in, leg.resp); err != nil {
		return 0, err
	}
	if err := c.readReply(p, &leg); err != nil {
		return 0, err
	}
	if leg.resp.negState == acceptCompleted {
		return c.serverCompleted(p, &leg)
	}
	return c.answerServer(p, &leg)
}

// clientLeg is what one NegTokenResp brings and what the client's answer to it will carry.
type clientLeg struct {
	resp *negTokenResp
	// mechOut is the mechanism's token for the server, if this leg made one; it lives
	// in the context's scratch buffer.
	mechOut []byte
}

// readReply applies the server's reply to the client's state: its negState, the
// mechanism choice (first reply only), its mechanism token and its mechListMIC.
func (c *context) readReply(p *sspi.StepParams, leg *clientLeg) error {
	r := leg.resp
	if r.negState == reject {
		return c.withOthers(c.rejected(p, r))
	}
	if r.negState == requestMIC {
		c.mustProtect = true // RFC 4178 5: the acceptor wants mechListMICs both ways
	}
	var err error
	if c.phase == phaseNegotiating {
		err = c.readChoice(p, leg)
	} else {
		err = c.readMechReply(p, leg)
	}
	if err != nil {
		return err
	}
	return c.readServerMIC(r)
}

// readChoice handles the first reply, which says which mechanism the server took (RFC
// 4178 3.2 step 3). The optimistic mechanism, if taken, goes on with the server's token;
// another one starts afresh. Either way the client then waits on the mechanism.
func (c *context) readChoice(p *sspi.StepParams, leg *clientLeg) error {
	r := leg.resp
	chosen, err := c.serverChoice(r)
	if err != nil {
		return err
	}
	c.firstChoice = chosen == c.offered[0]
	if !c.firstChoice {
		// Not our first choice: only mechListMICs both ways can prove nobody forced it.
		c.mustProtect = true
	}
	if chosen == c.cur {
		c.phase = phaseWaiting
		return c.continueMech(p, leg)
	}
	if err := c.startChosen(p, chosen, leg); err != nil {
		return err
	}
	c.phase = phaseWaiting
	return nil
}

// serverChoice is the mechanism the server's first reply chose, which must be one the
// client offered.
func (c *context) serverChoice(r *negTokenResp) (*mechCred, error) {
	switch {
	case r.supportedMech != nil:
		var chosen *mechCred
		if m := mechByOID(r.supportedMech); m != nil {
			chosen = c.offeredMech(m)
		}
		if chosen == nil {
			return nil, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server chose %s, which the client did not offer (%s)", oidName(r.supportedMech), c.offeredNames())
		}
		return chosen, nil
	case c.cur != nil:
		return c.cur, nil // some Java acceptors leave supportedMech out; MIT takes the optimistic one
	}
	return nil, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server's first reply names no mechanism")
}

// startChosen starts the mechanism the server chose when it is not the one the client
// sent an optimistic token for (or none was sent). The server cannot have a token of it
// yet, so the client speaks first.
func (c *context) startChosen(p *sspi.StepParams, chosen *mechCred, leg *clientLeg) error {
	r := leg.resp
	if c.cur != nil {
		// The optimistic token was for another mechanism. RFC 4178 requires request-mic
		// here; Windows Server 2003 sends accept-incomplete when it falls back to NTLM
		// (MIT tolerates the same), which is harmless because mustProtect is already set.
		if r.negState != requestMIC && (r.negState != acceptIncomplete || chosen.mech != mechNTLM) {
			return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server chose %s over the client's %s with negState %v, where RFC 4178 requires request-mic", chosen.mech.name, c.cur.mech.name, r.negState)
		}
		c.closeSub()
	}
	if r.hasResponseToken && len(r.responseToken) > 0 {
		return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server sent a %s token although the client never started %s", chosen.mech.name, chosen.mech.name)
	}
	c.cur = chosen
	out, err := c.stepMech(p, nil, false)
	if err != nil {
		return c.withOthers(err)
	}
	leg.mechOut = out
	return nil
}

// readMechReply handles a later reply: the mechanism is settled (RFC 4178 3.2 step 3
// allows supportedMech only in the first reply, and it may not change).
func (c *context) readMechReply(p *sspi.StepParams, leg *clientLeg) error {
	if r := leg.resp; r.supportedMech != nil && mechByOID(r.supportedMech) != c.cur.mech {
		return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server switched to %s in the middle of %s", oidName(r.supportedMech), c.cur.mech.name)
	}
	return c.continueMech(p, leg)
}

// continueMech takes the server's mechanism token: a running mechanism needs one, and a
// finished one must get none.
func (c *context) continueMech(p *sspi.StepParams, leg *clientLeg) error {
	r := leg.resp
	if c.mechDone {
		if len(r.responseToken) > 0 {
			// An empty one is an old IIS habit (MIT tolerates it); anything else is not.
			return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server sent a %s token after %s had finished", c.cur.mech.name, c.cur.mech.name)
		}
		return nil
	}
	if !r.hasResponseToken {
		return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server's reply carries no %s token, and %s has not finished", c.cur.mech.name, c.cur.mech.name)
	}
	out, err := c.stepMech(p, r.responseToken, true)
	if err != nil {
		return c.withOthers(err)
	}
	leg.mechOut = out
	return nil
}

// readServerMIC checks the server's mechListMIC (RFC 4178 5), which can only come once
// the mechanism has finished, since the mechanism's keys make it.
func (c *context) readServerMIC(r *negTokenResp) error {
	if !r.hasMIC {
		return nil
	}
	if !c.mechDone {
		return sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server sent a mechListMIC before %s finished", c.cur.mech.name)
	}
	// Windows 2000 copied the responseToken into mechListMIC. Heimdal ignores that
	// echo, and so do we, but only where leaving the MIC out would have been allowed
	// anyway: our first choice, and no MIC asked for.
	if !c.mustProtect && r.hasResponseToken && bytes.Equal(r.mechListMIC, r.responseToken) {
		return nil
	}
	return c.verifyMIC(r.mechListMIC)
}

// serverCompleted ends the negotiation on the server's accept-completed (RFC 4178 3.2
// step 4), which is only believable when the client has nothing left to send.
func (c *context) serverCompleted(p *sspi.StepParams, leg *clientLeg) (sspi.Status, error) {
	if !c.mechDone {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server reports accept-completed but %s has not finished", c.cur.mech.name)
	}
	if len(leg.mechOut) > 0 {
		return 0, sspi.Errorf(sspi.ErrInvalidToken, "negotiate: the server reports accept-completed but %s still has a token to send", c.cur.mech.name)
	}
	if err := c.checkProtected(); err != nil {
		return 0, err
	}
	c.finish(p)
	return sspi.OK, nil
}

// answerServer sends what the server still expects from the client: the mechanism's
// token, the client's mechListMIC, or both. With nothing to send, or once MICs have
// gone both ways, the client is done.
func (c *context) answerServer(p *sspi.StepParams, leg *clientLeg) (sspi.Status, error) {
	var out negTokenResp
	out.negState = stateAbsent // Windows clients leave negState out of their replies
	if len(leg.mechOut) > 0 {
		out.responseToken, out.hasResponseToken = leg.mechOut, true
	}
	if err := c.addClientMIC(&out); err != nil {
		return 0, err
	}
	if !out.hasResponseToken && !out.hasMIC {
		if !c.mechDone {
			return 0, sspi.Errorf(sspi.ErrInternalError, "negotiate: %s produced no token but is not finished", c.cur.mech.name)
		}
		// Nothing left to say. The server owes us nothing we require, or it is cheating.
		if err := c.checkProtected(); err != nil {
			return 0, err
		}
		c.finish(p)
		return sspi.OK, nil
	}
	p.Out = appendNegTokenResp(p.Out, &out)
	p.Attr = c.attr
	if c.mechDone && c.micRecvd && c.micSent {
		// We sent ours after checking theirs: the exchange is over on both sides.
		c.finish(p)
		return sspi.OK, nil
	}
	return sspi.ContinueNeeded, nil
}

// addClientMIC puts the client's mechListMIC in its reply once the mechanism has
// finished. MS-SPNG: the initiator sends its mechListMIC with its last token whenever
// the mechanism can make one, which is what Windows does and what the NTLM MIC in
// AUTHENTICATE obliges it to do.
func (c *context) addClientMIC(out *negTokenResp) error {
	if !c.mechDone || c.micSent {
		return nil
	}
	switch {
	case c.canMIC():
		mic, err := c.makeMIC()
		if err != nil {
			return err
		}
		out.mechListMIC, out.hasMIC = mic, true
	case c.mustProtect || c.micRecvd:
		return sspi.Errorf(sspi.ErrDowngradeDetected, "negotiate: %s cannot make the mechListMIC the negotiation needs (no integrity), so the choice cannot be protected", c.cur.mech.name)
	}
	return nil
}

// checkProtected refuses to finish a negotiation whose choice needed the server's
// mechListMIC when none came (RFC 4178 5). A missing MIC is tolerated only when the
// server took our first choice and nobody asked for MICs: then there was nothing to
// downgrade, and old servers (Windows 2000, some Samba) leave it out.
func (c *context) checkProtected() error {
	if !c.mustProtect || c.micRecvd {
		return nil
	}
	why := "the server asked for mechListMICs (request-mic)"
	if !c.firstChoice {
		why = c.cur.mech.name + " is not the client's first choice (" + c.offered[0].mech.name + ")"
	}
	return sspi.Errorf(sspi.ErrDowngradeDetected, "negotiate: the server sent no mechListMIC, which is required because %s; the negotiation may have been tampered with", why)
}

// rejected turns the server's reject into an error. An error token from the mechanism
// is given to it first, for a better cause (MIT does the same since 1.17).
func (c *context) rejected(p *sspi.StepParams, r *negTokenResp) error {
	if r.hasResponseToken && len(r.responseToken) > 0 && c.sub != nil && !c.mechDone &&
		(r.supportedMech == nil || mechByOID(r.supportedMech) == c.cur.mech) {
		if _, err := c.stepMech(p, r.responseToken, true); err != nil {
			return err
		}
	}
	if c.phase == phaseNegotiating {
		err := sspi.Errorf(sspi.ErrSecPkgNotFound, "negotiate: the server rejected the negotiation: it accepts none of %s", c.offeredNames())
		if others := c.otherFailures(); len(others) > 0 {
			errs := append([]error{err}, others...)
			return &sspi.Error{Status: sspi.ErrSecPkgNotFound, Err: &mechErrors{what: "the server rejected every mechanism offered (" + c.offeredNames() + ") and the others could not start", errs: errs}}
		}
		return err
	}
	return sspi.Errorf(sspi.ErrLogonDenied, "negotiate: the server rejected the %s authentication", c.cur.mech.name)
}
