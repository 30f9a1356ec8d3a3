package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/sockauth"
)

const connectUsage = `Usage: sspi connect HOST:PORT [flags]

Authenticates to a sockets service ("sspi serve", MIT's gss-server, or the Windows SDK
sample server) and exchanges a message. It prints each leg of the handshake with its
status, the attributes granted, the server's identity when it was proven (mutual
authentication), and the message round trip:

  --framing sspi  without --message, the SDK sample: the server's sealed greeting;
                  with --message, the greeting, then the message and its echo
  --framing gss   the message (default "hello from sspi connect"), wrapped as --protect
                  says, and the MIC the server returns over it, checked

The password comes from --password-file, else the SSPI_PASSWORD variable, else the
stored credentials of the environment (NTLM_USER_FILE with NTLMUSER for NTLM, the
KRB5CCNAME cache for Kerberos), else a prompt on the terminal (not echoed). Without
--user, the stored credentials' default user is taken.

NTLM cannot prove the server's identity: mutual authentication is asked for but not
granted, which is reported, and refused only with --require mutual.

A server refuses a logon (a wrong password, an unknown user) by closing the connection,
and says why only in its log; it closes so too when it fails after the logon. Such an end
is reported as DISCONNECTED, with where it came: during or after the handshake. With NTLM
it comes after: the server's verdict on the last token shows at the first message.

With Negotiate (the default package), Kerberos is tried first only where it can apply: not
for a server given by IP address (unless --target names a host), not for a DOMAIN\user
whose domain krb5.conf maps to no realm, and not for an account "sspi serve" made up
(sspi-XXXXXX); NTLM is used then, and no KDC is asked. A Kerberos password the KDC
refuses fails before the connection is made.

Schannel (TLS, --framing tls): the target name is the host of HOST:PORT (or --target),
sent as SNI and checked against the server's certificate, which must chain to --ca (the
system's roots without it): a wrong name is SEC_E_WRONG_PRINCIPAL, an unknown CA
SEC_E_UNTRUSTED_ROOT, an expired certificate SEC_E_CERT_EXPIRED. --insecure checks
nothing (manual validation). --cert and --key present a client certificate; a server
that asks for one the client lacks gets none (SEC_I_INCOMPLETE_CREDENTIALS, then on
without). Without --message, the server's first line is read (the greeting of "sspi
serve"); with --message, the text is sent as a line and lines are read until its echo
or the server's close_notify ("openssl s_server -www" answers --message "GET /").

RDP (--framing rdp, implied by --package CredSSP and implying it): the X.224 negotiation
(PROTOCOL_HYBRID; HYBRID_EX with --early-user-auth, which waits for the server's Early
User Authorization Result), then CredSSP with Negotiate inside, against "sspi serve
--framing rdp" or a real RDP server (freerdp-shadow-cli, Windows). The target is
TERMSRV/HOST unless --target says otherwise. The server's certificate is checked before
any credential is sent, against --ca (the system's roots without it) and HOST; --insecure
checks nothing and relies on CredSSP's binding to the server's key. --delegate sends the
password to the server (TSPasswordCreds), also when only NTLM authenticated it, which
proves nothing about the server: ask for it only for a server you trust. After CredSSP
the connection closes: the protocol, CredSSP's version and what was delegated are printed.

Kerberos delegation (--delegate with Kerberos or Negotiate): a forwardable TGT is asked for
(with a password; the stored credentials' TGT is as kinit got it, kinit -f for this) and
forwarded to the server, which can then act as you. As on Windows it goes only to a
service whose ticket carries OK-AS-DELEGATE (the realm trusts it for delegation);
--ignore-ok-as-delegate sends it to any, as MIT's gss-client -d does. The attributes then
show DELEGATE, and "sspi serve" logs delegated=true.

Exit status: 0 on success, 1 if authentication or the exchange fails, 2 for a usage error.

Examples:
  SSPI_PASSWORD=... sspi connect 127.0.0.1:2000 --package NTLM --user 'EXAMPLE\alice'
  sspi connect 127.0.0.1:4444 --framing gss --user alice --password-file pw.txt --json
  sspi connect localhost:4433 --package Schannel --ca ca.pem --message 'GET /'
`

