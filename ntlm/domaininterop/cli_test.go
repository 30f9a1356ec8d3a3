package domaininterop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	sspiBin   string
	buildErr  error
)

// sspiCommand builds cmd/sspi once for the package.
func sspiCommand(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gosspi-domaininterop-")
		if err != nil {
			buildErr = err
			return
		}
		sspiBin = filepath.Join(dir, "sspi")
		out, err := exec.Command("go", "build", "-o", sspiBin, "github.com/gosspi/sspi/cmd/sspi").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("go build: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building cmd/sspi: %v", buildErr)
	}
	return sspiBin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// `sspi serve --ntlm-verifier netlogon` lets domain users in with NTLM and logs their
// SID; `sspi connect` as a domain user exchanges sealed messages with it; a wrong
// password is refused with the DC's status in the server's log.
func TestServeWithNetlogonVerifier(t *testing.T) {
	d := setUp(t)
	bin := sspiCommand(t)
	pwFile := filepath.Join(t.TempDir(), "machine.secret")
	if err := os.WriteFile(pwFile, []byte(machinePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--package", "NTLM", "--json",
		"--ntlm-verifier", "accounts,netlogon", "--domain", d.dc.Domain, "--dc", d.dc.Addr,
		"--machine", machine, "--machine-password-file", pwFile, "--require", "confidentiality")
	stderr := &lockedBuffer{}
	serve.Stderr = stderr
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	}()
	var addr, accounts string
	sc := bufio.NewScanner(stdout)
	for addr == "" && sc.Scan() {
		var ev map[string]string
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev["event"] == "listening" {
			addr, accounts = ev["address"], ev["accounts"]
		}
	}
	if addr == "" {
		t.Fatalf("sspi serve did not start: %s", stderr)
	}
	if !strings.Contains(accounts, "netlogon (SAMDOM via "+d.dc.Addr+" as "+machine+"$)") {
		t.Errorf("start-up line names the verifiers %q", accounts)
	}
	connect := func(password string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, "connect", addr, "--package", "NTLM", "--user", `SAMDOM\alice`, "--target", "host/localhost", "--message", "sealed hello")
		cmd.Env = append(os.Environ(), "SSPI_PASSWORD="+password)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := connect(userPassword); err != nil || !strings.Contains(out, "sealed hello") {
		t.Fatalf("sspi connect: %v\n%s\nserver: %s", err, out, stderr)
	}
	if out, err := connect("Wrong-Passw0rd!"); err == nil {
		t.Fatalf("wrong password accepted:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "STATUS_WRONG_PASSWORD") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	log := stderr.String()
	if !strings.Contains(log, `"sid":"`+d.aliceSID+`"`) {
		t.Errorf("the server's log does not carry alice's SID %s:\n%s", d.aliceSID, log)
	}
	if !strings.Contains(log, "STATUS_WRONG_PASSWORD") {
		t.Errorf("the server's log does not say why the wrong password was refused:\n%s", log)
	}
}
