package testpeers

import (
	"strings"
	"testing"
)

// TestFreeRDPPeers checks the harness with FreeRDP on both ends: xfreerdp +auth-only
// against freerdp-shadow-cli /sec:nla, which NTLM-authenticates inside CredSSP v6.
func TestFreeRDPPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts X servers and FreeRDP")
	}
	srv := StartFreeRDPShadow(t, ShadowOptions{Users: []RDPUser{{User: "alice", Password: "Secret123"}}})
	for _, tt := range []struct {
		name     string
		password string
		ok       bool
	}{
		{"right password", "Secret123", true},
		{"wrong password", "wrong", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := RunXFreeRDP(t, srv.Addr, XFreeRDPOptions{User: "alice", Password: tt.password, X: srv.Xvfb})
			if err != nil {
				t.Fatal(err)
			}
			if (res.ExitCode == 0) != tt.ok {
				t.Fatalf("exit %d, want success %v; output:\n%s\nserver log:\n%s", res.ExitCode, tt.ok, tail(res.Output), tail(srv.Log()))
			}
		})
	}
}

func TestWinprHash(t *testing.T) {
	// MD4(UTF-16LE("Secret123")), the NT hash.
	got := WinprHash(t, RDPUser{User: "alice", Password: "Secret123"})
	if got != "alice:::63647965f13544c6551d5fdb7ffd13e0:::" {
		t.Fatalf("winpr-hash wrote %q", got)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
