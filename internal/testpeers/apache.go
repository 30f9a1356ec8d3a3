package testpeers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// apacheModules is where Debian's apache2 keeps its modules.
const apacheModules = "/usr/lib/apache2/modules"

// ApacheOptions configures StartApache: Apache httpd 2.4 with mod_auth_gssapi protecting
// "/" on 127.0.0.1.
type ApacheOptions struct {
	// Env is the server's environment: KDC.ServerEnv for Kerberos (KRB5_KTNAME names the
	// keytab, which mod_auth_gssapi reads from there when NTLM is allowed), plus
	// NTLMEnv.Environ's NTLM_USER_FILE for NTLM through gss-ntlmssp.
	Env []string
	// Mechs are GssapiAllowedMech values ("krb5", "ntlmssp"); nil means both.
	Mechs []string
	// TLS, if set, serves HTTPS (mod_ssl) with this certificate.
	TLS *TLSCert
	// Extra is appended to the <Location /> block (GssapiBasicAuth Off, ...).
	Extra string
}

// Apache is a running httpd (one process, -X) serving a page that echoes REMOTE_USER
// through mod_auth_gssapi's GSS_NAME. URL is its base URL.
type Apache struct {
	URL  string
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// RequireApache finds apache2 with mod_auth_gssapi or skips (fails under
// SSPI_INTEROP=require).
func RequireApache(tb testing.TB) string {
	tb.Helper()
	bin := Require(tb, "apache2", "/usr/sbin/apache2")
	if _, err := os.Stat(filepath.Join(apacheModules, "mod_auth_gssapi.so")); err != nil {
		Unavailable(tb, "mod_auth_gssapi is not installed (Debian package libapache2-mod-auth-gssapi)")
	}
	return bin
}

// StartApache writes a private httpd.conf in a temporary directory, starts httpd in the
// foreground on a free port of 127.0.0.1 and waits for the port; tb's Cleanup stops it.
func StartApache(tb testing.TB, opts ApacheOptions) *Apache {
	tb.Helper()
	bin := RequireApache(tb)
	dir := tb.TempDir()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	mechs := opts.Mechs
	if mechs == nil {
		mechs = []string{"krb5", "ntlmssp"}
	}
	if err := os.WriteFile(filepath.Join(dir, "index.txt"), []byte("ok\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	mods := []string{"mpm_event", "authz_core", "authz_user", "authn_core", "auth_gssapi", "headers", "dir"}
	var conf strings.Builder
	fmt.Fprintf(&conf, "ServerRoot %q\nServerName localhost\nListen 127.0.0.1:%d\n", dir, port)
	for _, m := range mods {
		fmt.Fprintf(&conf, "LoadModule %s_module %s/mod_%s.so\n", m, apacheModules, m)
	}
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
		fmt.Fprintf(&conf, "LoadModule ssl_module %s/mod_ssl.so\nLoadModule socache_shmcb_module %s/mod_socache_shmcb.so\n", apacheModules, apacheModules)
		fmt.Fprintf(&conf, "SSLEngine on\nSSLCertificateFile %q\nSSLCertificateKeyFile %q\nSSLSessionCache none\n", opts.TLS.CertFile, opts.TLS.KeyFile)
	}
	fmt.Fprintf(&conf, `PidFile %q
ErrorLog %q
LogLevel info auth_gssapi:debug
DocumentRoot %q
DirectoryIndex index.txt
KeepAlive On
MaxKeepAliveRequests 100
Mutex file:%s
<Location />
  AuthType GSSAPI
  AuthName "gosspi"
%s  GssapiAllowedMech %s
  GssapiConnectionBound On
  GssapiBasicAuth Off
  GssapiUseSessions Off
  Require valid-user
  Header always set X-Remote-User "%%{GSS_NAME}e"
%s
</Location>
`, filepath.Join(dir, "httpd.pid"), filepath.Join(dir, "error.log"), dir, dir, credStore(opts.Env, mechs), strings.Join(mechs, " "), opts.Extra)
	confPath := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-X", "-f", confPath)
	// The private environment of every peer (no winbindd, no host krb5.conf), then opts.Env.
	cmd.Env = peerEnv(tb, dir, NTLMEnv{}, append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "APACHE_RUN_DIR=" + dir, "APACHE_LOCK_DIR=" + dir, "APACHE_LOG_DIR=" + dir}, opts.Env...))
	cmd.Dir = dir
	out := &apacheOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpeers: starting apache2: %v", err)
	}
	a := &Apache{URL: fmt.Sprintf("%s://localhost:%d/", scheme, port), Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(a.done) }()
	tb.Cleanup(a.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-a.done:
			tb.Fatalf("testpeers: apache2 exited at start: %s\n%s", out.String(), a.Log())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testpeers: apache2 did not listen within 10s: %s\n%s", out.String(), a.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a
}

// Log returns the server's error log (mod_auth_gssapi logs each failure there).
func (a *Apache) Log() string {
	b, _ := os.ReadFile(filepath.Join(a.Dir, "error.log"))
	return string(b)
}

// Stop stops httpd and waits for it.
func (a *Apache) Stop() {
	a.once.Do(func() {
		a.cmd.Process.Signal(os.Interrupt)
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			a.cmd.Process.Kill()
			<-a.done
		}
	})
}

// credStore is the GssapiCredStore line: the keytab, for Kerberos alone. With ntlmssp
// allowed there is none, and the keytab comes from KRB5_KTNAME: given a cred store (which
// gss-ntlmssp 1.2.0 does not understand), mod_auth_gssapi's gss_acquire_cred_from gets an
// NTLM credential that gss_accept_sec_context refuses (GSS_S_DEFECTIVE_CREDENTIAL, minor
// 0x4E540011, gss-ntlmssp's "no server credentials"), and gss-ntlmssp then crashes
// (SIGSEGV) freeing its half-built context, taking httpd -X with it.
func credStore(env, mechs []string) string {
	for _, m := range mechs {
		if m == "ntlmssp" {
			return ""
		}
	}
	return "  GssapiCredStore keytab:" + keytabOf(env) + "\n"
}

// keytabOf returns KRB5_KTNAME's value in env, without its FILE: prefix.
func keytabOf(env []string) string {
	kt := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "KRB5_KTNAME="); ok {
			kt = v
		}
	}
	return strings.TrimPrefix(kt, "FILE:")
}

// apacheOutput collects httpd's stdout and stderr for a failure message.
type apacheOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *apacheOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.b.Len() < 64<<10 {
		o.b.Write(p)
	}
	return len(p), nil
}

func (o *apacheOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
