// Package winbind verifies NTLM logons for an ntlm server through Samba's winbind, on a
// host joined to a domain (or on a Samba domain controller itself), the way FreeRADIUS
// and pppd do: the challenge and the client's responses go to
// `ntlm_auth --helper-protocol=ntlm-server-1`, winbindd passes them to a domain
// controller over its own Netlogon secure channel, and the answer comes back with the
// user session key.
//
//	v, err := winbind.New(winbind.Config{ConfigFile: "/etc/samba/smb.conf"})
//	...
//	cfg := &ntlm.ServerConfig{Verifier: v, NetBIOSDomain: "SAMDOM"}
//
// By default a small pool of long-running helpers serves the logons, one logon per
// helper at a time; Config.OneShot runs one ntlm_auth per logon instead, which costs a
// process start each (see the benchmark in the domaininterop tests for the figures) and
// puts the user name and responses on a command line other local users can read, and
// whose refusals ntlm_auth reports with an unknown user and a wrong password alike as
// STATUS_LOGON_FAILURE.
//
// The helper protocol gives no groups. With Config.LookupGroups the verifier asks winbind
// for the user's SID and group SIDs with wbinfo after a successful logon, at the cost of
// two more processes.
//
// ntlm_auth must be allowed to use winbindd's privileged pipe: run as root or as a member
// of the group that owns winbindd_privileged (often "winbindd_priv").
package winbind

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gosspi/sspi/ntlm"
)

// Config configures a Verifier. Its zero value runs ntlm_auth from PATH with Samba's
// default smb.conf and two helpers.
type Config struct {
	// NTLMAuth is the ntlm_auth program; empty means "ntlm_auth" on PATH.
	NTLMAuth string
	// ConfigFile is the smb.conf ntlm_auth reads (--configfile); empty means Samba's
	// default.
	ConfigFile string
	// RequireMembershipOf refuses users who are not members of this group (a SID or
	// DOMAIN\group), as ntlm_auth's --require-membership-of does.
	RequireMembershipOf string
	// Helpers is the number of long-running helpers, each serving one logon at a time;
	// zero means 2.
	Helpers int
	// OneShot runs one ntlm_auth per logon with the request on its command line instead
	// of keeping helpers.
	OneShot bool
	// Timeout bounds one logon, including waiting for a free helper; zero means 30s.
	Timeout time.Duration
	// LookupGroups asks winbind (wbinfo) for the user's SID and groups after a
	// successful logon.
	LookupGroups bool
	// WBInfo is the wbinfo program; empty means "wbinfo" on PATH.
	WBInfo string
	// Env is the helpers' environment; nil means this process's.
	Env []string
	// Domain and Computer are the host's Samba workgroup and netbios name. On a member
	// server winbindd passes logons to a DC over its own secure channel, and the DC
	// accepts only NTLMv2 responses made for a CHALLENGE naming that machine account:
	// set them, and the ntlm server's CHALLENGE carries them (ntlm.TargetNamer). On a
	// DC itself, winbindd checks logons locally and any names do.
	Domain, Computer string
}

// Verifier is an ntlm.Verifier backed by winbind. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	idle chan *helper  // helpers free to take a logon
	slot chan struct{} // one token per helper that may be started
	mu   sync.Mutex
	all  map[*helper]struct{}
	shut bool
}

