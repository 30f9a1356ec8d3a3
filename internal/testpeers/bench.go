package testpeers

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

//go:embed cdriver/gss_bench.c
var gssBenchC []byte

// GSSNTLMBenchResult holds gss-ntlmssp's in-process timings from the C comparison harness
// (cdriver/gss_bench.c -mech ntlm), in nanoseconds per operation. They are figures for the issue
// notes, to set beside gosspi's own `go test -bench` results; never assert on them.
type GSSNTLMBenchResult struct {
	// N is the number of handshakes, and of wrap+unwrap and MIC pairs per size.
	N int `json:"n"`
	// InitiatorNsPerHandshake is the time spent in gss_init_sec_context per handshake
	// (NEGOTIATE, then AUTHENTICATE), AcceptorNsPerHandshake in gss_accept_sec_context
	// (CHALLENGE, then verifying the AUTHENTICATE against NTLM_USER_FILE).
	InitiatorNsPerHandshake float64 `json:"initiator_ns_per_handshake"`
	AcceptorNsPerHandshake  float64 `json:"acceptor_ns_per_handshake"`
	// TotalNsPerHandshake is the wall time per handshake, context deletion included.
	TotalNsPerHandshake float64 `json:"total_ns_per_handshake"`
	// Protect holds gss_wrap (initiator, with confidentiality) and gss_unwrap (acceptor) per
	// message size: 1 KiB and 16 KiB.
	Protect []GSSProtectResult `json:"protect"`
	// MIC holds gss_get_mic (initiator) and gss_verify_mic (acceptor) over 1 KiB.
	MIC GSSMICResult `json:"mic"`
}

// GSSProtectResult is wrap and unwrap time for one message size.
type GSSProtectResult struct {
	// Size is the message size in bytes; WrapNs and UnwrapNs are nanoseconds per call.
	Size     int     `json:"size"`
	WrapNs   float64 `json:"wrap_ns"`
	UnwrapNs float64 `json:"unwrap_ns"`
}

// GSSMICResult is get_mic and verify_mic time for one message size.
type GSSMICResult struct {
	// Size is the message size in bytes; the others are nanoseconds per call.
	Size        int     `json:"size"`
	GetMICNs    float64 `json:"get_mic_ns"`
	VerifyMICNs float64 `json:"verify_mic_ns"`
}

// String formats the result for a benchmark log or the issue notes.
func (r GSSNTLMBenchResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gss-ntlmssp, n=%d: handshake initiator %.0f ns, acceptor %.0f ns, total %.0f ns",
		r.N, r.InitiatorNsPerHandshake, r.AcceptorNsPerHandshake, r.TotalNsPerHandshake)
	for _, p := range r.Protect {
		fmt.Fprintf(&b, "; %d B wrap %.0f ns unwrap %.0f ns", p.Size, p.WrapNs, p.UnwrapNs)
	}
	fmt.Fprintf(&b, "; %d B get_mic %.0f ns verify_mic %.0f ns", r.MIC.Size, r.MIC.GetMICNs, r.MIC.VerifyMICNs)
	return b.String()
}

// BuildGSSNTLMBench compiles the C harness with gcc against MIT's libgssapi_krb5 (flags from
// `krb5-config --cflags/--libs gssapi`) into a temporary directory and returns the binary's
// path. It skips (or fails under SSPI_INTEROP=require) without gcc, libkrb5-dev or
// gss-ntlmssp.
func BuildGSSNTLMBench(tb testing.TB) string {
	tb.Helper()
	RequireGSSNTLMSSP(tb)
	return buildCHarness(tb, "gss_bench", gssBenchC)
}

