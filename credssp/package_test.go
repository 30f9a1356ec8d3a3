package credssp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"reflect"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

// Tests of CredSSP as a package: through the SSPI calls, Schannel underneath, TLS records
// on the wire.

const clientReq = sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqExtendedError | sspi.ISCReqStream |
	sspi.ISCReqManualCredValidation | sspi.ISCReqSequenceDetect | sspi.ISCReqAllocateMemory
const serverReq = sspi.ASCReqConnection | sspi.ASCReqExtendedError | sspi.ASCReqStream | sspi.ASCReqAllocateMemory

func acquireCredSSP(t testing.TB, use sspi.CredentialUse, cfg Config) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", PackageName, use, nil, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func pkgServerConfig(t testing.TB) Config {
	cfg := serverConfig(t)
	cfg.TLS = &schannel.Config{Certificates: []tls.Certificate{serverCert(t)}}
	return cfg
}

// sspiPair is a client and a server driven through the SSPI-shaped calls.
type sspiPair struct {
	t              testing.TB
	ccred, scred   *sspi.Credentials
	cctx, sctx     *sspi.Context
	creq, sreq     sspi.ContextReq
	target         string
	clientIn       []sspi.Buffer // extra input buffers for the client's calls (PKG_PARAMS)
	cstat, sstat   sspi.Status
	legs           int
	toServerFilter func(tok []byte) []byte
}

func newSSPIPair(t testing.TB, ccfg, scfg Config) *sspiPair {
	return &sspiPair{t: t, ccred: acquireCredSSP(t, sspi.CredOutbound, ccfg), scred: acquireCredSSP(t, sspi.CredInbound, scfg),
		creq: clientReq, sreq: serverReq, target: testTarget}
}

func (p *sspiPair) clientStep(in []byte) ([]byte, error) {
	bufs := append([]sspi.Buffer(nil), p.clientIn...)
	if in != nil {
		bufs = append([]sspi.Buffer{{Type: sspi.BufferToken, Data: in}, {Type: sspi.BufferEmpty}}, bufs...)
	}
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	ctx, st, err := sspi.InitializeSecurityContext(p.ccred, p.cctx, p.target, p.creq, sspi.NativeDataRep, bufs, out)
	if ctx != nil {
		p.cctx = ctx
	}
	p.cstat = st
	return out[0].Data, err
}

func (p *sspiPair) serverStep(in []byte) ([]byte, error) {
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: in}, {Type: sspi.BufferEmpty}}
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	ctx, st, err := sspi.AcceptSecurityContext(p.scred, p.sctx, p.sreq, sspi.NativeDataRep, bufs, out)
	if ctx != nil {
		p.sctx = ctx
	}
	p.sstat = st
	return out[0].Data, err
}

// run pumps tokens until both sides are established or one fails; a failing side's
// token (EXTENDED_ERROR) is still delivered to the other, which then reports its view.
func (p *sspiPair) run() (cerr, serr error) {
	var toClient []byte
	first := true
	for i := 0; i < 20; i++ {
		if first || len(toClient) > 0 {
			var toServer []byte
			toServer, cerr = p.clientStep(toClient)
			first = false
			if p.toServerFilter != nil && len(toServer) > 0 {
				toServer = p.toServerFilter(toServer)
			}
			if cerr != nil {
				if len(toServer) > 0 && p.sctx != nil {
					_, serr = p.serverStep(toServer)
				}
				return cerr, serr
			}
			if len(toServer) == 0 {
				return nil, nil
			}
			p.legs++
			toClient, serr = p.serverStep(toServer)
			if serr != nil {
				if len(toClient) > 0 {
					_, cerr = p.clientStep(toClient)
				}
				return cerr, serr
			}
			if p.cstat == sspi.OK && len(toClient) == 0 {
				return nil, nil
			}
		}
	}
	p.t.Fatal("no end after 20 legs")
	return nil, nil
}

