package ntlm

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// This file is the server's verification seam. The acceptor parses the AUTHENTICATE,
// enforces its own policies (NTLMv1, the MIC, the timestamp echo, channel bindings) and
// keeps the session security; what it hands to a Verifier is only the question an
// authority that holds the account's secret can answer: does this response prove the
// user, and with which session base key. That is where Windows' MSV1_0 splits local
// accounts from pass-through to a domain controller (MS-APDS 3.1.5.1.1), so an account
// file, a domain controller over Netlogon and Samba's winbind all fit behind it.

// A Verifier checks an NTLM logon on the server's behalf: a local account store, a
// domain controller (pass-through authentication), or a chain of them. Implementations
// must be safe for concurrent use, since one set of server credentials serves many
// contexts at once.
type Verifier interface {
	// VerifyLogon checks req's responses. It returns the session base key and who the
	// user is, or an error. A refusal is an error wrapping an NTStatus (a *LogonError
	// carries one with a reason), so that the server can map it to a SECURITY_STATUS;
	// an error wrapping ErrNoSuchUser is an unknown user. Any other error means the
	// authority could not answer (SEC_E_NO_AUTHENTICATING_AUTHORITY).
	VerifyLogon(ctx context.Context, req *LogonRequest) (*LogonResult, error)
}

// TargetNamer is implemented by a Verifier whose authority binds NTLMv2 responses to the
// names in the server's CHALLENGE: a domain controller checks that the MsvAvNbComputerName
// and MsvAvNbDomainName the client echoed are its secure channel's machine account and
// domain, and refuses (STATUS_LOGON_FAILURE) a response made for another server, which
// stops a logon relayed from one member server to another. A server whose Verifier is one
// puts these names in its CHALLENGE when ServerConfig leaves NetBIOSComputer and
// NetBIOSDomain empty, and refuses other names at AcquireCredentialsHandle.
type TargetNamer interface {
	// TargetNames returns the NetBIOS domain and computer names responses must carry;
	// empty strings mean no constraint.
	TargetNames() (netbiosDomain, netbiosComputer string)
}

// LogonRequest is what the client sent, as a domain controller's NetrLogonSamLogon
// receives it in a network logon (MS-NRPC 2.2.1.4.6).
type LogonRequest struct {
	// Domain and User are the names as the client sent them: NTLMv2's NTOWFv2 covers
	// them exactly. A user principal name, "alice@EXAMPLE" with an empty Domain, comes
	// as sent; ResolvedName gives the split form.
	Domain, User string
	// Workstation is the client's NetBIOS name from the AUTHENTICATE.
	Workstation string
	// ServerChallenge is the challenge the NT response answers: the CHALLENGE's, or
	// for NTLMv1 with extended session security MD5(server || client challenge)[0:8],
	// as MSV1_0 hands it to a domain controller.
	ServerChallenge [8]byte
	// NTResponse and LMResponse are the AUTHENTICATE's responses: an NTLMv2 response
	// (longer than 24 bytes, with the client's blob and AV pairs) or a 24-byte NTLMv1
	// one. The server sends NTLMv1 only when ServerConfig.AllowNTLMv1 is set.
	NTResponse, LMResponse []byte
	// ChannelBindings is the application data of the server's channel-binding buffer,
	// if it has one. The server itself enforces ServerConfig.ChannelBindings against the
	// client's MsvAvChannelBindings once the verifier has proved the response, which
	// covers them; a verifier need not look at it.
	ChannelBindings []byte
}

// ResolvedName is the account the request names, DOMAIN and user, with a user
// principal name "alice@EXAMPLE" sent without a domain read as EXAMPLE\alice, as
// Windows and Samba read it.
func (r *LogonRequest) ResolvedName() (domain, user string) { return resolveName(r.Domain, r.User) }

// LogonResult is a verified logon.
type LogonResult struct {
	// SessionBaseKey is MS-NLMP's SessionBaseKey, the UserSessionKey of a domain
	// controller's validation information: for NTLMv2 HMAC_MD5(NTOWFv2, NTProofStr),
	// for NTLMv1 MD4(NTOWFv1). The server derives the key exchange key and the session
	// keys from it and checks the MIC with them, so a wrong key fails the logon.
	SessionBaseKey [16]byte
	// Domain and User name the account as the authority knows it; empty means the
	// request's resolved name.
	Domain, User string
	// Token is the user's access token where the authority gives one (a domain
	// controller's validation information: the user's SID, groups, names); nil when it
	// knows no more than the name, as an account file. The context's Identity carries
	// it, with Authorization set to Token.Source.
	Token *sspi.AccessToken
	// Authority names who verified the logon (a domain controller's name, "winbind",
	// "accounts"), for logs.
	Authority string
}

// LogonError is a verifier's refusal: the NTSTATUS a domain controller would answer
// with, and what happened. errors.Is(err, ErrNoSuchUser) holds for StatusNoSuchUser.
type LogonError struct {
	Status NTStatus
	// Reason says what happened ("NTLMv2 response does not match"); empty means the
	// status's own description.
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *LogonError) Error() string {
	msg := e.reason() + " (" + e.Status.Name() + ")"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LogonError) reason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Status.Description()
}

// Unwrap gives both the status and the cause to errors.Is and errors.As.
func (e *LogonError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Status}
	}
	return []error{e.Status, e.Err}
}

