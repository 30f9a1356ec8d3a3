package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// MIT's gss-client against `sspi serve --framing gss`, and `sspi connect --framing gss`
// against MIT's gss-server, both with NTLM through gss-ntlmssp, all on 127.0.0.1. They skip
// without the peers (scripts/install-peers) and fail then under SSPI_INTEROP=require.

const (
	peerDomain   = "TESTDOM"
	peerUser     = "alice"
	peerPassword = "Interop-pa55word"
)

// TestGSSClientAgainstServe runs `sspi serve --framing gss` with an account file made by
// `sspi accounts add`, and MIT's gss-client with gss-ntlmssp against it, plain NTLM and,
// when this build has Negotiate, through SPNEGO.
func TestGSSClientAgainstServe(t *testing.T) {
	testpeers.RequireGSSSample(t)
	testpeers.RequireGSSNTLMSSP(t)
	file := filepath.Join(t.TempDir(), "users.ntlm")
	if code, _, errOut := sspiCmd(t, nil, peerPassword+"\n", "accounts", "add", "--file", file, peerDomain+`\`+peerUser); code != exitOK {
		t.Fatalf("accounts add: %s", errOut)
	}
	type variant struct {
		name, pkg string
		spnego    bool
	}
	variants := []variant{{"ntlm", "NTLM", false}}
	if _, err := sspi.QuerySecurityPackageInfo("Negotiate"); err == nil {
		variants = append(variants, variant{"spnego", "Negotiate", true})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			s := startServe(t, "--package", v.pkg, "--framing", "gss", "--accounts", file, "--json")
			res, err := testpeers.RunGSSClient(t, s.addr, testpeers.GSSClientOptions{
				Mech:     testpeers.MechNTLM,
				SPNEGO:   v.spnego,
				User:     peerDomain + `\` + peerUser,
				Password: peerPassword,
				Message:  "hello sspi serve",
				Args:     []string{"-mcount", "2"},
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := connectionLine(t, s)
			s.stop(t)
			if res.ExitCode != 0 {
				t.Fatalf("gss-client exit %d:\n%s\nserver:\n%s", res.ExitCode, res.Output, s.stderr)
			}
			if rec["status"] != "SEC_E_OK" || rec["identity"] != peerDomain+`\`+peerUser || rec["messages_in"] != 2.0 {
				t.Errorf("server log line: %v", rec)
			}
		})
	}
}

// TestConnectAgainstGSSServer runs `sspi connect --framing gss` against MIT's gss-server
// with gss-ntlmssp, and a wrong password.
func TestConnectAgainstGSSServer(t *testing.T) {
	testpeers.RequireGSSNTLMSSP(t)
	gs := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{NTLM: testpeers.NTLMEnv{Users: []testpeers.NTLMUser{{Domain: peerDomain, User: peerUser, Password: peerPassword}}}})
	pkgs := []string{"NTLM"}
	if _, err := sspi.QuerySecurityPackageInfo("Negotiate"); err == nil {
		pkgs = append(pkgs, "Negotiate") // SPNEGO, which gss-server accepts too
	}
	for _, pkg := range pkgs {
		for _, prot := range []string{"seal", "none"} {
			msg := "hello gss-server from sspi connect, " + pkg + ", " + prot
			code, out, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=" + peerPassword}, "", "connect", gs.Addr,
				"--package", pkg, "--framing", "gss", "--user", peerDomain+`\`+peerUser,
				"--target", "host/localhost", "--protect", prot, "--message", msg)
			if code != exitOK || !strings.Contains(out, "verified") {
				t.Fatalf("%s --protect %s: exit %d\n%s\n%s\ngss-server log:\n%s", pkg, prot, code, out, errOut, gs.Log())
			}
			if !gs.ReceivedMessage(msg) {
				t.Errorf("gss-server did not log %q:\n%s", msg, gs.Log())
			}
		}
	}
	code, _, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=not-it"}, "", "connect", gs.Addr,
		"--package", "NTLM", "--framing", "gss", "--user", peerDomain+`\`+peerUser, "--timeout", "10s")
	if code != exitAuth || !strings.Contains(errOut, "DISCONNECTED: the server closed the connection after the handshake; see its log") {
		t.Errorf("wrong password: exit %d, %s", code, errOut)
	}
	if !gs.WaitLog(testpeers.GSSServerAcceptError, 5*time.Second) {
		t.Errorf("gss-server did not log the refusal:\n%s", gs.Log())
	}
}
