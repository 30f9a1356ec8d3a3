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

// unknownUserHash stands in for the NT hash of a user the account store does not know,
// so that refusing one costs what refusing a wrong password does: the same NTOWFv2 and
// HMAC work, and no random read that a known user does not make. It is no secret: the
// outcome is a refusal whatever the client answered.
var unknownUserHash = [16]byte{0x8a, 0x46, 0xc1, 0x5e, 0x27, 0x90, 0x3b, 0xd4, 0x61, 0xf2, 0x0c, 0x9d, 0x73, 0xa8, 0x15, 0xe6}

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
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *refusalError) Unwrap() error { return e.cause }

// verifyAuthenticate checks the client's AUTHENTICATE against the challenge this context
// issued (MS-NLMP 3.2.5.1.2) and, when it proves the user, establishes the context. Its
// steps: agree the flags, accept an anonymous logon or look up the account, verify the
// response, recover the session key, check the MIC, establish.
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
	who, err := s.lookUpAccount(p, auth)
	if err != nil {
		return 0, err
	}
	sessionBaseKey, keyExchangeKey, err := s.verifyResponse(p, auth, flags, &who)
	clear(who.ntHash[:])
	if err != nil {
		return 0, err
	}
	exported, err := exportedSessionKey(auth, flags, keyExchangeKey)
	if err == nil {
		err = s.checkMIC(in, auth, &exported)
	}
	if err == nil {
		err = s.establish(p, auth, flags, exported, &who)
	}
	clear(exported[:])
	clear(sessionBaseKey[:])
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

// checkLogonRequest refuses, before any account is looked up, a logon with no user name
// or with the weak session security this server was not told to accept.
func (s *serverContext) checkLogonRequest(auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags) error {
	if auth.UserName == "" {
		return s.refuseAuth(sspi.ErrLogonDenied, "no user name", auth, nil)
	}
	if weakSession(flags) && !s.cfg.AllowWeakSessionSecurity {
		return s.refuseAuth(sspi.ErrUnsupportedFunction, "AUTHENTICATE leaves out NTLMSSP_NEGOTIATE_128 while signing or sealing (40- or 56-bit keys; ServerConfig.AllowWeakSessionSecurity accepts them)", auth, nil)
	}
	return nil
}

// accountLookup is the AUTHENTICATE's user as the account store answered for it.
type accountLookup struct {
	domain, user string // the resolved name the account was looked up under
	// ntHash is the account's NT hash, or unknownUserHash when the store does not know
	// the user, so that the response is checked either way.
	ntHash [16]byte
	// unknown is the store's ErrNoSuchUser answer, nil for a known user. The refusal
	// it causes waits until the response has been checked.
	unknown error
}

// lookUpAccount asks the account store for the user. The account is looked up under the
// resolved name; the responses are checked over the names as sent, which is what the
// client hashed (NTOWFv2 over UserName and DomainName). A store that fails (rather than
// not knowing the user) fails the logon at once.
func (s *serverContext) lookUpAccount(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage) (accountLookup, error) {
	var who accountLookup
	who.domain, who.user = resolveName(auth.DomainName, auth.UserName)
	acct, err := s.cfg.Accounts.LookupAccount(ctxOf(p), who.domain, who.user)
	switch {
	case err == nil:
		who.ntHash = acct.NTHash
	case errors.Is(err, ErrNoSuchUser):
		who.ntHash, who.unknown = unknownUserHash, err
	default:
		return who, s.refuseAuth(sspi.ErrNoAuthenticatingAuthority, "account store failed", auth, err)
	}
	return who, nil
}

// verifyResponse checks the client's response, told apart by the NT response's length:
// longer than 24 bytes is NTLMv2 (MS-NLMP 3.3.2), 24 is NTLMv1 (3.3.1), and anything else
// leaves only an LM response, which is refused. It returns the session base key and the
// key exchange key (MS-NLMP 3.4.5.1) of a verified response.
func (s *serverContext) verifyResponse(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, who *accountLookup) (sessionBaseKey, keyExchangeKey [16]byte, err error) {
	switch nt := auth.NtChallengeResponse; {
	case len(nt) > 24:
		sessionBaseKey, err = s.verifyNTLMv2(p, auth, who)
		return sessionBaseKey, sessionBaseKey, err
	case len(nt) == 24:
		return s.verifyNTLMv1(auth, flags, who)
	case who.unknown != nil:
		return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, "unknown user", auth, who.unknown)
	}
	return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, fmt.Sprintf("LM-only response of %d bytes refused", len(auth.LmChallengeResponse)), auth, nil)
}

