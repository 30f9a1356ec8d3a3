package testpeers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of KDCOptions: the realm, and the one user a KDC has when none is given.
const (
	KDCRealm    = "GOSSPI.TEST"
	KDCUser     = "alice"
	KDCPassword = "Passw0rd!"
	KDCService  = "host/localhost"
)

// KDCOptions configures StartKDC.
type KDCOptions struct {
	// Realm is the realm; default KDCRealm.
	Realm string
	// Users are client principals (without the realm) and their passwords; an empty password
	// gives the principal a random key (export it with KeytabFor). Nil means
	// {KDCUser: KDCPassword}.
	Users map[string]string
	// Services are principals (without the realm) with random keys, all exported to
	// KDC.Keytab; nil means {KDCService}.
	Services []string
	// Lifetime bounds how long krb5kdc may run at all; zero means 10 minutes.
	Lifetime time.Duration
	// AllowWeakSessionKeys lets the KDC issue RC4 and DES3 session keys (allow_rc4,
	// allow_des3), for services whose session_enctypes ask for them (KDC.Kadmin "setstr").
	AllowWeakSessionKeys bool
	// KDCConf is appended to the KDC's own profile (kdc.conf), whose relations krb5kdc reads
	// with its krb5.conf: a [domain_realm] section there makes it refer host-based names
	// (RFC 6806) to the realms it maps their hosts to.
	KDCConf string
}

// KDC is a throw-away MIT KDC (krb5kdc with a fresh database) listening on 127.0.0.1 only,
// UDP and TCP on one free port. Its krb5.conf maps localhost to the realm and does no DNS.
type KDC struct {
	// Realm is the realm the KDC serves.
	Realm string
	// Dir holds the database, the configuration files, the log and the keytabs.
	Dir string
	// Krb5Conf is the client configuration (for KRB5_CONFIG or ClientConfig.Config).
	Krb5Conf string
	// KDCConf is the KDC's own configuration (KRB5_KDC_PROFILE).
	KDCConf string
	// Keytab holds the keys of every service principal (KDCOptions.Services).
	Keytab string
	// Port is the KDC's port on 127.0.0.1.
	Port int

	kadmin string
	stop   func()
	mu     sync.Mutex
	seq    int
}

// Principal returns name@Realm.
func (k *KDC) Principal(name string) string { return name + "@" + k.Realm }

// Env returns what every Kerberos process talking to this KDC needs: KRB5_CONFIG, and
// KRB5CCNAME naming an empty credential cache (so nothing falls back to the developer's).
// Append KRB5CCNAME from Kinit, or KRB5_KTNAME, to override.
func (k *KDC) Env() []string {
	return []string{"KRB5_CONFIG=" + k.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(k.Dir, "empty.ccache")}
}

// ServerEnv is Env plus KRB5_KTNAME naming Keytab, for acceptors such as gss-server.
func (k *KDC) ServerEnv() []string {
	return append(k.Env(), "KRB5_KTNAME=FILE:"+k.Keytab)
}

// Log returns the KDC's log so far.
func (k *KDC) Log() string {
	b, _ := os.ReadFile(filepath.Join(k.Dir, "kdc.log"))
	return string(b)
}

// Stop ends krb5kdc and removes Dir. Idempotent; StartKDC's Cleanup calls it.
func (k *KDC) Stop() { k.stop() }

// adminEnv is the environment of kdb5_util, kadmin.local, krb5kdc and kinit: the private
// one of every peer, with this KDC's configuration.
func (k *KDC) adminEnv(extra ...string) ([]string, error) {
	return privateEnv(k.Dir, append([]string{"KRB5_CONFIG=" + k.Krb5Conf, "KRB5_KDC_PROFILE=" + k.KDCConf}, extra...))
}

