package testpeers

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Samba AD DC's fixed names: every SharedADDC serves the same domain, provisioned once
// per machine (see provisionTemplate) and copied for each test binary.
const (
	ADDCRealm         = "SAMDOM.TEST"
	ADDCDomain        = "SAMDOM"
	ADDCDNSDomain     = "samdom.test"
	ADDCHostName      = "dc1"
	ADDCAddr          = "127.0.0.2"
	ADDCAdminUser     = "Administrator"
	ADDCAdminPassword = "Admin-Passw0rd!"
)

// ADDC is a running Samba 4.17 Active Directory domain controller for the domain SAMDOM
// (realm SAMDOM.TEST) on ADDCAddr: Kerberos (88), LDAP (389), DNS (53), RPC and SMB. The
// domain comes from a template provisioned once per machine; each test binary runs its own
// copy, so accounts a test adds vanish with the binary.
//
// Only one DC runs on the machine at a time: it needs ADDCAddr and its winbindd owns the
// machine-wide socket /run/samba/winbindd (libwbclient looks nowhere else). A second test
// binary's SharedADDC waits for the first one's StopSharedADDC. Every other peer in this
// package runs with _NO_WINBINDD=1, so a running DC cannot change their results.
type ADDC struct {
	// Realm is the Kerberos realm ("SAMDOM.TEST"), Domain the NetBIOS domain name ("SAMDOM").
	Realm, Domain string
	// Addr is the DC's IP address; KDCAddr and LDAPAddr are host:port of its KDC and LDAP
	// server.
	Addr, KDCAddr, LDAPAddr string
	// AdminUser and AdminPassword are the domain administrator's.
	AdminUser, AdminPassword string
	// DomainSID is the domain's SID ("S-1-5-21-...").
	DomainSID string
	// Dir holds the DC's private copy of the domain, its configuration and logs.
	Dir string
	// SMBConf is the DC's smb.conf (samba -s, samba-tool -s).
	SMBConf string
	// Krb5Conf is a client krb5.conf whose default realm is Realm, with the DC as its only
	// KDC, no DNS look-ups and allow_rc4 (for RC4-only service accounts).
	Krb5Conf string

	// Provisioned is how long provisioning the template took in this process (zero when a
	// cached template was used); Waited is how long this process waited for another test
	// binary's DC to stop; Started is how long copying the template and starting samba took,
	// up to the KDC, LDAP and DNS ports accepting connections.
	Provisioned, Waited, Started time.Duration

	stop func()
	out  capBuffer
	mu   sync.Mutex
	seq  int
}

// RequireADDC checks for the Samba AD DC's programs and for what starting it needs (root, to
// give the loopback interface ADDCAddr), and returns samba's path.
func RequireADDC(tb testing.TB) string {
	tb.Helper()
	samba := Require(tb, "samba", "samba")
	Require(tb, "samba", "samba-tool")
	Require(tb, "samba", "samba_spnupdate")
	Require(tb, "samba-ad-provision", "/usr/share/samba/setup/provision.ldif")
	Require(tb, "ldb-tools", "ldbmodify")
	Require(tb, "ldb-tools", "ldbsearch")
	if !hasAddr(ADDCAddr) {
		Require(tb, "iproute2", "ip")
		if os.Geteuid() != 0 {
			Unavailable(tb, "the Samba AD DC needs %s on lo, and only root can add it (ip addr add %s/8 dev lo)", ADDCAddr, ADDCAddr)
		}
	}
	return samba
}

var sharedDC sharedPeer[*ADDC]

// SharedADDC returns the test binary's domain controller, starting it on the first call. It
// lives until StopSharedADDC, which the package's TestMain must call after m.Run. Use it from
// few test packages: each binary that does waits for the DC of any other to stop. It skips
// (or fails under SSPI_INTEROP=require) without Samba's AD DC packages.
func SharedADDC(tb testing.TB) *ADDC {
	tb.Helper()
	samba := RequireADDC(tb)
	return sharedDC.get(tb, func() (*ADDC, error) { return launchADDC(samba, testTimeout()) })
}

// StartADDC starts a DC for tb alone; tb's Cleanup stops it, which frees the machine's DC for
// other test binaries sooner than StopSharedADDC at the end of the binary would.
func StartADDC(tb testing.TB) *ADDC {
	tb.Helper()
	samba := RequireADDC(tb)
	return startPeer(tb, func() (*ADDC, error) { return launchADDC(samba, testTimeout()) })
}

