package schannel

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// handshakeErr runs a handshake expected to fail and returns the client's error.
func handshakeErr(t *testing.T, cli, srv *endpoint) error {
	t.Helper()
	out, err := cli.step()
	for i := 0; i < 10 && err == nil; i++ {
		srv.buf = out
		if out, err = srv.step(); err != nil {
			return err
		}
		if cli.done {
			return nil
		}
		cli.buf = out
		out, err = cli.step()
	}
	return err
}

func TestServerCertificateChecks(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		name   string
		cert   tls.Certificate
		roots  bool
		target string
		req    sspi.ContextReq
		manual bool
		want   sspi.Status
	}{
		{"good", p.server, true, "server.test", 0, false, sspi.OK},
		{"wrong name", p.server, true, "other.test", 0, false, sspi.ErrWrongPrincipal},
		{"untrusted", p.server, false, "server.test", 0, false, sspi.ErrUntrustedRoot},
		{"expired", p.expired, true, "server.test", 0, false, sspi.ErrCertExpired},
		{"no target", p.server, true, "", 0, false, sspi.ErrWrongPrincipal},
		{"manual by flag", p.expired, false, "other.test", sspi.ISCReqManualCredValidation, false, sspi.OK},
		{"manual by config", p.expired, false, "other.test", 0, true, sspi.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots := p.otherRoots
			if tt.roots {
				roots = p.roots
			}
			cli, srv := pair(t, 0, &Config{Certificates: []tls.Certificate{tt.cert}}, &Config{RootCAs: roots, ManualCredValidation: tt.manual})
			cli.target, cli.req = tt.target, tt.req
			err := handshakeErr(t, cli, srv)
			if got := sspi.StatusOf(err); got != tt.want {
				t.Fatalf("status %v (%v), want %v", got, err, tt.want)
			}
			if tt.want != sspi.OK {
				return
			}
			var cc CertContext
			if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrRemoteCertContext, &cc); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cc.Leaf().Raw, tt.cert.Certificate[0]) || len(cc.Certificates) != 2 {
				t.Fatalf("remote chain of %d, leaf %v", len(cc.Certificates), cc.Leaf().Subject)
			}
			if manual := cli.ctx.Attributes().Has(sspi.ISCRetManualCredValidation); manual != (tt.req != 0 || tt.manual) {
				t.Errorf("ISC_RET_MANUAL_CRED_VALIDATION %v", manual)
			}
		})
	}
}

// TestSessionResumption: a second context of the same credentials handle to the same
// target resumes; another target or another handle does not.
func TestSessionResumption(t *testing.T) {
	p := testPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			scred := acquire(t, sspi.CredInbound, &Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v})
			ccred := acquire(t, sspi.CredOutbound, &Config{RootCAs: p.roots, MaxVersion: v.v})
			other := acquire(t, sspi.CredOutbound, &Config{RootCAs: p.roots, MaxVersion: v.v})
			run := func(cred *sspi.Credentials, target string) bool {
				cli := &endpoint{cred: cred, target: target}
				srv := &endpoint{server: true, cred: scred}
				defer sspi.DeleteSecurityContext(cli.ctx)
				defer sspi.DeleteSecurityContext(srv.ctx)
				runHandshake(t, cli, srv, whole)
				exchange(t, cli, srv) // takes a TLS 1.3 ticket in
				var si SessionInfo
				if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrSessionInfo, &si); err != nil {
					t.Fatal(err)
				}
				return si.Resumed()
			}
			if run(ccred, "server.test") {
				t.Fatal("first handshake resumed")
			}
			if !run(ccred, "server.test") {
				t.Fatal("second handshake to the same target with the same handle did not resume")
			}
			if run(ccred, "localhost") {
				t.Error("another target resumed")
			}
			if run(other, "server.test") {
				t.Error("another credentials handle resumed")
			}
		})
	}
}

