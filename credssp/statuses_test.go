package credssp

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/ntlm"
)

// impostorPackage is NTLM that claims, as Kerberos would after mutual authentication, to
// have proved the server is TERMSRV/impostor.example.com. No real mechanism names a
// server other than the target it got a ticket for, so a wrapper stands in for one that
// does: it exercises SEC_E_WRONG_PRINCIPAL.
type impostorPackage struct{}

const impostorName = "CredSSPTestImpostor"

// impostorClaim is the server name the impostor package reports.
var impostorClaim = "TERMSRV/impostor.example.com@EXAMPLE.COM"

func init() { sspi.Register(impostorPackage{}) }

func (impostorPackage) Info() sspi.PackageInfo {
	return sspi.PackageInfo{Name: impostorName, Comment: "credssp test: NTLM claiming a server name", RPCID: sspi.RPCIDNone, MaxToken: 4096}
}

func (impostorPackage) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	p, err := sspi.LookupPackage(ntlm.PackageName)
	if err != nil {
		return nil, err
	}
	c, err := p.AcquireCredentials(req)
	if err != nil {
		return nil, err
	}
	return impostorCreds{c}, nil
}

type impostorCreds struct{ sspi.PackageCredentials }

func (c impostorCreds) NewContext(server bool) (sspi.PackageContext, error) {
	ctx, err := c.PackageCredentials.NewContext(server)
	return &impostorCtx{ctx}, err
}

type impostorCtx struct{ sspi.PackageContext }

func (c *impostorCtx) Step(p *sspi.StepParams) (sspi.Status, error) {
	st, err := c.PackageContext.Step(p)
	p.Attr |= sspi.ISCRetMutualAuth
	return st, err
}

func (c *impostorCtx) Identity() sspi.Identity {
	id := c.PackageContext.(sspi.IdentityReporter).Identity()
	id.Server = impostorClaim
	return id
}

func (c *impostorCtx) EncryptMessage(q uint32, m []sspi.Buffer, s uint32) error {
	return c.PackageContext.(sspi.Sealer).EncryptMessage(q, m, s)
}

func (c *impostorCtx) DecryptMessage(m []sspi.Buffer, s uint32) (uint32, error) {
	return c.PackageContext.(sspi.Sealer).DecryptMessage(m, s)
}

func TestWrongPrincipal(t *testing.T) {
	ccfg, scfg := clientConfig(), serverConfig(t)
	ccfg.Package = impostorName
	scfg.Package, scfg.Negotiate = ntlm.PackageName, ntlmServerConfig(t)
	p := newMsgPair(t, ccfg, scfg, defaultReq|sspi.ISCReqMutualAuth)
	cerr, _ := p.run(t, nil)
	if !errors.Is(cerr, sspi.ErrWrongPrincipal) {
		t.Fatalf("client: %v, want SEC_E_WRONG_PRINCIPAL", cerr)
	}
	// A proof of the target's own name (with a realm and in other case) is fine.
	impostorClaim = "termsrv/RDP.example.com@EXAMPLE.COM"
	defer func() { impostorClaim = "TERMSRV/impostor.example.com@EXAMPLE.COM" }()
	p = newMsgPair(t, ccfg, scfg, defaultReq|sspi.ISCReqMutualAuth)
	if cerr, serr := p.run(t, nil); cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
}

