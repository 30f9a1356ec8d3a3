package sockauth

import (
	"errors"
	"syscall"
)

// isReset reports whether err is the peer resetting the connection or the pipe breaking:
// how a closed peer shows itself to a writer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