// TestClientCertificates covers the three answers to SEC_I_INCOMPLETE_CREDENTIALS.
func TestClientCertificates(t *testing.T) {
	p := testPKI(t)
	for _, v := range versions {
		for _, mode := range []string{"new-credentials", "go-on-without", "go-on-without-required", "had-one"} {
			t.Run(v.name+"/"+mode, func(t *testing.T) { clientCertificateCase(t, p, v.v, mode) })
		}
	}
}

// clientCertificateCase runs one answer (mode) to the server's certificate request at
// version.
func clientCertificateCase(t *testing.T, p *pki, version uint16, mode string) {
	policy := tls.VerifyClientCertIfGiven
	if mode == "go-on-without-required" || mode == "new-credentials" {
		policy = tls.RequireAndVerifyClientCert
	}
	ccfg := &Config{RootCAs: p.roots}
	if mode == "had-one" {
		ccfg.Certificates = []tls.Certificate{p.client}
	}
	cli, srv := pair(t, version, &Config{Certificates: []tls.Certificate{p.server}, ClientAuth: policy, ClientCAs: p.clientRoot}, ccfg)
	out, err := cli.step()
	if err != nil {
		t.Fatal(err)
	}
	srv.buf = out
	flight, err := srv.step()
	if err != nil {
		t.Fatal(err)
	}
	cli.buf = flight
	out, err = cli.step()
	if err != nil {
		t.Fatal(err)
	}
	if mode == "had-one" {
		if cli.status == sspi.IncompleteCredentials {
			t.Fatal("SEC_I_INCOMPLETE_CREDENTIALS with a certificate in the credentials")
		}
	} else {
		out = answerIncompleteCredentials(t, p, version, cli, flight, mode == "new-credentials")
	}
	srv.buf = out
	last, err := srv.step()
	if err == nil {
		cli.buf = last
		if !cli.done {
			if _, err := cli.step(); err != nil || !cli.done {
				t.Fatalf("client's last step: %v %v", cli.status, err)
			}
		}
	}
	if mode == "go-on-without-required" {
		if !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatalf("server without the required certificate: %v", err)
		}
		return
	}
	if err != nil || !srv.done {
		t.Fatalf("server: %v %v", srv.status, err)
	}
	checkClientCertificateSeen(t, cli, srv, mode != "go-on-without")
	exchange(t, cli, srv)
}

// answerIncompleteCredentials checks the client's SEC_I_INCOMPLETE_CREDENTIALS and the
// issuers the server asked for, gives the client a certificate when withCert, and calls it
// again with the server's flight, as the Windows samples do; it returns the client's output.
func answerIncompleteCredentials(t *testing.T, p *pki, version uint16, cli *endpoint, flight []byte, withCert bool) []byte {
	t.Helper()
	if cli.status != sspi.IncompleteCredentials {
		t.Fatalf("status %v, want SEC_I_INCOMPLETE_CREDENTIALS", cli.status)
	}
	var il IssuerListInfoEx
	if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrIssuerListEx, &il); err != nil {
		t.Fatal(err)
	}
	if len(il.Issuers) != 1 || !bytes.Equal(il.Issuers[0], p.clientCA.RawSubject) {
		t.Fatalf("issuers %x", il.Issuers)
	}
	if withCert {
		cli.cred = acquire(t, sspi.CredOutbound, &Config{RootCAs: p.roots, Certificates: []tls.Certificate{p.client}, MaxVersion: version})
	}
	cli.buf = flight
	out, err := cli.step()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkClientCertificateSeen checks that both ends see alice's certificate when sent, and
// the server none otherwise.
func checkClientCertificateSeen(t *testing.T, cli, srv *endpoint, sent bool) {
	t.Helper()
	var cc CertContext
	err := sspi.QueryContextAttributes(srv.ctx, sspi.AttrRemoteCertContext, &cc)
	if sent != (err == nil) {
		t.Fatalf("server's view of the client certificate: %v", err)
	}
	if !sent {
		return
	}
	if cc.Leaf().Subject.CommonName != "alice" {
		t.Fatalf("client certificate %v", cc.Leaf().Subject)
	}
	var lc CertContext
	if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrLocalCertContext, &lc); err != nil || lc.Leaf().Subject.CommonName != "alice" {
		t.Fatalf("client's LOCAL_CERT_CONTEXT: %v", err)
	}
}

