package ntlm

import (
	"io"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// clientFlags are what the client offers in NEGOTIATE (MS-NLMP 3.1.5.1.1), before the
// request bits for signing and sealing: what Windows offers, less LM_KEY.
const clientFlags = ntlmssp.FlagUnicode | ntlmssp.FlagOEM | ntlmssp.FlagRequestTarget |
	ntlmssp.FlagNTLM | ntlmssp.FlagAlwaysSign | ntlmssp.FlagExtendedSessionSecurity |
	ntlmssp.FlagVersion | ntlmssp.Flag128 | ntlmssp.Flag56 | ntlmssp.FlagKeyExch

// ourVersion is the VERSION we send: Windows 10 build 19041, NTLM revision 15, the values
// peers expect from a current client.
var ourVersion = ntlmssp.Version{ProductMajor: 10, ProductMinor: 0, ProductBuild: 19041, NTLMRevision: ntlmssp.NTLMRevisionW2K3}

// clientContext is the initiator's state (MS-NLMP 3.1.5.1).
type clientContext struct {
	creds     *clientCreds
	state     int // 0: send NEGOTIATE; 1: await CHALLENGE; 2: done
	negotiate []byte
	flags     ntlmssp.NegotiateFlags
	established
}

func (c *clientContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	switch c.state {
	case 0:
		return c.sendNegotiate(p)
	case 1:
		return c.sendAuthenticate(p)
	}
	return 0, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: the handshake is over; NTLM has no fourth message")
}

// requestFlags adds the session-security bits the caller asked for (MS-NLMP 3.1.5.1.1).
func requestFlags(req sspi.ContextReq, server bool) ntlmssp.NegotiateFlags {
	var f ntlmssp.NegotiateFlags
	integrity, confidentiality := sspi.ISCReqIntegrity, sspi.ISCReqConfidentiality
	if server {
		integrity, confidentiality = sspi.ASCReqIntegrity, sspi.ASCReqConfidentiality
	}
	if req&(integrity|sspi.ISCReqReplayDetect|sspi.ISCReqSequenceDetect) != 0 {
		f |= ntlmssp.FlagSign
	}
	if req&confidentiality != 0 {
		f |= ntlmssp.FlagSeal | ntlmssp.FlagSign
	}
	return f
}

func (c *clientContext) sendNegotiate(p *sspi.StepParams) (sspi.Status, error) {
	flags := clientFlags | requestFlags(p.Req, false)
	if c.creds.anonymous {
		flags |= ntlmssp.FlagAnonymous
	}
	if c.creds.level == LMLevel0 {
		flags &^= ntlmssp.FlagExtendedSessionSecurity // level 0 predates NTLM2 session security
	}
	msg := ntlmssp.NegotiateMessage{Flags: flags, Version: ourVersion}
	start := len(p.Out)
	p.Out = msg.AppendMarshal(p.Out)
	c.negotiate = append([]byte(nil), p.Out[start:]...)
	c.flags = flags
	c.state = 1
	return sspi.ContinueNeeded, nil
}

// sendAuthenticate answers the server's CHALLENGE with the AUTHENTICATE (MS-NLMP
// 3.1.5.1.2): agree the flags and check the challenge, compute the response, choose the
// session key, and send the message with its MIC. The context is then established.
func (c *clientContext) sendAuthenticate(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	chal, err := ntlmssp.ParseChallenge(in)
	if err != nil {
		return 0, malformed("CHALLENGE", err)
	}
	flags, err := c.agreedFlags(p, chal)
	if err != nil {
		return 0, err
	}
	if err := c.checkChallenge(p, chal, flags); err != nil {
		return 0, err
	}
	cr := c.creds
	var clientChallenge [8]byte
	if _, err := io.ReadFull(cr.rand, clientChallenge[:]); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "ntlm: reading random bytes: %w", err)
	}
	auth := ntlmssp.AuthenticateMessage{
		Flags:       flags,
		DomainName:  cr.domain,
		UserName:    cr.user,
		Workstation: cr.workstation,
		Version:     ourVersion,
	}
	cbHash, err := channelBindingsHash(p)
	if err != nil {
		return 0, err
	}
	// The responses are built in arrays of this frame and sliced into auth, so that
	// they stay off the heap.
	var keys responseKeys
	var nt []byte
	var ntV1, lm [24]byte
	switch {
	case cr.anonymous:
		// MS-NLMP 3.1.5.1.2: empty NT response, LM response Z(1), no key.
		auth.Flags |= ntlmssp.FlagAnonymous
		auth.UserName, auth.DomainName = "", ""
		auth.LmChallengeResponse = []byte{0}
	case cr.level.v2():
		if nt, lm, keys, err = c.respondNTLMv2(p, chal, clientChallenge, cbHash); err != nil {
			return 0, err
		}
		auth.NtChallengeResponse, auth.LmChallengeResponse = nt, lm[:]
	default:
		ntV1, lm, keys = c.respondNTLMv1(chal, flags, clientChallenge)
		auth.NtChallengeResponse, auth.LmChallengeResponse = ntV1[:], lm[:]
	}
	defer keys.clear()
	// MS-NLMP 3.1.5.1.2: the session key is the key exchange key, or with KEY_EXCH a
	// random key, sent to the server encrypted under it.
	exported := keys.keyExchangeKey
	var encrypted [16]byte
	if flags&ntlmssp.FlagKeyExch != 0 && !cr.anonymous {
		if exported, err = c.randomSessionKey(); err != nil {
			return 0, err
		}
		encrypted = ntlmssp.RC4K(keys.keyExchangeKey, exported)
		auth.EncryptedRandomSessionKey = encrypted[:]
	}
	defer clear(exported[:])
	c.appendAuthenticate(p, in, auth, exported, keys.sendMIC)
	return c.establish(p, flags, exported, keys.sendMIC)
}

