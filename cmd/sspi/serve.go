package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/sockauth"
)

const serveUsage = `Usage: sspi serve [flags]

Runs the sockets authentication service. Every client that connects is authenticated
with the SSPI token loop (AcceptSecurityContext, mutual authentication asked for), the
attributes granted are checked against --require, and the client is then served:

  --framing sspi  (the Windows SDK sample) the server sends "This is your server
                  speaking" sealed and closes; a client that asks for messages
                  ("sspi connect --message") gets each message echoed back instead
  --framing gss   (MIT's gss-server) each message is answered with its MIC, so MIT's
                  gss-client works against this server
  --framing tls   (a Windows Schannel program; the framing of --package Schannel, and its
                  default) TLS records as they are, no length in front: the server
                  sends its greeting and a newline as application data, then echoes
                  every record's data back, until the client's close_notify, which it
                  answers. So openssl s_client and gnutls-cli work by hand:
                    openssl s_client -connect 127.0.0.1:2000 -servername localhost -CAfile ca.pem
                    gnutls-cli 127.0.0.1 -p 2000 --sni-hostname localhost --x509cafile ca.pem
  --framing rdp   (Remote Desktop's Network Level Authentication; the framing of
                  --package CredSSP, which it implies) an NLA gate in front of nothing:
                  RDP's X.224 negotiation selects PROTOCOL_HYBRID (HYBRID_EX with
                  --early-user-auth, which then sends the Early User Authorization
                  Result), TLS with --cert/--key (without them, a throwaway self-signed
                  certificate made in memory, with a warning), and CredSSP with Negotiate
                  inside (the NTLM accounts and the keytab below; a Kerberos client needs
                  TERMSRV/host in the keytab). Once the client has authenticated the log
                  says who, whether a password was delegated (never the password), the
                  CredSSP version and the early user authorization result, and the
                  server closes the connection: no RDP session follows. xfreerdp then
                  exits 147 (it goes on to RDP's MCS connection), so the log is the verdict:
                    xfreerdp /v:127.0.0.1:2000 /sec:nla +auth-only /cert:ignore /u:USER /p:PASSWORD

Accounts: NTLM clients are checked against --accounts FILE (made with "sspi accounts"),
or the file the NTLM_USER_FILE variable names. With neither, the server makes up an
account and prints its name and password once; it lasts until the server stops.
Kerberos clients need a keytab: --keytab FILE, else KRB5_KTNAME, else /etc/krb5.keytab;
one named with --keytab that cannot be used stops the server at start-up. The line
"listening on ..." names the mechanisms that can authenticate a client.

Kerberos: the keytab is --keytab FILE, or the file KRB5_KTNAME names. With --spn only
tickets for that service principal are accepted (SEC_E_WRONG_PRINCIPAL otherwise); without
it, a ticket for any principal in the keytab is, and the log line names which ("service").
Authenticators already accepted are refused for the clock skew; they are remembered in
memory, or in --replay-cache FILE so that a restarted server still refuses them (one
server at a time per file).

One line is logged per connection, on standard error: who connected, the package, the
attributes granted, whether the client delegated its credentials ("delegated":
ASC_RET_DELEGATE; CredSSP's kind of delegated credentials is "credssp_delegated"), what
the server learned beyond the name ("authorization": for a
Kerberos ticket with a PAC the user's SID, the number of groups and up to 16 group SIDs;
otherwise why there are none: no PAC, a PAC without logon information, or a package such
as NTLM that carries no groups) and how long it took, or the SEC_E status and why it failed.
Passwords, hashes and keys are never logged. Stop the server with Ctrl-C or SIGTERM:
handshakes in progress are given --drain-timeout to finish, then cut (and logged).

Schannel (TLS): --cert FILE and --key FILE are the server's certificate chain and
private key (PEM; a key that does not match the certificate, or a file that cannot be
read, stops the server at start-up with the file named). --client-ca FILE asks clients
for a certificate issued by those CAs: --client-auth require (the default with
--client-ca) refuses a client without one, --client-auth request serves it anonymously.
The log line names the client by its certificate's subject. TLS 1.2 and 1.3 are offered;
renegotiation is refused.

Slow clients: a handshake must finish within --handshake-timeout, a client must keep up
--min-rate bytes a second while the server waits for it (after a grace of a few
seconds), one address may have --max-pending-per-addr handshakes in progress (further
connections from it are closed at once), and all together --max-pending (by default,
as many as 256 MiB hold).

Examples:
  sspi serve
  sspi serve --listen 127.0.0.1:4444 --framing gss --accounts users.ntlm --json
  sspi serve --package Kerberos --framing gss --keytab http.keytab --spn HTTP/web.example.com
  sspi serve --package Schannel --cert server.pem --key server-key.pem --client-ca ca.pem --client-auth request
`

