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

func (s *serverContext) verifyAuthenticate(p *sspi.StepParams) (sspi.Status, error) {
	in := p.InputToken()
	auth, err := ntlmssp.ParseAuthenticate(in)
	if err != nil {
		return 0, malformed("AUTHENTICATE", err)
	}
	s.state = 2 // one AUTHENTICATE per challenge, whatever the outcome
	issued.consume(s.serverCh)
	cfg := s.cfg
	domain, user, ws := auth.DomainName, auth.UserName, auth.Workstation
	flags := s.flags & (auth.Flags | ntlmssp.FlagUnicode | ntlmssp.FlagOEM | ntlmssp.FlagNTLM | ntlmssp.FlagTargetInfo | ntlmssp.FlagTargetTypeDomain)
	if auth.Flags&ntlmssp.FlagKeyExch == 0 {
		flags &^= ntlmssp.FlagKeyExch
	}

	// Anonymous (MS-NLMP 3.2.5.1.2): no user, an empty NT response, LM Z(1) or empty.
	if user == "" && len(auth.NtChallengeResponse) == 0 && (len(auth.LmChallengeResponse) == 0 || bytes.Equal(auth.LmChallengeResponse, []byte{0})) {
		if !cfg.AllowAnonymous {
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
	if user == "" {
		return 0, s.refuse(sspi.ErrLogonDenied, "no user name", domain, user, ws, nil)
	}
	if weakSession(flags) && !cfg.AllowWeakSessionSecurity {
		return 0, s.refuse(sspi.ErrUnsupportedFunction, "AUTHENTICATE leaves out NTLMSSP_NEGOTIATE_128 while signing or sealing (40- or 56-bit keys; ServerConfig.AllowWeakSessionSecurity accepts them)", domain, user, ws, nil)
	}

	// The account is looked up under the resolved name; the responses are checked over the
	// names as sent, which is what the client hashed (NTOWFv2 over UserName and DomainName).
	acctDomain, acctUser := resolveName(domain, user)
	acct, lookupErr := cfg.Accounts.LookupAccount(ctxOf(p), acctDomain, acctUser)
	if lookupErr != nil && !errors.Is(lookupErr, ErrNoSuchUser) {
		return 0, s.refuse(sspi.ErrNoAuthenticatingAuthority, "account store failed", domain, user, ws, lookupErr)
	}
	ntHash := acct.NTHash
	if lookupErr != nil {
		ntHash = unknownUserHash
	}

	var sessionBaseKey, keyExchangeKey [16]byte
	switch nt := auth.NtChallengeResponse; {
	case len(nt) > 24:
		key := ntlmssp.NTOWFv2(ntHash, user, domain)
		var ok bool
		sessionBaseKey, ok = ntlmssp.VerifyNTLMv2Response(key, s.serverCh, nt)
		clear(key[:])
		if lookupErr != nil {
			return 0, s.refuse(sspi.ErrLogonDenied, "unknown user", domain, user, ws, lookupErr)
		}
		if !ok {
			return 0, s.refuse(sspi.ErrLogonDenied, "NTLMv2 response does not match", domain, user, ws, nil)
		}
		blob, err := ntlmssp.ParseNTLMv2Response(nt)
		if err != nil {
			return 0, malformed("NTLMv2 response in AUTHENTICATE", err)
		}
		if err := s.checkBlob(p, auth, blob, domain, user, ws); err != nil {
			return 0, err
		}
		keyExchangeKey = sessionBaseKey
	case len(nt) == 24:
		if lookupErr != nil {
			return 0, s.refuse(sspi.ErrLogonDenied, "unknown user", domain, user, ws, lookupErr)
		}
		if !cfg.AllowNTLMv1 {
			return 0, s.refuse(sspi.ErrLogonDenied, "NTLMv1 response refused (ServerConfig.AllowNTLMv1 is off)", domain, user, ws, nil)
		}
		var cc [8]byte
		if flags&ntlmssp.FlagExtendedSessionSecurity != 0 {
			if len(auth.LmChallengeResponse) < 8 {
				return 0, malformed("AUTHENTICATE", errors.New("NTLMv1 with extended session security needs the client challenge in the LM response"))
			}
			copy(cc[:], auth.LmChallengeResponse)
		}
		want, _ := ntlmssp.NTLMv1Responses(flags, ntHash, [16]byte{}, s.serverCh, cc)
		if !ntlmssp.ConstantTimeEqual(want[:], nt) {
			return 0, s.refuse(sspi.ErrLogonDenied, "NTLMv1 response does not match", domain, user, ws, nil)
		}
		if cfg.RequireMIC {
			return 0, s.refuse(sspi.ErrLogonDenied, "no MIC (NTLMv1 cannot carry one) and ServerConfig.RequireMIC is on", domain, user, ws, nil)
		}
		sessionBaseKey = ntlmssp.SessionBaseKeyV1(ntHash)
		keyExchangeKey = ntlmssp.KeyExchangeKeyV1(flags, sessionBaseKey, [16]byte{}, auth.LmChallengeResponse, s.serverCh)
	default:
		if lookupErr != nil {
			return 0, s.refuse(sspi.ErrLogonDenied, "unknown user", domain, user, ws, lookupErr)
		}
		return 0, s.refuse(sspi.ErrLogonDenied, fmt.Sprintf("LM-only response of %d bytes refused", len(auth.LmChallengeResponse)), domain, user, ws, nil)
	}
	clear(ntHash[:])

	exported := keyExchangeKey
	if flags&ntlmssp.FlagKeyExch != 0 {
		if len(auth.EncryptedRandomSessionKey) != 16 {
			return 0, malformed("AUTHENTICATE", fmt.Errorf("KEY_EXCH with a %d-byte EncryptedRandomSessionKey", len(auth.EncryptedRandomSessionKey)))
		}
		exported = ntlmssp.RC4K(keyExchangeKey, [16]byte(auth.EncryptedRandomSessionKey))
	}
	if s.micSent {
		want := ntlmssp.ComputeMIC(exported, s.negotiate, s.challenge, in, auth.MICOffset)
		if !ntlmssp.ConstantTimeEqual(want[:], auth.MIC) {
			clear(exported[:])
			return 0, s.refuse(sspi.ErrMessageAltered, "MIC does not match (a message was altered)", domain, user, ws, nil)
		}
	}
	if err := s.established.init(flags, exported, true, false); err != nil {
		return 0, err
	}
	clear(exported[:])
	clear(sessionBaseKey[:])
	clear(keyExchangeKey[:])
	// An NTLMv2 client echoed our timestamp (checkBlob), so it had to send a MIC, and
	// MS-SPNG then wants mechListMICs; NTLMv1 carries neither.
	s.mechListMICRequired = s.micSent || len(auth.NtChallengeResponse) > 24
	s.identity = sspi.Identity{Package: PackageName, User: acctUser, Domain: acctDomain, Principal: principal(acctDomain, acctUser), Workstation: ws}
	p.Attr = grantedASC(flags, p.Req, false)
	s.release()
	return sspi.OK, nil
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