func TestPackageHandshake(t *testing.T) {
	p := newSSPIPair(t, clientConfig(), pkgServerConfig(t))
	cerr, serr := p.run()
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	if !p.cctx.Established() || !p.sctx.Established() {
		t.Fatal("not established")
	}
	d, err := DelegatedCredentials(p.sctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&PasswordCredentials{Domain: testDomain, User: testUser, Password: testPassword}); !reflect.DeepEqual(d, want) {
		t.Fatalf("delegated %+v", d)
	}
	if a := p.cctx.Attributes(); a&sspi.ISCRetDelegate == 0 || a&sspi.ISCRetConfidentiality == 0 || a&sspi.ISCRetMutualAuth != 0 {
		t.Fatalf("client attributes %v", a)
	}
	if a := p.sctx.Attributes(); a&sspi.ASCRetDelegate == 0 {
		t.Fatalf("server attributes %v", a)
	}
	var names sspi.Names
	if err := sspi.QueryContextAttributes(p.sctx, sspi.AttrNames, &names); err != nil || names.UserName != `EXAMPLE\alice` {
		t.Fatalf("names %+v %v", names, err)
	}
	// After CredSSP the TLS channel carries the application's data.
	var sz sspi.StreamSizes
	if err := sspi.QueryContextAttributes(p.cctx, sspi.AttrStreamSizes, &sz); err != nil || sz.MaximumMessage == 0 {
		t.Fatalf("stream sizes %+v %v", sz, err)
	}
	msg := []byte("hello over the TLS channel")
	hdr, data, trl := make([]byte, sz.Header), append([]byte(nil), msg...), make([]byte, sz.Trailer)
	bufs := []sspi.Buffer{{Type: sspi.BufferStreamHeader, Data: hdr}, {Type: sspi.BufferData, Data: data}, {Type: sspi.BufferStreamTrailer, Data: trl}, {}}
	if err := sspi.EncryptMessage(p.cctx, 0, bufs, 0); err != nil {
		t.Fatal(err)
	}
	rec := append(append(append([]byte(nil), bufs[0].Data...), bufs[1].Data...), bufs[2].Data...)
	in := []sspi.Buffer{{Type: sspi.BufferData, Data: rec}, {}, {}, {}}
	if _, _, err := sspi.DecryptMessage(p.sctx, in, 0); err != nil {
		t.Fatal(err)
	}
	if got := sspi.FindBuffer(in, sspi.BufferData); got == nil || !bytes.Equal(got.Data, msg) {
		t.Fatalf("decrypted %v", in)
	}
}

func TestPackageStatuses(t *testing.T) {
	for _, tt := range []struct {
		name           string
		mod            func(c, s *Config)
		creq           sspi.ContextReq
		target         *string
		client, server sspi.Status
	}{
		{name: "wrong password: errorCode reaches the client", mod: func(c, s *Config) { c.Negotiate.(*sspi.AuthIdentity).Password = "wrong" },
			client: sspi.ErrLogonDenied, server: sspi.ErrLogonDenied},
		{name: "v3: errorCode too", mod: func(c, s *Config) {
			c.Negotiate.(*sspi.AuthIdentity).Password = "wrong"
			c.MaxVersion, c.MinVersion, s.MinVersion = 3, 2, 2
		}, client: sspi.ErrLogonDenied, server: sspi.ErrLogonDenied},
		// The client's errorCode tells the server why it stopped.
		{name: "NTLM-only delegation", mod: func(c, s *Config) { c.DelegateToNTLMOnly = nil }, client: sspi.ErrPolicyNLTMOnly, server: sspi.ErrPolicyNLTMOnly},
		{name: "mutual auth with NTLM", creq: clientReq | sspi.ISCReqMutualAuth, client: sspi.ErrMutualAuthFailed},
		{name: "datagram", creq: clientReq | sspi.ISCReqDatagram, client: sspi.ErrUnsupportedFunction},
		{name: "no target", target: new(string), client: sspi.ErrTargetUnknown},
		{name: "nothing supplied", creq: clientReq | sspi.ISCReqUseSuppliedCreds, client: sspi.ErrNoCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, scfg := clientConfig(), pkgServerConfig(t)
			ccfg.Negotiate = &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: testPassword}
			if tt.mod != nil {
				tt.mod(&ccfg, &scfg)
			}
			p := newSSPIPair(t, ccfg, scfg)
			if tt.creq != 0 {
				p.creq = tt.creq
			}
			if tt.target != nil {
				p.target = *tt.target
			}
			cerr, serr := p.run()
			if !errors.Is(cerr, tt.client) {
				t.Fatalf("client: %v, want %v (server: %v)", cerr, tt.client, serr)
			}
			if tt.server != 0 && !errors.Is(serr, tt.server) {
				t.Fatalf("server: %v, want %v", serr, tt.server)
			}
			if tt.server == sspi.ErrLogonDenied && !bytes.Contains([]byte(cerr.Error()), []byte("the server reports failure NTSTATUS 0xC000006D")) {
				t.Fatalf("the client did not learn the server's errorCode: %v", cerr)
			}
		})
	}
}

