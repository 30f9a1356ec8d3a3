package credssp

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
)

// BenchmarkExchange is CredSSP's exchange inside TLS (NTLM in Negotiate, version 6: the
// inner handshake, both bindings, the sealed credentials), without TLS itself.
func BenchmarkExchange(b *testing.B) {
	cc := innerCreds(b, sspi.CredOutbound, clientConfig())
	sc := innerCreds(b, sspi.CredInbound, serverConfig(b))
	b.ReportAllocs()
	for b.Loop() {
		c, _ := newClientHandshake(cc, testTarget, defaultReq, testSPK)
		s, _ := newServerHandshake(sc, testSPK)
		c.gctx, s.gctx = context.Background(), context.Background()
		p := &msgPair{c: c, s: s}
		if cerr, serr := p.run(b, nil); cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
	}
}

// BenchmarkInnerAlone is the same Negotiate (NTLM) handshake on its own: the part of
// BenchmarkExchange that is not CredSSP's.
func BenchmarkInnerAlone(b *testing.B) {
	cc := innerCreds(b, sspi.CredOutbound, clientConfig())
	sc := innerCreds(b, sspi.CredInbound, serverConfig(b))
	b.ReportAllocs()
	for b.Loop() {
		ci, _ := cc.inner.NewContext(false)
		si, _ := sc.inner.NewContext(true)
		c := inner{name: "Negotiate", ctx: ci}
		s := inner{name: "Negotiate", ctx: si}
		var tok []byte
		for i := 0; !c.done || !s.done; i++ {
			if !c.done {
				out, _, err := c.step(context.Background(), false, testTarget, innerClientReq, tok)
				if err != nil {
					b.Fatal(err)
				}
				tok = out
			}
			if !s.done && tok != nil {
				out, _, err := s.step(context.Background(), true, "", innerServerReq, tok)
				if err != nil {
					b.Fatal(err)
				}
				tok = out
			}
			if i > 6 {
				b.Fatal("no end")
			}
		}
	}
}

// BenchmarkFullHandshake is a whole CredSSP handshake in process through the SSPI calls:
// Schannel's TLS handshake, then BenchmarkExchange's work inside the records.
func BenchmarkFullHandshake(b *testing.B) {
	ccfg, scfg := clientConfig(), pkgServerConfig(b)
	// Full handshakes every time, as in BenchmarkTLSAlone: no resumption.
	ccfg.TLS = &schannel.Config{DisableSessionCache: true}
	cc := acquireCredSSP(b, sspi.CredOutbound, ccfg)
	sc := acquireCredSSP(b, sspi.CredInbound, scfg)
	b.ReportAllocs()
	for b.Loop() {
		p := &sspiPair{t: b, ccred: cc, scred: sc, creq: clientReq, sreq: serverReq, target: testTarget}
		if cerr, serr := p.run(); cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		sspi.DeleteSecurityContext(p.cctx)
		sspi.DeleteSecurityContext(p.sctx)
	}
}

// BenchmarkTLSAlone is Schannel's handshake on its own, with the same certificate and
// the same session-cache settings: the part of BenchmarkFullHandshake that is TLS.
func BenchmarkTLSAlone(b *testing.B) {
	cc, _, err := sspi.AcquireCredentialsHandle("", schannel.PackageName, sspi.CredOutbound, nil, &schannel.Config{ManualCredValidation: true, DisableSessionCache: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cc)
	sc, _, err := sspi.AcquireCredentialsHandle("", schannel.PackageName, sspi.CredInbound, nil, &schannel.Config{Certificates: []tls.Certificate{serverCert(b)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)
	b.ReportAllocs()
	for b.Loop() {
		p := &sspiPair{t: b, ccred: cc, scred: sc, creq: sspi.ISCReqStream | sspi.ISCReqManualCredValidation | sspi.ISCReqAllocateMemory,
			sreq: sspi.ASCReqStream | sspi.ASCReqAllocateMemory, target: testTarget}
		if cerr, serr := p.run(); cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		sspi.DeleteSecurityContext(p.cctx)
		sspi.DeleteSecurityContext(p.sctx)
	}
}