func (k *KDC) run(stdin string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := k.adminEnv()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testpeers: %s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

func (k *KDC) kadminQuery(q string) error {
	return k.run("", k.kadmin, "-r", k.Realm, "-q", q)
}

func (k *KDC) nextName(prefix string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seq++
	return filepath.Join(k.Dir, fmt.Sprintf("%s-%d", prefix, k.seq))
}

// KeytabFor writes the current keys of principals (without the realm) to a new keytab in
// the KDC's directory and returns its path; the keys are not changed (ktadd -norandkey).
func (k *KDC) KeytabFor(tb testing.TB, principals ...string) string {
	tb.Helper()
	path := k.nextName("keytab")
	q := "ktadd -norandkey -k " + path
	for _, p := range principals {
		q += " " + p
	}
	if err := k.kadminQuery(q); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Kinit gets a TGT for principal ("alice" or "alice@REALM") with MIT's kinit into a new
// file credential cache and returns the cache's path (prefix "FILE:" for KRB5CCNAME). It
// skips (or fails under SSPI_INTEROP=require) without krb5-user.
func (k *KDC) Kinit(tb testing.TB, principal, password string) string {
	tb.Helper()
	kinit := Require(tb, "krb5-user", "kinit")
	if !strings.Contains(principal, "@") {
		principal = k.Principal(principal)
	}
	cc := k.nextName("ccache")
	if err := k.run(password+"\n", kinit, "-c", "FILE:"+cc, principal); err != nil {
		tb.Fatal(err)
	}
	return cc
}

// RequireKDC checks for MIT's KDC programs and returns krb5kdc's, kdb5_util's and
// kadmin.local's paths.
func RequireKDC(tb testing.TB) (krb5kdc, kdbUtil, kadmin string) {
	tb.Helper()
	return Require(tb, "krb5-kdc", "krb5kdc"), Require(tb, "krb5-admin-server", "kdb5_util"),
		Require(tb, "krb5-admin-server", "kadmin.local")
}

// StartKDC starts a KDC for tb; tb's Cleanup stops it. It skips (or fails under
// SSPI_INTEROP=require) without krb5-kdc and krb5-admin-server. Starting one takes well under
// a second; SharedKDC starts one per test binary.
func StartKDC(tb testing.TB, opts KDCOptions) *KDC {
	tb.Helper()
	krb5kdc, kdbUtil, kadmin := RequireKDC(tb)
	return startPeer(tb, func() (*KDC, error) { return launchKDC(krb5kdc, kdbUtil, kadmin, opts) })
}

var sharedMIT sharedPeer[*KDC]

// SharedKDC returns the test binary's KDC, started with opts on the first call (later calls'
// opts are ignored). It lives until StopSharedKDC, which the package's TestMain must call
// after m.Run.
func SharedKDC(tb testing.TB, opts KDCOptions) *KDC {
	tb.Helper()
	krb5kdc, kdbUtil, kadmin := RequireKDC(tb)
	return sharedMIT.get(tb, func() (*KDC, error) { return launchKDC(krb5kdc, kdbUtil, kadmin, opts) })
}

// startPeer launches a peer for tb and stops it in tb's Cleanup.
func startPeer[P interface{ Stop() }](tb testing.TB, launch func() (P, error)) P {
	tb.Helper()
	p, err := launch()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return p
}

// sharedPeer is a peer launched once per test binary, on first use.
type sharedPeer[P any] struct {
	once    sync.Once
	peer    P
	started bool
	err     error
}

// get returns the peer, launching it on the first call; a failed launch fails every caller.
func (s *sharedPeer[P]) get(tb testing.TB, launch func() (P, error)) P {
	tb.Helper()
	s.once.Do(func() {
		s.peer, s.err = launch()
		s.started = s.err == nil
	})
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.peer
}

// StopSharedKDC stops the KDCs SharedKDC and SharedHeimdalKDC started, if any.
func StopSharedKDC() {
	if sharedMIT.started {
		sharedMIT.peer.Stop()
	}
	if sharedHeimdal.started {
		sharedHeimdal.peer.Stop()
	}
}

func launchKDC(krb5kdc, kdbUtil, kadmin string, opts KDCOptions) (_ *KDC, err error) {
	if opts.Realm == "" {
		opts.Realm = KDCRealm
	}
	if opts.Users == nil {
		opts.Users = map[string]string{KDCUser: KDCPassword}
	}
	if opts.Services == nil {
		opts.Services = []string{KDCService}
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 10 * time.Minute
	}
	dir, err := os.MkdirTemp("", "gosspi-kdc-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &KDC{
		Realm: opts.Realm, Dir: dir, Port: port, kadmin: kadmin,
		Krb5Conf: filepath.Join(dir, "krb5.conf"),
		KDCConf:  filepath.Join(dir, "kdc.conf"),
		Keytab:   filepath.Join(dir, "services.keytab"),
	}
	weak := ""
	if opts.AllowWeakSessionKeys {
		weak = "\tallow_rc4 = true\n\tallow_des3 = true\n"
	}
	conf := clientLibdefaults(opts.Realm, weak) + fmt.Sprintf(`[realms]
	%[1]s = {
		kdc = 127.0.0.1:%[2]d
	}
[domain_realm]
	localhost = %[1]s
`, opts.Realm, port)
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
`, opts.Realm, port, dir) + opts.KDCConf
	if err := os.WriteFile(k.Krb5Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.KDCConf, []byte(kdcConf), 0o600); err != nil {
		return nil, err
	}
	if err := k.run("", kdbUtil, "create", "-s", "-r", opts.Realm, "-P", "master-key-for-tests"); err != nil {
		return nil, err
	}
	for name, pw := range opts.Users {
		q := "addprinc -randkey " + name
		if pw != "" {
			if strings.ContainsAny(pw, " \"'\n") {
				return nil, fmt.Errorf("testpeers: KDC password for %s must not contain spaces or quotes", name)
			}
			q = "addprinc -pw " + pw + " " + name
		}
		if err := k.kadminQuery(q); err != nil {
			return nil, err
		}
	}
	for _, s := range opts.Services {
		if err := k.kadminQuery("addprinc -randkey " + s); err != nil {
			return nil, err
		}
	}
	if len(opts.Services) > 0 {
		if err := k.kadminQuery("ktadd -norandkey -k " + k.Keytab + " " + strings.Join(opts.Services, " ")); err != nil {
			return nil, err
		}
	}

	// krb5kdc -n stays in the foreground; ready when the log says so.
	env, err := k.adminEnv()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Lifetime)
	cmd := exec.CommandContext(ctx, krb5kdc, "-n", "-r", opts.Realm)
	cmd.Env = env
	ready := func() error {
		if !strings.Contains(k.Log(), "commencing operation") {
			return errors.New(`no "commencing operation" in its log`)
		}
		return nil
	}
	if k.stop, err = serveKDC(cmd, cancel, "krb5kdc", dir, ready, k.Log); err != nil {
		return nil, err
	}
	return k, nil
}

// clientLibdefaults is the [libdefaults] of a peer's client krb5.conf: realm by default,
// no DNS look-ups or reverse look-ups (the host's resolver is not the test's), TCP only,
// and then extra, lines of its own.
func clientLibdefaults(realm, extra string) string {
	return fmt.Sprintf(`[libdefaults]
	default_realm = %s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
`, realm) + extra
}

// serveKDC starts a KDC's cmd (see serveDaemon) and waits up to 10 s until ready; its stop
// also removes dir.
func serveKDC(cmd *exec.Cmd, cancel context.CancelFunc, name, dir string, ready func() error, log func() string) (stop func(), err error) {
	return serveDaemon(cmd, cancel, daemon{
		name: name, out: &capBuffer{max: 16 << 10}, ready: ready, log: log,
		within: 10 * time.Second, grace: 5 * time.Second,
		afterStop: func() { os.RemoveAll(dir) },
	})
}
