//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package kerberos

import "os"

// lockReplayFile opens (creating) the lock file at path; on this system it takes no lock,
// so nothing stops two FileReplayCaches from using one file.
func lockReplayFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
