package sockauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// Test accounts. The password is made up for the tests; nothing else knows it.
const (
	testDomain   = "TESTDOM"
	testUser     = "alice"
	testPassword = "Corr3ct-horse-battery"
)

// serverPackages are the registered packages this test knows how to give server
// credentials: NTLM with an account store, and any other package (Negotiate, once it is
// in the tree) through the environment's defaults, NTLM_USER_FILE among them.
func serverPackages() []string {
	var out []string
	for _, p := range sspi.EnumerateSecurityPackages() {
		switch p.Name {
		case "NTLM", "Negotiate":
			out = append(out, p.Name)
		}
	}
	return out
}

func testStore(t testing.TB) *ntlm.FileAccountStore {
	t.Helper()
	var st ntlm.FileAccountStore
	if err := st.Add(ntlm.Account{Domain: testDomain, User: testUser, NTHash: ntlmssp.NTOWFv1(testPassword)}); err != nil {
		t.Fatal(err)
	}
	return &st
}

// serverCreds acquires inbound credentials for pkg that accept TESTDOM\alice.
func serverCreds(t testing.TB, pkg string) *sspi.Credentials {
	t.Helper()
	var authData any
	switch pkg {
	case "NTLM":
		authData = &ntlm.ServerConfig{Accounts: testStore(t)}
	case "Negotiate":
		authData = &negotiate.Config{Credentials: map[string]any{"NTLM": &ntlm.ServerConfig{Accounts: testStore(t)}}}
	default:
		// Packages composed from NTLM find the accounts where gss-ntlmssp does.
		path := filepath.Join(t.TempDir(), "accounts")
		if err := ntlm.WriteAccountFile(path, testStore(t).List()); err != nil {
			t.Fatal(err)
		}
		t.Setenv("NTLM_USER_FILE", path)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredInbound, nil, authData, nil)
	if err != nil {
		t.Fatalf("server credentials for %s: %v", pkg, err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

func clientCreds(t testing.TB, pkg, user, password string) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, &sspi.AuthIdentity{User: user, Password: password}, nil)
	if err != nil {
		t.Fatalf("client credentials for %s: %v", pkg, err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// logBuffer collects a server's JSON log lines.
type logBuffer struct{ testpeers.SyncBuffer }

// records returns the log lines parsed.
func (b *logBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// waitRecord waits for a log line whose remote is addr and returns it.
func (b *logBuffer) waitRecord(t testing.TB, remote string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range b.records(t) {
			if r["remote"] == remote {
				return r
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no log line for %s; log:\n%s", remote, b.String())
	return nil
}

// testServer is a running Server on 127.0.0.1 with its log.
type testServer struct {
	*Server
	Addr string
	Log  *logBuffer
}

// startServer serves s on a fresh loopback port until the test ends.
func startServer(t testing.TB, s *Server) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuffer{}
	if s.Logger == nil {
		s.Logger = newJSONLogger(lb)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return &testServer{Server: s, Addr: l.Addr().String(), Log: lb}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sleepBriefly() { time.Sleep(10 * time.Millisecond) }

func newJSONLogger(lb *logBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(lb, nil)) }
