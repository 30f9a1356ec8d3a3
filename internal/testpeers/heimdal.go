package testpeers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// HeimdalRootEnv names the environment variable that points the tests at another unpacked
// Heimdal tree than DefaultHeimdalRoot (scripts/install-peers takes the same variable).
const HeimdalRootEnv = "GOSSPI_HEIMDAL_ROOT"

// DefaultHeimdalRoot is where scripts/install-peers unpacks Heimdal's .debs (heimdal-kdc,
// heimdal-clients, heimdal-multidev and their Heimdal libraries) with dpkg -x. Debian's
// Heimdal packages conflict with MIT's, so they are never installed; the binaries run from
// this tree with LD_LIBRARY_PATH set to its library directory.
const DefaultHeimdalRoot = "/opt/gosspi-peers/heimdal"

// HeimdalEnctypes are the key types StartHeimdalKDC gives every principal by default: all
// that Heimdal 7.8 supports and the Kerberos package may meet, strongest first.
var HeimdalEnctypes = []string{
	"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96",
	"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128",
	"arcfour-hmac-md5",
}

// Heimdal is an unpacked Heimdal tree: its programs, and the library directory they need.
type Heimdal struct {
	// Root is the tree dpkg -x wrote (DefaultHeimdalRoot or $GOSSPI_HEIMDAL_ROOT).
	Root string
	// LibDir holds Heimdal's shared libraries (Root/usr/lib/<multiarch>), for
	// LD_LIBRARY_PATH.
	LibDir string
}

// heimdalPrograms maps the names tests use to the tree's paths, and the argument heimtools
// needs before a subcommand (Debian's klist.heimdal is a link to heimtools, which goes by the
// name it was called with and does not know "klist.heimdal").
var heimdalPrograms = map[string][]string{
	"kdc":      {"usr/lib/heimdal-servers/kdc"},
	"kadmin":   {"usr/bin/kadmin.heimdal"},
	"kinit":    {"usr/bin/kinit.heimdal"},
	"kdestroy": {"usr/bin/kdestroy.heimdal"},
	"klist":    {"usr/bin/heimtools", "klist"},
	"ktutil":   {"usr/bin/ktutil.heimdal"},
	"kgetcred": {"usr/bin/kgetcred"},
}

// RequireHeimdal finds the unpacked Heimdal tree. It skips (or fails under
// SSPI_INTEROP=require) when the tree or one of its programs is missing.
func RequireHeimdal(tb testing.TB) *Heimdal {
	tb.Helper()
	root := os.Getenv(HeimdalRootEnv)
	if root == "" {
		root = DefaultHeimdalRoot
	}
	h := &Heimdal{Root: root, LibDir: filepath.Join(root, "usr/lib", multiarch())}
	for name, p := range heimdalPrograms {
		if _, ok := lookPath(filepath.Join(root, p[0])); !ok {
			Unavailable(tb, "Heimdal's %s not found in %s (Debian packages heimdal-kdc and heimdal-clients, unpacked there; %s moves it)",
				name, root, HeimdalRootEnv)
		}
	}
	if _, err := os.Stat(filepath.Join(h.LibDir, "libkrb5.so.26")); err != nil {
		Unavailable(tb, "Heimdal's libkrb5.so.26 not found in %s (Debian package libkrb5-26-heimdal, unpacked there)", h.LibDir)
	}
	return h
}

// multiarch is Debian's library directory name for this machine.
func multiarch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "aarch64-linux-gnu"
	case "386":
		return "i386-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	}
	return "x86_64-linux-gnu"
}

// Command returns an exec.Cmd for one of Heimdal's programs ("kdc", "kadmin", "kinit",
// "kdestroy", "klist", "ktutil", "kgetcred") with env as its whole environment plus
// LD_LIBRARY_PATH naming LibDir.
func (h *Heimdal) Command(ctx context.Context, env []string, name string, args ...string) (*exec.Cmd, error) {
	p, ok := heimdalPrograms[name]
	if !ok {
		return nil, fmt.Errorf("testpeers: no Heimdal program %q", name)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(h.Root, p[0]), append(append([]string(nil), p[1:]...), args...)...)
	cmd.Env = append(append([]string(nil), env...), "LD_LIBRARY_PATH="+h.LibDir)
	return cmd, nil
}

