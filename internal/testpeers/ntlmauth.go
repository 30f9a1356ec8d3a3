package testpeers

import (
	"encoding/base64"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Samba's ntlm_auth speaks NTLMSSP over stdin/stdout, one line per token ("helper protocols",
// written for squid). Two of them make a complete NTLM client and a complete NTLM acceptor
// with no Samba daemon running:
//
//	ntlmssp-client-1            YR → "YR <NEGOTIATE>"; "TT <CHALLENGE>" → "AF <AUTHENTICATE>"
//	                            (or "KK <token>" if more legs were needed); GK → "GK <key>";
//	                            GF → "GF 0x<flags>"
//	squid-2.5-ntlmssp           "YR <NEGOTIATE>" → "TT <CHALLENGE>"; "KK <AUTHENTICATE>" →
//	  --password=PW             "AF DOMAIN\user" or "NA <NT_STATUS_...>"; GK, GF as above
//
// With --password the acceptor checks the response against that one password for whatever
// user and domain the client names (no winbindd, no account database); that is exactly what a
// test needs. "BH <reason>" is ntlm_auth's internal-error answer.

// NTLMAuthOptions configures an ntlm_auth helper process.
type NTLMAuthOptions struct {
	// User, Domain and Password are the client's credentials (--username, --domain,
	// --password). On the acceptor only Password is used: the one password it accepts.
	User, Domain, Password string
	// Workstation is the client's --workstation.
	Workstation string
	// NetBIOSName and Workgroup go into the private smb.conf: on the acceptor they are the
	// server and domain names in the CHALLENGE's target info. Defaults "NTLMAUTH" and
	// "WORKGROUP".
	NetBIOSName, Workgroup string
	// SMBConf are extra "name = value" lines for the [global] section of the private smb.conf
	// (for example "ntlm auth = ntlmv2-only", "client ntlmv2 auth = no").
	SMBConf []string
	// Timeout bounds every exchange; zero means DefaultTimeout.
	Timeout time.Duration
}

// NTLMAuthRejected is the acceptor's refusal ("NA <reason>"), such as NT_STATUS_LOGON_FAILURE
// for a wrong password.
type NTLMAuthRejected struct{ Reason string }

// Error names the NT status ntlm_auth gave.
func (e *NTLMAuthRejected) Error() string { return "ntlm_auth: rejected: " + e.Reason }

// ntlmAuth is one running helper.
type ntlmAuth struct {
	proc *lineProc
}

func startNTLMAuth(tb testing.TB, protocol string, opts NTLMAuthOptions, extra ...string) *ntlmAuth {
	tb.Helper()
	bin := RequireNTLMAuth(tb)
	dir := tb.TempDir()
	if opts.NetBIOSName == "" {
		opts.NetBIOSName = "NTLMAUTH"
	}
	if opts.Workgroup == "" {
		opts.Workgroup = "WORKGROUP"
	}
	// A private smb.conf keeps the host's /etc/samba/smb.conf out of the result, and the
	// private directories keep ntlm_auth from touching /var/lib/samba (and let it run as
	// any user).
	var conf strings.Builder
	conf.WriteString("[global]\n")
	fmt.Fprintf(&conf, "\tnetbios name = %s\n\tworkgroup = %s\n", opts.NetBIOSName, opts.Workgroup)
	for _, d := range []string{"lock directory", "state directory", "cache directory", "private dir", "pid directory", "ncalrpc dir"} {
		fmt.Fprintf(&conf, "\t%s = %s\n", d, dir)
	}
	conf.WriteString("\tlog file = " + dir + "/log\n")
	// Never a winbindd of the host's (privateEnv's _NO_WINBINDD does the same for libwbclient).
	conf.WriteString("\twinbindd socket directory = " + dir + "/no-winbindd\n")
	for _, l := range opts.SMBConf {
		conf.WriteString("\t" + l + "\n")
	}
	confPath, err := writeTemp(dir, "smb.conf", []byte(conf.String()), 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	args := []string{"--configfile=" + confPath, "--helper-protocol=" + protocol}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = peerEnv(tb, dir, NTLMEnv{}, nil)
	p, err := startLineProc("ntlm_auth "+protocol, cmd, opts.Timeout)
	if err != nil {
		tb.Fatal(err)
	}
	h := &ntlmAuth{proc: p}
	tb.Cleanup(func() { _ = h.proc.close() })
	return h
}

// exchange sends "cmd [base64(data)]" and splits the answer into its code and argument.
func (h *ntlmAuth) exchange(cmd string, data []byte) (code, arg string, err error) {
	line := cmd
	if data != nil {
		line += " " + base64.StdEncoding.EncodeToString(data)
	}
	out, err := h.proc.exchange(line)
	if err != nil {
		return "", "", err
	}
	code, arg, _ = strings.Cut(out, " ")
	if code == "BH" {
		return code, arg, fmt.Errorf("ntlm_auth: broken helper: %s%s", arg, h.proc.stderrSuffix())
	}
	return code, arg, nil
}

func (h *ntlmAuth) token(code, arg string, want ...string) ([]byte, error) {
	for _, w := range want {
		if code == w {
			b, err := base64.StdEncoding.DecodeString(arg)
			if err != nil {
				return nil, fmt.Errorf("ntlm_auth: bad base64 after %s: %w", code, err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("ntlm_auth: answered %q %q, want %v", code, arg, want)
}

// sessionKey asks GK: the exported session key once authentication is done.
func (h *ntlmAuth) sessionKey() ([]byte, error) {
	code, arg, err := h.exchange("GK", nil)
	if err != nil {
		return nil, err
	}
	return h.token(code, arg, "GK")
}

// flags asks GF: the negotiated NTLM flags.
func (h *ntlmAuth) flags() (uint32, error) {
	code, arg, err := h.exchange("GF", nil)
	if err != nil {
		return 0, err
	}
	if code != "GF" {
		return 0, fmt.Errorf("ntlm_auth: answered %q %q to GF", code, arg)
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(arg, "0x"), 16, 32)
	return uint32(v), err
}

// NTLMAuthClient is Samba's NTLM client (ntlm_auth --helper-protocol=ntlmssp-client-1). It
// sends the 40-byte NEGOTIATE with a VERSION field and answers with NTLMv2 by default.
type NTLMAuthClient struct {
	h     *ntlmAuth
	state int // 0: nothing sent, 1: NEGOTIATE sent, 2: AUTHENTICATE sent
}

// StartNTLMAuthClient starts the client helper; tb's Cleanup stops it. It skips (or fails
// under SSPI_INTEROP=require) without the winbind package.
func StartNTLMAuthClient(tb testing.TB, opts NTLMAuthOptions) *NTLMAuthClient {
	tb.Helper()
	extra := []string{"--username=" + opts.User, "--domain=" + opts.Domain, "--password=" + opts.Password}
	if opts.Workstation != "" {
		extra = append(extra, "--workstation="+opts.Workstation)
	}
	return &NTLMAuthClient{h: startNTLMAuth(tb, "ntlmssp-client-1", opts, extra...)}
}

// Negotiate returns the client's NEGOTIATE message (YR).
func (c *NTLMAuthClient) Negotiate() ([]byte, error) {
	code, arg, err := c.h.exchange("YR", nil)
	if err != nil {
		return nil, err
	}
	c.state = 1
	return c.h.token(code, arg, "YR")
}

// Authenticate answers a CHALLENGE with the AUTHENTICATE message (TT → AF).
func (c *NTLMAuthClient) Authenticate(challenge []byte) ([]byte, error) {
	code, arg, err := c.h.exchange("TT", challenge)
	if err != nil {
		return nil, err
	}
	c.state = 2
	return c.h.token(code, arg, "AF", "KK")
}

// Step makes the client a Stepper: nil → NEGOTIATE, CHALLENGE → AUTHENTICATE (done).
func (c *NTLMAuthClient) Step(in []byte) ([]byte, bool, error) {
	switch c.state {
	case 0:
		out, err := c.Negotiate()
		return out, false, err
	case 1:
		out, err := c.Authenticate(in)
		return out, err == nil, err
	default:
		return nil, true, fmt.Errorf("ntlm_auth client: no step after AUTHENTICATE")
	}
}

// SessionKey returns the exported session key (GK).
func (c *NTLMAuthClient) SessionKey() ([]byte, error) { return c.h.sessionKey() }

// Flags returns the negotiated NTLM flags (GF).
func (c *NTLMAuthClient) Flags() (uint32, error) { return c.h.flags() }

// Close stops the helper.
func (c *NTLMAuthClient) Close() error { return c.h.proc.close() }

// NTLMAuthServer is Samba's NTLM acceptor (ntlm_auth --helper-protocol=squid-2.5-ntlmssp
// --password=...), which needs no winbindd. It takes both the 32-byte and the 40-byte
// NEGOTIATE.
type NTLMAuthServer struct {
	h     *ntlmAuth
	state int // 0: waiting for NEGOTIATE, 1: waiting for AUTHENTICATE, 2: done
	user  string
}

// StartNTLMAuthServer starts the acceptor helper, accepting opts.Password for any user; tb's
// Cleanup stops it.
func StartNTLMAuthServer(tb testing.TB, opts NTLMAuthOptions) *NTLMAuthServer {
	tb.Helper()
	if opts.Password == "" {
		tb.Fatal("testpeers: NTLMAuthServer needs the password it accepts")
	}
	return &NTLMAuthServer{h: startNTLMAuth(tb, "squid-2.5-ntlmssp", opts, "--password="+opts.Password)}
}

// Challenge answers a NEGOTIATE with a CHALLENGE (YR → TT).
func (s *NTLMAuthServer) Challenge(negotiate []byte) ([]byte, error) {
	code, arg, err := s.h.exchange("YR", negotiate)
	if err != nil {
		return nil, err
	}
	s.state = 1
	return s.h.token(code, arg, "TT")
}

// Authenticate checks an AUTHENTICATE (KK) and returns the authenticated "DOMAIN\user"; a
// refusal is a *NTLMAuthRejected.
func (s *NTLMAuthServer) Authenticate(authenticate []byte) (string, error) {
	code, arg, err := s.h.exchange("KK", authenticate)
	if err != nil {
		return "", err
	}
	s.state = 2
	switch code {
	case "AF":
		s.user = arg
		return arg, nil
	case "NA":
		return "", &NTLMAuthRejected{Reason: arg}
	}
	return "", fmt.Errorf("ntlm_auth: answered %q %q to KK", code, arg)
}

// Step makes the acceptor a Stepper: NEGOTIATE → CHALLENGE, AUTHENTICATE → done (no token).
func (s *NTLMAuthServer) Step(in []byte) ([]byte, bool, error) {
	switch s.state {
	case 0:
		out, err := s.Challenge(in)
		return out, false, err
	case 1:
		_, err := s.Authenticate(in)
		return nil, err == nil, err
	default:
		return nil, true, fmt.Errorf("ntlm_auth server: no step after AUTHENTICATE")
	}
}

// User returns the "DOMAIN\user" of the last successful Authenticate.
func (s *NTLMAuthServer) User() string { return s.user }

// SessionKey returns the exported session key (GK); ntlm_auth answers "BH No session key"
// after a refusal, which comes back as an error.
func (s *NTLMAuthServer) SessionKey() ([]byte, error) { return s.h.sessionKey() }

// Flags returns the negotiated NTLM flags (GF).
func (s *NTLMAuthServer) Flags() (uint32, error) { return s.h.flags() }

// Close stops the helper.
func (s *NTLMAuthServer) Close() error { return s.h.proc.close() }