// StopSharedADDC stops the DC SharedADDC started, if any.
func StopSharedADDC() {
	if sharedDC.started {
		sharedDC.peer.Stop()
	}
}

// Stop ends samba (its whole process group), removes Dir, takes ADDCAddr off lo if this
// process put it there and releases the machine-wide DC lock. Idempotent.
func (d *ADDC) Stop() { d.stop() }

// Env returns what a Kerberos process talking to this DC needs: KRB5_CONFIG naming Krb5Conf,
// KRB5CCNAME naming an empty credential cache, and _NO_WINBINDD=1 (so an NTLM peer never asks
// the DC's winbindd).
func (d *ADDC) Env() []string {
	return []string{"KRB5_CONFIG=" + d.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(d.Dir, "empty.ccache"), "_NO_WINBINDD=1"}
}

// Principal returns name@Realm.
func (d *ADDC) Principal(name string) string { return name + "@" + d.Realm }

// Log returns the end (16 KiB) of samba's output.
func (d *ADDC) Log() string { return d.out.String() }

func (d *ADDC) nextName(prefix string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	return filepath.Join(d.Dir, fmt.Sprintf("%s-%d", prefix, d.seq))
}

// testTimeout is the binary's -test.timeout, bounding the DC's life; ten minutes without one.
func testTimeout() time.Duration {
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if d, ok := g.Get().(time.Duration); ok && d > 0 {
				return d
			}
		}
	}
	return 10 * time.Minute
}

// addcLockPath is the machine-wide lock held from a DC's start to its Stop.
func addcLockPath() string { return filepath.Join(os.TempDir(), "gosspi-addc.lock") }

// addcAddrMarker exists while ADDCAddr is on lo because a DC of ours put it there; a binary
// that died without Stop leaves it, and the next DC then owns the address.
func addcAddrMarker() string { return filepath.Join(os.TempDir(), "gosspi-addc-addr-added") }

// lockFile takes an exclusive flock on path, waiting up to timeout.
func lockFile(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testpeers: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("testpeers: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("testpeers: %s still locked after %v by another test binary", path, timeout)
		}
		// flock has no time-out of its own; polling lets the wait end with the test's.
		time.Sleep(100 * time.Millisecond)
	}
}

func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// hasAddr reports whether an interface has the IP address ip.
func hasAddr(ip string) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
			return true
		}
	}
	return false
}

// claimAddr puts ADDCAddr on lo unless it is there already, and reports whether the address
// is ours to remove: added now, or left by a DC of ours that died without Stop.
func claimAddr() (bool, error) {
	if hasAddr(ADDCAddr) {
		_, err := os.Stat(addcAddrMarker())
		return err == nil, nil
	}
	if err := os.WriteFile(addcAddrMarker(), nil, 0o600); err != nil {
		return false, fmt.Errorf("testpeers: %w", err)
	}
	if out, err := runCmd(nil, "ip", "addr", "add", ADDCAddr+"/8", "dev", "lo"); err != nil {
		os.Remove(addcAddrMarker())
		return false, fmt.Errorf("testpeers: ip addr add %s/8 dev lo: %v: %s", ADDCAddr, err, out)
	}
	return true, nil
}

func releaseAddr() {
	_, _ = runCmd(nil, "ip", "addr", "del", ADDCAddr+"/8", "dev", "lo")
	os.Remove(addcAddrMarker())
}

// runCmd runs a short administrative command with a minute's time-out and returns its
// combined output.
func runCmd(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	killGroupOnCancel(cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// launchADDC copies the template into a private directory and runs samba there, holding the
// machine-wide DC lock until Stop.
func launchADDC(samba string, lifetime time.Duration) (_ *ADDC, err error) {
	tmpl, provisioned, err := ensureTemplate(lifetime)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	lock, err := lockFile(addcLockPath(), lifetime)
	if err != nil {
		return nil, err
	}
	waited := time.Since(begin)
	begin = time.Now()
	var cleanups []func()
	undo := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, func() { unlockFile(lock) })
	defer func() {
		if err != nil {
			undo()
		}
	}()
	removeStaleRunDirs()
	ours, err := claimAddr()
	if err != nil {
		return nil, err
	}
	if ours {
		cleanups = append(cleanups, releaseAddr)
	}
	d := &ADDC{
		Realm: ADDCRealm, Domain: ADDCDomain, Addr: ADDCAddr,
		KDCAddr: net.JoinHostPort(ADDCAddr, "88"), LDAPAddr: net.JoinHostPort(ADDCAddr, "389"),
		AdminUser: ADDCAdminUser, AdminPassword: ADDCAdminPassword,
		DomainSID: tmpl.domainSID, Provisioned: provisioned, Waited: waited,
	}
	if dialable(d.KDCAddr) {
		return nil, fmt.Errorf("testpeers: something already serves %s (a DC left running by a killed test binary?); stop it first", d.KDCAddr)
	}
	if d.Dir, err = os.MkdirTemp("", addcRunPrefix); err != nil {
		return nil, err
	}
	dir := d.Dir
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	if err := tmpl.copyTo(d); err != nil {
		return nil, err
	}
	if err := d.writeKrb5Conf(); err != nil {
		return nil, err
	}
	stopSamba, err := d.runSamba(samba, lifetime)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, stopSamba)
	d.Started = time.Since(begin)
	var once sync.Once
	d.stop = func() { once.Do(undo) }
	return d, nil
}

