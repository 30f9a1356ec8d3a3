//go:build unix

package ntlm

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAccountFileUnsafeRefused: a FIFO (which would block start-up until something writes
// to it), a device, and a file that others may change are refused with an error naming
// the problem, promptly, instead of being read or loaded with a warning.
func TestAccountFileUnsafeRefused(t *testing.T) {
	dir := t.TempDir()
	const content = "CONTOSO:alice:Password\n"
	regular := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // beat the umask
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link := filepath.Join(dir, "link-to-fifo")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"fifo", fifo, "not a regular file"},
		{"symlink to a fifo", link, "not a regular file"},
		{"character device", os.DevNull, "not a regular file"},
		{"directory", dir, "is a directory"},
		{"group-writable", regular("g-w", 0o620), "its group"},
		{"group-writable and readable", regular("g-rw", 0o660), "its group"},
		{"world-writable", regular("o-w", 0o602), "every user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				s   *FileAccountStore
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := LoadAccountFile(tc.path)
				done <- result{s, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				// Free the goroutine blocked opening the FIFO: a writer completes its open.
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				t.Fatalf("LoadAccountFile(%s) still blocked after 10 s", tc.name)
			}
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("LoadAccountFile(%s) = %v, %v; want an error containing %q", tc.name, r.s, r.err, tc.want)
			}
			if !strings.Contains(r.err.Error(), tc.path) {
				t.Errorf("the error does not name the file: %v", r.err)
			}
		})
	}
	// Readable by others is still only a warning: a read-only leak is the owner's call.
	s, err := LoadAccountFile(regular("g-r", 0o640))
	if err != nil || len(s.Warnings()) == 0 {
		t.Errorf("mode 0640: %v, warnings %q; want it loaded with a warning", err, s.Warnings())
	}
}
