package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// runCmd runs the CLI in-process with the given standard input and environment.
func runCmd(t *testing.T, stdin string, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }}
	code = run(args, e)
	return code, out.String(), errb.String()
}

func TestHelpAndUsage(t *testing.T) {
	for _, cmd := range []string{"serve", "connect", "accounts", "packages", "demo", "parse"} {
		for _, h := range []string{"--help", "-h"} {
			code, out, _ := runCmd(t, "", nil, cmd, h)
			if code != exitOK || !strings.Contains(out, "Usage") {
				t.Errorf("sspi %s %s: exit %d, output:\n%s", cmd, h, code, out)
			}
			// A "Flags:" heading has flags under it.
			_, flags, heading := strings.Cut(out, "\nFlags:\n")
			if !heading || !strings.HasPrefix(flags, "  --") {
				t.Errorf("sspi %s %s: the Flags section is wrong:\n%s", cmd, h, out)
			}
		}
	}
	if code, out, _ := runCmd(t, "", nil, "--help"); code != exitOK || !strings.Contains(out, "sspi demo") {
		t.Errorf("sspi --help: %d %s", code, out)
	}
	if code, out, _ := runCmd(t, "", nil, "help", "connect"); code != exitOK || !strings.Contains(out, "HOST:PORT") {
		t.Errorf("sspi help connect: %d %s", code, out)
	}
	usage := [][]string{
		{},
		{"frobnicate"},
		{"connect"},
		{"connect", "127.0.0.1:1", "--framing", "smoke-signals"},
		{"connect", "127.0.0.1:1", "--protect", "maybe"},
		{"connect", "127.0.0.1:1", "--require", "everything"},
		{"connect", "127.0.0.1:1", "extra"},
		{"serve", "--bogus"},
		{"serve", "--timeout", "-1s"},
		{"serve", "--drain-timeout", "0s"},
		{"serve", "--min-rate", "-1"},
		{"serve", "--max-pending-per-addr", "-2"},
		{"serve", "--require", "none,mutual"},
		{"serve", "stray"},
		{"accounts"},
		{"accounts", "list"},
		{"accounts", "--file", "x", "shred"},
		{"accounts", "--file", "x", "add"},
		{"packages", "stray"},
	}
	for _, args := range usage {
		code, _, errOut := runCmd(t, "", nil, args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("sspi %q: exit %d (want %d), stderr %q", args, code, exitUsage, errOut)
		}
	}
}