// agreedFlags is the negotiated set (MS-NLMP 3.1.5.1.2): what both sides asked for. A
// server that drops a bit the caller's request needs fails the request, and NTLMv2 keys
// never go with the weak session security of a server without extended session security.
func (c *clientContext) agreedFlags(p *sspi.StepParams, chal *ntlmssp.ChallengeMessage) (ntlmssp.NegotiateFlags, error) {
	flags := chal.Flags & (c.flags | ntlmssp.FlagTargetInfo | ntlmssp.FlagTargetTypeDomain | ntlmssp.FlagTargetTypeServer)
	if flags&ntlmssp.FlagUnicode == 0 {
		flags &^= ntlmssp.FlagOEM
		flags |= chal.Flags & ntlmssp.FlagOEM
		if flags&ntlmssp.FlagOEM == 0 {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: CHALLENGE sets neither UNICODE nor OEM")
		}
	} else {
		flags &^= ntlmssp.FlagOEM
	}
	if want := requestFlags(p.Req, false); flags&want != want {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: the server refused %v, which the caller requires", want&^flags)
	}
	if c.creds.level.v2() && flags&ntlmssp.FlagExtendedSessionSecurity == 0 && flags&(ntlmssp.FlagSign|ntlmssp.FlagSeal) != 0 {
		// NTLMv2 keys with the weak non-ESS session security: Windows refuses it too.
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: the server did not accept extended session security")
	}
	return flags, nil
}

// channelBindingsHash is the MD5 of the caller's channel bindings, or zeros without any.
func channelBindingsHash(p *sspi.StepParams) ([16]byte, error) {
	b := sspi.FindBuffer(p.In, sspi.BufferChannelBindings)
	if b == nil || len(b.Data) == 0 {
		return [16]byte{}, nil
	}
	cb, err := sspi.ParseChannelBindings(b.Data)
	if err != nil {
		return [16]byte{}, err
	}
	return cb.Hash(), nil
}

// responseKeys is what computing the response yields besides the response itself.
type responseKeys struct {
	sessionBaseKey, keyExchangeKey [16]byte
	sendMIC                        bool // the AUTHENTICATE carries a MIC
}