// AccountVerifier is the Verifier over an AccountStore: it computes the responses from
// the NT hash the store holds (MS-NLMP 3.3). It is what a ServerConfig without a
// Verifier uses.
type AccountVerifier struct {
	Accounts AccountStore
}

// VerifyLogon looks up the account under the resolved name and checks the response
// over the names as sent, which is what the client hashed. An unknown user is refused
// only after the work a wrong password costs, so that timing does not tell them apart.
func (v AccountVerifier) VerifyLogon(ctx context.Context, req *LogonRequest) (*LogonResult, error) {
	if v.Accounts == nil {
		return nil, &LogonError{Status: StatusNoSuchUser, Reason: "unknown user", Err: fmt.Errorf("%w: no account store", ErrNoSuchUser)}
	}
	domain, user := req.ResolvedName()
	acct, err := v.Accounts.LookupAccount(ctx, domain, user)
	var unknown error
	switch {
	case err == nil:
	case errors.Is(err, ErrNoSuchUser):
		acct.NTHash, unknown = unknownUserHash, err
	default:
		return nil, fmt.Errorf("account store failed: %w", err)
	}
	res := &LogonResult{Domain: domain, User: user, Authority: "accounts"}
	ok := false
	switch nt := req.NTResponse; {
	case len(nt) > 24:
		key := ntlmssp.NTOWFv2(acct.NTHash, req.User, req.Domain)
		res.SessionBaseKey, ok = ntlmssp.VerifyNTLMv2Response(key, req.ServerChallenge, nt)
		clear(key[:])
	case len(nt) == 24:
		want, _ := ntlmssp.NTLMv1Responses(0, acct.NTHash, [16]byte{}, req.ServerChallenge, [8]byte{})
		ok = ntlmssp.ConstantTimeEqual(want[:], nt)
		res.SessionBaseKey = ntlmssp.SessionBaseKeyV1(acct.NTHash)
	}
	clear(acct.NTHash[:])
	switch {
	case unknown != nil:
		return nil, &LogonError{Status: StatusNoSuchUser, Reason: "unknown user", Err: unknown}
	case !ok && len(req.NTResponse) == 24:
		return nil, &LogonError{Status: StatusWrongPassword, Reason: "NTLMv1 response does not match"}
	case !ok:
		return nil, &LogonError{Status: StatusWrongPassword, Reason: "NTLMv2 response does not match"}
	}
	return res, nil
}

// VerifierChain asks its verifiers in order and moves to the next only when one does
// not know the user (an error wrapping ErrNoSuchUser): a local account file first, then
// the domain, as a Windows member server checks its own SAM before passing a logon
// through to its domain. Any other answer, a success, a wrong password or a failure to
// answer, is final.
type VerifierChain []Verifier

// VerifyLogon asks each verifier in turn.
func (c VerifierChain) VerifyLogon(ctx context.Context, req *LogonRequest) (*LogonResult, error) {
	err := error(&LogonError{Status: StatusNoSuchUser, Reason: "unknown user", Err: fmt.Errorf("%w: empty verifier chain", ErrNoSuchUser)})
	for _, v := range c {
		var res *LogonResult
		res, err = v.VerifyLogon(ctx, req)
		if err == nil || !errors.Is(err, ErrNoSuchUser) {
			return res, err
		}
	}
	return nil, err
}

// unknownUserHash stands in for the NT hash of a user the account store does not know,
// so that refusing one costs what refusing a wrong password does: the same NTOWFv2 and
// HMAC work, and no random read that a known user does not make. It is no secret: the
// outcome is a refusal whatever the client answered.
var unknownUserHash = [16]byte{0x8a, 0x46, 0xc1, 0x5e, 0x27, 0x90, 0x3b, 0xd4, 0x61, 0xf2, 0x0c, 0x9d, 0x73, 0xa8, 0x15, 0xe6}

// TargetNames returns the names of the first verifier of the chain that has any: a
// server's CHALLENGE can carry only one set, and a domain verifier needs its own.
func (c VerifierChain) TargetNames() (netbiosDomain, netbiosComputer string) {
	for _, v := range c {
		if tn, ok := v.(TargetNamer); ok {
			if d, n := tn.TargetNames(); d != "" || n != "" {
				return d, n
			}
		}
	}
	return "", ""
}

// applyTargetNames gives the server the names its verifier binds responses to.
func (s *ServerConfig) applyTargetNames() error {
	tn, ok := s.Verifier.(TargetNamer)
	if !ok {
		return nil
	}
	domain, computer := tn.TargetNames()
	check := func(field *string, want, what string) error {
		switch {
		case want == "":
		case *field == "":
			*field = want
		case !strings.EqualFold(*field, want):
			return sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: ServerConfig.%s is %q, but the verifier's domain controller accepts only responses made for %q (the machine account's names); leave it empty or set it to %[3]q", what, truncate(*field), want)
		}
		return nil
	}
	if err := check(&s.NetBIOSDomain, domain, "NetBIOSDomain"); err != nil {
		return err
	}
	return check(&s.NetBIOSComputer, computer, "NetBIOSComputer")
}

// essChallenge is the challenge an NTLMv1 response with extended session security
// answers (MS-NLMP 3.3.1): MD5(ServerChallenge || ClientChallenge)[0:8], the client
// challenge being the first 8 bytes of the LM response.
func essChallenge(serverCh [8]byte, lm []byte) [8]byte {
	var b [16]byte
	copy(b[:8], serverCh[:])
	copy(b[8:], lm)
	d := md5.Sum(b[:])
	return [8]byte(d[:8])
}
