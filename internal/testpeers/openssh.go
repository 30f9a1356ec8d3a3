package testpeers

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is OpenSSH's sshd on a loopback port, started by StartSSHD with a private
// sshd_config: only gssapi-with-mic (no password, no public key, no PAM), a private host
// key, the host keytab and krb5.conf of a test KDC, and a private k5login directory that
// lets one Kerberos principal log in as the local user the test runs as.
type SSHD struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// User is the local account the principal may log in as: the user running the test
	// (root under CI, with PermitRootLogin yes in the private configuration).
	User string
	// HostKey is sshd's public host key, for ssh.FixedHostKey or a known_hosts line.
	HostKey ssh.PublicKey

	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	log    *capBuffer
}

// SSHDOptions configures StartSSHD.
type SSHDOptions struct {
	// Principal is the Kerberos principal (with its realm) allowed to log in as the local
	// user; default the KDC's KDCUser.
	Principal string
	// Keytab is sshd's host keytab; default a fresh export of host/localhost from the KDC.
	Keytab string
	// Lifetime bounds how long sshd may run; zero means 5 minutes.
	Lifetime time.Duration
}

// StartSSHD starts sshd for tb against kdc; tb's Cleanup stops it and every session
// process it forked. It skips (or fails under SSPI_INTEROP=require) without
// openssh-server. As root it creates sshd's privilege separation directory (/run/sshd),
// which the Debian package only creates when its service starts.
func StartSSHD(tb testing.TB, kdc *KDC, opts SSHDOptions) *SSHD {
	tb.Helper()
	sshd := Require(tb, "openssh-server", "/usr/sbin/sshd")
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	if u.Uid == "0" {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			tb.Fatalf("testpeers: sshd's privilege separation directory: %v", err)
		}
	}
	if opts.Principal == "" {
		opts.Principal = kdc.Principal(KDCUser)
	}
	if opts.Keytab == "" {
		opts.Keytab = kdc.KeytabFor(tb, "host/localhost")
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = 5 * time.Minute
	}
	dir := tb.TempDir()
	hostKey, err := writeHostKey(dir)
	if err != nil {
		tb.Fatal(err)
	}
	// krb5_kuserok reads <k5login_directory>/<user> instead of ~user/.k5login: the
	// principal's right to the account lives in the test's directory, not the host's home.
	k5dir := filepath.Join(dir, "k5login")
	conf := fmt.Sprintf("[libdefaults]\n\tk5login_directory = %s\n", k5dir)
	if err := os.Mkdir(k5dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k5dir, u.Username), []byte(opts.Principal+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	extraConf, err := writeTemp(dir, "k5login.conf", []byte(conf), 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	env := peerEnv(tb, dir, NTLMEnv{}, []string{
		"KRB5_CONFIG=" + kdc.Krb5Conf + ":" + extraConf,
		"KRB5_KTNAME=FILE:" + opts.Keytab,
	})
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		cfg, err := writeTemp(dir, "sshd_config", []byte(sshdConfig(dir, port)), 0o600)
		if err != nil {
			tb.Fatal(err)
		}
		s, err := startSSHD(sshd, cfg, env, opts.Lifetime)
		if err == nil {
			s.Addr, s.User, s.HostKey = fmt.Sprintf("127.0.0.1:%d", port), u.Username, hostKey
			tb.Cleanup(s.Stop)
			return s
		}
		// Another process may have taken the port between freePort and sshd's bind.
		lastErr = err
	}
	tb.Fatalf("testpeers: could not start sshd: %v", lastErr)
	return nil
}

func sshdConfig(dir string, port int) string {
	return strings.Join([]string{
		fmt.Sprintf("ListenAddress 127.0.0.1:%d", port),
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile none",
		"UsePAM no",
		"UseDNS no",
		"StrictModes no",
		"PermitRootLogin yes",
		"AuthenticationMethods gssapi-with-mic",
		"GSSAPIAuthentication yes",
		// The keytab names the acceptor; the machine's host name has no key in it.
		"GSSAPIStrictAcceptorCheck no",
		"GSSAPICleanupCredentials yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication no",
		"HostbasedAuthentication no",
		"AuthorizedKeysFile none",
		"PrintMotd no",
		"PrintLastLog no",
		"MaxStartups 100",
		"LogLevel VERBOSE",
		"",
	}, "\n")
}

