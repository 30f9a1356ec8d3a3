package sockauth

import (
	"time"
)

// Connections are served on goroutines that outlive them: a new goroutine's stack starts
// at the runtime's minimum and is copied, each time twice the size, until it holds a
// session (the handshake, the message calls and the log line), which costs a Kerberos
// session about 4% of its CPU. A goroutine whose connection has ended waits a while for
// the next one instead of exiting, with its stack grown already.

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
		select {
		case w = <-s.work:
			s.idleWorkers.Add(-1)
		case <-idle.C:
			s.idleWorkers.Add(-1)
			return
		case <-s.done:
			s.idleWorkers.Add(-1)
			return
		}
	}
}