// HeimdalKDCOptions configures StartHeimdalKDC.
type HeimdalKDCOptions struct {
	// Realm is the realm; default HeimdalRealm.
	Realm string
	// Users are client principals (without the realm) and their passwords; an empty password
	// gives a random key. Nil means {KDCUser: KDCPassword}.
	Users map[string]string
	// Services are principals (without the realm) with random keys, all exported to
	// HeimdalKDC.Keytab; nil means {KDCService}.
	Services []string
	// Enctypes are the key types of every principal ([kadmin] default_keys); nil means
	// HeimdalEnctypes. Remove some from one principal with Kadmin("del_enctype", ...).
	Enctypes []string
	// Lifetime bounds how long the kdc may run at all; zero means 10 minutes.
	Lifetime time.Duration
}

// HeimdalRealm is the default realm of a Heimdal KDC (distinct from KDCRealm, so that a
// test never mixes the two KDCs up).
const HeimdalRealm = "HEIMDAL.TEST"

// HeimdalKDC is a throw-away Heimdal KDC: a fresh database made with `kadmin -l`, served by
// Heimdal's kdc in the foreground on one free port of 127.0.0.1 (UDP and TCP). Its client
// configuration maps localhost to the realm and does no DNS.
type HeimdalKDC struct {
	// Heimdal is the tree the KDC runs from.
	*Heimdal
	// Realm is the realm the KDC serves.
	Realm string
	// Dir holds the database, the configuration, the log and the keytabs.
	Dir string
	// Krb5Conf is the client configuration, for KRB5_CONFIG (Heimdal's and MIT's programs)
	// or ClientConfig.Config.
	Krb5Conf string
	// KDCConf is Krb5Conf plus the KDC's sections ([kdc], [kadmin], [logging]), for kdc
	// --config-file and kadmin -c.
	KDCConf string
	// Keytab holds the keys of every service principal (HeimdalKDCOptions.Services),
	// written by Heimdal's kadmin ext_keytab.
	Keytab string
	// Port is the KDC's port on 127.0.0.1.
	Port int

	stop func()
	mu   sync.Mutex
	seq  int
}

// Principal returns name@Realm.
func (k *HeimdalKDC) Principal(name string) string { return name + "@" + k.Realm }

// Env returns KRB5_CONFIG for this KDC and KRB5CCNAME naming an empty cache, for any
// Kerberos program (Heimdal's or MIT's) that should use it.
func (k *HeimdalKDC) Env() []string {
	return []string{"KRB5_CONFIG=" + k.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(k.Dir, "empty.ccache")}
}

// Log returns the KDC's log so far.
func (k *HeimdalKDC) Log() string {
	b, _ := os.ReadFile(filepath.Join(k.Dir, "kdc.log"))
	return string(b)
}

// Stop ends the kdc (and its worker) and removes Dir. Idempotent.
func (k *HeimdalKDC) Stop() { k.stop() }

func (k *HeimdalKDC) nextName(prefix string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seq++
	return filepath.Join(k.Dir, fmt.Sprintf("%s-%d", prefix, k.seq))
}

