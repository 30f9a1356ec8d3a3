package testpeers

import (
	"os/exec"
	"strings"
	"testing"
)

// The harness must produce plausible, internally consistent figures; the values themselves
// are never asserted (they are for the notes).
func TestGSSNTLMBenchHarness(t *testing.T) {
	r, err := RunGSSNTLMBench(t, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.N != 20 || r.InitiatorNsPerHandshake <= 0 || r.AcceptorNsPerHandshake <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.TotalNsPerHandshake < r.InitiatorNsPerHandshake+r.AcceptorNsPerHandshake {
		t.Errorf("total %.0f ns < initiator %.0f + acceptor %.0f", r.TotalNsPerHandshake, r.InitiatorNsPerHandshake, r.AcceptorNsPerHandshake)
	}
	if len(r.Protect) != 2 || r.Protect[0].Size != 1024 || r.Protect[1].Size != 16384 {
		t.Fatalf("protect sizes %+v", r.Protect)
	}
	for _, p := range r.Protect {
		if p.WrapNs <= 0 || p.UnwrapNs <= 0 {
			t.Errorf("protect %+v", p)
		}
	}
	if r.MIC.GetMICNs <= 0 || r.MIC.VerifyMICNs <= 0 {
		t.Errorf("mic %+v", r.MIC)
	}
}

// The harness refuses to produce numbers from a failing exchange: with the acceptor's users
// file holding another password, the first handshake fails and the run exits 1.
func TestGSSNTLMBenchHarnessFailsOnBadCredentials(t *testing.T) {
	bin := BuildGSSNTLMBench(t)
	dir := t.TempDir()
	env := peerEnv(t, dir, NTLMEnv{Users: []NTLMUser{{Domain: "BENCHDOM", User: "bench", Password: "other"}}}, nil)
	cmd := exec.Command(bin, "-mech", "ntlm", "-n", "3", "-user", `BENCHDOM\bench`, "-pass", "Bench-Passw0rd")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "gss_accept_sec_context") {
		t.Errorf("harness with a wrong password: %v, %s", err, out)
	}
}

// BenchmarkGSSNTLMSSPHandshake reports gss-ntlmssp's figures in `go test -bench` form, for
// benchstat beside gosspi's own NTLM benchmarks: one C run of b.N handshakes (and b.N message
// operations per size), its wall time per handshake as ns/op and each side's share as extra
// metrics.
func BenchmarkGSSNTLMSSPHandshake(b *testing.B) {
	bin := BuildGSSNTLMBench(b)
	b.ResetTimer()
	r, err := runGSSNTLMBench(b, bin, max(b.N, 1))
	if err != nil {
		b.Fatal(err)
	}
	// ns/op would otherwise be the whole C run (process start, message loops) over b.N.
	b.ReportMetric(r.TotalNsPerHandshake, "ns/op")
	b.ReportMetric(r.InitiatorNsPerHandshake, "initiator-ns/op")
	b.ReportMetric(r.AcceptorNsPerHandshake, "acceptor-ns/op")
	for _, p := range r.Protect {
		name := map[int]string{1024: "1k", 16384: "16k"}[p.Size]
		b.ReportMetric(p.WrapNs, "wrap"+name+"-ns/op")
		b.ReportMetric(p.UnwrapNs, "unwrap"+name+"-ns/op")
	}
}
