// Command sspi runs gosspi's sockets authentication service and its client, manages the
// NTLM account file the service authenticates against, and lists the security packages
// built in.
//
//	sspi demo                       a server and a client in one process: every package's handshake, leg by leg
//	sspi serve [flags]              the sockets authentication service
//	sspi connect HOST:PORT [flags]  authenticate to a service and exchange a message
//	sspi accounts add|remove|list   manage an NTLM account file (NT hashes, mode 0600)
//	sspi packages                   the security packages built in (EnumerateSecurityPackages)
//	sspi parse [TOKEN|FILE|-]       decode an NTLM, SPNEGO, Kerberos, CredSSP or TLS token
//
// Every command takes --help. The exit status is 0 on success, 1 when authentication or
// the exchange after it fails (the SEC_E status is printed), and 2 for a usage error.
//
// The service speaks four wire framings: "sspi", the Windows SDK sample's ("Using SSPI
// with a Windows Sockets Server"), "gss", MIT krb5's gss-sample, so that MIT's gss-client
// and gss-server are peers of `sspi serve` and `sspi connect`, "tls", a Windows
// Schannel program's (TLS records as they are), so that openssl s_client and s_server,
// gnutls-cli and gnutls-serv are, and "rdp", Remote Desktop's Network Level
// Authentication (CredSSP), an NLA gate that xfreerdp and freerdp-shadow-cli talk to. See package github.com/gosspi/sspi/sockauth for the
// exact layouts.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/sockauth"

	// The security packages this binary offers. Each registers itself with sspi.
	_ "github.com/gosspi/sspi/kerberos"
	_ "github.com/gosspi/sspi/negotiate"
	_ "github.com/gosspi/sspi/ntlm"
	_ "github.com/gosspi/sspi/schannel"
)

// Exit statuses.
const (
	exitOK    = 0 // success
	exitAuth  = 1 // authentication or the session after it failed
	exitUsage = 2 // the command line is wrong
)

// env is what a command runs with: its streams and environment, so that tests can run
// commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

const mainUsage = `sspi: authenticate TCP connections with SSPI security packages (NTLM, Negotiate, Schannel, ...)

Usage:
  sspi demo                        run a server and a client in this process and show every
                                   handshake leg by leg (start here)
  sspi serve [flags]               run the sockets authentication service
  sspi connect HOST:PORT [flags]   authenticate to a service and exchange a message
  sspi accounts add|remove|list    manage an NTLM account file (NT hashes, mode 0600)
  sspi packages                    list the security packages built into this binary
  sspi parse [TOKEN|FILE|-]        decode a token: NTLM, SPNEGO, Kerberos (decrypted with
                                   --keytab), CredSSP TSRequest, TLS records

Run "sspi COMMAND --help" for a command's flags, "sspi --version" for this build.

Exit status: 0 on success, 1 when authentication fails (the SEC_E status is printed),
2 for a usage error.
`

func run(args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		if len(rest) > 0 && cmd == "help" {
			return run([]string{rest[0], "--help"}, e)
		}
		fmt.Fprint(e.stdout, mainUsage)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintln(e.stdout, versionLine(readBuildInfo()))
		return exitOK
	case "serve":
		return cmdServe(rest, e)
	case "connect":
		return cmdConnect(rest, e)
	case "accounts":
		return cmdAccounts(rest, e)
	case "packages":
		return cmdPackages(rest, e)
	case "demo":
		return cmdDemo(rest, e)
	case "parse":
		return cmdParse(rest, e)
	}
	fmt.Fprintf(e.stderr, "sspi: unknown command %q\n\n%s", cmd, mainUsage)
	return exitUsage
}

// errUsage marks an error in what the user typed (exit status 2).
type errUsage struct{ msg string }

func (e *errUsage) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &errUsage{fmt.Sprintf(format, args...)}
}

// newFlags makes a command's flag set. Its errors are reported by fail and its help by
// printHelp, so the flag package itself prints nothing.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments ("sspi connect
// HOST:PORT --package NTLM"), which the flag package alone stops at. It returns the
// positional arguments, and whether --help was asked for.
func parseFlags(fs *flag.FlagSet, args []string) (pos []string, help bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, &errUsage{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, false, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), false, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// printHelp writes a command's help: its text and its flags with their defaults.
func printHelp(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprint(w, usage)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return // no "Flags:" heading over nothing
	}
	fmt.Fprintln(w, "\nFlags:")
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	// The flag package takes -flag and --flag alike; show the form the help text uses.
	fmt.Fprint(w, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
}

// fail reports err the way every command does and returns its exit status: usage errors
// 2, everything else 1, with the SEC_E status named where there is one.
func fail(e *env, cmd string, err error) int {
	var ue *errUsage
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "sspi %s: %s\nRun \"sspi %s --help\" for usage.\n", cmd, ue.msg, cmd)
		return exitUsage
	}
	st := sockauth.StatusName(err)
	msg := err.Error()
	if !strings.HasPrefix(msg, st) && (strings.HasPrefix(st, "SEC_") || st == "TIMEOUT" || st == "DISCONNECTED") {
		msg = st + ": " + msg
	}
	fmt.Fprintf(e.stderr, "sspi %s: %s\n", cmd, msg)
	return exitAuth
}

// defaultPackage is Negotiate when this build has it, as on Windows, and NTLM otherwise.
func defaultPackage() string {
	if _, err := sspi.QuerySecurityPackageInfo("Negotiate"); err == nil {
		return "Negotiate"
	}
	return "NTLM"
}

// checkPackage returns a usage error unless this build has a security package named
// name (case-insensitively, as AcquireCredentialsHandle takes it).
func checkPackage(name string) error {
	if _, err := sspi.QuerySecurityPackageInfo(name); err == nil {
		return nil
	}
	var known []string
	for _, p := range sspi.EnumerateSecurityPackages() {
		known = append(known, p.Name)
	}
	return usageErrorf("--package: unknown package %q (known packages: %s)", name, strings.Join(known, ", "))
}

// checkAddress returns a usage error unless addr is HOST:PORT with a valid port: a number
// up to 65535, 0 only to listen on (a free port), or a service name of /etc/services.
// The host is not looked up here: that is the dial's or the listen's business.
func checkAddress(what, addr string, listen bool) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = net.LookupPort("tcp", port)
		if err == nil && n == 0 && !listen {
			err = errors.New("port 0 is for listening; give the port the server listens on")
		}
	}
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err) // the address is quoted once, below
		}
		return usageErrorf("%s %q: %v (want HOST:PORT, such as 127.0.0.1:2000)", what, addr, err)
	}
	return nil
}

// parseRequire reads --require: a comma-separated list of mutual, integrity,
// confidentiality (or none).
func parseRequire(s string, server bool) (attrs sspi.ContextAttr, none bool, err error) {
	for _, w := range strings.Split(s, ",") {
		switch strings.TrimSpace(strings.ToLower(w)) {
		case "":
		case "none":
			none = true
		case "mutual":
			attrs |= sspi.ISCRetMutualAuth // the same bit as ASCRetMutualAuth
		case "integrity":
			if server {
				attrs |= sspi.ASCRetIntegrity
			} else {
				attrs |= sspi.ISCRetIntegrity
			}
		case "confidentiality":
			attrs |= sspi.ISCRetConfidentiality // the same bit as ASCRetConfidentiality
		default:
			return 0, false, usageErrorf("--require: unknown attribute %q (want mutual, integrity, confidentiality or none)", w)
		}
	}
	if none && attrs != 0 {
		return 0, false, usageErrorf("--require: none cannot be combined with other attributes")
	}
	return attrs, none, nil
}