func TestPackageIncompleteMessage(t *testing.T) {
	p := newSSPIPair(t, clientConfig(), pkgServerConfig(t))
	hello, err := p.clientStep(nil)
	if err != nil || p.cstat != sspi.ContinueNeeded {
		t.Fatal(p.cstat, err)
	}
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: hello[:10]}, {Type: sspi.BufferEmpty}}
	out := []sspi.Buffer{{Type: sspi.BufferToken}}
	_, _, err = sspi.AcceptSecurityContext(p.scred, nil, p.sreq, sspi.NativeDataRep, bufs, out)
	if !errors.Is(err, sspi.ErrIncompleteMessage) {
		t.Fatalf("err = %v", err)
	}
	if bufs[1].Type != sspi.BufferMissing || bufs[1].Size != len(hello)-10 {
		t.Fatalf("missing buffer %+v, want %d bytes", bufs[1], len(hello)-10)
	}
}

func TestPackageSuppliedCredentials(t *testing.T) {
	p := newSSPIPair(t, clientConfig(), pkgServerConfig(t))
	p.creq |= sspi.ISCReqUseSuppliedCreds
	supplied := &PasswordCredentials{Domain: testDomain, User: testUser, Password: "a smart-card PIN would go here"}
	p.clientIn = []sspi.Buffer{{Type: sspi.BufferPkgParams, Data: MarshalCredentials(supplied)}}
	if cerr, serr := p.run(); cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if d, _ := DelegatedCredentials(p.sctx); !reflect.DeepEqual(d, supplied) {
		t.Fatalf("server got %+v", d)
	}
}

// The TLS server asks for a client certificate: Schannel's SEC_I_INCOMPLETE_CREDENTIALS
// comes through CredSSP; new CredSSP credentials with a certificate finish the handshake.
func TestPackageIncompleteCredentials(t *testing.T) {
	scfg := pkgServerConfig(t)
	scfg.TLS.(*schannel.Config).ClientAuth = tls.RequireAnyClientCert
	p := newSSPIPair(t, clientConfig(), scfg)
	hello, err := p.clientStep(nil)
	if err != nil {
		t.Fatal(err)
	}
	flight, err := p.serverStep(hello)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.clientStep(flight); err != nil || p.cstat != sspi.IncompleteCredentials {
		t.Fatalf("status %v, %v; want SEC_I_INCOMPLETE_CREDENTIALS", p.cstat, err)
	}
	withCert := clientConfig()
	withCert.TLS = &schannel.Config{Certificates: []tls.Certificate{serverCert(t)}}
	p.ccred = acquireCredSSP(t, sspi.CredOutbound, withCert)
	tok, err := p.clientStep(nil)
	if err != nil {
		t.Fatalf("after new credentials: %v", err)
	}
	for i := 0; i < 10 && !(p.cctx.Established() && p.sctx.Established()); i++ {
		if tok, err = p.serverStep(tok); err != nil {
			t.Fatal(err)
		}
		if len(tok) == 0 {
			break
		}
		if tok, err = p.clientStep(tok); err != nil {
			t.Fatal(err)
		}
		if len(tok) == 0 {
			break
		}
	}
	if !p.cctx.Established() || !p.sctx.Established() {
		t.Fatal("not established")
	}
}

func TestPackageReauthentication(t *testing.T) {
	p := newSSPIPair(t, clientConfig(), pkgServerConfig(t))
	if cerr, serr := p.run(); cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	first := p.legs
	if cerr, serr := p.run(); cerr != nil || serr != nil {
		t.Fatalf("again: %v %v", cerr, serr)
	}
	if p.legs != 2*first || !p.cctx.Established() || !p.sctx.Established() {
		t.Fatalf("legs %d then %d", first, p.legs-first)
	}
	if d, _ := DelegatedCredentials(p.sctx); d == nil {
		t.Fatal("no credentials after re-authentication")
	}
}

// The target name keys Schannel's session cache (the seed's rule: same target, same
// credentials handle): a second CredSSP handshake to the same target resumes the TLS
// session, one to another target does not.
func TestPackageSessionCacheByTarget(t *testing.T) {
	cc := acquireCredSSP(t, sspi.CredOutbound, clientConfig())
	sc := acquireCredSSP(t, sspi.CredInbound, pkgServerConfig(t))
	resumed := func(target string) bool {
		p := &sspiPair{t: t, ccred: cc, scred: sc, creq: clientReq, sreq: serverReq, target: target}
		if cerr, serr := p.run(); cerr != nil || serr != nil {
			t.Fatal(cerr, serr)
		}
		var si schannel.SessionInfo
		if err := sspi.QueryContextAttributes(p.cctx, sspi.AttrSessionInfo, &si); err != nil {
			t.Fatal(err)
		}
		return si.Resumed()
	}
	if resumed(testTarget) {
		t.Fatal("the first handshake resumed a session")
	}
	if !resumed(testTarget) {
		t.Fatal("the second handshake to the same target did not resume")
	}
	if resumed("TERMSRV/RDP.example.com:3390") {
		t.Fatal("a handshake to another target name resumed the first target's session")
	}
}
