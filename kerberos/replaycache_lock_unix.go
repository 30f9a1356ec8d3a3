//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package kerberos

import (
	"errors"
	"os"
	"syscall"
)

// lockReplayFile opens (creating) the lock file at path and takes an exclusive flock on
// it, without waiting. The lock belongs to the open file, so a second FileReplayCache of
// the same process is refused as well, and it is released when the file is closed or the
// process dies.
func lockReplayFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errReplayFileBusy
		}
		return nil, err
	}
	return f, nil
}