// addcRunPrefix names the private directories of running DCs under os.TempDir().
const addcRunPrefix = "gosspi-addc-run-"

// sambaDaemons are the programs of a DC that removeStaleRunDirs may end.
var sambaDaemons = map[string]bool{"samba": true, "smbd": true, "winbindd": true, "samba-dcerpcd": true, "samba-bgqd": true}

// removeStaleRunDirs ends the processes and removes the directories of DCs whose test
// binary died before Stop (a SIGKILL, a panic): called with the DC lock held, when no DC of
// ours runs, so whatever still runs from a run directory is left over. The kernel kills
// samba itself with its test binary (Pdeathsig); smbd and winbindd, which samba forks,
// may outlive it and hold the ports and sockets the next DC needs.
func removeStaleRunDirs() {
	prefix := filepath.Join(os.TempDir(), addcRunPrefix)
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		// samba renames itself ("samba: root process"), but runs in its directory; smbd
		// and winbindd name the configuration file.
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		exe, _ := os.Readlink(filepath.Join(p, "exe"))
		if !sambaDaemons[filepath.Base(exe)] || !bytes.Contains(cmdline, []byte(prefix)) && !strings.HasPrefix(cwd, prefix) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(p)); err == nil && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	dirs, _ := filepath.Glob(prefix + "*")
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

func (d *ADDC) writeKrb5Conf() error {
	d.Krb5Conf = filepath.Join(d.Dir, "krb5.conf")
	conf := clientLibdefaults(d.Realm, "\tallow_rc4 = true\n") + fmt.Sprintf(`[realms]
	%[1]s = {
		kdc = %[2]s
		admin_server = %[3]s
		kpasswd_server = %[3]s
	}
[domain_realm]
	.%[4]s = %[1]s
	%[4]s = %[1]s
`, d.Realm, d.KDCAddr, d.Addr, ADDCDNSDomain)
	return os.WriteFile(d.Krb5Conf, []byte(conf), 0o600)
}

// sambaEnv is the environment of samba and of the tools that open its databases: private
// like every peer's, with Krb5Conf. samba itself keeps libwbclient: its smbd asks its own
// winbindd.
func (d *ADDC) sambaEnv(forSamba bool) ([]string, error) {
	env, err := privateEnv(d.Dir, []string{"KRB5_CONFIG=" + d.Krb5Conf})
	if err != nil || !forSamba {
		return env, err
	}
	out := env[:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "_NO_WINBINDD=") && !strings.HasPrefix(e, "WINBINDD_SOCKET_DIR=") {
			out = append(out, e)
		}
	}
	return out, nil
}

// runSamba starts `samba -i -M single` (one process for all AD services: it starts in about
// a second and a half, a quarter of the prefork model's time and memory) in its own process
// group, bounded by lifetime, and waits until the KDC, LDAP and DNS ports accept connections.
func (d *ADDC) runSamba(samba string, lifetime time.Duration) (stop func(), err error) {
	env, err := d.sambaEnv(true)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	cmd := exec.CommandContext(ctx, samba, "-i", "-M", "single", "-d", "1", "-s", d.SMBConf)
	cmd.Env = env
	cmd.Dir = d.Dir
	// samba -i ends when its stdin reaches EOF: a pipe kept open until Stop.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	d.out.max = 16 << 10
	return serveDaemon(cmd, cancel, daemon{
		name: "samba", out: &d.out,
		ready:  serving(d.KDCAddr, d.LDAPAddr, net.JoinHostPort(d.Addr, "53")),
		within: 2 * time.Minute,
		// smbd and winbindd run in the group too and may outlive the leader briefly.
		grace:      10 * time.Second,
		beforeStop: func() { stdin.Close() },
	})
}
