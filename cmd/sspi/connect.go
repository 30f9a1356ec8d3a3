package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosspi/sspi"
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

func cmdConnect(args []string, e *env) int {
	fs := newFlags("connect")
	pkg := fs.String("package", defaultPackage(), "security `package` to authenticate with (see \"sspi packages\")")
	framing := fs.String("framing", "", "wire framing: `sspi` (the SDK sample), gss (MIT gss-sample) or tls (Schannel) (default: tls for Schannel, sspi otherwise)")
	user := fs.String("user", "", "who to authenticate as: `DOMAIN\\user` or user@REALM")
	passwordFile := fs.String("password-file", "", "read the password from the first line of `file`")
	target := fs.String("target", "", "the server's `SPN` (default host/HOST), or for Schannel its host name (default HOST)")
	noMutual := fs.Bool("no-mutual", false, "do not ask the server to prove its identity")
	delegate := fs.Bool("delegate", false, "allow the server to act as you (delegation)")
	message := fs.String("message", "", "`text` to send once authenticated")
	protect := fs.String("protect", "seal", "message protection: `seal`, sign or none")
	require := fs.String("require", "", "attributes the context must have: `list` of mutual, integrity, confidentiality")
	timeout := fs.Duration("timeout", sockauth.DefaultTimeout, "time-out of the connection and of every wait")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object")
	ca := fs.String("ca", "", "Schannel: PEM `file` of the CAs trusted for the server's certificate (default: the system's)")
	cert := fs.String("cert", "", "Schannel: a client certificate chain, a PEM `file`")
	key := fs.String("key", "", "Schannel: the private key of --cert, a PEM `file`")
	insecure := fs.Bool("insecure", false, "Schannel and rdp: do not check the server's certificate at all (manual validation, nothing checked)")
	inner := fs.String("inner", "", "rdp: the `package` inside CredSSP: Negotiate (default), NTLM (FreeRDP's servers take only bare NTLM) or Kerberos")
	earlyUserAuth := fs.Bool("early-user-auth", false, "rdp: offer HYBRID_EX and wait for the server's Early User Authorization Result")
	pos, help, err := parseFlags(fs, args)
	if help {
		printHelp(e.stdout, connectUsage, fs)
		return exitOK
	}
	if err == nil && len(pos) != 1 {
		err = usageErrorf("want one HOST:PORT, got %d arguments", len(pos))
	}
	if err == nil {
		err = checkAddress("address", pos[0], false)
	}
	if err == nil {
		err = rdpPackage(fs, pkg, framing)
	}
	if err == nil {
		err = checkPackage(*pkg)
	}
	if err == nil && (*earlyUserAuth || *inner != "") && !isCredSSP(*pkg) {
		err = usageErrorf("--early-user-auth and --inner are for --framing rdp")
	}
	if err == nil && *inner != "" {
		err = checkPackage(*inner)
	}
	if err == nil && isCredSSP(*pkg) && *message != "" {
		err = usageErrorf("--message: the rdp framing has no session after the authentication (RDP's own would follow)")
	}
	var f sockauth.Framing
	var prot sockauth.Protection
	var req sspi.ContextAttr
	if err == nil {
		f, err = framingFor(*pkg, *framing)
	}
	if err == nil {
		err = checkConnectTLSFlags(*pkg, *user, *passwordFile, *ca, *cert, *key, *insecure)
	}
	if err == nil {
		if prot, err = sockauth.ParseProtection(*protect); err != nil {
			err = &errUsage{err.Error()}
		}
	}
	if err == nil {
		var none bool
		if req, none, err = parseRequire(*require, false); err == nil && none {
			req = 0
		}
	}
	if err != nil {
		return fail(e, "connect", err)
	}
	addr := pos[0]
	res := &connectResult{Address: addr, Framing: f.String(), Legs: []legJSON{}}
	out := func(format string, a ...any) {
		if !*jsonOut {
			fmt.Fprintf(e.stdout, format, a...)
		}
	}
	start := time.Now()
	established := false
	finish := func(err error) int {
		err = explainFailure(err, f, len(res.Legs), established)
		res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		res.OK = err == nil
		res.Status = sockauth.StatusName(err)
		if err != nil {
			res.Error = err.Error()
		}
		if *jsonOut {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			enc.Encode(res)
		} else if err == nil {
			out("status:      %s\n", res.Status)
		}
		if err != nil {
			return fail(e, "connect", err)
		}
		return exitOK
	}

	var cred *sspi.Credentials
	var source string
	rdpTarget := *target
	if rdpTarget == "" {
		rdpTarget = "TERMSRV/" + rdpHost(addr)
	}
	switch {
	case isSchannel(*pkg):
		cred, source, err = acquireSchannelClient(*pkg, *ca, *cert, *key, *insecure)
	case isCredSSP(*pkg):
		cred, source, err = acquireCredSSPClient(*inner, *user, *passwordFile, rdpTarget, *delegate, *earlyUserAuth, e)
	default:
		cred, source, err = acquireClient(*pkg, *user, *passwordFile, e)
	}
	if err != nil {
		return finish(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	var names sspi.CredentialNames
	if isSchannel(*pkg) {
		out("credentials: %s, %s\n", *pkg, source)
	} else if sspi.QueryCredentialsAttributes(cred, sspi.CredAttrNames, &names) == nil && names.UserName != "" {
		out("credentials: %s (%s, %s)\n", names.UserName, *pkg, source)
	}
	cl := &sockauth.Client{
		Credentials: cred,
		Framing:     f,
		Target:      *target,
		Delegate:    *delegate,
		Protection:  prot,
		Require:     req,
		Messages:    f == sockauth.FramingSSPI && *message != "",
		NoMutual:    *noMutual || *insecure,
		Timeout:     *timeout,
		HybridEx:    *earlyUserAuth,
		Trace: func(l sockauth.Leg) {
			res.Legs = append(res.Legs, legJSON{N: l.N, Received: l.Received, Status: l.Status.String(), Sent: l.Sent})
			out("%s\n", l)
		},
	}
	if f == sockauth.FramingRDP {
		cl.Target = rdpTarget
		if !*insecure {
			roots, err := rdpRoots(*ca)
			if err != nil {
				return finish(err)
			}
			cl.VerifyCertificate = verifyRDPCertificate(roots, rdpHost(addr))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2**timeout)
	defer cancel()
	c, err := cl.Dial(ctx, addr)
	if err != nil {
		return finish(err)
	}
	defer c.Close()
	established = true

	attrs := c.Attributes()
	id := c.Identity()
	res.Package, res.Client, res.Attributes = c.Package(), id.Principal, attrs.Format(false)
	res.Mutual = attrs.Has(sspi.ISCRetMutualAuth)
	res.Protection = c.Protection().String()
	out("package:     %s\n", c.Package())
	if id.Principal != "" {
		out("client:      %s\n", id.Principal)
	}
	out("attributes:  %s\n", attrs.Format(false))
	switch {
	case f == sockauth.FramingRDP && res.Mutual:
		res.Server = id.Server
		out("mutual:      granted (inside CredSSP); server %s\n", orUnnamed(id.Server))
	case f == sockauth.FramingRDP && *insecure:
		out("mutual:      not granted, and the certificate not checked (--insecure): CredSSP binds to the server's key only\n")
	case f == sockauth.FramingRDP:
		out("mutual:      the server's certificate is valid for %s; not granted inside CredSSP\n", rdpHost(addr))
	case res.Mutual && f == sockauth.FramingTLS:
		res.Server = id.Server
		out("mutual:      the server's certificate is valid for %s\n", orUnnamed(id.Server))
	case f == sockauth.FramingTLS:
		out("mutual:      not checked (--insecure): the server is whoever answered\n")
	case res.Mutual:
		res.Server = id.Server
		out("mutual:      granted; server %s\n", orUnnamed(id.Server))
	case *noMutual:
		out("mutual:      not asked for\n")
	default:
		out("mutual:      not granted (%s does not authenticate the server)\n", c.Package())
	}

	switch {
	case f == sockauth.FramingRDP:
		rdpSession(c, res, out)
	case f == sockauth.FramingTLS:
		if err := tlsSession(c, *message, res, out); err != nil {
			return finish(err)
		}
	case f == sockauth.FramingGSS:
		msg := *message
		if msg == "" {
			msg = "hello from sspi connect"
		}
		flags := map[sockauth.Protection]string{sockauth.ProtectSeal: "wrapped, encrypted", sockauth.ProtectSign: "wrapped, not encrypted", sockauth.ProtectNone: "in the clear"}[c.Protection()]
		if err := c.WriteMessage([]byte(msg)); err != nil {
			return finish(err)
		}
		res.Sent = &msg
		mic := attrs.Has(sspi.ISCRetIntegrity)
		if mic {
			res.MIC = &mic
			out("sent:        %q (%s); the server's MIC over it: verified\n", msg, flags)
		} else {
			out("sent:        %q (%s); the server acknowledged it\n", msg, flags)
		}
	case !cl.Messages:
		g, err := c.ReadMessage()
		if err == io.EOF {
			err = &serverClosed{"after the handshake, without its greeting"}
		}
		if err != nil {
			return finish(err)
		}
		gs := string(g)
		res.Greeting = &gs
		out("greeting:    %q (%s)\n", gs, c.Protection())
	default:
		g, err := c.ReadMessage()
		if err != nil {
			return finish(err)
		}
		gs := string(g)
		res.Greeting = &gs
		out("greeting:    %q (%s)\n", gs, c.Protection())
		if err := c.WriteMessage([]byte(*message)); err != nil {
			return finish(err)
		}
		res.Sent = message
		out("sent:        %q (%s)\n", *message, c.Protection())
		echo, err := c.ReadMessage()
		if err != nil {
			return finish(err)
		}
		es := string(echo)
		res.Echo = &es
		if es != *message {
			return finish(fmt.Errorf("the echo %q differs from the message sent", es))
		}
		out("echo:        %q (verified)\n", es)
	}
	return finish(nil)
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
