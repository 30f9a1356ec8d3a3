package credssp

import (
	"context"
	"testing"

	"github.com/gosspi/sspi"
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
