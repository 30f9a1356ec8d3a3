package sspi

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// goHandshake runs the Go-shaped loop the way the README shows it.
func goHandshake(t testing.TB, client *ClientContext, server *ServerContext) {
	t.Helper()
	var toServer, toClient []byte
	var err error
	for i := 0; i < 10; i++ {
		if !client.Established() {
			if toServer, err = client.Step(toClient); err != nil {
				t.Fatal("client:", err)
			}
		}
		if len(toServer) > 0 {
			if toClient, err = server.Step(toServer); err != nil {
				t.Fatal("server:", err)
			}
			toServer = nil
		}
		if client.Established() && server.Established() && len(toClient) == 0 {
			return
		}
		if server.Established() && len(toClient) > 0 {
			if _, err = client.Step(toClient); err != nil {
				t.Fatal("client final:", err)
			}
			toClient = nil
		}
	}
	if !client.Established() || !server.Established() {
		t.Fatal("handshake did not complete")
	}
}

func TestGoLayer(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	client := NewClientContext(ccred, ClientOptions{Target: "host/server"})
	server := NewServerContext(scred, ServerOptions{})
	if _, err := client.Wrap([]byte("early")); !errors.Is(err, ErrNoContext) {
		t.Fatalf("Wrap before establishment: %v", err)
	}
	goHandshake(t, client, server)
	if !client.Attributes().Has(ISCRetMutualAuth) || !server.Attributes().Has(ASCRetMutualAuth|ASCRetConfidentiality) {
		t.Fatalf("attrs %s / %s", client.Attributes().Format(false), server.Attributes().Format(true))
	}
	id, err := server.Identity()
	if err != nil || id.User != "alice" || id.Principal != `SCRIPT\alice` || id.Package != scriptedName {
		t.Fatal(id, err)
	}
	ck, err := client.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := server.SessionKey()
	if !bytes.Equal(ck, sk) || len(ck) == 0 {
		t.Fatal("session keys differ")
	}
	if client.Package() != scriptedName || client.Handle() == nil {
		t.Fatal("package/handle")
	}
	for _, msg := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 5000)} {
		w, err := client.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := server.Unwrap(w)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("unwrap: %v %q", err, got)
		}
	}
	w, _ := server.Wrap([]byte("reply"))
	w[len(w)-1] ^= 1
	if _, err := client.Unwrap(w); !errors.Is(err, ErrMessageAltered) {
		t.Fatalf("tampered unwrap: %v", err)
	}
	if _, err := client.Unwrap([]byte("short")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("short unwrap: %v", err)
	}
	// The tampered message used up the server's sequence number 0, so the client now
	// refuses the server's next message as out of sequence; signing continues client to server.
	sig, err := client.Sign([]byte("signed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Verify([]byte("signed"), sig); err != nil {
		t.Fatal(err)
	}
	if sig, _ = server.Sign([]byte("next")); !errors.Is(client.Verify([]byte("next"), sig), ErrOutOfSequence) {
		t.Fatal("message after a lost one was accepted")
	}
	if err := server.Verify([]byte("signeD"), sig); !errors.Is(err, ErrMessageAltered) {
		t.Fatalf("verify tampered: %v", err)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Sign([]byte("x")); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("sign after close: %v", err)
	}
}

func TestGoLayerWrongPassword(t *testing.T) {
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "wrong"}, &scriptedCreds{Password: "pw"})
	client := NewClientContext(ccred, ClientOptions{})
	server := NewServerContext(scred, ServerOptions{})
	t1, _ := client.Step(nil)
	t2, _ := server.Step(t1)
	t3, _ := client.Step(t2)
	_, err := server.Step(t3)
	wantStatus(t, err, ErrLogonDenied)
	if server.Established() {
		t.Fatal("established after a refusal")
	}
}

func TestServerStepContext(t *testing.T) {
	sched := NewScheduler(SchedulerOptions{Workers: 2, QueueLength: 4})
	defer sched.Close()
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw"})
	client := NewClientContext(ccred, ClientOptions{})
	server := NewServerContext(scred, ServerOptions{Scheduler: sched})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var in []byte
	for !client.Established() || !server.Established() {
		out, err := client.Step(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == 0 {
			break
		}
		if in, err = server.StepContext(ctx, out); err != nil {
			t.Fatal(err)
		}
	}
	if !server.Established() {
		t.Fatal("server not established")
	}
	// A deadline that has passed stops the step from running.
	ccred2, scred2 := pair(t, &scriptedCreds{User: "bob", Password: "pw"}, &scriptedCreds{Password: "pw"})
	c2 := NewClientContext(ccred2, ClientOptions{})
	s2 := NewServerContext(scred2, ServerOptions{Scheduler: sched})
	tok, _ := c2.Step(nil)
	dead, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s2.StepContext(dead, tok); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled StepContext: %v", err)
	}
}

// TestServerStepContextKeepsWorkerBound checks that a step run on the caller's goroutine
// (when a worker slot is free) still counts against Workers: with the only worker busy,
// StepContext neither runs the step nor returns before the worker is free.
func TestServerStepContextKeepsWorkerBound(t *testing.T) {
	sched, release := blockedScheduler(t, 4)
	for len(sched.slots) == 0 { // the worker has taken the blocking call, not yet its slot
		time.Sleep(time.Millisecond)
	}
	var steps atomic.Int64
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw", Steps: &steps})
	client := NewClientContext(ccred, ClientOptions{})
	server := NewServerContext(scred, ServerOptions{Scheduler: sched})
	tok, err := client.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = server.StepContext(short, tok)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || steps.Load() != 0 {
		t.Fatalf("with the only worker busy, StepContext returned %v after %d steps; want it to wait", err, steps.Load())
	}
	release() // the timed-out call, still queued, is dropped unrun: its context has ended
	s2 := NewServerContext(scred, ServerOptions{Scheduler: sched})
	c2 := NewClientContext(ccred, ClientOptions{})
	tok2, err := c2.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.StepContext(context.Background(), tok2); err != nil {
		t.Fatal("StepContext with a free worker:", err)
	}
	if steps.Load() != 1 {
		t.Fatalf("%d steps ran, want 1", steps.Load())
	}
}

// TestSchedulerCloseWaitsForInlineStep checks that Close waits for a step running on its
// caller's goroutine as it waits for a queued one.
func TestSchedulerCloseWaitsForInlineStep(t *testing.T) {
	sched := NewScheduler(SchedulerOptions{Workers: 1})
	var steps atomic.Int64
	block := make(chan struct{})
	ccred, scred := pair(t, &scriptedCreds{User: "alice", Password: "pw"}, &scriptedCreds{Password: "pw", Steps: &steps, Block: block})
	tok, err := NewClientContext(ccred, ClientOptions{}).Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	server := NewServerContext(scred, ServerOptions{Scheduler: sched})
	stepped := make(chan error, 1)
	go func() {
		_, err := server.StepContext(context.Background(), tok)
		stepped <- err
	}()
	for steps.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { sched.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a step was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	<-closed
	if err := <-stepped; err != nil {
		t.Fatal("the step Close waited for:", err)
	}
}