// TestUsageBeforeCredentials: a bad address or an unknown package is a usage error (exit 2)
// that names the mistake, found before any credentials are looked at: each command here
// also names a password or accounts file that does not exist, which would fail with exit 1
// if it were opened first.
func TestUsageBeforeCredentials(t *testing.T) {
	const nofile = "/nonexistent/sspi-test"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"connect", "127.0.0.1", "--user", "alice", "--password-file", nofile}, `address "127.0.0.1": missing port`},
		{[]string{"connect", ":99999", "--user", "alice", "--password-file", nofile}, `address ":99999": invalid port`},
		{[]string{"connect", "127.0.0.1:0", "--user", "alice", "--password-file", nofile}, "port 0 is for listening"},
		{[]string{"connect", "127.0.0.1:2000", "--package", "Kerberoz", "--user", "alice", "--password-file", nofile}, `unknown package "Kerberoz" (known packages: CredSSP, Kerberos, Microsoft Unified Security Protocol Provider, NTLM, Negotiate, Schannel)`},
		{[]string{"serve", "--listen", "127.0.0.1", "--accounts", nofile}, `--listen "127.0.0.1": missing port`},
		{[]string{"serve", "--listen", ":99999", "--accounts", nofile}, `--listen ":99999": invalid port`},
		{[]string{"serve", "--package", "SChanel", "--accounts", nofile}, `unknown package "SChanel" (known packages: CredSSP, Kerberos, Microsoft Unified Security Protocol Provider, NTLM, Negotiate, Schannel)`},
		// Schannel's flags are checked before any file is read.
		{[]string{"serve", "--package", "SChannel", "--accounts", nofile}, "--package Schannel needs the server's certificate and key"},
		{[]string{"serve", "--package", "Schannel", "--cert", nofile, "--key", nofile, "--framing", "sspi"}, "--package Schannel speaks the tls framing only"},
		{[]string{"serve", "--package", "Schannel", "--cert", nofile, "--key", nofile, "--accounts", nofile}, "Schannel authenticates with certificates"},
		{[]string{"serve", "--package", "Schannel", "--cert", nofile, "--key", nofile, "--client-auth", "request"}, "--client-auth needs --client-ca"},
		{[]string{"serve", "--package", "Schannel", "--cert", nofile, "--key", nofile, "--client-ca", nofile, "--client-auth", "maybe"}, `--client-auth "maybe": want request or require`},
		{[]string{"serve", "--package", "NTLM", "--cert", nofile}, "--cert, --key, --client-ca and --client-auth are for --package Schannel"},
		{[]string{"serve", "--package", "NTLM", "--framing", "tls"}, "--framing tls carries TLS records: it needs --package Schannel"},
		{[]string{"connect", "127.0.0.1:2000", "--package", "Schannel", "--user", "alice"}, "Schannel authenticates with certificates"},
		{[]string{"connect", "127.0.0.1:2000", "--package", "Schannel", "--cert", nofile}, "needs both --cert FILE and --key FILE"},
		{[]string{"connect", "127.0.0.1:2000", "--package", "Schannel", "--insecure", "--ca", nofile}, "--insecure checks no certificate"},
		{[]string{"connect", "127.0.0.1:2000", "--package", "NTLM", "--insecure"}, "are for --package Schannel"},
	} {
		code, out, errOut := runCmd(t, "", nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "import its package") || out != "" {
			t.Errorf("sspi %q: exit %d (want %d), stdout %q, stderr %q (want %q)", tc.args, code, exitUsage, out, errOut, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "", nil, "--version")
	if code != exitOK || !strings.HasPrefix(out, "sspi ") || !strings.Contains(out, "github.com/gosspi/sspi") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("sspi --version: exit %d, %q", code, out)
	}
	if code, out2, _ := runCmd(t, "", nil, "version"); code != exitOK || out2 != out {
		t.Errorf("sspi version: exit %d, %q", code, out2)
	}
	// What a binary built in a checkout and one installed at a version carry.
	mod := debug.Module{Path: "github.com/gosspi/sspi", Version: "(devel)"}
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.0", Path: "github.com/gosspi/sspi/cmd/sspi", Main: mod, Settings: vcs},
			"sspi (devel) (github.com/gosspi/sspi, revision 0123456789abcdef0123456789abcdef01234567 of 2026-01-02T03:04:05Z, go1.26.0)"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: mod, Settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			"sspi (devel) (github.com/gosspi/sspi, revision 0123456789abcdef0123456789abcdef01234567+dirty of 2026-01-02T03:04:05Z, go1.26.0)"},
		{&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/gosspi/sspi", Version: "v0.3.1"}},
			"sspi v0.3.1 (github.com/gosspi/sspi, go1.26.0)"},
		{nil, "sspi (no build information)"},
	} {
		if got := versionLine(tc.bi); got != tc.want {
			t.Errorf("versionLine:\n got %s\nwant %s", got, tc.want)
		}
	}
}

func TestPackages(t *testing.T) {
	code, out, _ := runCmd(t, "", nil, "packages")
	if code != exitOK || !strings.Contains(out, "NTLM") || !strings.Contains(out, "RPC ID") {
		t.Fatalf("packages: %d\n%s", code, out)
	}
	// Every line fits 100 columns, and every capability of every package is still there.
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 100 {
			t.Errorf("a %d-column line: %q", len(line), line)
		}
	}
	words := strings.Fields(out)
	for _, p := range sspi.EnumerateSecurityPackages() {
		for _, c := range capabilityNames(p.Capabilities) {
			if !slices.Contains(words, c) {
				t.Errorf("%s's capability %s is missing:\n%s", p.Name, c, out)
			}
		}
		if !strings.Contains(out, fmt.Sprintf("capabilities %#08x:", uint32(p.Capabilities))) {
			t.Errorf("%s's capability bits are missing:\n%s", p.Name, out)
		}
	}
	code, out, _ = runCmd(t, "", nil, "packages", "--json")
	var pkgs []struct {
		Name     string `json:"name"`
		RPCID    int    `json:"rpc_id"`
		MaxToken int    `json:"max_token"`
	}
	if err := json.Unmarshal([]byte(out), &pkgs); code != exitOK || err != nil {
		t.Fatalf("packages --json: %d %v\n%s", code, err, out)
	}
	found := false
	for _, p := range pkgs {
		if p.Name == "NTLM" && p.RPCID == 10 && p.MaxToken > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("NTLM missing: %+v", pkgs)
	}
}

