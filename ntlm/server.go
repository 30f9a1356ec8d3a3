package ntlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// serverOffer is every flag the server will agree to; it grants the subset the client asks
// for (MS-NLMP 3.2.5.1.1). LM_KEY and DATAGRAM are never granted.
const serverOffer = ntlmssp.FlagUnicode | ntlmssp.FlagSign | ntlmssp.FlagSeal |
	ntlmssp.FlagAlwaysSign | ntlmssp.FlagExtendedSessionSecurity | ntlmssp.FlagIdentify |
	ntlmssp.FlagVersion | ntlmssp.Flag128 | ntlmssp.FlagKeyExch | ntlmssp.Flag56 | ntlmssp.FlagAnonymous

// serverContext is the acceptor's state (MS-NLMP 3.2.5.1).
type serverContext struct {
	cfg       *ServerConfig
	names     []byte // the target info's name pairs, without EOL
	local     *localNames
	state     int // 0: await NEGOTIATE; 1: await AUTHENTICATE; 2: done
	negotiate []byte
	challenge []byte
	flags     ntlmssp.NegotiateFlags
	serverCh  [8]byte
	issuedAt  time.Time
	timestamp uint64 // MsvAvTimestamp of the CHALLENGE: issuedAt as a FILETIME
	micSent   bool
	established
}

// weakSession reports signing or sealing without NTLMSSP_NEGOTIATE_128, whose seal key
// MS-NLMP 3.4.5.3 truncates to 40 or 56 bits.
func weakSession(f ntlmssp.NegotiateFlags) bool {
	return f&(ntlmssp.FlagSign|ntlmssp.FlagSeal) != 0 && f&ntlmssp.Flag128 == 0
}

func (s *serverContext) Step(p *sspi.StepParams) (sspi.Status, error) {
	switch s.state {
	case 0:
		return s.sendChallenge(p)
	case 1:
		return s.verifyAuthenticate(p)
	}
	return 0, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: the handshake is over; NTLM has no fourth message")
}

func (s *serverContext) sendChallenge(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	neg, err := ntlmssp.ParseNegotiate(in)
	if err != nil {
		return 0, malformed("NEGOTIATE", err)
	}
	cfg := s.cfg
	flags := neg.Flags&serverOffer | ntlmssp.FlagNTLM | ntlmssp.FlagTargetInfo | ntlmssp.FlagTargetTypeDomain
	if neg.Flags&ntlmssp.FlagUnicode == 0 {
		if neg.Flags&ntlmssp.FlagOEM == 0 {
			return 0, sspi.Errorf(sspi.ErrInvalidToken, "ntlm: NEGOTIATE sets neither UNICODE nor OEM")
		}
		flags |= ntlmssp.FlagOEM
	}
	if neg.Flags&ntlmssp.FlagRequestTarget != 0 {
		flags |= ntlmssp.FlagRequestTarget
	}
	if weakSession(flags) && neg.Flags&ntlmssp.FlagAnonymous == 0 && !cfg.AllowWeakSessionSecurity {
		return 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: the client asks to sign or seal without NTLMSSP_NEGOTIATE_128, which would use 40- or 56-bit keys; "+
			"ServerConfig.AllowWeakSessionSecurity accepts such clients")
	}
	if _, err := io.ReadFull(cfg.Rand, s.serverCh[:]); err != nil {
		return 0, sspi.Errorf(sspi.ErrInternalError, "ntlm: reading random bytes for the challenge: %w", err)
	}
	s.issuedAt = cfg.Time()
	s.timestamp = ntlmssp.Filetime(s.issuedAt)
	// The names are the same for every challenge; only the timestamp pair is new.
	var ti [256]byte
	targetInfo := append(ti[:0], s.names...)
	targetInfo = binary.LittleEndian.AppendUint16(targetInfo, uint16(ntlmssp.MsvAvTimestamp))
	targetInfo = binary.LittleEndian.AppendUint16(targetInfo, 8)
	targetInfo = binary.LittleEndian.AppendUint64(targetInfo, s.timestamp)
	targetInfo = append(targetInfo, 0, 0, 0, 0) // MsvAvEOL
	chal := ntlmssp.ChallengeMessage{
		Flags:           flags,
		TargetName:      cfg.NetBIOSDomain,
		ServerChallenge: s.serverCh,
		TargetInfo:      targetInfo,
		Version:         ourVersion,
	}
	start := len(p.Out)
	p.Out = chal.AppendMarshal(p.Out)
	s.negotiate = append([]byte(nil), in...)
	s.challenge = append([]byte(nil), p.Out[start:]...)
	s.flags = flags
	s.state = 1
	issued.add(s.serverCh, s.local, time.Now())
	return sspi.ContinueNeeded, nil
}