func (k *responseKeys) clear() {
	clear(k.sessionBaseKey[:])
	clear(k.keyExchangeKey[:])
}

// respondNTLMv2 computes the NTLMv2 and LMv2 responses (MS-NLMP 3.3.2). The server's
// timestamp, when it sent one, is used, and then a MIC is sent and the LM response is
// Z(24) (MS-NLMP 3.1.5.1.2).
func (c *clientContext) respondNTLMv2(p *sspi.StepParams, chal *ntlmssp.ChallengeMessage, clientChallenge [8]byte, cbHash [16]byte) (nt []byte, lm [24]byte, keys responseKeys, err error) {
	cr := c.creds
	ti, err := ntlmssp.ParseAVPairs(chal.TargetInfo)
	if err != nil {
		return nil, lm, keys, malformed("CHALLENGE target info", err)
	}
	ts, haveTS := ti.Timestamp()
	if !haveTS {
		ts = ntlmssp.Filetime(cr.now())
	}
	keys.sendMIC = haveTS && !cr.noMIC
	ownAVPairs(&ti, keys.sendMIC, cbHash, p.Target)
	key := ntlmssp.NTOWFv2(cr.ntHash, cr.user, cr.domain)
	nt, keys.sessionBaseKey = ntlmssp.NTLMv2Response(nil, key, chal.ServerChallenge, clientChallenge, ts, ti.Marshal())
	if !haveTS {
		lm = ntlmssp.LMv2Response(key, chal.ServerChallenge, clientChallenge)
	}
	keys.keyExchangeKey = keys.sessionBaseKey
	clear(key[:])
	return nt, lm, keys, nil
}

// respondNTLMv1 computes the NTLMv1 responses (MS-NLMP 3.3.1), for the LM compatibility
// levels below 3 that the caller chose explicitly.
func (c *clientContext) respondNTLMv1(chal *ntlmssp.ChallengeMessage, flags ntlmssp.NegotiateFlags, clientChallenge [8]byte) (nt, lm [24]byte, keys responseKeys) {
	cr := c.creds
	nt, lm = ntlmssp.NTLMv1Responses(flags, cr.ntHash, cr.lmHash, chal.ServerChallenge, clientChallenge)
	if cr.level.Windows() == 2 && flags&ntlmssp.FlagExtendedSessionSecurity == 0 {
		lm = nt // level 2: NT response in both fields
	}
	keys.sessionBaseKey = ntlmssp.SessionBaseKeyV1(cr.ntHash)
	keys.keyExchangeKey = ntlmssp.KeyExchangeKeyV1(flags, keys.sessionBaseKey, cr.lmHash, lm[:], chal.ServerChallenge)
	return nt, lm, keys
}

// randomSessionKey is the client's random session key for KEY_EXCH.
func (c *clientContext) randomSessionKey() ([16]byte, error) {
	var k [16]byte
	if _, err := io.ReadFull(c.creds.rand, k[:]); err != nil {
		return k, sspi.Errorf(sspi.ErrInternalError, "ntlm: reading random bytes: %w", err)
	}
	return k, nil
}

// appendAuthenticate writes the AUTHENTICATE to p.Out. Its MIC covers the message itself,
// so the MIC field is written as zeros and filled in afterwards (MS-NLMP 3.1.5.1.2).
// auth is taken by value so that the MIC's room, like the rest of the message, stays on
// the stack.
func (c *clientContext) appendAuthenticate(p *sspi.StepParams, challenge []byte, auth ntlmssp.AuthenticateMessage, exported [16]byte, sendMIC bool) {
	if sendMIC {
		auth.MIC = make([]byte, 16)
	}
	start := len(p.Out)
	p.Out = auth.AppendMarshal(p.Out)
	if sendMIC {
		mic := ntlmssp.ComputeMIC(exported, c.negotiate, challenge, p.Out[start:], ntlmssp.MICOffset)
		copy(p.Out[start+ntlmssp.MICOffset:], mic[:])
	}
}

