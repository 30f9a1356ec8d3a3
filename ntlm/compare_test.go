package ntlm

import (
	"bytes"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// BenchmarkCompareGSSNTLMSSP times gosspi's NTLM and gss-ntlmssp's side by side in one run,
// measured the same way: b.N handshakes per side, b.N seal+unseal pairs of 1 KiB and 16 KiB,
// b.N sign+verify pairs of 1 KiB, with the clock read around each call (as the C harness
// does with CLOCK_MONOTONIC), so per-call overhead and context set-up and deletion stay out
// of both.
//
// Our acceptor handshake is NEGOTIATE → CHALLENGE, then the AUTHENTICATE verified (account
// look-up in memory, NTProofStr, MIC, keys), replayed from a recording against a fixed
// challenge as in BenchmarkServerHandshake; our initiator is NEGOTIATE, then the AUTHENTICATE
// for a recorded CHALLENGE. gss-ntlmssp's run is the C harness (testpeers.RunGSSNTLMBench):
// a live handshake in one process, its acceptor reading NTLM_USER_FILE, without a MIC
// (gss-ntlmssp sends none unless asked). Messages go through the SSPI-shaped
// EncryptMessage/DecryptMessage and MakeSignature/VerifySignature, in place; gss_wrap and
// gss_unwrap allocate their output.
//
// ns/op is our full handshake (initiator + acceptor); the other metrics are each side's
// ns per call and the ratios theirs/ours (above 1: gosspi is faster). Never asserted on.
func BenchmarkCompareGSSNTLMSSP(b *testing.B) {
	// Skip (or fail under SSPI_INTEROP=require) before any work when the harness cannot be
	// built or gss-ntlmssp is missing; RunGSSNTLMBench checks again.
	testpeers.RequireCGSSAPI(b)
	testpeers.RequireGSSNTLMSSP(b)
	n := b.N

	scred := fixedServer(b)
	neg, chal, auth := recorded(b, scred)
	ccred := clientCredsFor(b, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	oursAcc := cmpTimeAcceptor(b, scred, neg, auth, n)
	oursIni := cmpTimeInitiator(b, ccred, chal, n)
	c, s := establishedPair(b)
	oursSeal1k, oursUnseal1k := cmpTimeSeal(b, c, s, 1<<10, n)
	oursSeal16k, oursUnseal16k := cmpTimeSeal(b, c, s, 16<<10, n)
	oursSign, oursVerify := cmpTimeSign(b, c, s, 1<<10, n)

	gss, err := testpeers.RunGSSNTLMBench(b, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s", gss)
	var gssWrap1k, gssUnwrap1k, gssWrap16k, gssUnwrap16k float64
	for _, p := range gss.Protect {
		switch p.Size {
		case 1 << 10:
			gssWrap1k, gssUnwrap1k = p.WrapNs, p.UnwrapNs
		case 16 << 10:
			gssWrap16k, gssUnwrap16k = p.WrapNs, p.UnwrapNs
		}
	}
	b.Logf("gosspi, n=%d: handshake initiator %.0f ns, acceptor %.0f ns; 1024 B seal %.0f ns unseal %.0f ns; 16384 B seal %.0f ns unseal %.0f ns; 1024 B sign %.0f ns verify %.0f ns",
		n, oursIni, oursAcc, oursSeal1k, oursUnseal1k, oursSeal16k, oursUnseal16k, oursSign, oursVerify)

	b.ReportMetric(oursIni+oursAcc, "ns/op")
	b.ReportMetric(oursAcc, "ours-acceptor-ns/op")
	b.ReportMetric(oursIni, "ours-initiator-ns/op")
	b.ReportMetric(gss.AcceptorNsPerHandshake, "gss-acceptor-ns/op")
	b.ReportMetric(gss.InitiatorNsPerHandshake, "gss-initiator-ns/op")
	ratio := func(theirs, ours float64, unit string) {
		if ours > 0 && theirs > 0 {
			b.ReportMetric(theirs/ours, unit)
		}
	}
	ratio(gss.AcceptorNsPerHandshake, oursAcc, "gss-acceptor/ours")
	ratio(gss.InitiatorNsPerHandshake, oursIni, "gss-initiator/ours")
	ratio(gssWrap1k+gssUnwrap1k, oursSeal1k+oursUnseal1k, "gss-wrap+unwrap-1k/ours")
	ratio(gssWrap16k+gssUnwrap16k, oursSeal16k+oursUnseal16k, "gss-wrap+unwrap-16k/ours")
	ratio(gss.MIC.GetMICNs+gss.MIC.VerifyMICNs, oursSign+oursVerify, "gss-mic-1k/ours")
}

// cmpTimeAcceptor returns our acceptor's time per handshake: both AcceptSecurityContext calls.
func cmpTimeAcceptor(b *testing.B, scred *sspi.Credentials, neg, auth []byte, n int) float64 {
	in := []sspi.Buffer{{Type: sspi.BufferToken}}
	out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	var total time.Duration
	for range n {
		t0 := time.Now()
		in[0].Data = neg
		out[0].Data = out[0].Data[:MaxToken]
		ctx, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
		if err != nil {
			b.Fatal(err)
		}
		in[0].Data = auth
		out[0].Data = out[0].Data[:MaxToken]
		_, st, err := sspi.AcceptSecurityContext(scred, ctx, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
		total += time.Since(t0)
		if err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		sspi.DeleteSecurityContext(ctx)
	}
	return float64(total.Nanoseconds()) / float64(n)
}

// cmpTimeInitiator returns our initiator's time per handshake: both InitializeSecurityContext
// calls.
func cmpTimeInitiator(b *testing.B, ccred *sspi.Credentials, chal []byte, n int) float64 {
	out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
	in := []sspi.Buffer{{Type: sspi.BufferToken, Data: chal}}
	var total time.Duration
	for range n {
		t0 := time.Now()
		out[0].Data = out[0].Data[:MaxToken]
		ctx, _, err := sspi.InitializeSecurityContext(ccred, nil, "host/server", sspi.DefaultClientReq, sspi.NativeDataRep, nil, out)
		if err != nil {
			b.Fatal(err)
		}
		out[0].Data = out[0].Data[:MaxToken]
		_, st, err := sspi.InitializeSecurityContext(ccred, ctx, "host/server", sspi.DefaultClientReq, sspi.NativeDataRep, in, out)
		total += time.Since(t0)
		if err != nil || st != sspi.OK {
			b.Fatal(st, err)
		}
		sspi.DeleteSecurityContext(ctx)
	}
	return float64(total.Nanoseconds()) / float64(n)
}

// cmpTimeSeal returns EncryptMessage (client) and DecryptMessage (server) time per call, and
// checks the plaintext comes back.
func cmpTimeSeal(b *testing.B, c, s *sspi.Context, size, n int) (seal, unseal float64) {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i*131 + 7)
	}
	data := make([]byte, size)
	sig := make([]byte, 16)
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: sig}, {Type: sspi.BufferData, Data: data}}
	var ts, tu time.Duration
	for range n {
		copy(data, msg)
		bufs[0].Data = sig
		t0 := time.Now()
		err := sspi.EncryptMessage(c, 0, bufs, 0)
		ts += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		_, _, err = sspi.DecryptMessage(s, bufs, 0)
		tu += time.Since(t0)
		if err != nil || !bytes.Equal(data, msg) {
			b.Fatal("DecryptMessage:", err)
		}
	}
	return float64(ts.Nanoseconds()) / float64(n), float64(tu.Nanoseconds()) / float64(n)
}

// cmpTimeSign returns MakeSignature (client) and VerifySignature (server) time per call.
func cmpTimeSign(b *testing.B, c, s *sspi.Context, size, n int) (sign, verify float64) {
	data := make([]byte, size)
	sig := make([]byte, 16)
	bufs := []sspi.Buffer{{Type: sspi.BufferData, Data: data}, {Type: sspi.BufferToken, Data: sig}}
	var ts, tv time.Duration
	for range n {
		bufs[1].Data = sig
		t0 := time.Now()
		err := sspi.MakeSignature(c, 0, bufs, 0)
		ts += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		_, err = sspi.VerifySignature(s, bufs, 0)
		tv += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(ts.Nanoseconds()) / float64(n), float64(tv.Nanoseconds()) / float64(n)
}