// Close forgets the challenge of a context that never got its AUTHENTICATE, and zeroes
// the keys.
func (s *serverContext) Close() error {
	if s.state == 1 {
		issued.consume(s.serverCh)
	}
	return s.established.Close()
}

// refusal is a logon failure: the error the caller gets and the record the log gets.
func (s *serverContext) refuse(status sspi.Status, reason, domain, user, ws string, cause error) error {
	if l := s.cfg.Logger; l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "ntlm: logon refused",
			slog.String("reason", reason), slog.String("user", principal(domain, user)),
			slog.String("workstation", ws), slog.String("status", status.String()))
	}
	return &sspi.Error{Status: status, Err: &refusalError{reason: reason, domain: domain, user: user, cause: cause}}
}

// refusalError is a logon refusal, "ntlm: <reason> for DOMAIN\user[: cause]". Its text
// is made only when asked, so that every refusal costs the same whichever the reason.
type refusalError struct {
	reason, domain, user string
	cause                error
}

func (e *refusalError) Error() string {
	msg := "ntlm: " + e.reason + " for " + truncate(principal(e.domain, e.user))
	var le *LogonError
	switch {
	case errors.As(e.cause, &le):
		// The reason is the LogonError's own; add its status and cause.
		msg += " (" + le.Status.Name() + ")"
		if le.Err != nil {
			msg += ": " + le.Err.Error()
		}
	case e.cause != nil:
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *refusalError) Unwrap() error { return e.cause }

// verifyAuthenticate checks the client's AUTHENTICATE against the challenge this context
// issued (MS-NLMP 3.2.5.1.2) and, when it proves the user, establishes the context. Its
// steps: agree the flags, accept an anonymous logon or refuse what policy forbids, have
// the verifier check the response, apply the policies of the verified blob, recover the
// session key, check the MIC, establish.
func (s *serverContext) verifyAuthenticate(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	auth, err := ntlmssp.ParseAuthenticate(in)
	if err != nil {
		return 0, malformed("AUTHENTICATE", err)
	}
	s.state = 2 // one AUTHENTICATE per challenge, whatever the outcome
	issued.consume(s.serverCh)
	flags := s.agreedFlags(auth)
	if isAnonymous(auth) {
		return s.acceptAnonymous(p, flags, auth.Workstation)
	}
	if err := s.checkLogonRequest(auth, flags); err != nil {
		return 0, err
	}
	logon, err := s.verify(p, auth, flags)
	if err != nil {
		return 0, err
	}
	keyExchangeKey, err := s.checkVerified(p, auth, flags, logon)
	clear(logon.SessionBaseKey[:])
	if err != nil {
		return 0, err
	}
	exported, err := exportedSessionKey(auth, flags, keyExchangeKey)
	if err == nil {
		err = s.checkMIC(in, auth, &exported)
	}
	if err == nil {
		err = s.establish(p, auth, flags, exported, logon)
	}
	clear(exported[:])
	clear(keyExchangeKey[:])
	if err != nil {
		return 0, err
	}
	return sspi.OK, nil
}

// agreedFlags is what both sides agreed to: what the server offered in its CHALLENGE and
// the client kept in its AUTHENTICATE; KEY_EXCH only when the client really exchanges a
// key.
func (s *serverContext) agreedFlags(auth *ntlmssp.AuthenticateMessage) ntlmssp.NegotiateFlags {
	flags := s.flags & (auth.Flags | ntlmssp.FlagUnicode | ntlmssp.FlagOEM | ntlmssp.FlagNTLM | ntlmssp.FlagTargetInfo | ntlmssp.FlagTargetTypeDomain)
	if auth.Flags&ntlmssp.FlagKeyExch == 0 {
		flags &^= ntlmssp.FlagKeyExch
	}
	return flags
}

// isAnonymous reports an anonymous AUTHENTICATE (MS-NLMP 3.2.5.1.2): no user, an empty
// NT response, and an LM response that is Z(1) or empty.
func isAnonymous(auth *ntlmssp.AuthenticateMessage) bool {
	return auth.UserName == "" && len(auth.NtChallengeResponse) == 0 &&
		(len(auth.LmChallengeResponse) == 0 || bytes.Equal(auth.LmChallengeResponse, []byte{0}))
}

// acceptAnonymous establishes an anonymous logon where the configuration allows one.
// Its keys are all zero, so it grants no message protection.
func (s *serverContext) acceptAnonymous(p *sspi.StepParams, flags ntlmssp.NegotiateFlags, ws string) (sspi.Status, error) {
	if !s.cfg.AllowAnonymous {
		return 0, s.refuse(sspi.ErrLogonDenied, "anonymous logon is not allowed", "", "", ws, nil)
	}
	if err := s.established.init(flags|ntlmssp.FlagAnonymous, [16]byte{}, true, true); err != nil {
		return 0, err
	}
	s.identity = sspi.Identity{Package: PackageName, Workstation: ws}
	p.Attr = grantedASC(flags, p.Req, true)
	s.release()
	return sspi.OK, nil
}

// refuseAuth refuses the logon an AUTHENTICATE asked for, naming its user.
func (s *serverContext) refuseAuth(status sspi.Status, reason string, auth *ntlmssp.AuthenticateMessage, cause error) error {
	return s.refuse(status, reason, auth.DomainName, auth.UserName, auth.Workstation, cause)
}

// checkLogonRequest refuses, before any verifier is asked, a logon with no user name,
// with the weak session security or the NTLMv1 response this server was not told to
// accept, or with only an LM response: none of them is worth a domain controller's time,
// and refusing them before any look-up tells a client nothing about the account.
func (s *serverContext) checkLogonRequest(auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags) error {
	switch nt := auth.NtChallengeResponse; {
	case auth.UserName == "":
		return s.refuseAuth(sspi.ErrLogonDenied, "no user name", auth, nil)
	case weakSession(flags) && !s.cfg.AllowWeakSessionSecurity:
		return s.refuseAuth(sspi.ErrUnsupportedFunction, "AUTHENTICATE leaves out NTLMSSP_NEGOTIATE_128 while signing or sealing (40- or 56-bit keys; ServerConfig.AllowWeakSessionSecurity accepts them)", auth, nil)
	case len(nt) == 24 && !s.cfg.AllowNTLMv1:
		return s.refuseAuth(sspi.ErrLogonDenied, "NTLMv1 response refused (ServerConfig.AllowNTLMv1 is off)", auth, nil)
	case len(nt) == 24 && flags&ntlmssp.FlagExtendedSessionSecurity != 0 && len(auth.LmChallengeResponse) < 8:
		return malformed("AUTHENTICATE", errors.New("NTLMv1 with extended session security needs the client challenge in the LM response"))
	case len(nt) < 24:
		return s.refuseAuth(sspi.ErrLogonDenied, fmt.Sprintf("LM-only response of %d bytes refused", len(auth.LmChallengeResponse)), auth, nil)
	}
	return nil
}

// verify hands the responses to the verifier and maps its refusal to a status: an
// NTSTATUS the way Windows' SSPI maps it, an unknown user to a denial, anything else to
// "no authority could answer".
func (s *serverContext) verify(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags) (*LogonResult, error) {
	req := &LogonRequest{
		Domain: auth.DomainName, User: auth.UserName, Workstation: auth.Workstation,
		ServerChallenge: s.serverCh,
		NTResponse:      auth.NtChallengeResponse, LMResponse: auth.LmChallengeResponse,
	}
	if len(auth.NtChallengeResponse) == 24 && flags&ntlmssp.FlagExtendedSessionSecurity != 0 {
		req.ServerChallenge = essChallenge(s.serverCh, auth.LmChallengeResponse)
	}
	if b := sspi.FindBuffer(p.In, sspi.BufferChannelBindings); b != nil {
		req.ChannelBindings = b.Data
	}
	res, err := s.cfg.Verifier.VerifyLogon(ctxOf(p), req)
	if err == nil && res == nil {
		err = errors.New("the verifier returned neither a result nor an error")
	}
	if err == nil {
		return res, nil
	}
	var le *LogonError
	var st NTStatus
	switch {
	case errors.As(err, &le):
		return nil, s.refuseAuth(le.Status.SSPIStatus(), le.reason(), auth, err)
	case errors.As(err, &st):
		return nil, s.refuseAuth(st.SSPIStatus(), st.Description(), auth, err)
	case errors.Is(err, ErrNoSuchUser):
		return nil, s.refuseAuth(sspi.ErrLogonDenied, "unknown user", auth, err)
	}
	return nil, s.refuseAuth(sspi.ErrNoAuthenticatingAuthority, "the verifier could not answer", auth, err)
}

// checkVerified applies what this server decides about a response its verifier has
// proved and returns the key exchange key (MS-NLMP 3.4.5.1): for NTLMv2 the policies
// its blob carries (MS-NLMP 3.3.2), for NTLMv1 (3.3.1) that it can carry no MIC.
func (s *serverContext) checkVerified(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, logon *LogonResult) ([16]byte, error) {
	if len(auth.NtChallengeResponse) == 24 {
		if s.cfg.RequireMIC {
			return [16]byte{}, s.refuseAuth(sspi.ErrLogonDenied, "no MIC (NTLMv1 cannot carry one) and ServerConfig.RequireMIC is on", auth, nil)
		}
		return ntlmssp.KeyExchangeKeyV1(flags, logon.SessionBaseKey, [16]byte{}, auth.LmChallengeResponse, s.serverCh), nil
	}
	blob, err := ntlmssp.ParseNTLMv2Response(auth.NtChallengeResponse)
	if err != nil {
		return [16]byte{}, malformed("NTLMv2 response in AUTHENTICATE", err)
	}
	if err := s.checkBlob(p, auth, blob, auth.DomainName, auth.UserName, auth.Workstation); err != nil {
		return [16]byte{}, err
	}
	return logon.SessionBaseKey, nil
}

// exportedSessionKey is the session key both sides will use (MS-NLMP 3.2.5.1.2): the key
// exchange key, or with KEY_EXCH the client's random key, sent encrypted under it.
func exportedSessionKey(auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, keyExchangeKey [16]byte) ([16]byte, error) {
	if flags&ntlmssp.FlagKeyExch == 0 {
		return keyExchangeKey, nil
	}
	if len(auth.EncryptedRandomSessionKey) != 16 {
		return [16]byte{}, malformed("AUTHENTICATE", fmt.Errorf("KEY_EXCH with a %d-byte EncryptedRandomSessionKey", len(auth.EncryptedRandomSessionKey)))
	}
	return ntlmssp.RC4K(keyExchangeKey, [16]byte(auth.EncryptedRandomSessionKey)), nil
}

// checkMIC verifies the AUTHENTICATE's MIC over the three messages (MS-NLMP 3.2.5.1.2)
// when the client promised one (checkBlob saw MsvAvFlags say so).
func (s *serverContext) checkMIC(in []byte, auth *ntlmssp.AuthenticateMessage, exported *[16]byte) error {
	if !s.micSent {
		return nil
	}
	want := ntlmssp.ComputeMIC(*exported, s.negotiate, s.challenge, in, auth.MICOffset)
	if !ntlmssp.ConstantTimeEqual(want[:], auth.MIC) {
		return s.refuseAuth(sspi.ErrMessageAltered, "MIC does not match (a message was altered)", auth, nil)
	}
	return nil
}

// establish sets up session security with the exported key and records who logged on.
func (s *serverContext) establish(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, exported [16]byte, logon *LogonResult) error {
	if err := s.established.init(flags, exported, true, false); err != nil {
		return err
	}
	// An NTLMv2 client echoed our timestamp (checkBlob), so it had to send a MIC, and
	// MS-SPNG then wants mechListMICs; NTLMv1 carries neither.
	s.mechListMICRequired = s.micSent || len(auth.NtChallengeResponse) > 24
	domain, user := logon.Domain, logon.User
	if user == "" {
		domain, user = resolveName(auth.DomainName, auth.UserName)
	}
	s.identity = sspi.Identity{Package: PackageName, User: user, Domain: domain, Principal: principal(domain, user), Workstation: auth.Workstation}
	if t := logon.Token; t != nil {
		s.identity.Authorization, s.identity.UserSID, s.identity.Token = t.Source, t.UserSID, t
	}
	p.Attr = grantedASC(flags, p.Req, false)
	s.release()
	return nil
}

// resolveName is the name an AUTHENTICATE's account is looked up under. A UserName in
// user principal name form, "alice@EXAMPLE" with no DomainName, is what curl, requests-ntlm
// and go-ntlmssp send for -u alice@EXAMPLE and what Windows clients send for a UPN logon;
// like Samba (map_user_info) and Windows, the server reads it as EXAMPLE\alice. The split is
// at the last '@', since a domain name holds none (Samba splits at the first). Only an empty
// DomainName is read this way: with a DomainName, "a@b" is a user name like any other.
func resolveName(domain, user string) (string, string) {
	if domain != "" {
		return domain, user
	}
	if i := strings.LastIndexByte(user, '@'); i > 0 && i < len(user)-1 {
		return user[i+1:], user[:i]
	}
	return domain, user
}

// checkBlob applies the policies carried in the verified NTLMv2 blob: clock skew, MIC
// presence, channel bindings. NTProofStr covers the blob, so its contents are the client's.
func (s *serverContext) checkBlob(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, blob *ntlmssp.NTLMv2ClientChallenge, domain, user, ws string) error {
	cfg := s.cfg
	if cfg.MaxClockSkew > 0 {
		ts := ntlmssp.FiletimeToTime(blob.Timestamp)
		if d := cfg.Time().Sub(ts); d > cfg.MaxClockSkew || d < -cfg.MaxClockSkew {
			return s.refuse(sspi.ErrTimeSkew, fmt.Sprintf("NTLMv2 timestamp is %v away from the server's clock (limit %v)", d.Round(time.Second), cfg.MaxClockSkew), domain, user, ws, nil)
		}
	}
	// MS-NLMP 3.1.5.1.2: a client given a timestamp sends a MIC. An attacker who deletes
	// the timestamp from the CHALLENGE so that no MIC comes (and no rewrite of the
	// CHALLENGE is noticed) shows here, as NTProofStr covers the pairs the client echoed.
	if ts, ok := blob.AVPairs.Timestamp(); !ok || ts != s.timestamp {
		why := "without the MsvAvTimestamp this server issued"
		if ok {
			why = "with another MsvAvTimestamp than this server issued"
		}
		return s.refuse(sspi.ErrMessageAltered, "the NTLMv2 response echoes the target info "+why+" (the CHALLENGE was altered on the way)", domain, user, ws, nil)
	}
	avf, _ := blob.AVPairs.Flags()
	if avf&ntlmssp.AvFlagMICPresent != 0 {
		if auth.MICOffset < 0 || len(auth.MIC) != 16 {
			return s.refuse(sspi.ErrMessageAltered, "MsvAvFlags promises a MIC but the AUTHENTICATE carries none (it was stripped on the way)", domain, user, ws, nil)
		}
		s.micSent = true
	} else if cfg.RequireMIC {
		return s.refuse(sspi.ErrLogonDenied, "no MIC and ServerConfig.RequireMIC is on", domain, user, ws, nil)
	}
	if cfg.ChannelBindings == BindingsOff {
		return nil
	}
	theirs, sent := blob.AVPairs.ChannelBindings()
	sent = sent && theirs != [16]byte{}
	b := sspi.FindBuffer(p.In, sspi.BufferChannelBindings)
	if b == nil || len(b.Data) == 0 {
		if cfg.ChannelBindings == BindingsRequired {
			return s.refuse(sspi.ErrBadBindings, "channel bindings are required but the server was given none to check (pass a BufferChannelBindings buffer)", domain, user, ws, nil)
		}
		return nil
	}
	cb, err := sspi.ParseChannelBindings(b.Data)
	if err != nil {
		return err
	}
	ours := cb.Hash()
	switch {
	case !sent && cfg.ChannelBindings == BindingsRequired:
		return s.refuse(sspi.ErrBadBindings, "client sent no channel bindings and they are required", domain, user, ws, nil)
	case sent && !ntlmssp.ConstantTimeEqual(ours[:], theirs[:]):
		return s.refuse(sspi.ErrBadBindings, "channel bindings do not match", domain, user, ws, nil)
	}
	return nil
}

// release drops what only the handshake needed.
func (s *serverContext) release() { s.negotiate, s.challenge = nil, nil }

func ctxOf(p *sspi.StepParams) context.Context {
	if p.Context != nil {
		return p.Context
	}
	return context.Background()
}

// grantedASC reports what the server context provides; an anonymous logon's all-zero
// keys protect nothing, so it grants no message protection.
func grantedASC(f ntlmssp.NegotiateFlags, req sspi.ContextReq, anonymous bool) sspi.ContextAttr {
	a := sspi.ASCRetConnection
	switch {
	case anonymous:
		a |= sspi.ASCRetNullSession
	case f&ntlmssp.FlagSign != 0:
		a |= sspi.ASCRetIntegrity | sspi.ASCRetReplayDetect | sspi.ASCRetSequenceDetect
		if f&ntlmssp.FlagSeal != 0 {
			a |= sspi.ASCRetConfidentiality
		}
	case f&ntlmssp.FlagSeal != 0:
		a |= sspi.ASCRetConfidentiality
	}
	if f&ntlmssp.FlagIdentify != 0 {
		a |= sspi.ASCRetIdentify
	}
	return a
}