// buildCHarness compiles one C harness against MIT's libgssapi_krb5.
func buildCHarness(tb testing.TB, name string, code []byte) string {
	tb.Helper()
	gcc, krb5Config := RequireCGSSAPI(tb)
	dir := tb.TempDir()
	src, err := writeTemp(dir, name+".c", code, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	flags := func(what string) []string {
		out, err := exec.Command(krb5Config, what, "gssapi").Output()
		if err != nil {
			tb.Fatalf("testpeers: krb5-config %s gssapi: %v", what, err)
		}
		return strings.Fields(string(out))
	}
	bin := dir + "/" + name
	args := append([]string{"-O2", "-Wall", "-Werror", "-o", bin}, flags("--cflags")...)
	args = append(args, src)
	args = append(args, flags("--libs")...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gcc, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("testpeers: compiling the C harness: %v\n%s", err, out)
	}
	return bin
}

// RunGSSNTLMBench builds the C harness and runs n NTLM handshakes and n wrap+unwrap (1 KiB,
// 16 KiB) and get_mic+verify_mic (1 KiB) with gss-ntlmssp in one process, with the time in the
// initiator's and the acceptor's calls measured apart. The harness checks every result and
// fails on any error, so a number always comes from a working exchange. The run is bounded
// by a time-out that grows with n.
func RunGSSNTLMBench(tb testing.TB, n int) (GSSNTLMBenchResult, error) {
	tb.Helper()
	if n <= 0 {
		return GSSNTLMBenchResult{}, fmt.Errorf("testpeers: RunGSSNTLMBench needs n > 0, got %d", n)
	}
	return runGSSNTLMBench(tb, BuildGSSNTLMBench(tb), n)
}

// runGSSNTLMBench runs an already built harness (a benchmark builds it once, outside its
// timer).
func runGSSNTLMBench(tb testing.TB, bin string, n int) (GSSNTLMBenchResult, error) {
	tb.Helper()
	var res GSSNTLMBenchResult
	dir := tb.TempDir()
	env := peerEnv(tb, dir, NTLMEnv{Users: []NTLMUser{{Domain: "BENCHDOM", User: "bench", Password: "Bench-Passw0rd"}}}, nil)
	// The harness reports MICs as a list, one size for NTLM.
	var out struct {
		GSSNTLMBenchResult
		MICs []GSSMICResult `json:"mics"`
	}
	if err := runCHarness(bin, env, n, &out, "-mech", "ntlm", "-user", `BENCHDOM\bench`, "-pass", "Bench-Passw0rd"); err != nil {
		return res, err
	}
	if len(out.MICs) != 1 {
		return res, fmt.Errorf("testpeers: C harness reported %d MIC sizes, want 1", len(out.MICs))
	}
	res = out.GSSNTLMBenchResult
	res.MIC = out.MICs[0]
	return res, nil
}

// runCHarness runs the built harness bin for n rounds with args and env and decodes the JSON object it
// prints into res. The run is bounded by a time-out that grows with n; the harness runs in
// its own process group so that the time-out kills whatever it started.
func runCHarness(bin string, env []string, n int, res any, args ...string) error {
	args = append([]string{"-n", strconv.Itoa(n)}, args...)
	// Generous: ~1 ms per handshake and ~0.2 ms per 16 KiB message pair on this machine, a
	// loaded CI machine may be ten times slower.
	timeout := time.Minute + time.Duration(n)*50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	killGroupOnCancel(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: C harness after %v", errTimeout, timeout)
		}
		return fmt.Errorf("testpeers: C harness: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), res); err != nil {
		return fmt.Errorf("testpeers: C harness output %q: %w", stdout.String(), err)
	}
	return nil
}

// Krb5BenchResult holds MIT krb5's in-process timings from cdriver/gss_bench.c -mech krb5, in
// nanoseconds per operation: handshakes with mutual authentication and the service ticket
// in hand, then message protection on one context. Figures for benchmark logs; never
// assert on them.
type Krb5BenchResult struct {
	N int `json:"n"`
	// InitiatorNsPerHandshake is the time in gss_init_sec_context per handshake (AP-REQ,
	// then the AP-REP verified), AcceptorNsPerHandshake in gss_accept_sec_context (AP-REQ
	// verified with the keytab and the replay cache, AP-REP made).
	InitiatorNsPerHandshake float64 `json:"initiator_ns_per_handshake"`
	AcceptorNsPerHandshake  float64 `json:"acceptor_ns_per_handshake"`
	TotalNsPerHandshake     float64 `json:"total_ns_per_handshake"`
	// Protect is gss_wrap (with confidentiality) and gss_unwrap, MICs gss_get_mic and
	// gss_verify_mic, for 1 KiB and 16 KiB.
	Protect []GSSProtectResult `json:"protect"`
	MICs    []GSSMICResult     `json:"mics"`
}

// String formats the result for a benchmark log.
func (r Krb5BenchResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MIT krb5, n=%d: handshake initiator %.0f ns, acceptor %.0f ns, total %.0f ns",
		r.N, r.InitiatorNsPerHandshake, r.AcceptorNsPerHandshake, r.TotalNsPerHandshake)
	for _, p := range r.Protect {
		fmt.Fprintf(&b, "; %d B wrap %.0f ns unwrap %.0f ns", p.Size, p.WrapNs, p.UnwrapNs)
	}
	for _, m := range r.MICs {
		fmt.Fprintf(&b, "; %d B get_mic %.0f ns verify_mic %.0f ns", m.Size, m.GetMICNs, m.VerifyMICNs)
	}
	return b.String()
}

// BuildGSSKrb5Bench compiles cdriver/gss_bench.c (see BuildGSSNTLMBench).
func BuildGSSKrb5Bench(tb testing.TB) string {
	tb.Helper()
	return buildCHarness(tb, "gss_bench", gssBenchC)
}

// RunGSSKrb5Bench runs the built harness bin against k: n handshakes of user (password
// pass) to target ("service@host", a service in k.Keytab), then n wrap+unwrap and MIC pairs.
// MIT's replay cache lives in a temporary directory.
func RunGSSKrb5Bench(tb testing.TB, bin string, k *KDC, n int, user, pass, target string) (Krb5BenchResult, error) {
	tb.Helper()
	var res Krb5BenchResult
	if n <= 0 {
		return res, fmt.Errorf("testpeers: RunGSSKrb5Bench needs n > 0, got %d", n)
	}
	// _NO_WINBINDD: the mechglue loads gss-ntlmssp too, which must never ask a running DC's winbindd.
	env := append(k.ServerEnv(), "KRB5RCACHEDIR="+tb.TempDir(), "KRB5CCNAME=MEMORY:bench", "_NO_WINBINDD=1")
	err := runCHarness(bin, env, n, &res, "-mech", "krb5", "-user", user, "-pass", pass, "-target", target)
	return res, err
}