// connectResult is what --json prints.
type connectResult struct {
	OK         bool      `json:"ok"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Address    string    `json:"address"`
	Framing    string    `json:"framing"`
	Package    string    `json:"package,omitempty"`
	Legs       []legJSON `json:"legs"`
	Client     string    `json:"client,omitempty"`
	Server     string    `json:"server,omitempty"`
	Attributes string    `json:"attributes,omitempty"`
	Mutual     bool      `json:"mutual"`
	Protection string    `json:"protection,omitempty"`
	Greeting   *string   `json:"greeting,omitempty"`
	Sent       *string   `json:"sent,omitempty"`
	Echo       *string   `json:"echo,omitempty"`
	MIC        *bool     `json:"mic_verified,omitempty"`
	TLS        *tlsJSON  `json:"tls,omitempty"`
	RDP        *rdpJSON  `json:"rdp,omitempty"`
	Received   []string  `json:"received,omitempty"`
	DurationMS float64   `json:"duration_ms"`
}

type legJSON struct {
	N        int    `json:"n"`
	Received int    `json:"received"`
	Status   string `json:"status"`
	Sent     int    `json:"sent"`
}

// connectOptions holds connect's flags, and what validate derives from them.
type connectOptions struct {
	addr          string
	pkg           string
	framingName   string
	user          string
	passwordFile  string
	target        string
	noMutual      bool
	delegate      bool
	ignoreOK      bool
	armor         string
	message       string
	protect       string
	require       string
	timeout       time.Duration
	jsonOut       bool
	ca            string
	cert          string
	key           string
	insecure      bool
	inner         string
	earlyUserAuth bool

	// Derived by validate.
	framing    sockauth.Framing
	protection sockauth.Protection
	required   sspi.ContextAttr
}

// connectFlags binds connect's flags to a fresh connectOptions.
func connectFlags() (*flag.FlagSet, *connectOptions) {
	o := &connectOptions{}
	fs := newFlags("connect")
	fs.StringVar(&o.pkg, "package", defaultPackage(), "security `package` to authenticate with (see \"sspi packages\")")
	fs.StringVar(&o.framingName, "framing", "", "wire framing: `sspi` (the SDK sample), gss (MIT gss-sample) or tls (Schannel) (default: tls for Schannel, sspi otherwise)")
	fs.StringVar(&o.user, "user", "", "who to authenticate as: `DOMAIN\\user` or user@REALM")
	fs.StringVar(&o.passwordFile, "password-file", "", "read the password from the first line of `file`")
	fs.StringVar(&o.target, "target", "", "the server's `SPN` (default host/HOST), or for Schannel its host name (default HOST)")
	fs.BoolVar(&o.noMutual, "no-mutual", false, "do not ask the server to prove its identity")
	fs.BoolVar(&o.delegate, "delegate", false, "allow the server to act as you (delegation; Kerberos: a forwardable TGT is asked for and forwarded)")
	fs.BoolVar(&o.ignoreOK, "ignore-ok-as-delegate", false, "Kerberos, with --delegate: delegate even to a service the realm does not mark OK-AS-DELEGATE (as gss-client -d)")
	fs.StringVar(&o.armor, "armor-ccache", "", "Kerberos, with --user: armor the password logon with FAST (RFC 6113) with the TGT in `ccache`, as kinit -T (a host's TGT, e.g. from kinit -k)")
	fs.StringVar(&o.message, "message", "", "`text` to send once authenticated")
	fs.StringVar(&o.protect, "protect", "seal", "message protection: `seal`, sign or none")
	fs.StringVar(&o.require, "require", "", "attributes the context must have: `list` of mutual, integrity, confidentiality")
	fs.DurationVar(&o.timeout, "timeout", sockauth.DefaultTimeout, "time-out of the connection and of every wait")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as one JSON object")
	fs.StringVar(&o.ca, "ca", "", "Schannel: PEM `file` of the CAs trusted for the server's certificate (default: the system's)")
	fs.StringVar(&o.cert, "cert", "", "Schannel: a client certificate chain, a PEM `file`")
	fs.StringVar(&o.key, "key", "", "Schannel: the private key of --cert, a PEM `file`")
	fs.BoolVar(&o.insecure, "insecure", false, "Schannel and rdp: do not check the server's certificate at all (manual validation, nothing checked)")
	fs.StringVar(&o.inner, "inner", "", "rdp: the `package` inside CredSSP: Negotiate (default), NTLM (FreeRDP's servers take only bare NTLM) or Kerberos")
	fs.BoolVar(&o.earlyUserAuth, "early-user-auth", false, "rdp: offer HYBRID_EX and wait for the server's Early User Authorization Result")
	return fs, o
}

func cmdConnect(args []string, e *env) int {
	fs, o := connectFlags()
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, connectUsage, fs)
		return exitOK
	}
	if err == nil {
		err = o.validate(fs, pos)
	}
	if err != nil {
		return fail(e, "connect", err)
	}
	s := &connectSession{o: o, e: e, start: time.Now(),
		res: &connectResult{Address: o.addr, Framing: o.framing.String(), Legs: []legJSON{}}}
	return s.run()
}

// validate checks the arguments and derives the framing, protection and required
// attributes. It runs before any credentials are acquired, so that a usage error exits 2
// without a password prompt or a KDC asked.
func (o *connectOptions) validate(fs *flag.FlagSet, pos []string) error {
	if len(pos) != 1 {
		return usageErrorf("want one HOST:PORT, got %d arguments", len(pos))
	}
	o.addr = pos[0]
	if err := checkAddress("address", o.addr, false); err != nil {
		return err
	}
	if err := o.validatePackage(fs); err != nil {
		return err
	}
	var err error
	if o.framing, err = framingFor(o.pkg, o.framingName); err != nil {
		return err
	}
	if err := checkConnectTLSFlags(o.pkg, o.user, o.passwordFile, o.ca, o.cert, o.key, o.insecure); err != nil {
		return err
	}
	if o.protection, err = sockauth.ParseProtection(o.protect); err != nil {
		return &errUsage{err.Error()}
	}
	req, none, err := parseRequire(o.require, false)
	if err != nil {
		return err
	}
	if !none {
		o.required = req
	}
	return nil
}

// validatePackage checks --package and the flags that only CredSSP (--framing rdp) takes.
func (o *connectOptions) validatePackage(fs *flag.FlagSet) error {
	if err := rdpPackage(fs, &o.pkg, &o.framingName); err != nil {
		return err
	}
	if err := checkPackage(o.pkg); err != nil {
		return err
	}
	if (o.earlyUserAuth || o.inner != "") && !isCredSSP(o.pkg) {
		return usageErrorf("--early-user-auth and --inner are for --framing rdp")
	}
	if o.inner != "" {
		if err := checkPackage(o.inner); err != nil {
			return err
		}
	}
	if o.ignoreOK && (!o.delegate || isCredSSP(o.pkg) || isSchannel(o.pkg)) {
		return usageErrorf("--ignore-ok-as-delegate is for Kerberos delegation: it needs --delegate, and not --framing rdp or tls")
	}
	if o.armor != "" && (o.user == "" || !strings.EqualFold(o.pkg, kerberos.PackageName) && !strings.EqualFold(o.pkg, negotiate.PackageName)) {
		return usageErrorf("--armor-ccache armors a Kerberos password logon: it needs --user, and --package Kerberos or Negotiate")
	}
	if isCredSSP(o.pkg) && o.message != "" {
		return usageErrorf("--message: the rdp framing has no session after the authentication (RDP's own would follow)")
	}
	return nil
}

// rdpTarget is the SPN CredSSP authenticates to: --target, else TERMSRV/HOST as RDP
// clients name it.
func (o *connectOptions) rdpTarget() string {
	if o.target != "" {
		return o.target
	}
	return "TERMSRV/" + rdpHost(o.addr)
}

// connectSession is one run of connect after its flags were accepted: the result being
// built, and whether the handshake finished, which decides how a server's close is
// explained.
type connectSession struct {
	o           *connectOptions
	e           *env
	res         *connectResult
	start       time.Time
	established bool
}

// out prints a line of the human-readable report; --json prints only the result at the end.
func (s *connectSession) out(format string, a ...any) {
	if !s.o.jsonOut {
		fmt.Fprintf(s.e.stdout, format, a...)
	}
}

// finish reports the outcome, err explained as far as the client can tell, and returns the
// exit status.
func (s *connectSession) finish(err error) int {
	err = explainFailure(err, s.o.framing, len(s.res.Legs), s.established)
	s.res.DurationMS = float64(time.Since(s.start).Microseconds()) / 1000
	s.res.OK = err == nil
	s.res.Status = sockauth.StatusName(err)
	if err != nil {
		s.res.Error = err.Error()
	}
	if s.o.jsonOut {
		enc := json.NewEncoder(s.e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s.res)
	} else if err == nil {
		s.out("status:      %s\n", s.res.Status)
	}
	if err != nil {
		return fail(s.e, "connect", err)
	}
	return exitOK
}

// run acquires the credentials, authenticates and exchanges the messages. finish runs
// before the deferred Close and FreeCredentialsHandle, so the report is complete first.
func (s *connectSession) run() int {
	cred, err := s.acquireCredentials()
	if err != nil {
		return s.finish(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	cl, err := s.newClient(cred)
	if err != nil {
		return s.finish(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.o.timeout)
	defer cancel()
	c, err := cl.Dial(ctx, s.o.addr)
	if err != nil {
		return s.finish(err)
	}
	defer c.Close()
	s.established = true
	s.reportContext(c)
	return s.finish(s.exchange(c, cl.Messages))
}

// acquireCredentials gets the client's credentials for the package and prints whose
// they are.
func (s *connectSession) acquireCredentials() (*sspi.Credentials, error) {
	o := s.o
	var cred *sspi.Credentials
	var source string
	var err error
	switch {
	case isSchannel(o.pkg):
		cred, source, err = acquireSchannelClient(o.pkg, o.ca, o.cert, o.key, o.insecure)
	case isCredSSP(o.pkg):
		cred, source, err = acquireCredSSPClient(o.inner, o.user, o.passwordFile, o.rdpTarget(), o.delegate, o.earlyUserAuth, s.e)
	default:
		var krb *kerberosOptions
		if o.delegate || o.armor != "" {
			krb = &kerberosOptions{forwardable: o.delegate, ignoreOKAsDelegate: o.ignoreOK, armorCCache: o.armor}
		}
		cred, source, err = acquireClient(o.pkg, o.user, o.passwordFile, krb, s.e)
	}
	if err != nil {
		return nil, err
	}
	var names sspi.CredentialNames
	if isSchannel(o.pkg) {
		s.out("credentials: %s, %s\n", o.pkg, source)
	} else if sspi.QueryCredentialsAttributes(cred, sspi.CredAttrNames, &names) == nil && names.UserName != "" {
		s.out("credentials: %s (%s, %s)\n", names.UserName, o.pkg, source)
	}
	return cred, nil
}

// newClient configures the sockets client; every leg of the handshake is recorded and
// printed as it happens.
func (s *connectSession) newClient(cred *sspi.Credentials) (*sockauth.Client, error) {
	o := s.o
	cl := &sockauth.Client{
		Credentials: cred,
		Framing:     o.framing,
		Target:      o.target,
		Delegate:    o.delegate,
		Protection:  o.protection,
		Require:     o.required,
		Messages:    o.framing == sockauth.FramingSSPI && o.message != "",
		NoMutual:    o.noMutual || o.insecure,
		Timeout:     o.timeout,
		HybridEx:    o.earlyUserAuth,
		Trace: func(l sockauth.Leg) {
			s.res.Legs = append(s.res.Legs, legJSON{N: l.N, Received: l.Received, Status: l.Status.String(), Sent: l.Sent})
			s.out("%s\n", l)
		},
	}
	if o.framing != sockauth.FramingRDP {
		return cl, nil
	}
	cl.Target = o.rdpTarget()
	if !o.insecure {
		// CredSSP sends the credentials inside TLS: the certificate is checked first.
		roots, err := rdpRoots(o.ca)
		if err != nil {
			return nil, err
		}
		cl.VerifyCertificate = verifyRDPCertificate(roots, rdpHost(o.addr))
	}
	return cl, nil
}

// reportContext records and prints what the handshake established.
func (s *connectSession) reportContext(c *sockauth.Conn) {
	attrs := c.Attributes()
	id := c.Identity()
	s.res.Package, s.res.Client, s.res.Attributes = c.Package(), id.Principal, attrs.Format(false)
	s.res.Mutual = attrs.Has(sspi.ISCRetMutualAuth)
	s.res.Protection = c.Protection().String()
	s.out("package:     %s\n", c.Package())
	if id.Principal != "" {
		s.out("client:      %s\n", id.Principal)
	}
	s.out("attributes:  %s\n", attrs.Format(false))
	s.reportMutual(c.Package(), id.Server)
}

// reportMutual says what is known of the server's identity, which depends on the framing:
// RDP and TLS prove it by the certificate, the others only by mutual authentication.
func (s *connectSession) reportMutual(pkg, server string) {
	o, f := s.o, s.o.framing
	switch {
	case f == sockauth.FramingRDP && s.res.Mutual:
		s.res.Server = server
		s.out("mutual:      granted (inside CredSSP); server %s\n", orUnnamed(server))
	case f == sockauth.FramingRDP && o.insecure:
		s.out("mutual:      not granted, and the certificate not checked (--insecure): CredSSP binds to the server's key only\n")
	case f == sockauth.FramingRDP:
		s.out("mutual:      the server's certificate is valid for %s; not granted inside CredSSP\n", rdpHost(o.addr))
	case s.res.Mutual && f == sockauth.FramingTLS:
		s.res.Server = server
		s.out("mutual:      the server's certificate is valid for %s\n", orUnnamed(server))
	case f == sockauth.FramingTLS:
		s.out("mutual:      not checked (--insecure): the server is whoever answered\n")
	case s.res.Mutual:
		s.res.Server = server
		s.out("mutual:      granted; server %s\n", orUnnamed(server))
	case o.noMutual:
		s.out("mutual:      not asked for\n")
	default:
		s.out("mutual:      not granted (%s does not authenticate the server)\n", pkg)
	}
}

// exchange runs the framing's message exchange after the handshake. messages is whether
// the sspi framing's client sends a message (and so expects its echo).
func (s *connectSession) exchange(c *sockauth.Conn, messages bool) error {
	switch {
	case s.o.framing == sockauth.FramingRDP:
		rdpSession(c, s.res, s.out)
		return nil
	case s.o.framing == sockauth.FramingTLS:
		return tlsSession(c, s.o.message, s.res, s.out)
	case s.o.framing == sockauth.FramingGSS:
		return s.exchangeGSS(c)
	case !messages:
		return s.readGreeting(c, &serverClosed{"after the handshake, without its greeting"})
	}
	if err := s.readGreeting(c, nil); err != nil {
		return err
	}
	return s.exchangeEcho(c)
}

// exchangeGSS sends the message as gss-sample does; the server answers with a MIC over
// it, which WriteMessage checks.
func (s *connectSession) exchangeGSS(c *sockauth.Conn) error {
	msg := s.o.message
	if msg == "" {
		msg = "hello from sspi connect"
	}
	flags := map[sockauth.Protection]string{sockauth.ProtectSeal: "wrapped, encrypted", sockauth.ProtectSign: "wrapped, not encrypted", sockauth.ProtectNone: "in the clear"}[c.Protection()]
	if err := c.WriteMessage([]byte(msg)); err != nil {
		return err
	}
	s.res.Sent = &msg
	mic := c.Attributes().Has(sspi.ISCRetIntegrity)
	if mic {
		s.res.MIC = &mic
		s.out("sent:        %q (%s); the server's MIC over it: verified\n", msg, flags)
	} else {
		s.out("sent:        %q (%s); the server acknowledged it\n", msg, flags)
	}
	return nil
}

// readGreeting reads the SDK sample server's sealed greeting. onEOF, if not nil, replaces
// io.EOF: without a message to send, a close here is the server's only verdict.
func (s *connectSession) readGreeting(c *sockauth.Conn, onEOF error) error {
	g, err := c.ReadMessage()
	if err == io.EOF && onEOF != nil {
		err = onEOF
	}
	if err != nil {
		return err
	}
	gs := string(g)
	s.res.Greeting = &gs
	s.out("greeting:    %q (%s)\n", gs, c.Protection())
	return nil
}

// exchangeEcho sends --message and checks that the server echoes it back unchanged.
func (s *connectSession) exchangeEcho(c *sockauth.Conn) error {
	message := s.o.message
	if err := c.WriteMessage([]byte(message)); err != nil {
		return err
	}
	s.res.Sent = &message
	s.out("sent:        %q (%s)\n", message, c.Protection())
	echo, err := c.ReadMessage()
	if err != nil {
		return err
	}
	es := string(echo)
	s.res.Echo = &es
	if es != message {
		return fmt.Errorf("the echo %q differs from the message sent", es)
	}
	s.out("echo:        %q (verified)\n", es)
	return nil
}

// serverClosed is what a client knows when the server closed the connection instead of
// answering: where, not why. A server that refuses the logon does that, but so does one
// that failed later (a MIC it could not make, an attribute it requires) or could not read
// the first token at all; its log says which. Its status is DISCONNECTED.
type serverClosed struct{ where string }

func (e *serverClosed) Error() string {
	return "the server closed the connection " + e.where + "; see its log"
}

func (e *serverClosed) Unwrap() error { return io.EOF }

// explainFailure replaces what sockauth infers from a server's silence, SEC_E_LOGON_DENIED,
// with what is known, and a framing mismatch with the flag that fixes it. legs is the
// number of InitializeSecurityContext calls made; established, whether the handshake
// finished.
func explainFailure(err error, f sockauth.Framing, legs int, established bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sockauth.ErrOtherFraming):
		other, ok := sockauth.PeerFraming(err)
		if !ok {
			other = sockauth.FramingGSS
			if f == sockauth.FramingGSS {
				other = sockauth.FramingSSPI
			}
		}
		if f == sockauth.FramingTLS {
			return sspi.Errorf(sspi.ErrIllegalMessage, "the server does not speak TLS, it speaks the %s framing: try --framing %s (with its --package)", other, other)
		}
		return sspi.Errorf(sspi.ErrIllegalMessage, "the server speaks the %s framing: try --framing %s", other, other)
	case errors.Is(err, sockauth.ErrNotTLS):
		return sspi.Errorf(sspi.ErrIllegalMessage, "%v: the server does not speak TLS", err)
	case f == sockauth.FramingTLS && errors.Is(err, sockauth.ErrNoAnswer) && legs <= 1:
		return sspi.Errorf(sspi.ErrIllegalMessage, "the server closed the connection without a TLS answer to the ClientHello: it does not speak TLS (an \"sspi serve\" of the sspi or gss framing closes so): try --framing sspi|gss with its --package")
	case !errors.Is(err, sockauth.ErrNoAnswer):
		return err
	case established:
		return &serverClosed{"after the handshake"}
	case legs <= 1:
		return &serverClosed{"after the first token of the handshake"}
	}
	return &serverClosed{"during the handshake"}
}

func orUnnamed(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(its name was not reported)"
	}
	return s
}
