package sockauth

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// These tests run MIT krb5's gss-sample programs with gss-ntlmssp against our server and
// our client, on 127.0.0.1. They skip when the peers are not installed
// (scripts/install-peers), and fail then under SSPI_INTEROP=require.

var peerUser = testpeers.NTLMUser{Domain: testDomain, User: testUser, Password: testPassword}

// TestInteropGSSClient runs MIT's gss-client against our server with FramingGSS: the
// handshake, the wrapped message, the MIC the server returns and gss-client verifies, and
// the closing NOOP, in every variant of gss-client's options that changes the wire.
func TestInteropGSSClient(t *testing.T) {
	testpeers.RequireGSSSample(t)
	testpeers.RequireGSSNTLMSSP(t)
	cases := []struct {
		name      string
		args      []string
		spnego    bool
		password  string
		unprot    bool   // the server allows messages in the clear
		exit0     bool   // gss-client must succeed
		status    string // the server's log status
		messages  int    // messages the server read
		needsPkgs string // a package that must be registered
	}{
		{name: "default", exit0: true, status: "SEC_E_OK", messages: 1},
		{name: "no-encryption", args: []string{"-nx"}, exit0: true, status: "SEC_E_OK", messages: 1},
		{name: "no-mic", args: []string{"-nm"}, exit0: true, status: "SEC_E_OK", messages: 1},
		{name: "three-messages", args: []string{"-mcount", "3"}, exit0: true, status: "SEC_E_OK", messages: 3},
		{name: "no-messages", args: []string{"-mcount", "0"}, exit0: true, status: "SEC_E_OK", messages: 0},
		{name: "nomutual-seq", args: []string{"-nomutual", "-seq", "-noreplay"}, exit0: true, status: "SEC_E_OK", messages: 1},
		{name: "no-wrap-refused", args: []string{"-nw"}, status: "SEC_E_SECURITY_QOS_FAILED"},
		{name: "no-wrap-allowed", args: []string{"-nw"}, unprot: true, exit0: true, status: "SEC_E_OK", messages: 1},
		{name: "no-auth-refused", args: []string{"-na"}, status: "SEC_E_LOGON_DENIED"},
		{name: "v1-refused", args: []string{"-v1"}, status: "SEC_E_ILLEGAL_MESSAGE"},
		{name: "wrong-password", password: "not the password", status: "SEC_E_LOGON_DENIED"},
		{name: "spnego", spnego: true, exit0: true, status: "SEC_E_OK", messages: 1, needsPkgs: "Negotiate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkg := "NTLM"
			if tc.needsPkgs != "" {
				if _, err := sspi.QuerySecurityPackageInfo(tc.needsPkgs); err != nil {
					t.Skipf("the %s package is not in this build", tc.needsPkgs)
				}
				pkg = tc.needsPkgs
			}
			srv := startServer(t, &Server{Credentials: serverCreds(t, pkg), Framing: FramingGSS, AllowUnprotected: tc.unprot})
			pw := tc.password
			if pw == "" {
				pw = testPassword
			}
			res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{
				Mech:     testpeers.MechNTLM,
				SPNEGO:   tc.spnego,
				User:     testDomain + `\` + testUser,
				Password: pw,
				Message:  "hello from gss-client",
				Args:     tc.args,
			})
			if err != nil {
				t.Fatal(err)
			}
			recs := waitRecords(t, srv.Log, 1)
			rec := recs[0]
			if (res.ExitCode == 0) != tc.exit0 {
				t.Errorf("gss-client exit %d, output:\n%s\nserver log:\n%s", res.ExitCode, res.Output, srv.Log)
			}
			if rec["status"] != tc.status {
				t.Errorf("server status %v, want %s: %v", rec["status"], tc.status, rec)
			}
			if tc.status == "SEC_E_OK" {
				if rec["identity"] != testDomain+`\`+testUser || rec["package"] != "NTLM" {
					t.Errorf("server log: %v", rec)
				}
				if got := rec["messages_in"].(float64); int(got) != tc.messages {
					t.Errorf("server read %v messages, want %d", got, tc.messages)
				}
			}
		})
	}
}

// waitRecords waits for n log lines.
func waitRecords(t *testing.T, lb *logBuffer, n int) []map[string]any {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if r := lb.records(t); len(r) >= n {
			return r
		}
		sleepBriefly()
	}
	t.Fatalf("fewer than %d log lines:\n%s", n, lb)
	return nil
}

// TestInteropGSSServer runs our client against MIT's gss-server with gss-ntlmssp: the
// handshake, a message per protection mode, and gss-server's MIC over it, which our
// client verifies.
func TestInteropGSSServer(t *testing.T) {
	testpeers.RequireGSSNTLMSSP(t)
	gs := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{NTLM: testpeers.NTLMEnv{Users: []testpeers.NTLMUser{peerUser}}})
	type variant struct {
		pkg  string
		prot Protection
	}
	var variants []variant
	for _, pkg := range serverPackages() { // NTLM, and SPNEGO when Negotiate is built in
		for _, prot := range []Protection{ProtectSeal, ProtectSign, ProtectNone} {
			variants = append(variants, variant{pkg, prot})
		}
	}
	for _, v := range variants {
		pkg, prot := v.pkg, v.prot
		t.Run(pkg+"/"+prot.String(), func(t *testing.T) {
			cl := &Client{
				Credentials: clientCreds(t, pkg, testDomain+`\`+testUser, testPassword),
				Framing:     FramingGSS,
				Protection:  prot,
				Target:      "host/localhost",
			}
			c, err := cl.Dial(testCtx(t), gs.Addr)
			if err != nil {
				t.Fatalf("Dial: %v\ngss-server log:\n%s", err, gs.Log())
			}
			msg := "hello gss-server, " + prot.String()
			if err := c.WriteMessage([]byte(msg)); err != nil {
				t.Fatalf("WriteMessage: %v\ngss-server log:\n%s", err, gs.Log())
			}
			if err := c.WriteMessage([]byte(msg + " again")); err != nil {
				t.Fatalf("second WriteMessage: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if !gs.ReceivedMessage(msg) || !gs.ReceivedMessage(msg+" again") {
				t.Errorf("gss-server did not log the messages:\n%s", gs.Log())
			}
			if !gs.AcceptedMech(testpeers.MechNTLM) || c.Package() != "NTLM" {
				t.Errorf("gss-server did not accept NTLM (client: %s):\n%s", c.Package(), gs.Log())
			}
		})
	}
	t.Run("wrong-password", func(t *testing.T) {
		cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, "not the password"), Framing: FramingGSS}
		c, err := cl.Dial(testCtx(t), gs.Addr)
		if err == nil {
			err = c.WriteMessage([]byte("hello"))
			c.Close()
		}
		if !errors.Is(err, sspi.ErrLogonDenied) {
			t.Errorf("wrong password against gss-server: %v", err)
		}
		if !gs.WaitLog(testpeers.GSSServerAcceptError, 5e9) {
			t.Errorf("gss-server did not log the refusal:\n%s", gs.Log())
		}
	})
}
