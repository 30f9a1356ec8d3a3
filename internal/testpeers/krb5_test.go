package testpeers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testRealm = "GOSSPI.TEST"

// testKDC is a throw-away MIT KDC on a loopback port, just enough to prove that the GSS driver
// does Kerberos; it is not part of the package's API.
type testKDC struct {
	env    []string // KRB5_CONFIG and KRB5_KDC_PROFILE for every Kerberos process
	keytab string   // host/localhost's keys
}

func startTestKDC(t *testing.T) *testKDC {
	t.Helper()
	krb5kdc := Require(t, "krb5-kdc", "krb5kdc")
	kdbUtil := Require(t, "krb5-admin-server", "kdb5_util")
	kadmin := Require(t, "krb5-admin-server", "kadmin.local")
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
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
	confPath, _ := writeTemp(dir, "krb5.conf", []byte(conf), 0o600)
	kdcPath, _ := writeTemp(dir, "kdc.conf", []byte(kdcConf), 0o600)
	k := &testKDC{
		env:    []string{"KRB5_CONFIG=" + confPath, "KRB5_KDC_PROFILE=" + kdcPath},
		keytab: filepath.Join(dir, "host.keytab"),
	}
	run := func(name string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = scrubbedEnv(k.env)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run(kdbUtil, "create", "-s", "-r", testRealm, "-P", "master-key-for-tests")
	run(kadmin, "-r", testRealm, "-q", "addprinc -pw "+testPassword+" alice")
	run(kadmin, "-r", testRealm, "-q", "addprinc -randkey host/localhost")
	run(kadmin, "-r", testRealm, "-q", "ktadd -k "+k.keytab+" host/localhost")

	// krb5kdc -n stays in the foreground; its own process group is killed at cleanup.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, krb5kdc, "-n", "-r", testRealm)
	cmd.Env = scrubbedEnv(k.env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cancel()
			<-exited
		}
		cancel()
	})
	// Ready when the log says so.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
		if strings.Contains(string(b), "commencing operation") {
			return k
		}
		select {
		case <-exited:
			t.Fatalf("krb5kdc exited: %s\n%s", out.String(), b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("krb5kdc not ready: %s\n%s", out.String(), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The GSS driver with Kerberos: a password-made initiator (gss_acquire_cred_with_password gets
// the TGT from the KDC) against a keytab acceptor, with mutual authentication, directly and
// through SPNEGO.
func TestGSSPeerKerberos(t *testing.T) {
	RequireGSSPython(t)
	kdc := startTestKDC(t)
	for _, mech := range []string{MechKerberos, MechSPNEGO} {
		t.Run(mech, func(t *testing.T) {
			ini := NewGSSPeer(t, GSSPeerOptions{
				Role: Initiator, Mech: mech, User: "alice@" + testRealm, UserType: "principal",
				Password: testPassword, NegMechs: []string{MechKerberos},
				Flags: GSSMutualFlag | GSSIntegFlag | GSSConfFlag, Env: kdc.env,
			})
			acc := NewGSSPeer(t, GSSPeerOptions{
				Role: Acceptor, Mech: mech, AcceptorName: "host@localhost", NegMechs: []string{MechKerberos},
				Env: append([]string{"KRB5_KTNAME=FILE:" + kdc.keytab}, kdc.env...),
			})
			tokens, err := Handshake(ini, acc, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Mutual authentication: AP-REQ, then AP-REP (SPNEGO may add a MIC leg).
			if len(tokens) < 2 {
				t.Errorf("%d tokens, want AP-REQ and AP-REP", len(tokens))
			}
			ai, err := acc.Info()
			if err != nil {
				t.Fatal(err)
			}
			if ai.PeerName != "alice@"+testRealm || ai.Mech != MechKerberos {
				t.Errorf("acceptor info %+v", ai)
			}
			ii, err := ini.Info()
			if err != nil {
				t.Fatal(err)
			}
			if ii.Flags&GSSMutualFlag == 0 || ii.PeerName != "host/localhost@"+testRealm {
				t.Errorf("initiator info %+v", ii)
			}
			if len(ai.SessionKey) == 0 || !bytes.Equal(ai.SessionKey, ii.SessionKey) {
				t.Errorf("session keys: acceptor %x, initiator %x", ai.SessionKey, ii.SessionKey)
			}
			for _, conf := range []bool{true, false} {
				tok, applied, err := ini.Wrap([]byte("kerberos message"), conf)
				if err != nil {
					t.Fatal(err)
				}
				// Unlike gss-ntlmssp, krb5 honours conf_req_flag.
				if applied != conf || bytes.Contains(tok, []byte("kerberos message")) == conf {
					t.Errorf("wrap(conf=%v): applied %v", conf, applied)
				}
				msg, enc, err := acc.Unwrap(tok)
				if err != nil || string(msg) != "kerberos message" || enc != conf {
					t.Errorf("unwrap: %q %v %v", msg, enc, err)
				}
			}
		})
	}
}