// writeHostKey writes a fresh Ed25519 host key to dir/host_key (mode 0600, as sshd insists).
func writeHostKey(dir string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if _, err := writeTemp(dir, "host_key", pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

func startSSHD(sshd, cfg string, env []string, lifetime time.Duration) (*SSHD, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	// -D: stay in the foreground (it still forks a child per connection, in its process
	// group); -e: log to stderr, where "Server listening on" says it is ready.
	cmd := exec.CommandContext(ctx, sshd, "-D", "-e", "-f", cfg)
	cmd.Env = env
	s := &SSHD{cmd: cmd, cancel: cancel, log: &capBuffer{max: 256 << 10}}
	var err error
	if s.done, err = startAnnounced("sshd", cmd, s.log, "Server listening on"); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// Log returns what sshd has logged so far (VERBOSE), for a failing test's message.
func (s *SSHD) Log() string { return s.log.String() }

// Stop ends sshd and its children. Idempotent; StartSSHD's Cleanup calls it.
func (s *SSHD) Stop() {
	stopGroup(s.cmd, s.done)
	s.cancel()
}

// SSHClientOptions configures one run of OpenSSH's ssh client.
type SSHClientOptions struct {
	// Addr is the server, "127.0.0.1:port"; the client names it "localhost", so its ticket
	// is for host/localhost.
	Addr string
	// User is the account to log in as.
	User string
	// CCache is the credential cache (KRB5CCNAME), as from KDC.Kinit.
	CCache string
	// Delegate sets GSSAPIDelegateCredentials.
	Delegate bool
	// Command is the remote command.
	Command string
}

// RunSSHClient runs OpenSSH's ssh with GSSAPI (MIT's libraries) as kdc's client: no
// configuration file of the host or the user (-F /dev/null), only gssapi-with-mic, no
// host-key prompt, batch mode. It returns the combined output and exit status; it skips
// (or fails under SSPI_INTEROP=require) without openssh-client.
func RunSSHClient(tb testing.TB, kdc *KDC, opts SSHClientOptions) (output string, exitCode int) {
	tb.Helper()
	sshBin := Require(tb, "openssh-client", "/usr/bin/ssh")
	host, port, ok := strings.Cut(opts.Addr, ":")
	if !ok || host != "127.0.0.1" {
		tb.Fatalf("testpeers: RunSSHClient wants a 127.0.0.1:port address, got %q", opts.Addr)
	}
	deleg := "no"
	if opts.Delegate {
		deleg = "yes"
	}
	args := []string{
		"-F", "/dev/null", "-4", "-p", port, "-l", opts.User,
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "GSSAPIAuthentication=yes", "-o", "GSSAPIDelegateCredentials=" + deleg,
		"-o", "PreferredAuthentications=gssapi-with-mic",
		"-o", "PubkeyAuthentication=no", "-o", "PasswordAuthentication=no",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"localhost", opts.Command,
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshBin, args...)
	cmd.Env = peerEnv(tb, tb.TempDir(), NTLMEnv{}, []string{"KRB5_CONFIG=" + kdc.Krb5Conf, "KRB5CCNAME=" + opts.CCache})
	out, code, err := runOneShot(ctx, "ssh", cmd, DefaultTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	return out, code
}

// KinitForwardable is Kinit with a forwardable TGT (kinit -f), which a client needs to
// delegate it (ssh -K, GSSAPIDelegateCredentials).
func (k *KDC) KinitForwardable(tb testing.TB, principal, password string) string {
	tb.Helper()
	kinit := Require(tb, "krb5-user", "kinit")
	if !strings.Contains(principal, "@") {
		principal = k.Principal(principal)
	}
	cc := k.nextName("ccache")
	if err := k.run(password+"\n", kinit, "-f", "-c", "FILE:"+cc, principal); err != nil {
		tb.Fatal(err)
	}
	return cc
}