// establish sets up session security with the exported key and ends the handshake.
func (c *clientContext) establish(p *sspi.StepParams, flags ntlmssp.NegotiateFlags, exported [16]byte, sentMIC bool) (sspi.Status, error) {
	cr := c.creds
	c.flags = flags
	c.state = 2
	c.negotiate = nil
	if err := c.established.init(flags, exported, false, cr.anonymous); err != nil {
		return 0, err
	}
	c.mechListMICRequired = sentMIC
	c.identity = sspi.Identity{Package: PackageName, User: cr.user, Domain: cr.domain, Principal: principal(cr.domain, cr.user), Workstation: cr.workstation}
	p.Attr = grantedISC(flags, p.Req, cr.anonymous)
	return sspi.OK, nil
}

func principal(domain, user string) string {
	if domain == "" {
		return user
	}
	return domain + `\` + user
}

// grantedISC reports what NTLM really provides: never mutual authentication, and no
// message protection for an anonymous logon, whose keys are all zero.
func grantedISC(f ntlmssp.NegotiateFlags, req sspi.ContextReq, anonymous bool) sspi.ContextAttr {
	a := sspi.ISCRetConnection
	switch {
	case anonymous:
		a |= sspi.ISCRetNullSession
	case f&ntlmssp.FlagSign != 0:
		a |= sspi.ISCRetIntegrity | sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect
		if f&ntlmssp.FlagSeal != 0 {
			a |= sspi.ISCRetConfidentiality
		}
	case f&ntlmssp.FlagSeal != 0:
		a |= sspi.ISCRetConfidentiality
	}
	if req.Has(sspi.ISCReqIdentify) {
		a |= sspi.ISCRetIdentify
	}
	return a
}

// checkChallenge refuses a CHALLENGE that would weaken the session (MS-NLMP 3.1.5.1.2
// with Windows' NTLMMinClientSec) or that this process's own server issued.
func (c *clientContext) checkChallenge(p *sspi.StepParams, chal *ntlmssp.ChallengeMessage, flags ntlmssp.NegotiateFlags) error {
	cr := c.creds
	if !cr.anonymous && !cr.allowWeak && flags&(ntlmssp.FlagSign|ntlmssp.FlagSeal) != 0 && flags&ntlmssp.Flag128 == 0 {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: the server did not agree to NTLMSSP_NEGOTIATE_128, so signing and sealing would use 40- or 56-bit keys; "+
			"a peer that cannot do better needs ClientConfig.AllowWeakSessionSecurity, and one that can has been tampered with on the way")
	}
	if local := issued.lookup(chal.ServerChallenge, time.Now()); local != nil && !local.isTarget(p.Target) {
		return sspi.Errorf(sspi.ErrLogonDenied, "ntlm: reflected challenge: the CHALLENGE carries a challenge a server of this process issued, but the target %q does not name that server; "+
			"for a client and server in one process, set the target to host/localhost or the server's name", truncate(p.Target))
	}
	return nil
}

// ownAVPairs turns the server's target info into the client's AV pairs: the server's
// names and timestamp stay, while the flags, single-host data, target name and channel
// bindings are the client's to state and are never copied from the server (a server
// could otherwise choose the SPN the client vouches for). Set keeps a pair where the
// server put it, so the layout stays what peers and recorded transcripts expect.
func ownAVPairs(ti *ntlmssp.AVPairs, sendMIC bool, cbHash [16]byte, target string) {
	ti.Delete(ntlmssp.MsvAvSingleHost)
	if sendMIC {
		ti.SetFlags(ntlmssp.AvFlagMICPresent)
	} else {
		ti.Delete(ntlmssp.MsvAvFlags)
	}
	ti.SetChannelBindings(cbHash)
	if target != "" {
		ti.SetString(ntlmssp.MsvAvTargetName, target)
	} else {
		ti.Delete(ntlmssp.MsvAvTargetName)
	}
}

// truncate bounds text copied into an error.
func truncate(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
