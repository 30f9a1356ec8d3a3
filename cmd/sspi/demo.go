package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/schannel"
	"github.com/gosspi/sspi/sockauth"
)

const demoUsage = `Usage: sspi demo [flags]

Runs a server and a client in this process, on 127.0.0.1, with an account made up for the
occasion, and shows for every security package built in: each leg of the handshake and
its status, the attributes granted, the server's log line, and a sealed round trip (the
server's greeting, then a message and its echo). Nothing is left behind.

Kerberos, and Negotiate choosing Kerberos, get their tickets from a KDC the demo runs in
this process (kerberos/kdctest, realm ` + demoRealm + ` on 127.0.0.1): the made-up account
is one of its users, with a PAC in its tickets (a SID in a made-up domain and groups, as
an Active Directory domain controller issues them, which the server shows it learned), the
service is ` + demoSPN + `, and neither the network nor the machine's Kerberos setup is used. With --keytab and --spn the demo uses the realm's KDC
(krb5.conf, KRB5_CONFIG) instead: the service accepts with that keytab, and the client logs
on as --user (password from --password-file, SSPI_PASSWORD or a prompt) or with the
cached tickets (KRB5CCNAME).

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
	krb := &demoKerberos{}
	fs.StringVar(&krb.keytab, "keytab", "", "Kerberos: accept with this keytab `file` and use the realm's KDC instead of the demo's own")
	fs.StringVar(&krb.spn, "spn", "", "with --keytab: the service `principal` the client asks a ticket for (host/server.example.com)")
	fs.StringVar(&krb.user, "user", "", "with --keytab: who the client logs on as, `user@REALM` (default: the cached tickets' user)")
	fs.StringVar(&krb.passwordFile, "password-file", "", "with --keytab: read --user's password from the first line of `file`")
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, demoUsage, fs)
		return exitOK
	}
	if err == nil && len(pos) > 0 {
		err = usageErrorf("unexpected argument %q", pos[0])
	}
	if err == nil {
		err = krb.validate()
	}
	if err != nil {
		return fail(e, "demo", err)
	}
	defer krb.close()
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
		if p.Name == schannel.UnifiedName {
			continue // Schannel under Windows' second name: the same package, shown once
		}
		fmt.Fprintf(e.stdout, "== %s: %s\n", p.Name, p.Comment)
		err := demoPackage(p.Name, demoEnv, krb)
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

// demoCreds are the two ends' credentials for one package of the demo.
type demoCreds struct {
	server  *serverCreds
	client  *sspi.Credentials
	framing sockauth.Framing
	target  string // empty: the client's default
	intro   string // what the demo says about the credentials
}

// demoCredentials makes them: an account made up for the demo, or for Schannel a
// throwaway certificate made in memory; Kerberos and Negotiate use krb's KDC.
func demoCredentials(pkg string, e *env, krb *demoKerberos) (*demoCreds, error) {
	if usesKerberos(pkg) {
		return krb.credentials(pkg, e)
	}
	if isSchannel(pkg) {
		cert, pool, err := throwawayCertificate()
		if err != nil {
			return nil, err
		}
		sc, err := acquireServer(serverSettings{pkg: pkg, tlsCert: &cert}, e)
		if err != nil {
			return nil, err
		}
		cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, &schannel.Config{RootCAs: pool}, nil)
		if err != nil {
			sspi.FreeCredentialsHandle(sc.cred)
			return nil, err
		}
		return &demoCreds{server: sc, client: cred, framing: sockauth.FramingTLS, target: "localhost",
			intro: "a throwaway self-signed certificate for localhost, made in memory for the demo and trusted by its client only"}, nil
	}
	sc, err := acquireServer(serverSettings{pkg: pkg}, e)
	if err != nil {
		fmt.Fprintf(e.stdout, "   skipped: no server credentials here (%v)\n\n", err)
		return nil, errSkipped
	}
	acct := sc.ephemeral
	if isCredSSP(pkg) {
		// The NLA gate: the made-up account inside CredSSP, its password delegated.
		id, err := clientIdentity("Negotiate", acct.User, acct.Password)
		var cred *sspi.Credentials
		if err == nil {
			cfg := &credssp.Config{Negotiate: id, DelegateTo: []string{"TERMSRV/127.0.0.1"}, DelegateToNTLMOnly: []string{"TERMSRV/127.0.0.1"}}
			cred, _, err = sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, cfg, nil)
		}
		if err != nil {
			sc.cleanup()
			sspi.FreeCredentialsHandle(sc.cred)
			return nil, err
		}
		return &demoCreds{server: sc, client: cred, framing: sockauth.FramingRDP, target: "TERMSRV/127.0.0.1",
			intro: "account " + acct.User + " (made up for the demo) inside CredSSP, a throwaway certificate outside"}, nil
	}
	// The account is made up and known to the server's NTLM store only.
	id, err := clientIdentity(pkg, acct.User, acct.Password)
	if err == nil {
		var cred *sspi.Credentials
		if cred, _, err = sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, id, nil); err == nil {
			return &demoCreds{server: sc, client: cred, framing: sockauth.FramingSSPI,
				intro: "account " + acct.User + " (made up for the demo)"}, nil
		}
	}
	sc.cleanup()
	sspi.FreeCredentialsHandle(sc.cred)
	if sspi.StatusOf(err) == sspi.ErrNoCredentials {
		fmt.Fprintf(e.stdout, "   skipped: %v\n\n", err)
		return nil, errSkipped
	}
	return nil, err
}

// lockedWriter serializes the writes of the demo's client and its server's log: the rdp
// gate logs while its client may still be printing.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func demoPackage(pkg string, e0 *env, krb *demoKerberos) error {
	e := *e0
	e.stdout = &lockedWriter{w: e0.stdout}
	dc, err := demoCredentials(pkg, &e, krb)
	if err != nil {
		return err
	}
	sc, cred := dc.server, dc.client
	defer sc.cleanup()
	defer sspi.FreeCredentialsHandle(sc.cred)
	defer sspi.FreeCredentialsHandle(cred)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logw := &prefixWriter{w: e.stdout, prefix: "   server log: "}
	srv := &sockauth.Server{Credentials: sc.cred, Framing: dc.framing, Logger: slog.New(&authzSummary{w: &prefixWriter{w: e.stdout, prefix: "   the server's authorization data: "}, Handler: slog.NewTextHandler(logw, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the demo's output stays the same from run to run
			}
			return a
		},
	})})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	}()

	fmt.Fprintf(e.stdout, "   %s, server on %s, framing %s\n", dc.intro, l.Addr(), dc.framing)
	cl := &sockauth.Client{
		Credentials: cred,
		Framing:     dc.framing,
		Target:      dc.target,
		Messages:    dc.framing != sockauth.FramingRDP,
		Delegate:    dc.framing == sockauth.FramingRDP,
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
	if dc.framing == sockauth.FramingRDP {
		logw.waitLine(2 * time.Second) // the gate is done: its line first
	}
	attrs := c.Attributes()
	fmt.Fprintf(e.stdout, "   package %s; attributes %s\n", c.Package(), attrs.Format(false))
	if attrs.Has(sspi.ISCRetMutualAuth) {
		fmt.Fprintf(e.stdout, "   mutual authentication: the server proved it is %s\n", orUnnamed(c.Identity().Server))
	} else {
		fmt.Fprintf(e.stdout, "   mutual authentication: asked for, not granted by %s\n", c.Package())
	}
	if info, ok := c.RDPInfo(); ok {
		fmt.Fprintf(e.stdout, "   RDP %s, CredSSP version %d, %s inside, delegated: %s; the gate closes (no session follows)\n", info.Protocol, info.Version, info.Inner, orNothing(info.Delegated))
		err = c.Close()
		logw.waitLine(2 * time.Second)
		return err
	}
	g, err := c.ReadMessage()
	if err != nil {
		c.Close()
		return err
	}
	fmt.Fprintf(e.stdout, "   server greeting (%s): %q\n", c.Protection(), strings.TrimSuffix(string(g), "\n"))
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

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// authzSummary passes the server's log lines on and follows a session's line with what
// the server learned about its client beyond the name, in words: the SIDs of a PAC, or
// why there are none. The log line has the same (authorization, sid, groups, group_sids),
// in a form for programs.
type authzSummary struct {
	slog.Handler
	w io.Writer
}

func (h *authzSummary) Handle(ctx context.Context, r slog.Record) error {
	if err := h.Handler.Handle(ctx, r); err != nil {
		return err
	}
	var authz, sid string
	var n int64
	var groups []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "authorization":
			authz = a.Value.String()
		case "sid":
			sid = a.Value.String()
		case "groups":
			n = a.Value.Int64()
		case "group_sids":
			groups, _ = a.Value.Any().([]string)
		}
		return true
	})
	switch {
	case authz == "":
		return nil // no session: the handshake failed
	case sid == "":
		_, err := fmt.Fprintf(h.w, "%s\n", authz)
		return err
	}
	more := ""
	if int(n) > len(groups) {
		more = fmt.Sprintf(" and %d more", int(n)-len(groups))
	}
	_, err := fmt.Fprintf(h.w, "%s; user SID %s, %d groups: %s%s\n", authz, sid, n, strings.Join(groups, ", "), more)
	return err
}

func (h *authzSummary) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &authzSummary{Handler: h.Handler.WithAttrs(attrs), w: h.w}
}

func (h *authzSummary) WithGroup(name string) slog.Handler {
	return &authzSummary{Handler: h.Handler.WithGroup(name), w: h.w}
}
