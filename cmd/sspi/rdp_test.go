package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
)

// The rdp framing through the CLI: FreeRDP's client against `sspi serve --framing rdp`,
// `sspi connect --framing rdp` against FreeRDP's server, and the two against each other
// with NTLM and with Kerberos inside.

// rdpConnect runs `sspi connect --framing rdp --json ARGS` with SSPI_PASSWORD=password.
func rdpConnect(t *testing.T, password string, args ...string) (int, connectResult, string) {
	t.Helper()
	code, out, errOut := sspiCmd(t, []string{"SSPI_PASSWORD=" + password}, "", append([]string{"connect", "--framing", "rdp", "--json"}, args...)...)
	var res connectResult
	if code != exitUsage {
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("connect --json: %v\n%s\n%s", err, out, errOut)
		}
	}
	return code, res, errOut
}

// TestServeRDPWithXFreeRDP: xfreerdp /sec:nla +auth-only against the gate. xfreerdp
// exits 147 after a good gate (it goes on to the MCS connection the gate does not
// answer), so the verdict is the gate's log line.
func TestServeRDPWithXFreeRDP(t *testing.T) {
	x := testpeers.StartXvfb(t)
	s := startServe(t, "--framing", "rdp", "--json")
	for i, tt := range []struct {
		name, user, password, want string
	}{
		{"right password", s.user, s.password, "SEC_E_OK"},
		{"wrong password", s.user, "not-it", "SEC_E_LOGON_DENIED"},
		{"unknown user", "mallory", s.password, "SEC_E_LOGON_DENIED"},
	} {
		res, err := testpeers.RunXFreeRDP(t, s.addr, testpeers.XFreeRDPOptions{User: tt.user, Password: tt.password, X: x})
		if err != nil {
			t.Fatal(err)
		}
		rec := connectionLines(t, s, i+1)[i]
		if rec["status"] != tt.want || rec["framing"] != "rdp" || rec["protocol"] != "HYBRID" {
			t.Fatalf("%s: log %v\nxfreerdp (exit %d):\n%s", tt.name, rec, res.ExitCode, res.Output)
		}
		if tt.want == "SEC_E_OK" && (rec["identity"] != s.user || rec["credssp_delegated"] != "password" || rec["inner"] != "NTLM" || rec["credssp_version"] == nil) {
			t.Errorf("%s: log %v", tt.name, rec)
		}
	}
	if strings.Contains(s.stderr.String(), s.password) {
		t.Error("the password is in the log")
	}
}

// TestConnectRDPWithFreeRDPShadow: `sspi connect --framing rdp` against
// freerdp-shadow-cli /sec:nla, which takes bare NTLM inside CredSSP only.
func TestConnectRDPWithFreeRDPShadow(t *testing.T) {
	const user, password = "alice", "Passw0rd!"
	srv := testpeers.StartFreeRDPShadow(t, testpeers.ShadowOptions{Users: []testpeers.RDPUser{{User: user, Password: password}}})
	code, res, errOut := rdpConnect(t, password, srv.Addr, "--insecure", "--inner", "NTLM", "--user", user, "--delegate")
	if code != exitOK || !res.OK || res.RDP == nil || res.RDP.Protocol != "HYBRID" || res.RDP.Delegated != "password" {
		t.Fatalf("right password: exit %d %+v %+v\n%s\nserver:\n%s", code, res, res.RDP, errOut, srv.Log())
	}
	code, res, errOut = rdpConnect(t, "not-it", srv.Addr, "--insecure", "--inner", "NTLM", "--user", user)
	if code != exitAuth || res.Status != "SEC_E_LOGON_DENIED" || !strings.Contains(errOut, "SEC_E_LOGON_DENIED") {
		t.Fatalf("wrong password: exit %d %+v\n%s", code, res, errOut)
	}
}

// TestServeConnectRDP: our client against our gate: delegation, the early user
// authorization result both ways, the certificate check, and the usage errors.
func TestServeConnectRDP(t *testing.T) {
	p := testpeers.NewPKI(t)
	checkRDPGate(t, p)
	checkRDPEarlyUserAuthGate(t)
	checkRDPUsageErrors(t, p)
}

