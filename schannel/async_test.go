package schannel

import (
	gocontext "context"
	"crypto/tls"
	"testing"

	"github.com/gosspi/sspi"
)

// TestAsync runs both sides of a handshake through the async layer, each leg on the
// scheduler's workers (so the handshake coroutine is resumed from several goroutines).
func TestAsync(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			p := testPKI(t)
			scred := acquire(t, sspi.CredInbound, &Config{Certificates: []tls.Certificate{p.server}, MaxVersion: v.v})
			ccred := acquire(t, sspi.CredOutbound, &Config{RootCAs: p.roots, MaxVersion: v.v})
			cac, sac := sspi.NewAsyncContext(), sspi.NewAsyncContext()
			defer cac.Free()
			defer sac.Free()
			step := func(ac *sspi.AsyncContext, server bool, ctx *sspi.Context, in []byte) (*sspi.Context, []byte, []byte, sspi.Status) {
				t.Helper()
				if err := ac.Reinit(); err != nil {
					t.Fatal(err)
				}
				inb := []sspi.Buffer{{Type: sspi.BufferToken, Data: in}, {Type: sspi.BufferEmpty}}
				out := []sspi.Buffer{{Type: sspi.BufferToken}}
				var err error
				if server {
					err = sspi.AcceptSecurityContextAsync(ac, scred, ctx, sspi.ASCReqAllocateMemory, 0, inb, out)
				} else {
					err = sspi.InitializeSecurityContextAsync(ac, ccred, ctx, "server.test", sspi.ISCReqAllocateMemory, 0, inb, out)
				}
				if err != nil {
					t.Fatal(err)
				}
				st, err := ac.Wait(gocontext.Background())
				if err != nil {
					t.Fatal(err)
				}
				var extra []byte
				if inb[1].Type == sspi.BufferExtra {
					extra = inb[1].Data
				}
				return ac.Context(), out[0].Data, extra, st
			}
			cctx, tok, _, _ := step(cac, false, nil, nil)
			var sctx *sspi.Context
			var cst, sst sspi.Status = sspi.ContinueNeeded, sspi.ContinueNeeded
			var pending []byte
			for i := 0; i < 6 && (cst != sspi.OK || sst != sspi.OK); i++ {
				if sst != sspi.OK {
					sctx, tok, _, sst = step(sac, true, sctx, tok)
				}
				if cst != sspi.OK {
					cctx, tok, pending, cst = step(cac, false, cctx, tok)
				} else {
					pending = append(pending, tok...)
				}
			}
			if cst != sspi.OK || sst != sspi.OK {
				t.Fatalf("client %v, server %v", cst, sst)
			}
			cli := &endpoint{ctx: cctx, cred: ccred, target: "server.test", buf: pending, done: true}
			srv := &endpoint{server: true, ctx: sctx, cred: scred, done: true}
			defer sspi.DeleteSecurityContext(cctx)
			defer sspi.DeleteSecurityContext(sctx)
			exchange(t, cli, srv)
		})
	}
}
