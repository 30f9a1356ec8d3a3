//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnsafeAccountFileRefused: `sspi serve` and `sspi accounts` refuse an accounts file
// that is a FIFO (which used to hang start-up) or that its group may change (which used
// to load with a warning), exiting 1 with the reason, as for a world-writable file.
func TestUnsafeAccountFileRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.ntlm")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("TESTDOM:alice:Password1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // beat the umask
			t.Fatal(err)
		}
		return p
	}
	groupWritable := file("group.ntlm", 0o660)
	worldWritable := file("world.ntlm", 0o606)
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string
	}{
		{"serve fifo", nil, []string{"serve", "--package", "NTLM", "--listen", "127.0.0.1:0", "--accounts", fifo}, "not a regular file (a FIFO)"},
		{"serve NTLM_USER_FILE fifo", []string{"NTLM_USER_FILE=" + fifo}, []string{"serve", "--package", "NTLM", "--listen", "127.0.0.1:0"}, "not a regular file (a FIFO)"},
		{"serve group-writable", nil, []string{"serve", "--package", "NTLM", "--listen", "127.0.0.1:0", "--accounts", groupWritable}, "members of its group change it"},
		{"serve world-writable", nil, []string{"serve", "--package", "NTLM", "--listen", "127.0.0.1:0", "--accounts", worldWritable}, "every user change it"},
		{"accounts list fifo", nil, []string{"accounts", "list", "--file", fifo}, "not a regular file"},
		{"accounts add group-writable", nil, []string{"accounts", "add", "--file", groupWritable, "bob"}, "members of its group change it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], tc.args...)
			cmd.Env = cmdEnv(tc.environ...)
			cmd.Stdin = strings.NewReader("Password2\n")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still running after 10 s (killed); stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			}
			if code := exitCode(err); code != exitAuth || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, &stderr, exitAuth, tc.want)
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("the server started: %s", &stdout)
			}
		})
	}
	if st, err := os.Stat(groupWritable); err != nil || st.Size() != int64(len("TESTDOM:alice:Password1\n")) {
		t.Errorf("the refused file was rewritten: %v %v", st, err)
	}
}
