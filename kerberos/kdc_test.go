package kerberos

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/testpeers"
)

const (
	testRealm    = "GOSSPI.TEST"
	testUser     = "alice"
	testPassword = "Passw0rd!"
	testSPN      = "host/localhost"
)

// testKDC is a throw-away MIT KDC on a loopback port, shared by the package's tests and
// stopped by TestMain.
type testKDC struct {
	dir    string
	conf   string   // krb5.conf
	env    []string // KRB5_CONFIG and KRB5_KDC_PROFILE for every Kerberos process
	keytab string   // host/localhost's keys
	stop   func()
}

var (
	kdcOnce sync.Once
	kdcInst *testKDC
	kdcErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if kdcInst != nil {
		kdcInst.stop()
		os.RemoveAll(kdcInst.dir)
	}
	os.Exit(code)
}

// getKDC starts the shared KDC on first use; it skips (or fails under SSPI_INTEROP=require)
// without MIT's KDC packages.
func getKDC(t *testing.T) *testKDC {
	t.Helper()
	krb5kdc := testpeers.Require(t, "krb5-kdc", "krb5kdc")
	kdbUtil := testpeers.Require(t, "krb5-admin-server", "kdb5_util")
	kadmin := testpeers.Require(t, "krb5-admin-server", "kadmin.local")
	kdcOnce.Do(func() { kdcInst, kdcErr = startKDC(krb5kdc, kdbUtil, kadmin) })
	if kdcErr != nil {
		t.Fatal(kdcErr)
	}
	return kdcInst
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// kdcEnv is the process environment for Kerberos tools: the caller's, without anything
// Kerberos, plus extra.
func kdcEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KRB5") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func startKDC(krb5kdc, kdbUtil, kadmin string) (*testKDC, error) {
	dir, err := os.MkdirTemp("", "gosspi-kdc-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	%[1]s = {
		kdc = 127.0.0.1:%[2]d
	}
[domain_realm]
	localhost = %[1]s
`, testRealm, port)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = 127.0.0.1:%[2]d
	kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		kdc_listen = 127.0.0.1:%[2]d
		kdc_tcp_listen = 127.0.0.1:%[2]d
	}
[logging]
	kdc = FILE:%[3]s/kdc.log
`, testRealm, port, dir)
	k := &testKDC{dir: dir, conf: filepath.Join(dir, "krb5.conf"), keytab: filepath.Join(dir, "host.keytab")}
	if err := os.WriteFile(k.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	kdcPath := filepath.Join(dir, "kdc.conf")
	if err := os.WriteFile(kdcPath, []byte(kdcConf), 0o600); err != nil {
		return nil, err
	}
	k.env = []string{"KRB5_CONFIG=" + k.conf, "KRB5_KDC_PROFILE=" + kdcPath}
	run := func(name string, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = kdcEnv(k.env)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return nil
	}
	for _, c := range [][]string{
		{kdbUtil, "create", "-s", "-r", testRealm, "-P", "master-key-for-tests"},
		{kadmin, "-r", testRealm, "-q", "addprinc -pw " + testPassword + " " + testUser},
		{kadmin, "-r", testRealm, "-q", "addprinc -randkey " + testSPN},
		{kadmin, "-r", testRealm, "-q", "ktadd -k " + k.keytab + " " + testSPN},
		{kadmin, "-r", testRealm, "-q", "addprinc -randkey bob"},
		{kadmin, "-r", testRealm, "-q", "ktadd -k " + filepath.Join(dir, "bob.keytab") + " bob"},
	} {
		if err := run(c[0], c[1:]...); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, krb5kdc, "-n", "-r", testRealm)
	cmd.Env = kdcEnv(k.env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	k.stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cancel()
			<-exited
		}
		cancel()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
		if strings.Contains(string(b), "commencing operation") {
			return k, nil
		}
		select {
		case <-exited:
			k.stop()
			return nil, fmt.Errorf("krb5kdc exited: %s\n%s", out.String(), b)
		default:
		}
		if time.Now().After(deadline) {
			k.stop()
			return nil, fmt.Errorf("krb5kdc not ready: %s\n%s", out.String(), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
