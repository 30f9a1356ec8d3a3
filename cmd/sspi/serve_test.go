package main

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// stallHandshake opens an NTLM handshake with the server at addr and stops after the
// CHALLENGE, as a client that hangs would.
func stallHandshake(t *testing.T, addr string, cred *sspi.Credentials) net.Conn {
	t.Helper()
	cc := sspi.NewClientContext(cred, sspi.ClientOptions{})
	t.Cleanup(func() { cc.Close() })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	neg, err := cc.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(append(binary.LittleEndian.AppendUint32(nil, uint32(len(neg))), neg...)); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, nc, int64(binary.LittleEndian.Uint32(hdr[:]))); err != nil {
		t.Fatal(err)
	}
	return nc
}

// TestServeDrainTimeout: on SIGTERM, handshakes that have stalled are given --drain-timeout,
// then cut and logged, and the server exits 0, long before their own time-out (a minute).
func TestServeDrainTimeout(t *testing.T) {
	const stalled = 20
	s := startServe(t, "--package", "NTLM", "--json", "--timeout", "1m", "--min-rate", "0", "--drain-timeout", "300ms")
	cred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: s.user, Password: s.password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	locals := make(map[string]bool)
	for range stalled {
		nc := stallHandshake(t, s.addr, cred)
		locals[nc.LocalAddr().String()] = true
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if code := exitCode(err); code != exitOK {
			t.Fatalf("serve exited %d; log:\n%s", code, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve still waiting for its stalled handshakes 20 s after SIGTERM; log:\n%s", s.stderr)
	}
	cut := 0
	for _, l := range s.logLines(t) {
		if r, _ := l["remote"].(string); locals[r] && l["msg"] == "handshake cut by shutdown" && l["status"] == "SHUTDOWN" {
			cut++
		}
	}
	if cut != stalled {
		t.Errorf("%d of %d stalled handshakes logged as cut by the shutdown; log:\n%s", cut, stalled, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), `"drain_timeout":300000000`) {
		t.Errorf("the shutdown line does not give the drain time-out; log:\n%s", s.stderr)
	}
}
