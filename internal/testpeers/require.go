package testpeers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// InteropEnv is the environment variable that turns a missing peer from a skip into a failure.
// CI sets SSPI_INTEROP=require so that a broken install step cannot make the interop tests pass
// by skipping them. SSPI_INTEROP=none does the opposite: every peer is reported missing, as on
// a machine where scripts/install-peers never ran, so that a developer with the peers installed
// can see what `go test ./...` runs without them (the tests on kerberos/kdctest still run).
const InteropEnv = "SSPI_INTEROP"

// Python is the interpreter the Python drivers run with. Debian's python3-gssapi and
// python3-impacket install into /usr/lib/python3/dist-packages, which only Debian's own
// interpreter sees; a python3 earlier in PATH (pyenv, a virtualenv) would not find them.
const Python = "/usr/bin/python3"

// InstallHint is appended to every skip message: the one command that installs every peer.
const InstallHint = "run scripts/install-peers"

// Required reports whether missing peers must fail the test (SSPI_INTEROP=require) instead of
// skipping it.
func Required() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv(InteropEnv)), "require")
}

// hidden reports whether SSPI_INTEROP=none hides every peer.
func hidden() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv(InteropEnv)), "none")
}

// Unavailable reports that a peer cannot be used: it skips tb, or fails it when Required. The
// message should name the Debian package that provides the peer.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := "testpeers: " + fmt.Sprintf(format, args...) + " (" + InstallHint + ")"
	if Required() {
		tb.Fatalf("%s; %s=require is set, so a missing peer is a failure", msg, InteropEnv)
	}
	tb.Skip(msg)
}

// searchDirs are tried after PATH: sbin directories are often not in a test's PATH, and
// krb5kdc, kdb5_util and kadmin.local live there.
var searchDirs = []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"}

// lookPath finds a program by name (PATH, then the sbin directories) or checks an absolute path.
func lookPath(p string) (string, bool) {
	if hidden() {
		return "", false
	}
	if strings.ContainsRune(p, '/') {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
		return "", false
	}
	if full, err := exec.LookPath(p); err == nil {
		return full, true
	}
	for _, d := range searchDirs {
		full := filepath.Join(d, p)
		if st, err := os.Stat(full); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return full, true
		}
	}
	return "", false
}

// Require returns the first of paths that exists: a bare name is looked up in PATH and the sbin
// directories, anything with a slash is taken as a file path. When none exists the test is
// skipped (or fails under SSPI_INTEROP=require) naming pkg, the Debian package that provides it.
func Require(tb testing.TB, pkg string, paths ...string) string {
	tb.Helper()
	for _, p := range paths {
		if full, ok := lookPath(p); ok {
			return full
		}
	}
	Unavailable(tb, "%s not found (Debian package %s)", strings.Join(paths, " or "), pkg)
	return ""
}

var pyModules sync.Map // module name -> error (nil when importable)

// RequirePython checks that Debian's /usr/bin/python3 can import every module (a Python import
// runs once per process and module; later calls use the cached answer) and returns the
// interpreter's path. pkg names the Debian package that provides the modules.
func RequirePython(tb testing.TB, pkg string, modules ...string) string {
	tb.Helper()
	py := Require(tb, "python3", Python)
	for _, m := range modules {
		v, ok := pyModules.Load(m)
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, py, "-c", "import "+m)
			cmd.Env = peerEnv(tb, tb.TempDir(), NTLMEnv{}, nil)
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
			}
			v, _ = pyModules.LoadOrStore(m, err)
		}
		if err, _ := v.(error); err != nil {
			Unavailable(tb, "%s cannot import %s (Debian package %s): %v", py, m, pkg, err)
		}
	}
	return py
}

// MechDir is where MIT krb5's mechglue reads its mechanism plugins from.
const MechDir = "/etc/gss/mech.d"

// RequireGSSNTLMSSP checks that gss-ntlmssp is installed and registered with MIT's mechglue
// (a file in /etc/gss/mech.d naming OID 1.3.6.1.4.1.311.2.2.10); without the registration no
// GSSAPI program can select NTLM even though the shared object is there.
func RequireGSSNTLMSSP(tb testing.TB) {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(MechDir, "*.conf"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), MechNTLM) {
			return
		}
	}
	Unavailable(tb, "gss-ntlmssp is not registered in %s (Debian package gss-ntlmssp)", MechDir)
}

// RequireGSSPython checks for python3-gssapi with gss-ntlmssp and returns the interpreter.
func RequireGSSPython(tb testing.TB) string {
	tb.Helper()
	py := RequirePython(tb, "python3-gssapi", "gssapi")
	return py
}

// RequireImpacket checks for python3-impacket and returns the interpreter.
func RequireImpacket(tb testing.TB) string {
	tb.Helper()
	return RequirePython(tb, "python3-impacket", "impacket.ntlm")
}

// RequireNTLMAuth returns the path of Samba's ntlm_auth.
func RequireNTLMAuth(tb testing.TB) string {
	tb.Helper()
	return Require(tb, "winbind", "ntlm_auth")
}

// RequireGSSSample returns the paths of MIT's gss-server and gss-client.
func RequireGSSSample(tb testing.TB) (server, client string) {
	tb.Helper()
	return Require(tb, "krb5-gss-samples", "gss-server"), Require(tb, "krb5-gss-samples", "gss-client")
}

// RequireSocat returns the path of socat.
func RequireSocat(tb testing.TB) string {
	tb.Helper()
	return Require(tb, "socat", "socat")
}

// RequireCGSSAPI checks that a C program can be built against MIT's GSSAPI: gcc, krb5-config
// and the gssapi headers from libkrb5-dev. It returns gcc's and krb5-config's paths.
func RequireCGSSAPI(tb testing.TB) (gcc, krb5Config string) {
	tb.Helper()
	gcc = Require(tb, "gcc", "gcc")
	krb5Config = Require(tb, "libkrb5-dev", "krb5-config")
	Require(tb, "libkrb5-dev", "/usr/include/gssapi/gssapi_ext.h")
	return gcc, krb5Config
}
