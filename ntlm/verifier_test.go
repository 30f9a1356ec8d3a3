package ntlm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// recordingVerifier passes the logon on to next (the test store when nil) and keeps what
// it was asked, or answers with err or a result of its own.
type recordingVerifier struct {
	next   Verifier
	result *LogonResult
	err    error
	mu     sync.Mutex
	reqs   []LogonRequest
}

func (v *recordingVerifier) VerifyLogon(ctx context.Context, req *LogonRequest) (*LogonResult, error) {
	v.mu.Lock()
	v.reqs = append(v.reqs, *req)
	v.mu.Unlock()
	switch {
	case v.err != nil:
		return nil, v.err
	case v.result != nil:
		r := *v.result
		return &r, nil
	case v.next != nil:
		return v.next.VerifyLogon(ctx, req)
	}
	return nil, nil
}

func sealRoundTrip(t *testing.T, x *exchange) {
	t.Helper()
	msg := []byte("sealed through the verifier's session key")
	w, err := x.client.Wrap(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.server.Unwrap(w)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("server unwrap = %q, %v", got, err)
	}
	if w, err = x.server.Wrap(msg); err != nil {
		t.Fatal(err)
	}
	if got, err = x.client.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("client unwrap = %q, %v", got, err)
	}
}

// The verifier is asked with the names as sent, the challenge the server issued, the
// workstation, the responses and the bindings; its session key is what the context uses.
func TestVerifierGetsTheLogonAndKeysTheContext(t *testing.T) {
	cb := (&sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:abc")}).Marshal()
	v := &recordingVerifier{next: AccountVerifier{Accounts: testStore(t)}}
	scred := serverCreds(t, ServerConfig{Verifier: v})
	ccred := clientCredsFor(t, ClientConfig{User: `example\alice`, Password: "Passw0rd!", Workstation: "WS1"})
	x, err := run(t, ccred, scred, sspi.ClientOptions{ChannelBindings: cb}, sspi.ServerOptions{ChannelBindings: cb}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealRoundTrip(t, x)
	if len(v.reqs) != 1 {
		t.Fatalf("verifier asked %d times", len(v.reqs))
	}
	r := v.reqs[0]
	chal, err := ntlmssp.ParseChallenge(x.challenge)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ntlmssp.ParseAuthenticate(x.authMsg)
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "alice" || r.Domain != "example" || r.Workstation != "WS1" {
		t.Errorf("request names %q %q %q", r.Domain, r.User, r.Workstation)
	}
	upn := LogonRequest{User: "alice@EXAMPLE"}
	if d, u := upn.ResolvedName(); d != "EXAMPLE" || u != "alice" {
		t.Errorf("resolved %q %q", d, u)
	}
	if r.ServerChallenge != chal.ServerChallenge {
		t.Errorf("challenge %x, issued %x", r.ServerChallenge, chal.ServerChallenge)
	}
	if !bytes.Equal(r.NTResponse, auth.NtChallengeResponse) || !bytes.Equal(r.LMResponse, auth.LmChallengeResponse) {
		t.Error("responses differ from the AUTHENTICATE's")
	}
	if !bytes.Equal(r.ChannelBindings, cb) {
		t.Error("channel bindings not passed on")
	}
	if id, _ := x.server.Identity(); id.Principal != `example\alice` {
		t.Errorf("identity %+v", id)
	}
}

// A verifier that says yes with the wrong session key does not establish a context: the
// MIC, checked with the key it returned, fails. A client that sent no MIC gets a context
// whose sealed messages do not decrypt.
func TestVerifierWrongSessionKeyFailsTheMIC(t *testing.T) {
	v := &recordingVerifier{result: &LogonResult{SessionBaseKey: [16]byte{1, 2, 3}}}
	scred := serverCreds(t, ServerConfig{Verifier: v})
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	_, err := run(t, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	wantErr(t, err, sspi.ErrMessageAltered, "MIC does not match")

	noMIC := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", NoMIC: true})
	x, err := run(t, noMIC, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := x.client.Wrap([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.server.Unwrap(w); err == nil {
		t.Fatal("a context keyed with the wrong session key unsealed the client's message")
	}
}

// Each NTSTATUS a domain refuses a logon with is mapped as Windows maps it, and the
// status, its name and the verifier's cause reach the caller.
func TestVerifierRefusalsMapToStatuses(t *testing.T) {
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	tests := []struct {
		err  error
		want sspi.Status
		text string
	}{
		{&LogonError{Status: StatusWrongPassword}, sspi.ErrLogonDenied, "wrong password for EXAMPLE\\alice (STATUS_WRONG_PASSWORD)"},
		{&LogonError{Status: StatusAccountDisabled}, sspi.ErrLogonDenied, "the account is disabled for EXAMPLE\\alice (STATUS_ACCOUNT_DISABLED)"},
		{&LogonError{Status: StatusAccountExpired}, sspi.ErrLogonDenied, "STATUS_ACCOUNT_EXPIRED"},
		{&LogonError{Status: StatusPasswordExpired}, sspi.ErrLogonDenied, "STATUS_PASSWORD_EXPIRED"},
		{&LogonError{Status: StatusPasswordMustChange}, sspi.ErrLogonDenied, "STATUS_PASSWORD_MUST_CHANGE"},
		{&LogonError{Status: StatusAccountLockedOut}, sspi.ErrLogonDenied, "locked out"},
		{&LogonError{Status: StatusInvalidLogonHours}, sspi.ErrLogonDenied, "logon hours"},
		{&LogonError{Status: StatusInvalidWorkstation, Reason: "not from WS9"}, sspi.ErrLogonDenied, "not from WS9 for EXAMPLE\\alice (STATUS_INVALID_WORKSTATION)"},
		{&LogonError{Status: StatusNoSuchUser, Err: errors.New("dc said so")}, sspi.ErrLogonDenied, "unknown user for EXAMPLE\\alice (STATUS_NO_SUCH_USER): dc said so"},
		{&LogonError{Status: StatusNoLogonServers}, sspi.ErrNoAuthenticatingAuthority, "STATUS_NO_LOGON_SERVERS"},
		{&LogonError{Status: StatusAccessDenied}, sspi.ErrNoAuthenticatingAuthority, "secure channel"},
		{&LogonError{Status: StatusTimeDifferenceAtDC}, sspi.ErrTimeSkew, "clocks"},
		{fmt.Errorf("netlogon: %w", StatusTrustedRelationshipFailure), sspi.ErrNoAuthenticatingAuthority, "STATUS_TRUSTED_RELATIONSHIP_FAILURE"},
		{NTStatus(0xC0009999), sspi.ErrLogonDenied, "0xC0009999"},
		{fmt.Errorf("ldap: %w", ErrNoSuchUser), sspi.ErrLogonDenied, "unknown user"},
		{errors.New("connection refused"), sspi.ErrNoAuthenticatingAuthority, "could not answer for EXAMPLE\\alice: connection refused"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			scred := serverCreds(t, ServerConfig{Verifier: &recordingVerifier{err: tt.err}})
			_, err := run(t, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
			wantErr(t, err, tt.want, tt.text)
			var want, got NTStatus
			if errors.As(tt.err, &want) && (!errors.As(err, &got) || got != want) {
				t.Errorf("errors.As(NTStatus) = %v, want %v", got, want)
			}
		})
	}
}

func TestNTStatusNames(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want NTStatus
	}{
		{"NT_STATUS_WRONG_PASSWORD", StatusWrongPassword},
		{"STATUS_ACCOUNT_DISABLED", StatusAccountDisabled},
		{"nt_status_no_such_user", StatusNoSuchUser},
		{"0xC0000193", StatusAccountExpired},
	} {
		if got, ok := ParseNTStatusName(tt.in); !ok || got != tt.want {
			t.Errorf("ParseNTStatusName(%q) = %v, %v", tt.in, got, ok)
		}
	}
	if _, ok := ParseNTStatusName("NT_STATUS_MADE_UP"); ok {
		t.Error("a made-up name parsed")
	}
	if !errors.Is(StatusNoSuchUser, ErrNoSuchUser) || errors.Is(StatusWrongPassword, ErrNoSuchUser) {
		t.Error("only STATUS_NO_SUCH_USER is ErrNoSuchUser")
	}
}

// A chain asks the next verifier only about users the previous one does not know: a
// wrong password for a local account is final and never reaches the domain.
func TestVerifierChain(t *testing.T) {
	remote := &recordingVerifier{next: AccountVerifier{Accounts: AccountStoreFunc(func(_ context.Context, d, u string) (Account, error) {
		if !strings.EqualFold(u, "carol") {
			return Account{}, ErrNoSuchUser
		}
		return AccountFromPassword(d, u, "domain pw"), nil
	})}}
	chain := VerifierChain{AccountVerifier{Accounts: testStore(t)}, remote}
	scred := serverCreds(t, ServerConfig{Verifier: chain})
	tests := []struct {
		user, pw  string
		want      sspi.Status
		remoteAsk int
	}{
		{`EXAMPLE\alice`, "Passw0rd!", 0, 0},
		{`EXAMPLE\alice`, "domain pw", sspi.ErrLogonDenied, 0},
		{`EXAMPLE\carol`, "domain pw", 0, 1},
		{`EXAMPLE\carol`, "wrong", sspi.ErrLogonDenied, 1},
		{`EXAMPLE\dave`, "x", sspi.ErrLogonDenied, 1},
	}
	for _, tt := range tests {
		remote.reqs = nil
		x, err := run(t, clientCredsFor(t, ClientConfig{User: tt.user, Password: tt.pw}), scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		if tt.want == 0 {
			if err != nil {
				t.Fatalf("%s: %v", tt.user, err)
			}
			sealRoundTrip(t, x)
		} else {
			wantErr(t, err, tt.want, "")
		}
		if len(remote.reqs) != tt.remoteAsk {
			t.Errorf("%s/%s: the second verifier was asked %d times, want %d", tt.user, tt.pw, len(remote.reqs), tt.remoteAsk)
		}
	}
	if _, err := (VerifierChain{}).VerifyLogon(context.Background(), &LogonRequest{}); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("empty chain: %v", err)
	}
}

// NTLMv1 with extended session security reaches the verifier with the challenge its NT
// response answers, MD5(server || client challenge)[0:8], as a domain controller wants it;
// policy refusals never reach the verifier at all.
func TestVerifierNTLMv1AndPolicy(t *testing.T) {
	v := &recordingVerifier{next: AccountVerifier{Accounts: testStore(t)}}
	scred := serverCreds(t, ServerConfig{Verifier: v, AllowNTLMv1: true})
	x, err := run(t, clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel1}), scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealRoundTrip(t, x)
	chal, _ := ntlmssp.ParseChallenge(x.challenge)
	if got, want := v.reqs[0].ServerChallenge, essChallenge(chal.ServerChallenge, v.reqs[0].LMResponse); got != want || got == chal.ServerChallenge {
		t.Errorf("NTLMv1 ESS challenge %x, want %x", got, want)
	}

	v.reqs = nil
	strict := serverCreds(t, ServerConfig{Verifier: v})
	_, err = run(t, clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel2}), strict, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	wantErr(t, err, sspi.ErrLogonDenied, "NTLMv1 response refused")
	if len(v.reqs) != 0 {
		t.Error("a refused NTLMv1 response was sent to the verifier")
	}
}

// Server credentials need an account store or a verifier.
func TestServerConfigNeedsAnAuthority(t *testing.T) {
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &ServerConfig{}, nil)
	wantErr(t, err, sspi.ErrNoCredentials, "AccountStore or a Verifier")
}

type namedVerifier struct {
	Verifier
	domain, computer string
}

func (n namedVerifier) TargetNames() (string, string) { return n.domain, n.computer }

// A verifier whose DC binds responses to the machine account's names gives the server's
// CHALLENGE those names, and a configuration that names another server is refused.
func TestTargetNamer(t *testing.T) {
	v := namedVerifier{Verifier: AccountVerifier{Accounts: testStore(t)}, domain: "SAMDOM", computer: "WEB1"}
	cfg := &ServerConfig{Verifier: VerifierChain{v}}
	cred, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	neg, _ := sspi.NewClientContext(ccred, sspi.ClientOptions{}).Step(nil)
	chalMsg, err := sspi.NewServerContext(cred, sspi.ServerOptions{}).Step(neg)
	if err != nil {
		t.Fatal(err)
	}
	chal, err := ntlmssp.ParseChallenge(chalMsg)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := ntlmssp.ParseAVPairs(chal.TargetInfo)
	if d, _ := ti.GetString(ntlmssp.MsvAvNbDomainName); d != "SAMDOM" {
		t.Errorf("MsvAvNbDomainName %q", d)
	}
	if c, _ := ti.GetString(ntlmssp.MsvAvNbComputerName); c != "WEB1" {
		t.Errorf("MsvAvNbComputerName %q", c)
	}
	_, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &ServerConfig{Verifier: v, NetBIOSComputer: "OTHER"}, nil)
	wantErr(t, err, sspi.ErrInvalidParameter, `"WEB1"`)
	if _, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &ServerConfig{Verifier: v, NetBIOSComputer: "web1"}, nil); err != nil {
		t.Errorf("names differing in case only: %v", err)
	}
}
