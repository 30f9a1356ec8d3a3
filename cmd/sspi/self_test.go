package main

import "testing"

// TestSelfCommand: the server's hint must name a command the user can type. After go
// run the binary sits in a temporary build directory that is gone when go run ends.
func TestSelfCommand(t *testing.T) {
	for _, tt := range []struct{ arg0, want string }{
		{"sspi", "sspi"},
		{"./sspi", "./sspi"},
		{"/usr/local/bin/sspi", "/usr/local/bin/sspi"},
		{"/tmp/go-build1234567/b001/exe/sspi", "go run github.com/gosspi/sspi/cmd/sspi"},
		{"/home/a b/sspi", `'/home/a b/sspi'`},
		{"/home/it's/sspi", `'/home/it'\''s/sspi'`},
		{"", "sspi"},
	} {
		if got := selfCommand(tt.arg0); got != tt.want {
			t.Errorf("selfCommand(%q) = %q, want %q", tt.arg0, got, tt.want)
		}
	}
}
