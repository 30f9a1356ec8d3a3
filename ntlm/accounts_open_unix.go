//go:build unix

package ntlm

import "syscall"

// acctOpenFlags opens an account file without blocking: opening a FIFO for reading
// otherwise waits for a writer, and start-up would hang before the file's type could be
// checked.
const acctOpenFlags = syscall.O_NONBLOCK
