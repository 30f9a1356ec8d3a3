package sockauth

import (
	"testing"
	"time"
)

// TestWorkersReused: a connection after another is served by the goroutine that served
// the first, which then waits for the next; the server's Close ends the waiting ones.
func TestWorkersReused(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingSSPI, Logger: quietLogger()})
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingSSPI}
	for i := range 3 {
		if err := oneSession(testCtx(t), cl, srv.Addr, FramingSSPI); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		waitFor(t, func() bool { return srv.Server.idleWorkers.Load() == 1 })
	}
	srv.Server.Close()
	waitFor(t, func() bool { return srv.Server.idleWorkers.Load() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
	}
}