// serveOptions holds serve's flags, and what validate derives from them.
type serveOptions struct {
	settings    serverSettings // the flags that choose the credentials
	listen      string
	framingName string
	timeout     time.Duration
	hsTimeout   time.Duration
	minRate     int
	drain       time.Duration
	maxToken    int
	maxPending  int
	maxPerAddr  int
	require     string
	greeting    string
	jsonOut     bool

	// Derived by validate.
	framing     sockauth.Framing
	required    sspi.ContextAttr
	unprotected bool // --require none: messages may go unprotected
}

// serveFlags binds serve's flags to a fresh serveOptions.
func serveFlags() (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	s := &o.settings
	fs := newFlags("serve")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:2000", "`address` to listen on (port 0 picks a free port)")
	fs.StringVar(&s.pkg, "package", defaultPackage(), "security `package` to accept (see \"sspi packages\")")
	fs.StringVar(&o.framingName, "framing", "", "wire framing: `sspi` (the SDK sample), gss (MIT gss-sample) or tls (Schannel) (default: tls for Schannel, sspi otherwise)")
	fs.StringVar(&s.accounts, "accounts", "", "NTLM account `file` (default: $NTLM_USER_FILE, else an ephemeral account)")
	fs.StringVar(&s.keytab, "keytab", "", "Kerberos keytab `file`, for packages that use Kerberos (default: $KRB5_KTNAME)")
	fs.StringVar(&s.replayCache, "replay-cache", "", "Kerberos replay cache `file` that outlives restarts (default: in memory)")
	fs.StringVar(&s.spn, "spn", "", "Kerberos service `principal` to accept tickets for (host/server.example.com); default: any in the keytab")
	fs.DurationVar(&o.timeout, "timeout", sockauth.DefaultTimeout, "time-out of every wait for a client after the handshake")
	fs.DurationVar(&o.hsTimeout, "handshake-timeout", 0, "time-out of the whole handshake (default: --timeout)")
	fs.IntVar(&o.minRate, "min-rate", sockauth.DefaultMinRate, "least data rate of a client in its handshake, in `bytes/s` (0: no floor)")
	fs.DurationVar(&o.drain, "drain-timeout", sockauth.DefaultDrainTimeout, "on shutdown, how long handshakes in progress may take before they are cut")
	fs.IntVar(&o.maxToken, "max-token", sockauth.DefaultMaxToken, "largest handshake token accepted, in `bytes`")
	fs.IntVar(&o.maxPending, "max-pending", 0, "most clients in their handshake at once, others wait (0: sized by memory)")
	fs.IntVar(&o.maxPerAddr, "max-pending-per-addr", sockauth.DefaultMaxPendingPerAddr, "most handshakes in progress from one address, others are closed (0: no cap)")
	fs.StringVar(&o.require, "require", "integrity", "attributes every context must have: `list` of mutual, integrity, confidentiality, or none")
	fs.StringVar(&o.greeting, "greeting", sockauth.DefaultGreeting, "what the sspi and tls framings' server says after authentication")
	fs.BoolVar(&o.jsonOut, "json", false, "write the log and the start-up lines as JSON")
	fs.StringVar(&s.cert, "cert", "", "Schannel: the server's certificate chain, a PEM `file`")
	fs.StringVar(&s.key, "key", "", "Schannel: the private key of --cert, a PEM `file`")
	fs.StringVar(&s.clientCA, "client-ca", "", "Schannel: PEM `file` of the CAs whose client certificates are accepted")
	fs.StringVar(&s.clientAuth, "client-auth", "", "Schannel, with --client-ca: `request` or require a client certificate (default require)")
	fs.BoolVar(&s.earlyUserAuth, "early-user-auth", false, "rdp: select HYBRID_EX and send the Early User Authorization Result after CredSSP")
	s.verifier.flags(fs)
	return fs, o
}