func TestEarlyUserAuthResult(t *testing.T) {
	for _, tt := range []struct {
		name    string
		allow   bool
		wantErr sspi.Status
	}{
		{"access granted", true, 0},
		{"access denied", false, sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig(t)
			ccfg.EarlyUserAuthResult, scfg.EarlyUserAuthResult = true, true
			scfg.Authorize = func(id sspi.Identity, d Delegated) bool { return tt.allow && id.User == testUser }
			p := newMsgPair(t, ccfg, scfg, defaultReq)
			cerr, serr := p.run(t, nil)
			if tt.allow {
				if cerr != nil || serr != nil || p.c.state != clientDone {
					t.Fatalf("client %v (state %d), server %v", cerr, p.c.state, serr)
				}
				return
			}
			if !errors.Is(serr, sspi.ErrLogonDenied) {
				t.Fatalf("server: %v", serr)
			}
			if v, err := rdp.ParseEarlyUserAuthResult(p.s.errToken); err != nil || v != rdp.AuthzAccessDenied {
				t.Fatalf("server's refusal %x: %v", p.s.errToken, err)
			}
			// The client reading it.
			_, _, err := p.c.step(p.s.errToken)
			if !errors.Is(err, sspi.ErrLogonDenied) {
				t.Fatalf("client: %v", err)
			}
			// A TSRequest with errorCode in its place is understood too.
			p.c.state = clientEarlyAuth
			code := (&tsRequest{version: 6, errorCode: statusAccountLockedOut, hasErrorCode: true}).marshal()
			if _, _, err := p.c.step(code); !errors.Is(err, sspi.ErrLogonDenied) || !strings.Contains(err.Error(), "0xC0000234") {
				t.Fatalf("client reading an errorCode instead of the result: %v", err)
			}
		})
	}
}

// completingPackage is NTLM whose client asks for CompleteAuthToken on its first leg
// (SEC_I_COMPLETE_AND_CONTINUE), as some packages do; none of ours does, so a wrapper
// stands in to check that CredSSP passes the status and the call through.
type completingPackage struct{}

const completingName = "CredSSPTestCompleting"

var completions int

func init() { sspi.Register(completingPackage{}) }

func (completingPackage) Info() sspi.PackageInfo {
	return sspi.PackageInfo{Name: completingName, Comment: "credssp test: NTLM asking for CompleteAuthToken", RPCID: sspi.RPCIDNone, MaxToken: 4096}
}

func (completingPackage) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	p, _ := sspi.LookupPackage(ntlm.PackageName)
	c, err := p.AcquireCredentials(req)
	return completingCreds{c}, err
}

type completingCreds struct{ sspi.PackageCredentials }

func (c completingCreds) NewContext(server bool) (sspi.PackageContext, error) {
	ctx, err := c.PackageCredentials.NewContext(server)
	return &completingCtx{impostorCtx: impostorCtx{ctx}}, err
}

type completingCtx struct {
	impostorCtx
	legs int
}

func (c *completingCtx) Step(p *sspi.StepParams) (sspi.Status, error) {
	st, err := c.PackageContext.Step(p)
	c.legs++
	if err == nil && c.legs == 1 && st == sspi.ContinueNeeded {
		return sspi.CompleteAndContinue, nil
	}
	return st, err
}

func (c *completingCtx) Identity() sspi.Identity {
	return c.PackageContext.(sspi.IdentityReporter).Identity()
}

func (c *completingCtx) CompleteAuthToken([]sspi.Buffer) error {
	completions++
	return nil
}

func TestCompleteAndContinuePassesThrough(t *testing.T) {
	ccfg := clientConfig()
	ccfg.Package = completingName
	scfg := pkgServerConfig(t)
	scfg.Package, scfg.Negotiate = ntlm.PackageName, ntlmServerConfig(t)
	p := newSSPIPair(t, ccfg, scfg)
	var sawStatus bool
	p.toServerFilter = func(tok []byte) []byte {
		if p.cstat == sspi.CompleteAndContinue {
			sawStatus = true
			if err := sspi.CompleteAuthToken(p.cctx, []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}); err != nil {
				t.Fatal(err)
			}
		}
		return tok
	}
	completions = 0
	if cerr, serr := p.run(); cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if !sawStatus || completions != 1 {
		t.Fatalf("SEC_I_COMPLETE_AND_CONTINUE seen %v, CompleteAuthToken reached the inner package %d times", sawStatus, completions)
	}
}