func TestAccounts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.ntlm")
	if code, out, errOut := runCmd(t, "first password\n", nil, "accounts", "add", "--file", file, `TESTDOM\alice`); code != exitOK {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", st.Mode(), err)
	}
	raw, _ := os.ReadFile(file)
	if strings.Contains(string(raw), "first password") {
		t.Fatal("the password is in the file")
	}
	// Flags after the verb and the name, a second account, a name with @.
	if code, _, errOut := runCmd(t, "pw2\n", nil, "accounts", "add", "bob@TESTDOM", "--file", file); code != exitOK {
		t.Fatalf("add bob: %d %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "pw3\n", nil, "accounts", "add", "--file", file, "carol"); code != exitOK {
		t.Fatalf("add carol: %d %s", code, errOut)
	}
	code, out, _ := runCmd(t, "", nil, "accounts", "list", "--file", file)
	if code != exitOK || !strings.Contains(out, `TESTDOM\alice`) || !strings.Contains(out, `TESTDOM\bob`) || !strings.Contains(out, "carol") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "", map[string]string{"NTLM_USER_FILE": file}, "accounts", "list", "--json")
	var list []struct{ Domain, User string }
	if err := json.Unmarshal([]byte(out), &list); code != exitOK || err != nil || len(list) != 3 {
		t.Fatalf("list --json: %d %v\n%s", code, err, out)
	}
	if code, _, _ := runCmd(t, "", nil, "accounts", "remove", "--file", file, `TESTDOM\nobody`); code != exitAuth {
		t.Errorf("removing a missing account: exit %d", code)
	}
	if code, _, _ := runCmd(t, "\n", nil, "accounts", "add", "--file", file, "dave"); code != exitAuth {
		t.Errorf("adding an empty password: exit %d", code)
	}
	if code, _, _ := runCmd(t, "", nil, "accounts", "add", "--file", file, "erin"); code != exitAuth {
		t.Errorf("adding with no password on stdin: exit %d", code)
	}
	for _, name := range []string{`TESTDOM\alice`, `TESTDOM\bob`} {
		if code, _, errOut := runCmd(t, "", nil, "accounts", "remove", "--file", file, name); code != exitOK {
			t.Fatalf("remove %s: %d %s", name, code, errOut)
		}
	}
	code, out, _ = runCmd(t, "", nil, "accounts", "list", "--file", file)
	if code != exitOK || strings.TrimSpace(out) != "carol (any domain)" {
		t.Fatalf("list after removes: %d %q", code, out)
	}
	if code, out, _ := runCmd(t, "", nil, "accounts", "remove", "--file", file, "carol"); code != exitOK || !strings.Contains(out, "deleted") {
		t.Fatalf("removing the last account: %d %s", code, out)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the emptied file is still there: %v", err)
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "demo")
	if code != exitOK {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"== NTLM", "leg 1: InitializeSecurityContext -> SEC_I_CONTINUE_NEEDED", "-> SEC_E_OK", "This is your server speaking", "echoed it back: verified", "status=SEC_E_OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// Issue 15: Kerberos, and Negotiate choosing Kerberos, run with the embedded KDC, with
	// mutual authentication and a sealed round trip; the tickets carry a PAC, whose SIDs
	// the server shows it learned (issue 14).
	dom := demoPAC.DomainSID + "-"
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		sec := demoSection(out, pkg)
		for _, want := range []string{"tickets from an in-process KDC", "package Kerberos;", "mutual authentication: the server proved it is host/localhost",
			"echoed it back: verified", "package=Kerberos identity=sspi-", "@SSPI-DEMO.TEST", "status=SEC_E_OK",
			"authorization=PAC sid=" + dom + "1106 groups=3 group_sids=\"[" + dom + "513 " + dom + "1107 S-1-18-1]\"",
			"the server's authorization data: PAC; user SID " + dom + "1106, 3 groups: " + dom + "513, " + dom + "1107, S-1-18-1\n"} {
			if !strings.Contains(sec, want) {
				t.Errorf("%s: demo output lacks %q:\n%s", pkg, want, sec)
			}
		}
	}
	// NTLM against the demo's account store: a name, no groups, and the demo says so.
	sec := demoSection(out, "NTLM")
	for _, want := range []string{`authorization="none (the package carries no group information)"`,
		"the server's authorization data: none (the package carries no group information)\n"} {
		if !strings.Contains(sec, want) {
			t.Errorf("NTLM: demo output lacks %q:\n%s", want, sec)
		}
	}
}

