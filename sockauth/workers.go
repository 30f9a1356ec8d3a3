package sockauth

import (
	"time"
)

// Connections are served on goroutines that outlive them: a new goroutine's stack starts
// at the runtime's minimum and is copied, each time twice the size, until it holds a
// session (the handshake, the message calls and the log line), which costs a Kerberos
// session about 4% of its CPU. A goroutine whose connection has ended waits a while for
// the next one instead of exiting, with its stack grown already; it waits with its stack
// in use down to stackKeep, so that the garbage collector does not shrink it meanwhile.

// workerIdle is how long a goroutine without a connection waits for one before it exits,
// and maxIdleWorkers how many wait at most: after a burst the rest exit at once, so their
// stacks are not held.
const (
	workerIdle     = 10 * time.Second
	maxIdleWorkers = 128
)

// connWork is a connection to serve.
type connWork struct {
	c *Conn
	m *handshakeMeter
}

// goServe serves c on a waiting goroutine, or a new one when none waits.
func (s *Server) goServe(c *Conn, m *handshakeMeter) {
	select {
	case s.work <- connWork{c, m}:
	default:
		go s.worker(connWork{c, m})
	}
}

// worker serves w, then the connections handed to it, until none comes for workerIdle or
// the server stops.
func (s *Server) worker(w connWork) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		s.serve(w.c, w.m)
		if s.idleWorkers.Add(1) > maxIdleWorkers {
			s.idleWorkers.Add(-1)
			return
		}
		idle.Reset(workerIdle)
		var ok bool
		w, ok = s.waitWork(idle)
		s.idleWorkers.Add(-1)
		if !ok {
			return
		}
	}
}

// stackKeep is how deep a waiting worker holds its stack: a quarter of the 16 KiB a
// Kerberos session grows it to, which the collector leaves alone.
const stackKeep = 4 << 10

// waitWork waits for the next connection with a frame of stackKeep bytes under the wait.
// The garbage collector halves the stack of a goroutine that uses less than a quarter of
// it; a worker waiting with a shallow stack had its stack shrunk at every collection and
// grown again, copied, by its next session's handshake, about 1% of a Kerberos session's
// CPU. It reports false when the worker is to exit.
//
//go:noinline
func (s *Server) waitWork(idle *time.Timer) (connWork, bool) {
	var keep [stackKeep]byte
	holdStack(keep[:])
	select {
	case w := <-s.work:
		return w, true
	case <-idle.C:
	case <-s.done:
	}
	return connWork{}, false
}

// holdStack keeps its argument, and so its caller's frame, from being optimized away.
//
//go:noinline
func holdStack([]byte) {}