// checkRDPGate: a HYBRID gate with the test CA's certificate, with and without delegation,
// an untrusted certificate, and a client that asks for HYBRID_EX; and what the gate logs.
func checkRDPGate(t *testing.T, p *testpeers.PKI) {
	t.Helper()
	s := startServe(t, "--framing", "rdp", "--json", "--cert", p.Server.CertFile, "--key", p.Server.KeyFile)
	port := s.addr[strings.LastIndexByte(s.addr, ':'):]
	code, res, errOut := rdpConnect(t, s.password, "localhost"+port, "--ca", p.CAFile, "--user", s.user, "--delegate")
	if code != exitOK || res.RDP == nil || res.RDP.Delegated != "password" || res.RDP.CredSSPVersion != 6 || res.RDP.EarlyUserAuth {
		t.Fatalf("delegating: exit %d %+v %+v\n%s", code, res, res.RDP, errOut)
	}
	code, res, _ = rdpConnect(t, s.password, "localhost"+port, "--ca", p.CAFile, "--user", s.user)
	if code != exitOK || res.RDP == nil || res.RDP.Delegated != "" {
		t.Fatalf("not delegating: exit %d %+v", code, res.RDP)
	}
	// No --ca: the test CA is not among the system's roots, and nothing is sent.
	code, res, _ = rdpConnect(t, s.password, "localhost"+port, "--user", s.user, "--delegate")
	if code != exitAuth || res.Status != "SEC_E_UNTRUSTED_ROOT" {
		t.Fatalf("untrusted: exit %d %+v", code, res)
	}
	code, res, _ = rdpConnect(t, s.password, "localhost"+port, "--user", s.user, "--early-user-auth", "--ca", p.CAFile)
	if code != exitAuth || res.Status != "SEC_E_UNSUPPORTED_FUNCTION" {
		t.Fatalf("HYBRID_EX against a HYBRID gate: exit %d %+v", code, res)
	}
	lines := connectionLines(t, s, 4)
	for _, l := range lines[2:] { // the client stopped: untrusted, or HYBRID_EX not selected
		if l["status"] != "DISCONNECTED" || l["identity"] != nil {
			t.Errorf("log %v", l)
		}
	}
	if l := lines[0]; l["status"] != "SEC_E_OK" || l["identity"] != s.user || l["credssp_delegated"] != "password" || l["credssp_version"] != 6.0 || l["early_user_auth"] != nil {
		t.Errorf("log %v", l)
	}
	if l := lines[1]; l["status"] != "SEC_E_OK" || l["credssp_delegated"] != "none" {
		t.Errorf("log %v", l)
	}
	if strings.Contains(s.stderr.String(), s.password) {
		t.Error("the password is in the log")
	}
}

// checkRDPEarlyUserAuthGate: a HYBRID_EX gate sends the early user authorization result,
// for a good password and a wrong one.
func checkRDPEarlyUserAuthGate(t *testing.T) {
	t.Helper()
	eua := startServe(t, "--framing", "rdp", "--json", "--early-user-auth")
	code, res, errOut := rdpConnect(t, eua.password, eua.addr, "--insecure", "--user", eua.user, "--early-user-auth", "--delegate")
	if code != exitOK || res.RDP == nil || res.RDP.Protocol != "HYBRID_EX" || !res.RDP.EarlyUserAuth {
		t.Fatalf("HYBRID_EX: exit %d %+v\n%s", code, res.RDP, errOut)
	}
	code, res, _ = rdpConnect(t, "not-it", eua.addr, "--insecure", "--user", eua.user, "--early-user-auth")
	if code != exitAuth || res.Status != "SEC_E_LOGON_DENIED" {
		t.Fatalf("HYBRID_EX, wrong password: exit %d %+v", code, res)
	}
	lines := connectionLines(t, eua, 2)
	if l := lines[0]; l["status"] != "SEC_E_OK" || l["protocol"] != "HYBRID_EX" || l["early_user_auth"] != "AUTHZ_SUCCESS" {
		t.Errorf("log %v", l)
	}
	if l := lines[1]; l["status"] != "SEC_E_LOGON_DENIED" {
		t.Errorf("log %v", l)
	}
}

// checkRDPUsageErrors: the flags that do not go together are usage errors.
func checkRDPUsageErrors(t *testing.T, p *testpeers.PKI) {
	t.Helper()
	for _, args := range [][]string{
		{"serve", "--framing", "rdp", "--package", "NTLM"},
		{"serve", "--framing", "rdp", "--cert", p.Server.CertFile},
		{"serve", "--framing", "rdp", "--client-ca", p.CAFile},
		{"serve", "--package", "NTLM", "--early-user-auth"},
		{"connect", "127.0.0.1:1", "--framing", "rdp", "--message", "hi"},
		{"connect", "127.0.0.1:1", "--framing", "rdp", "--insecure", "--ca", p.CAFile},
		{"connect", "127.0.0.1:1", "--package", "NTLM", "--inner", "NTLM"},
	} {
		if code, _, errOut := sspiCmd(t, nil, "", args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

// TestServeConnectRDPKerberos: Kerberos inside CredSSP against the package's KDC: the
// gate's keytab holds TERMSRV/localhost, the client proves the server (mutual) and
// delegates its password under the default policy's terms (after mutual authentication).
func TestServeConnectRDPKerberos(t *testing.T) {
	k := startOwnKDC(t)
	alice := k.Principal(testpeers.KDCUser)
	s := startServe(t, "--framing", "rdp", "--json", "--keytab", k.Keytab)
	port := s.addr[strings.LastIndexByte(s.addr, ':'):]
	code, res, errOut := rdpConnect(t, testpeers.KDCPassword, "localhost"+port, "--insecure", "--user", alice, "--delegate", "--require", "mutual")
	if code != exitOK || !res.Mutual || res.RDP == nil || res.RDP.Inner != "Kerberos" || res.RDP.Delegated != "password" {
		t.Fatalf("exit %d %+v %+v\n%s\nserver:\n%s", code, res, res.RDP, errOut, s.stderr)
	}
	l := connectionLine(t, s)
	if l["status"] != "SEC_E_OK" || l["inner"] != "Kerberos" || l["identity"] != alice || l["credssp_delegated"] != "password" {
		t.Errorf("log %v", l)
	}
}