// Run runs one of Heimdal's programs (see Heimdal.Command) against this KDC's configuration,
// in the private environment, with stdin, under DefaultTimeout, and returns its combined
// output.
func (k *HeimdalKDC) Run(stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	env, err := privateEnv(k.Dir, k.Env())
	if err != nil {
		return "", err
	}
	cmd, err := k.Command(ctx, env, name, args...)
	if err != nil {
		return "", err
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testpeers: heimdal %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Kadmin runs `kadmin -l` (the database directly, no kadmind) with args, for example
// "del_enctype", "svc/localhost", "aes256-cts-hmac-sha1-96"; it fails tb when kadmin does,
// and returns its output.
func (k *HeimdalKDC) Kadmin(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := k.kadmin(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func (k *HeimdalKDC) kadmin(args ...string) (string, error) {
	return k.Run("", "kadmin", append([]string{"-l", "-c", k.KDCConf, "-r", k.Realm}, args...)...)
}

// KeytabFor writes the current keys of principals (without the realm) to a new keytab with
// Heimdal's `kadmin -l ext_keytab` (which keeps the keys) and returns its path.
func (k *HeimdalKDC) KeytabFor(tb testing.TB, principals ...string) string {
	tb.Helper()
	path := k.nextName("keytab")
	k.Kadmin(tb, append([]string{"ext_keytab", "-k", "FILE:" + path}, principals...)...)
	return path
}

// Kinit gets a TGT for principal ("alice" or "alice@REALM") with Heimdal's kinit into a new
// file credential cache and returns the cache's path (prefix "FILE:" for KRB5CCNAME).
func (k *HeimdalKDC) Kinit(tb testing.TB, principal, password string) string {
	tb.Helper()
	if !strings.Contains(principal, "@") {
		principal = k.Principal(principal)
	}
	cc := k.nextName("ccache")
	if _, err := k.Run(password+"\n", "kinit", "--password-file=STDIN", "-c", "FILE:"+cc, principal); err != nil {
		tb.Fatal(err)
	}
	return cc
}

// Kgetcred adds a service ticket for service ("host/localhost") to the ccache with Heimdal's
// kgetcred (a TGS exchange).
func (k *HeimdalKDC) Kgetcred(tb testing.TB, ccache, service string) {
	tb.Helper()
	if _, err := k.Run("", "kgetcred", "-c", "FILE:"+ccache, service); err != nil {
		tb.Fatal(err)
	}
}

// Klist returns Heimdal's `klist -v` of a ccache (tickets, enctypes, flags).
func (k *HeimdalKDC) Klist(tb testing.TB, ccache string) string {
	tb.Helper()
	out, err := k.Run("", "klist", "-v", "-c", "FILE:"+ccache)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// StartHeimdalKDC starts a Heimdal KDC for tb; tb's Cleanup stops it. It skips (or fails
// under SSPI_INTEROP=require) without the unpacked Heimdal tree (scripts/install-peers).
func StartHeimdalKDC(tb testing.TB, opts HeimdalKDCOptions) *HeimdalKDC {
	tb.Helper()
	h := RequireHeimdal(tb)
	return startPeer(tb, func() (*HeimdalKDC, error) { return launchHeimdalKDC(h, opts) })
}

var sharedHeimdal sharedPeer[*HeimdalKDC]

// SharedHeimdalKDC returns the test binary's Heimdal KDC, started with opts on the first
// call (later calls' opts are ignored). StopSharedKDC, which the package's TestMain calls
// after m.Run, stops it as well.
func SharedHeimdalKDC(tb testing.TB, opts HeimdalKDCOptions) *HeimdalKDC {
	tb.Helper()
	h := RequireHeimdal(tb)
	return sharedHeimdal.get(tb, func() (*HeimdalKDC, error) { return launchHeimdalKDC(h, opts) })
}

// heimdalConfig returns the client configuration and the KDC's (the client's plus [kdc],
// [kadmin] and [logging]: Heimdal's kdc and kadmin -l read the database's location there).
func heimdalConfig(realm, dir string, port int, enctypes []string) (client, kdc string) {
	keys := make([]string, len(enctypes))
	for i, e := range enctypes {
		keys[i] = e + ":pw-salt"
	}
	// allow_weak_crypto lets Heimdal's library use arcfour-hmac-md5 keys; the enctype lists
	// make both Heimdal's and MIT's clients ask for every enctype the principals have
	// (MIT's allow_rc4 likewise).
	client = fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	allow_weak_crypto = true
	allow_rc4 = true
	default_tkt_enctypes = %[4]s
	default_tgs_enctypes = %[4]s
	permitted_enctypes = %[4]s
[realms]
	%[1]s = {
		kdc = 127.0.0.1:%[2]d
	}
[domain_realm]
	localhost = %[1]s
`, realm, port, dir, strings.Join(enctypes, " "))
	kdc = client + fmt.Sprintf(`[kdc]
	database = {
		dbname = %[3]s/heimdal
		realm = %[1]s
		mkey_file = %[3]s/m-key
		log_file = %[3]s/kdc.log
	}
	addresses = 127.0.0.1
	num-kdc-processes = 1
[kadmin]
	default_keys = %[5]s
[logging]
	kdc = FILE:%[3]s/kdc.log
	default = FILE:%[3]s/heimdal.log
`, realm, port, dir, strings.Join(enctypes, " "), strings.Join(keys, " "))
	return client, kdc
}

func launchHeimdalKDC(h *Heimdal, opts HeimdalKDCOptions) (_ *HeimdalKDC, err error) {
	if opts.Realm == "" {
		opts.Realm = HeimdalRealm
	}
	if opts.Users == nil {
		opts.Users = map[string]string{KDCUser: KDCPassword}
	}
	if opts.Services == nil {
		opts.Services = []string{KDCService}
	}
	if opts.Enctypes == nil {
		opts.Enctypes = HeimdalEnctypes
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 10 * time.Minute
	}
	dir, err := os.MkdirTemp("", "gosspi-heimdal-")
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
	k := &HeimdalKDC{
		Heimdal: h, Realm: opts.Realm, Dir: dir, Port: port,
		Krb5Conf: filepath.Join(dir, "krb5.conf"),
		KDCConf:  filepath.Join(dir, "kdc.conf"),
		Keytab:   filepath.Join(dir, "services.keytab"),
		stop:     func() { os.RemoveAll(dir) },
	}
	client, kdc := heimdalConfig(opts.Realm, dir, port, opts.Enctypes)
	if err := os.WriteFile(k.Krb5Conf, []byte(client), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.KDCConf, []byte(kdc), 0o600); err != nil {
		return nil, err
	}
	if _, err := k.kadmin("init", "--realm-max-ticket-life=1 day", "--realm-max-renewable-life=1 week", opts.Realm); err != nil {
		return nil, err
	}
	for name, pw := range opts.Users {
		key := "--random-key"
		if pw != "" {
			key = "--password=" + pw // an argument, not a shell word: any character is fine
		}
		if _, err := k.kadmin("add", key, "--use-defaults", name); err != nil {
			return nil, err
		}
	}
	for _, s := range opts.Services {
		if _, err := k.kadmin("add", "--random-key", "--use-defaults", s); err != nil {
			return nil, err
		}
	}
	if len(opts.Services) > 0 {
		if _, err := k.kadmin(append([]string{"ext_keytab", "-k", "FILE:" + k.Keytab}, opts.Services...)...); err != nil {
			return nil, err
		}
	}
	if err := k.serve(opts.Lifetime); err != nil {
		return nil, err
	}
	return k, nil
}

// serve starts the kdc in the foreground (its worker process exits when the master does)
// and waits until the port takes TCP connections.
func (k *HeimdalKDC) serve(lifetime time.Duration) error {
	env, err := privateEnv(k.Dir, k.Env())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	cmd, err := k.Command(ctx, env, "kdc", "--config-file="+k.KDCConf, "--ports="+strconv.Itoa(k.Port))
	if err != nil {
		cancel()
		return err
	}
	ready := serving(net.JoinHostPort("127.0.0.1", strconv.Itoa(k.Port)))
	stop, err := serveKDC(cmd, cancel, "Heimdal kdc", k.Dir, ready, k.Log)
	if err != nil {
		return err
	}
	k.stop = stop
	return nil
}