// TestBindingsWithNTLM: an NTLM handshake whose channel bindings come from each side's
// schannel ENDPOINT_BINDINGS succeeds with bindings required; bindings of another TLS
// connection fail.
func TestBindingsWithNTLM(t *testing.T) {
	cli, srv := pair(t, 0, nil, nil)
	runHandshake(t, cli, srv, whole)
	var cb, sb, ub Bindings
	if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrEndpointBindings, &cb); err != nil {
		t.Fatal(err)
	}
	if err := sspi.QueryContextAttributes(srv.ctx, sspi.AttrEndpointBindings, &sb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cb.Bindings, sb.Bindings) {
		t.Fatal("client and server endpoint bindings differ")
	}
	parsed, err := sspi.ParseChannelBindings(cb.Bindings)
	if err != nil || !bytes.HasPrefix(parsed.ApplicationData, []byte("tls-server-end-point:")) {
		t.Fatalf("bindings %q, %v", cb.Bindings, err)
	}
	if err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrUniqueBindings, &ub); err == nil {
		t.Error("tls-unique under TLS 1.3")
	}
	ce, err := TLSExporterBindings(cli.ctx)
	if err != nil {
		t.Fatal(err)
	}
	se, err := TLSExporterBindings(srv.ctx)
	if err != nil || !bytes.Equal(ce.ApplicationData, se.ApplicationData) || len(ce.ApplicationData) != len("tls-exporter:")+32 {
		t.Fatalf("tls-exporter %x / %x, %v", ce.ApplicationData, se.ApplicationData, err)
	}

	other, osrv := pair(t, 0, nil, nil)
	runHandshake(t, other, osrv, whole)
	var wrong Bindings
	if err := sspi.QueryContextAttributes(other.ctx, sspi.AttrEndpointBindings, &wrong); err != nil {
		t.Fatal(err)
	}
	// The certificate is the same, so tls-server-end-point is too: use a different
	// binding to prove a mismatch fails.
	bad := (&sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:not-this-one")}).Marshal()
	for _, tc := range []struct {
		name    string
		cliBind []byte
		want    bool
	}{{"same", cb.Bindings, true}, {"other", bad, false}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ntlmWithBindings(t, tc.cliBind, sb.Bindings); (err == nil) != tc.want {
				t.Fatalf("NTLM with bindings: %v", err)
			}
		})
	}
}

func ntlmWithBindings(t *testing.T, cliCB, srvCB []byte) error {
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		t.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredInbound, nil, &ntlm.ServerConfig{Accounts: store, ChannelBindings: ntlm.BindingsRequired, NetBIOSComputer: "SRV", NetBIOSDomain: "EXAMPLE"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(scred)
	ccred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: "alice", Domain: "EXAMPLE", Password: "Passw0rd!"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(ccred)
	var cctx, sctx *sspi.Context
	defer func() { sspi.DeleteSecurityContext(cctx); sspi.DeleteSecurityContext(sctx) }()
	var tok []byte
	for i := 0; i < 3; i++ {
		in := []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}, {Type: sspi.BufferChannelBindings, Data: cliCB}}
		out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, ntlm.MaxToken)}}
		cctx, _, err = sspi.InitializeSecurityContext(ccred, cctx, "HTTP/localhost", 0, 0, in, out)
		if err != nil {
			return err
		}
		if len(out[0].Data) == 0 {
			break
		}
		in = []sspi.Buffer{{Type: sspi.BufferToken, Data: out[0].Data}, {Type: sspi.BufferChannelBindings, Data: srvCB}}
		sout := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, ntlm.MaxToken)}}
		var st sspi.Status
		sctx, st, err = sspi.AcceptSecurityContext(scred, sctx, 0, 0, in, sout)
		if err != nil {
			return err
		}
		if st == sspi.OK {
			return nil
		}
		tok = sout[0].Data
	}
	return errors.New("NTLM did not finish")
}

