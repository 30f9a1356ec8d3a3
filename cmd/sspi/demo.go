package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/sockauth"
)

const demoUsage = `Usage: sspi demo

Runs a server and a client in this process, on 127.0.0.1, with an account made up for the
occasion, and shows for every security package built in: each leg of the handshake and
its status, the attributes granted, the server's log line, and a sealed round trip (the
server's greeting, then a message and its echo). Nothing is left behind.

Next: "sspi serve" in one terminal and "sspi connect" in another.
`

// prefixWriter writes each line with a prefix; the server's log lines go through it.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	writes int
}

// waitLine waits up to d for a log line to have been written.
func (p *prefixWriter) waitLine(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := p.writes
		p.mu.Unlock()
		if n > 0 {
			return
		}
	}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes++
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) > 0 {
			if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, line); err != nil {
				return 0, err
			}
		}
	}
	return len(b), nil
}

func cmdDemo(args []string, e *env) int {
	fs := newFlags("demo")
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, demoUsage, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = usageErrorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		return fail(e, "demo", err)
	}
	// The demo makes its own account whatever the environment holds.
	demoEnv := &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, getenv: func(k string) string {
		if k == "NTLM_USER_FILE" {
			return ""
		}
		return e.getenv(k)
	}}
	status := exitOK
	ran := 0
	for _, p := range sspi.EnumerateSecurityPackages() {
		if p.Capabilities.Has(sspi.CapClientOnly) {
			continue
		}
		fmt.Fprintf(e.stdout, "== %s: %s\n", p.Name, p.Comment)
		err := demoPackage(p.Name, demoEnv)
		switch {
		case err == errSkipped:
		case err != nil:
			fmt.Fprintf(e.stdout, "   FAILED: %v\n\n", err)
			status = exitAuth
		default:
			ran++
			fmt.Fprintln(e.stdout)
		}
	}
	if ran == 0 && status == exitOK {
		fmt.Fprintln(e.stderr, "sspi demo: no package could run a server here")
		return exitAuth
	}
	fmt.Fprintln(e.stdout, `Next: run "sspi serve" in one terminal and "sspi connect" in another (see --help).`)
	return status
}

var errSkipped = fmt.Errorf("skipped")

func demoPackage(pkg string, e *env) error {
	sc, err := acquireServer(serverSettings{pkg: pkg}, e)
	if err != nil {
		fmt.Fprintf(e.stdout, "   skipped: no server credentials here (%v)\n\n", err)
		return errSkipped
	}
	defer sc.cleanup()
	defer sspi.FreeCredentialsHandle(sc.cred)
	acct := sc.ephemeral
	// The account is made up: Negotiate offers NTLM only, and Kerberos is skipped.
	id, err := clientIdentity(pkg, acct.User, acct.Password)
	if err != nil {
		fmt.Fprintf(e.stdout, "   skipped: %v\n\n", err)
		return errSkipped
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, id, nil)
	if err != nil {
		return err
	}
	defer sspi.FreeCredentialsHandle(cred)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logw := &prefixWriter{w: e.stdout, prefix: "   server log: "}
	srv := &sockauth.Server{Credentials: sc.cred, Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the demo's output stays the same from run to run
			}
			return a
		},
	}))}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	}()

	fmt.Fprintf(e.stdout, "   account %s (made up for the demo), server on %s, framing sspi\n", acct.User, l.Addr())
	cl := &sockauth.Client{
		Credentials: cred,
		Messages:    true,
		Trace: func(leg sockauth.Leg) {
			fmt.Fprintf(e.stdout, "   client %s\n", leg)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cl.Dial(ctx, l.Addr().String())
	if err != nil {
		return err
	}
	attrs := c.Attributes()
	fmt.Fprintf(e.stdout, "   package %s; attributes %s\n", c.Package(), attrs.Format(false))
	if attrs.Has(sspi.ISCRetMutualAuth) {
		fmt.Fprintf(e.stdout, "   mutual authentication: the server proved it is %s\n", orUnnamed(c.Identity().Server))
	} else {
		fmt.Fprintf(e.stdout, "   mutual authentication: asked for, not granted by %s\n", c.Package())
	}
	g, err := c.ReadMessage()
	if err != nil {
		c.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "   server greeting (%s): %q\n", c.Protection(), g)
	msg := "a sealed round trip"
	if err := c.WriteMessage([]byte(msg)); err != nil {
		c.Close()
		return err
	}
	echo, err := c.ReadMessage()
	if err != nil {
		c.Close()
		return err
	}
	if string(echo) != msg {
		c.Close()
		return fmt.Errorf("echo %q differs from %q", echo, msg)
	}
	fmt.Fprintf(e.stdout, "   client sent %q (%s), the server echoed it back: verified\n", msg, c.Protection())
	err = c.Close()
	logw.waitLine(2 * time.Second) // the server's line for this session, before shutting it down
	return err
}
