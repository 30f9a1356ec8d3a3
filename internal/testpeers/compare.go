package testpeers

import (
	"bytes"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// The helpers below are the gosspi side of the comparison benchmarks against the C harness
// (BenchmarkCompareGSSNTLMSSP, BenchmarkCompareMIT): both packages time their messages and
// report their metrics the same way, so the ratios mean the same thing in both.

// TimeSeal returns EncryptMessage (c) and DecryptMessage (s) time per call over n messages
// of size bytes, with the clock read around each call, and checks the plaintext comes back.
// tokenLen is the token buffer handed to EncryptMessage: the package's trailer size or more.
func TimeSeal(b *testing.B, c, s *sspi.Context, size, tokenLen, n int) (seal, unseal float64) {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i*131 + 7)
	}
	data := make([]byte, size)
	tok := make([]byte, tokenLen)
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}, {Type: sspi.BufferData, Data: data}}
	var ts, tu time.Duration
	for range n {
		copy(data, msg)
		bufs[0].Data = tok
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

// TimeSign returns MakeSignature (c) and VerifySignature (s) time per call over n messages
// of size bytes; sigLen is the signature buffer: the package's signature size or more.
func TimeSign(b *testing.B, c, s *sspi.Context, size, sigLen, n int) (sign, verify float64) {
	data := make([]byte, size)
	sig := make([]byte, sigLen)
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

// ReportHandshakes reports a comparison's handshake metrics: ns/op is our full handshake
// (initiator + acceptor), then each side's ns per handshake and the ratios peer/ours, the
// peer's metrics named with its prefix ("gss", "mit").
func ReportHandshakes(b *testing.B, peer string, oursIni, oursAcc, peerIni, peerAcc float64) {
	b.ReportMetric(oursIni+oursAcc, "ns/op")
	b.ReportMetric(oursAcc, "ours-acceptor-ns/op")
	b.ReportMetric(oursIni, "ours-initiator-ns/op")
	b.ReportMetric(peerAcc, peer+"-acceptor-ns/op")
	b.ReportMetric(peerIni, peer+"-initiator-ns/op")
	ReportRatio(b, peerAcc, oursAcc, peer+"-acceptor/ours")
	ReportRatio(b, peerIni, oursIni, peer+"-initiator/ours")
}

// ReportRatio reports theirs/ours under unit (above 1: gosspi is faster), and nothing when
// either side is missing: a harness that did not time an operation reports zero.
func ReportRatio(b *testing.B, theirs, ours float64, unit string) {
	if ours > 0 && theirs > 0 {
		b.ReportMetric(theirs/ours, unit)
	}
}