// TestShutdown: ApplyControlToken(SCHANNEL_SHUTDOWN) then ISC gives close_notify, which
// the server's DecryptMessage reports as SEC_I_CONTEXT_EXPIRED.
func TestShutdown(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cli, srv := pair(t, v.v, nil, nil)
			runHandshake(t, cli, srv, whole)
			exchange(t, cli, srv)
			tok := binary.LittleEndian.AppendUint32(nil, Shutdown)
			if err := sspi.ApplyControlToken(cli.ctx, []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}); err != nil {
				t.Fatal(err)
			}
			cli.buf = nil
			alert, err := cli.step()
			if err != nil || len(alert) == 0 || cli.status != sspi.OK {
				t.Fatalf("close_notify step: %d bytes, %v, %v", len(alert), cli.status, err)
			}
			msg := []sspi.Buffer{{Type: sspi.BufferData, Data: alert}, {}, {}, {}}
			_, st, err := sspi.DecryptMessage(srv.ctx, msg, 0)
			if err != nil || st != sspi.ContextExpired {
				t.Fatalf("server DecryptMessage of close_notify: %v, %v", st, err)
			}
			if err := sspi.EncryptMessage(cli.ctx, 0, []sspi.Buffer{{Type: sspi.BufferStreamHeader, Data: make([]byte, 64)}, {Type: sspi.BufferData, Data: []byte("x")}, {Type: sspi.BufferStreamTrailer, Data: make([]byte, 64)}}, 0); err == nil {
				t.Fatal("EncryptMessage after shutdown succeeded")
			}
		})
	}
}

// TestAttributes checks ALPN, connection and cipher information and stream sizes.
func TestAttributes(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cli, srv := pair(t, v.v, nil, nil)
			cp, _ := ApplicationProtocols("h2", "http/1.1")
			sp, _ := ApplicationProtocols("http/1.1")
			cli.first = []sspi.Buffer{{Type: sspi.BufferApplicationProtocols, Data: cp}}
			srv.first = []sspi.Buffer{{Type: sspi.BufferApplicationProtocols, Data: sp}}
			runHandshake(t, cli, srv, whole)
			for _, e := range []*endpoint{cli, srv} {
				var ap ApplicationProtocol
				if err := sspi.QueryContextAttributes(e.ctx, sspi.AttrApplicationProtocol, &ap); err != nil || ap.Status != 1 || ap.Protocol != "http/1.1" {
					t.Errorf("ALPN %+v, %v", ap, err)
				}
				var ci ConnectionInfo
				if err := sspi.QueryContextAttributes(e.ctx, sspi.AttrConnectionInfo, &ci); err != nil || ci.CipherStrength < 128 || ci.Exchange != algECDHE {
					t.Errorf("connection info %+v, %v", ci, err)
				}
				var cinfo CipherInfo
				if err := sspi.QueryContextAttributes(e.ctx, sspi.AttrCipherInfo, &cinfo); err != nil || cinfo.CipherSuiteStr != tls.CipherSuiteName(ci.CipherSuite) || cinfo.Certificate != "ECDSA" {
					t.Errorf("cipher info %+v, %v", cinfo, err)
				}
			}
			var ub Bindings
			err := sspi.QueryContextAttributes(cli.ctx, sspi.AttrUniqueBindings, &ub)
			if (v.v == tls.VersionTLS12) != (err == nil) {
				t.Errorf("tls-unique: %v", err)
			}
			if err == nil {
				var sb Bindings
				sspi.QueryContextAttributes(srv.ctx, sspi.AttrUniqueBindings, &sb)
				if !bytes.Equal(ub.Bindings, sb.Bindings) {
					t.Error("tls-unique differs between the sides")
				}
			}
			// A record of every size up to the maximum fills exactly header+data+trailer.
			for _, n := range []int{1, 100, 1024, maxMessage} {
				msg := bytes.Repeat([]byte{'a'}, n)
				got := openAll(t, srv, seal(t, cli.ctx, msg))
				if !bytes.Equal(got, msg) {
					t.Fatalf("%d bytes: round trip failed", n)
				}
			}
		})
	}
}