func cmdServe(args []string, e *env) int {
	fs, o := serveFlags()
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, serveUsage+verifierUsage, fs)
		return exitOK
	}
	if err == nil {
		err = o.validate(fs, pos)
	}
	if err != nil {
		return fail(e, "serve", err)
	}
	return runServer(o, e)
}

// validate checks the flags and derives the framing and the attributes required. It runs
// before the credentials are acquired, so that a usage error exits 2 without a keytab read
// or an ephemeral account made.
func (o *serveOptions) validate(fs *flag.FlagSet, pos []string) error {
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if err := checkAddress("--listen", o.listen, true); err != nil {
		return err
	}
	if err := rdpPackage(fs, &o.settings.pkg, &o.framingName); err != nil {
		return err
	}
	if err := checkPackage(o.settings.pkg); err != nil {
		return err
	}
	var err error
	if o.framing, err = framingFor(o.settings.pkg, o.framingName); err != nil {
		return err
	}
	if err := checkServeTLSFlags(o.settings); err != nil {
		return err
	}
	if err := checkServeRDPFlags(o.settings); err != nil {
		return err
	}
	if o.required, o.unprotected, err = parseRequire(o.require, true); err != nil {
		return err
	}
	return o.validateLimits()
}

// validateLimits checks the time-outs and limits: a zero time-out or token size would
// refuse every client, while a zero rate or count turns that limit off.
func (o *serveOptions) validateLimits() error {
	if o.timeout <= 0 || o.drain <= 0 || o.maxToken <= 0 {
		return usageErrorf("--timeout, --drain-timeout and --max-token must be positive")
	}
	if o.hsTimeout < 0 || o.minRate < 0 || o.maxPending < 0 || o.maxPerAddr < 0 {
		return usageErrorf("--handshake-timeout, --min-rate, --max-pending and --max-pending-per-addr must not be negative")
	}
	return nil
}

// runServer acquires the server's credentials, listens, says where, and serves until
// stopped.
func runServer(o *serveOptions, e *env) int {
	sc, err := acquireServer(o.settings, e)
	if err != nil {
		return fail(e, "serve", err)
	}
	defer sc.cleanup()
	defer sspi.FreeCredentialsHandle(sc.cred)

	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fail(e, "serve", err)
	}
	srv := o.newServer(sc.cred, e)
	if sc.throwaway {
		fmt.Fprintf(e.stderr, "sspi serve: warning: no --cert/--key: the TLS certificate is a throwaway, self-signed, made in memory (%s); clients cannot check it\n", fingerprint(sc.tlsLeaf))
	}
	if o.framing == sockauth.FramingRDP && !o.jsonOut {
		announceRDP(e, l.Addr().String(), sc, o.settings.earlyUserAuth)
	} else {
		announce(e, o.jsonOut, l.Addr().String(), sc, o.settings.pkg, o.framing)
	}
	return serveUntilSignal(srv, l, o, e)
}

