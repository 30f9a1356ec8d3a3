package adinterop

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/sockauth"
)

type gssServer struct {
	addr string
	log  *testpeers.SyncBuffer
}

// startGSSServer serves our acceptor with creds in MIT's gss-sample framing on 127.0.0.1,
// as gss-server does, until the test ends.
func startGSSServer(t *testing.T, creds *sspi.Credentials) *gssServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &testpeers.SyncBuffer{}
	s := &sockauth.Server{Credentials: creds, Framing: sockauth.FramingGSS, Logger: slog.New(slog.NewJSONHandler(lb, nil))}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, sockauth.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &gssServer{addr: l.Addr().String(), log: lb}
}

// waitRecord waits for the n-th connection's log line (the one with a status) and returns
// it.
func (s *gssServer) waitRecord(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var recs []map[string]any
		for _, m := range s.log.JSONLines() {
			if m["status"] != nil {
				recs = append(recs, m)
			}
		}
		if len(recs) >= n {
			return recs[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d connection log lines:\n%s", n, s.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialGSS authenticates to a gss-sample server at addr with creds for target, with mutual
// authentication required, and sends msg sealed.
func dialGSS(t *testing.T, creds *sspi.Credentials, addr, target, msg string) {
	t.Helper()
	cl := &sockauth.Client{Credentials: creds, Framing: sockauth.FramingGSS, Target: target, Require: sspi.ISCRetMutualAuth}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cl.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial %s: %v", addr, err)
	}
	if c.Package() != "Kerberos" {
		t.Errorf("package %s", c.Package())
	}
	if err := c.WriteMessage([]byte(msg)); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