// New checks that ntlm_auth exists and returns a Verifier. Helpers start on first use.
func New(cfg Config) (*Verifier, error) {
	if cfg.NTLMAuth == "" {
		cfg.NTLMAuth = "ntlm_auth"
	}
	if cfg.WBInfo == "" {
		cfg.WBInfo = "wbinfo"
	}
	if cfg.Helpers <= 0 {
		cfg.Helpers = 2
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	path, err := exec.LookPath(cfg.NTLMAuth)
	if err != nil {
		return nil, fmt.Errorf("winbind: ntlm_auth not found (install Samba's winbind package or set Config.NTLMAuth): %w", err)
	}
	cfg.NTLMAuth = path
	v := &Verifier{cfg: cfg, idle: make(chan *helper, cfg.Helpers), slot: make(chan struct{}, cfg.Helpers), all: map[*helper]struct{}{}}
	for range cfg.Helpers {
		v.slot <- struct{}{}
	}
	return v, nil
}

// TargetNames returns Config.Domain and Config.Computer.
func (v *Verifier) TargetNames() (netbiosDomain, netbiosComputer string) {
	return strings.ToUpper(v.cfg.Domain), strings.ToUpper(v.cfg.Computer)
}

// Close stops the helpers. Logons in progress fail.
func (v *Verifier) Close() error {
	v.mu.Lock()
	v.shut = true
	hs := make([]*helper, 0, len(v.all))
	for h := range v.all {
		hs = append(hs, h)
	}
	v.mu.Unlock()
	for _, h := range hs {
		h.kill()
	}
	return nil
}

// VerifyLogon passes the logon to winbind and maps its answer.
func (v *Verifier) VerifyLogon(ctx context.Context, req *ntlm.LogonRequest) (*ntlm.LogonResult, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	q := newQuery(req)
	var ans *answer
	var err error
	if v.cfg.OneShot {
		ans, err = v.oneShot(ctx, q)
	} else {
		ans, err = v.pooled(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	if ans.status != ntlm.StatusSuccess {
		return nil, &ntlm.LogonError{Status: ans.status, Reason: "winbind refused the logon", Err: errors.New("winbind: " + bounded(ans.text))}
	}
	if ans.key == ([16]byte{}) {
		return nil, errors.New("winbind: the logon succeeded but winbind returned no user session key")
	}
	domain, user := req.ResolvedName()
	res := &ntlm.LogonResult{SessionBaseKey: ans.key, Domain: domain, User: user, Authority: "winbind"}
	if v.cfg.LookupGroups {
		if err := v.lookupGroups(ctx, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// query is one ntlm-server-1 request.
type query struct {
	user, domain string
	challenge    [8]byte
	nt, lm       []byte
}

func newQuery(req *ntlm.LogonRequest) *query {
	q := &query{user: req.User, domain: req.Domain, challenge: req.ServerChallenge, nt: req.NTResponse}
	// An LM response goes along only with an NTLMv1 one: with NTLMv2 the session key
	// comes from the NT response, and the helper takes only 24-byte LM responses.
	if len(req.NTResponse) == 24 && len(req.LMResponse) == 24 {
		q.lm = req.LMResponse
	}
	return q
}

// marshal writes the request in the helper protocol (ntlm_auth(1)): names base64-encoded
// ("Name:: ...") so that a newline in a client's user name cannot inject a line.
func (q *query) marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Username:: %s\n", base64.StdEncoding.EncodeToString([]byte(q.user)))
	if q.domain != "" {
		fmt.Fprintf(&b, "NT-Domain:: %s\n", base64.StdEncoding.EncodeToString([]byte(q.domain)))
	}
	fmt.Fprintf(&b, "LANMAN-Challenge: %X\n", q.challenge[:])
	fmt.Fprintf(&b, "NT-Response: %X\n", q.nt)
	if q.lm != nil {
		fmt.Fprintf(&b, "LANMAN-Response: %X\n", q.lm)
	}
	b.WriteString("Request-User-Session-Key: Yes\n.\n")
	return b.Bytes()
}

// answer is what winbind said.
type answer struct {
	status ntlm.NTStatus
	text   string
	key    [16]byte
}

// maxLine bounds a line from a helper; the answers are a few dozen bytes.
const maxLine = 4096

// readAnswer reads one ntlm-server-1 answer: "Authenticated: Yes", perhaps
// "User-Session-Key: <hex>", then "."; or "Authenticated: No", "Authentication-Error:
// <text>", ".", and one more "." that ntlm_auth writes when it clears its state.
func readAnswer(r *bufio.Reader) (*answer, error) {
	a := &answer{status: ntlm.StatusLogonFailure}
	authenticated := ""
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "." {
			break
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("winbind: unexpected line from ntlm_auth: %q", bounded(line))
		}
		switch name {
		case "Authenticated":
			authenticated = value
		case "Authentication-Error":
			a.text = value
		case "User-Session-Key":
			k, err := hex.DecodeString(value)
			if err != nil || len(k) != 16 {
				return nil, fmt.Errorf("winbind: malformed User-Session-Key from ntlm_auth")
			}
			a.key = [16]byte(k)
			clear(k)
		case "Error":
			return nil, fmt.Errorf("winbind: ntlm_auth: %s", bounded(value))
		}
	}
	switch authenticated {
	case "Yes":
		a.status = ntlm.StatusSuccess
		return a, nil
	case "No":
		a.status = statusOfText(a.text)
		if line, err := readLine(r); err != nil || line != "." {
			return nil, fmt.Errorf("winbind: ntlm_auth did not end its refusal as expected")
		}
		return a, nil
	}
	return nil, fmt.Errorf("winbind: ntlm_auth answered without saying whether the user is authenticated")
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("winbind: over-long line from ntlm_auth")
	}
	if err != nil {
		return "", fmt.Errorf("winbind: reading from ntlm_auth: %w", err)
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// winbindErrors are winbindd's words for the codes (get_friendly_nt_error_msg), which
// is all the helper protocol reports of a refusal.
var winbindErrors = map[string]ntlm.NTStatus{
	"wrong password":                        ntlm.StatusWrongPassword,
	"no such user":                          ntlm.StatusNoSuchUser,
	"logon failure":                         ntlm.StatusLogonFailure,
	"account disabled":                      ntlm.StatusAccountDisabled,
	"account restriction":                   ntlm.StatusAccountRestriction,
	"account locked out":                    ntlm.StatusAccountLockedOut,
	"password expired":                      ntlm.StatusPasswordExpired,
	"password must change":                  ntlm.StatusPasswordMustChange,
	"must change password":                  ntlm.StatusPasswordMustChange,
	"account expired":                       ntlm.StatusAccountExpired,
	"invalid logon hours":                   ntlm.StatusInvalidLogonHours,
	"invalid workstation":                   ntlm.StatusInvalidWorkstation,
	"logon type not granted":                ntlm.StatusLogonTypeNotGranted,
	"access denied":                         ntlm.StatusAccessDenied,
	"no logon servers":                      ntlm.StatusNoLogonServers,
	"no logon servers available":            ntlm.StatusNoLogonServers,
	"the logon server is not available":     ntlm.StatusNoLogonServers,
	"trusted relationship failure":          ntlm.StatusTrustedRelationshipFailure,
	"reading winbind reply failed!":         ntlm.StatusNoLogonServers,
	"the user account has expired":          ntlm.StatusAccountExpired,
	"the user account has been disabled":    ntlm.StatusAccountDisabled,
	"the password of this user has expired": ntlm.StatusPasswordExpired,
}

// winbindMessages are telling parts of the descriptions Samba 4.17's winbindd gives
// (Windows' own message texts for the codes), tried in order.
var winbindMessages = []struct {
	text   string
	status ntlm.NTStatus
}{
	{"current password is not correct", ntlm.StatusWrongPassword},
	{"account does not exist", ntlm.StatusNoSuchUser},
	{"currently disabled", ntlm.StatusAccountDisabled},
	{"password has expired", ntlm.StatusPasswordExpired},
	{"account has expired", ntlm.StatusAccountExpired},
	{"must be changed before logging on", ntlm.StatusPasswordMustChange},
	{"automatically locked", ntlm.StatusAccountLockedOut},
	{"time restrictions", ntlm.StatusInvalidLogonHours},
	{"source workstation", ntlm.StatusInvalidWorkstation},
	{"type of logon", ntlm.StatusLogonTypeNotGranted},
	{"account restriction", ntlm.StatusAccountRestriction},
	{"logon is invalid", ntlm.StatusLogonFailure},
}

// statusOfText maps winbind's error text, an NT_STATUS_ name or one of its friendly
// messages, to a code; anything else is a plain logon failure.
func statusOfText(text string) ntlm.NTStatus {
	t := strings.TrimSpace(text)
	if i := strings.LastIndex(t, "(0x"); i >= 0 && strings.HasSuffix(t, ")") {
		if s, ok := ntlm.ParseNTStatusName(t[i+1 : len(t)-1]); ok {
			return s
		}
		t = strings.TrimSpace(t[:i])
	}
	if s, ok := ntlm.ParseNTStatusName(t); ok {
		return s
	}
	lower := strings.ToLower(t)
	if s, ok := winbindErrors[lower]; ok {
		return s
	}
	for _, m := range winbindMessages {
		if strings.Contains(lower, m.text) {
			return m.status
		}
	}
	return ntlm.StatusLogonFailure
}

func bounded(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// baseArgs are the options every ntlm_auth run gets.
func (v *Verifier) baseArgs() []string {
	var args []string
	if v.cfg.ConfigFile != "" {
		args = append(args, "--configfile="+v.cfg.ConfigFile) // ntlm_auth has no -s
	}
	if v.cfg.RequireMembershipOf != "" {
		args = append(args, "--require-membership-of="+v.cfg.RequireMembershipOf)
	}
	return args
}

func (v *Verifier) env() []string {
	if v.cfg.Env != nil {
		return v.cfg.Env
	}
	return os.Environ()
}

// oneShot runs ntlm_auth once with the logon on its command line. Its output is
// "NT_KEY: <hex>" on success and "<text> (0x<code>)" on a refusal.
func (v *Verifier) oneShot(ctx context.Context, q *query) (*answer, error) {
	args := append(v.baseArgs(), "--username="+q.user, "--challenge="+hex.EncodeToString(q.challenge[:]),
		"--nt-response="+hex.EncodeToString(q.nt), "--request-nt-key")
	if q.domain != "" {
		args = append(args, "--domain="+q.domain)
	}
	if q.lm != nil {
		args = append(args, "--lm-response="+hex.EncodeToString(q.lm))
	}
	cmd := exec.CommandContext(ctx, v.cfg.NTLMAuth, args...)
	cmd.Env = v.env()
	var out bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout = &limitedWriter{w: &out, n: maxLine}
	cmd.Stderr = stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("winbind: ntlm_auth did not answer in time: %w", ctx.Err())
	}
	text := strings.TrimSpace(out.String())
	if err == nil {
		for _, line := range strings.Split(text, "\n") {
			if k, ok := strings.CutPrefix(line, "NT_KEY: "); ok {
				b, err := hex.DecodeString(strings.TrimSpace(k))
				if err != nil || len(b) != 16 {
					return nil, errors.New("winbind: malformed NT_KEY from ntlm_auth")
				}
				return &answer{status: ntlm.StatusSuccess, key: [16]byte(b)}, nil
			}
		}
		return &answer{status: ntlm.StatusSuccess}, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("winbind: running ntlm_auth: %w", err)
	}
	// A refusal is one line, "<text> (0x<code>)"; anything else (a usage message, no
	// winbindd) is no answer about the user.
	if !oneShotRefusal.MatchString(text) {
		return nil, fmt.Errorf("winbind: ntlm_auth failed: %s", bounded(text+" "+stderr.String()))
	}
	return &answer{status: statusOfText(text), text: text}, nil
}

var oneShotRefusal = regexp.MustCompile(`^[^\n]* \(0x[0-9a-fA-F]{1,8}\)$`)

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > l.n {
		p = p[:l.n]
	}
	l.n -= len(p)
	if len(p) > 0 {
		l.w.Write(p)
	}
	return n, nil
}