// newServer configures the sockets server; its log goes to standard error, as JSON with
// --json.
func (o *serveOptions) newServer(cred *sspi.Credentials, e *env) *sockauth.Server {
	var handler slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if o.jsonOut {
		handler = slog.NewJSONHandler(e.stderr, nil)
	}
	return &sockauth.Server{
		Credentials:       cred,
		Framing:           o.framing,
		Timeout:           o.timeout,
		HandshakeTimeout:  o.hsTimeout,
		MinRate:           orOff(o.minRate),
		DrainTimeout:      o.drain,
		MaxToken:          o.maxToken,
		MaxPending:        o.maxPending,
		MaxPendingPerAddr: orOff(o.maxPerAddr),
		Require:           o.required,
		AllowUnprotected:  o.unprotected,
		Greeting:          o.greeting,
		Logger:            slog.New(handler),
		HybridEx:          o.settings.earlyUserAuth,
	}
}

// serveUntilSignal serves l until the server fails or Ctrl-C or SIGTERM arrives; then the
// handshakes in progress get --drain-timeout to finish before they are cut.
func serveUntilSignal(srv *sockauth.Server, l net.Listener, o *serveOptions, e *env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fail(e, "serve", err)
	case <-ctx.Done():
	}
	srv.Logger.Info("shutting down: finishing the handshakes in progress", slog.Duration("drain_timeout", o.drain))
	sctx, cancel := context.WithTimeout(context.Background(), o.drain+o.timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Logger.Warn("shutdown did not finish in time; connections closed", slog.String("error", err.Error()))
	}
	if err := <-served; err != nil && !errors.Is(err, sockauth.ErrServerClosed) {
		return fail(e, "serve", err)
	}
	return exitOK
}

// orOff turns a flag's 0 ("none") into the negative value that turns a sockauth limit off.
func orOff(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// announce prints where the server listens and, once, the ephemeral account.
func announce(e *env, jsonOut bool, addr string, sc *serverCreds, pkg string, f sockauth.Framing) {
	if jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.Encode(map[string]string{"event": "listening", "address": addr, "package": pkg, "mechanisms": strings.Join(sc.mechanisms, ", "), "framing": f.String(), "accounts": sc.source})
		if sc.ephemeral != nil {
			enc.Encode(map[string]string{"event": "ephemeral_account", "user": sc.ephemeral.User, "password": sc.ephemeral.Password})
		}
		return
	}
	if sc.tlsLeaf != nil {
		fmt.Fprintf(e.stdout, "listening on %s (package %s; framing %s; certificate: %s)\n", addr, pkg, f, sc.source)
		host, _, _ := net.SplitHostPort(addr)
		if names := certNames(sc.tlsLeaf); len(names) > 0 {
			host = names[0]
		}
		fmt.Fprintf(e.stdout, "try:  openssl s_client -connect %s -servername %s -CAfile CA.pem\n", addr, host)
		fmt.Fprintf(e.stdout, "      %s connect %s --package Schannel --target %s --ca CA.pem --message hello\n", selfCommand(os.Args[0]), addr, host)
		fmt.Fprintf(e.stdout, "      (CA.pem: the CA that issued --cert, or --cert itself if it is self-signed)\n")
		return
	}
	fmt.Fprintf(e.stdout, "listening on %s (package %s: %s; framing %s; accounts: %s)\n", addr, pkg, strings.Join(sc.mechanisms, ", "), f, sc.source)
	if sc.ephemeral == nil {
		return
	}
	fmt.Fprintf(e.stdout, "ephemeral account, valid until this server stops:\n  user      %s\n  password  %s\n", sc.ephemeral.User, sc.ephemeral.Password)
	fmt.Fprintf(e.stdout, "try:  SSPI_PASSWORD='%s' %s connect %s --package %s --framing %s --user %s --message hello\n",
		sc.ephemeral.Password, selfCommand(os.Args[0]), addr, pkg, f, sc.ephemeral.User)
}