// demoSection returns the demo's output for pkg, from its heading to the next.
func demoSection(out, pkg string) string {
	_, sec, _ := strings.Cut(out, "== "+pkg+":")
	sec, _, _ = strings.Cut(sec, "\n== ")
	return sec
}

// TestDemoKeytab: with --keytab and --spn, Kerberos and Negotiate use the realm's KDC that
// krb5.conf names (here another in-process KDC, standing for the machine's, which issues
// no PAC, as MIT's does not) with that keytab and --user's password; the Kerberos flags
// need --keytab, and --keytab needs --spn.
func TestDemoKeytab(t *testing.T) {
	kdc := kdctest.NewKDC("REALM.TEST")
	defer kdc.Close()
	if err := kdc.AddUser("carol", "Pa55-word"); err != nil {
		t.Fatal(err)
	}
	if _, err := kdc.AddService("HTTP/web.realm.test"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf, kt := filepath.Join(dir, "krb5.conf"), filepath.Join(dir, "web.keytab")
	if err := kdc.WriteConfig(conf); err != nil {
		t.Fatal(err)
	}
	if err := kdc.WriteKeytab(kt); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", conf)
	code, out, errOut := runCmd(t, "", map[string]string{"SSPI_PASSWORD": "Pa55-word"}, "demo", "--keytab", kt, "--spn", "HTTP/web.realm.test", "--user", "carol@REALM.TEST")
	if code != exitOK {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errOut)
	}
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		sec := demoSection(out, pkg)
		for _, want := range []string{"carol@REALM.TEST (SSPI_PASSWORD) with the realm's KDC", "package Kerberos;", "the server proved it is HTTP/web.realm.test", "identity=carol@REALM.TEST", "echoed it back: verified",
			"the server's authorization data: none (the Kerberos ticket had no PAC)\n"} {
			if !strings.Contains(sec, want) {
				t.Errorf("%s: demo output lacks %q:\n%s", pkg, want, sec)
			}
		}
	}
	if n := kdc.Counts(); n.TGS < 2 {
		t.Errorf("the realm's KDC answered %+v", n)
	}
	for _, args := range [][]string{{"--spn", "host/x"}, {"--user", "carol"}, {"--keytab", kt}} {
		if code, _, errOut := runCmd(t, "", nil, append([]string{"demo"}, args...)...); code != exitUsage {
			t.Errorf("demo %v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}

func TestSplitAccount(t *testing.T) {
	for in, want := range map[string][2]string{
		`EX\alice`:     {"EX", "alice"},
		"alice@EX.COM": {"EX.COM", "alice"},
		"alice":        {"", "alice"},
	} {
		if d, u := splitAccount(in); d != want[0] || u != want[1] {
			t.Errorf("splitAccount(%q) = %q, %q", in, d, u)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		listen bool
		ok     bool
	}{
		{"127.0.0.1:2000", false, true},
		{"localhost:ssh", false, true}, // a service name of /etc/services
		{"[::1]:2000", false, true},
		{":2000", true, true},
		{"127.0.0.1:0", true, true},
		{"127.0.0.1:0", false, false},
		{"127.0.0.1", false, false},
		{":99999", true, false},
		{"127.0.0.1:-1", false, false},
		{"[::1:2000", false, false},
	} {
		if err := checkAddress("address", tc.addr, tc.listen); (err == nil) != tc.ok {
			t.Errorf("checkAddress(%q, listen %v) = %v", tc.addr, tc.listen, err)
		}
	}
}