// verifyNTLMv2 checks an NTLMv2 response (MS-NLMP 3.3.2), then the policies its blob
// carries. An unknown user is refused only after the same work a wrong password costs.
func (s *serverContext) verifyNTLMv2(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, who *accountLookup) ([16]byte, error) {
	nt := auth.NtChallengeResponse
	key := ntlmssp.NTOWFv2(who.ntHash, auth.UserName, auth.DomainName)
	sessionBaseKey, ok := ntlmssp.VerifyNTLMv2Response(key, s.serverCh, nt)
	clear(key[:])
	if who.unknown != nil {
		return [16]byte{}, s.refuseAuth(sspi.ErrLogonDenied, "unknown user", auth, who.unknown)
	}
	if !ok {
		return [16]byte{}, s.refuseAuth(sspi.ErrLogonDenied, "NTLMv2 response does not match", auth, nil)
	}
	blob, err := ntlmssp.ParseNTLMv2Response(nt)
	if err != nil {
		return [16]byte{}, malformed("NTLMv2 response in AUTHENTICATE", err)
	}
	if err := s.checkBlob(p, auth, blob, auth.DomainName, auth.UserName, auth.Workstation); err != nil {
		return [16]byte{}, err
	}
	return sessionBaseKey, nil
}

// verifyNTLMv1 checks an NTLMv1 response (MS-NLMP 3.3.1), which only an explicit
// ServerConfig.AllowNTLMv1 accepts, and which can carry no MIC.
func (s *serverContext) verifyNTLMv1(auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, who *accountLookup) (sessionBaseKey, keyExchangeKey [16]byte, err error) {
	if who.unknown != nil {
		return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, "unknown user", auth, who.unknown)
	}
	if !s.cfg.AllowNTLMv1 {
		return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, "NTLMv1 response refused (ServerConfig.AllowNTLMv1 is off)", auth, nil)
	}
	var cc [8]byte
	if flags&ntlmssp.FlagExtendedSessionSecurity != 0 {
		if len(auth.LmChallengeResponse) < 8 {
			return sessionBaseKey, keyExchangeKey, malformed("AUTHENTICATE", errors.New("NTLMv1 with extended session security needs the client challenge in the LM response"))
		}
		copy(cc[:], auth.LmChallengeResponse)
	}
	want, _ := ntlmssp.NTLMv1Responses(flags, who.ntHash, [16]byte{}, s.serverCh, cc)
	if !ntlmssp.ConstantTimeEqual(want[:], auth.NtChallengeResponse) {
		return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, "NTLMv1 response does not match", auth, nil)
	}
	if s.cfg.RequireMIC {
		return sessionBaseKey, keyExchangeKey, s.refuseAuth(sspi.ErrLogonDenied, "no MIC (NTLMv1 cannot carry one) and ServerConfig.RequireMIC is on", auth, nil)
	}
	sessionBaseKey = ntlmssp.SessionBaseKeyV1(who.ntHash)
	keyExchangeKey = ntlmssp.KeyExchangeKeyV1(flags, sessionBaseKey, [16]byte{}, auth.LmChallengeResponse, s.serverCh)
	return sessionBaseKey, keyExchangeKey, nil
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
func (s *serverContext) establish(p *sspi.StepParams, auth *ntlmssp.AuthenticateMessage, flags ntlmssp.NegotiateFlags, exported [16]byte, who *accountLookup) error {
	if err := s.established.init(flags, exported, true, false); err != nil {
		return err
	}
	// An NTLMv2 client echoed our timestamp (checkBlob), so it had to send a MIC, and
	// MS-SPNG then wants mechListMICs; NTLMv1 carries neither.
	s.mechListMICRequired = s.micSent || len(auth.NtChallengeResponse) > 24
	s.identity = sspi.Identity{Package: PackageName, User: who.user, Domain: who.domain, Principal: principal(who.domain, who.user), Workstation: auth.Workstation}
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
