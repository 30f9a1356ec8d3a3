package testpeers

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

//go:embed py/gss_driver.py
var gssDriverPy []byte

// Role says which side of a handshake a peer plays.
type Role int

// The two roles of a GSS-API context.
const (
	Initiator Role = iota + 1 // gss_init_sec_context: the client
	Acceptor                  // gss_accept_sec_context: the server
)

// GSSPeerOptions configures a GSSPeer. The zero value (plus a Role) is an NTLM peer through
// gss-ntlmssp targeting host@localhost.
type GSSPeerOptions struct {
	// Role is Initiator or Acceptor; there is no default.
	Role Role
	// Mech is the mechanism OID, dotted: MechNTLM (the default), MechSPNEGO, MechKerberos.
	Mech string
	// Target is the initiator's target name, host-based ("host@localhost") unless TargetType
	// says otherwise. Default "host@localhost"; gss-ntlmssp sends it as MsvAvTargetName
	// "host/localhost".
	Target string
	// TargetType is "hostbased" (default), "user" or "principal" (a Kerberos principal name).
	TargetType string
	// User is the initiator's name: "DOMAIN\user" (or "user@DOMAIN") for gss-ntlmssp,
	// "user@REALM" for Kerberos. With Password it names the credentials made from the
	// password; without, the default credentials for that name.
	User string
	// UserType is the name type of User: "user" (GSS_C_NT_USER_NAME, default) or "principal".
	UserType string
	// Password, when not empty, makes the initiator's credentials with
	// gss_acquire_cred_with_password, so that this process needs no NTLM_USER_FILE or ccache.
	// Empty means default credentials: for gss-ntlmssp NTLM.User (NTLMUSER) looked up in the
	// users file, for Kerberos the ccache in KRB5CCNAME (pass it in Env).
	Password string
	// AcceptorName restricts the acceptor's credentials to one host-based service name (for
	// Kerberos, the keytab entry). Empty accepts for any name (GSS_C_NO_NAME).
	AcceptorName string
	// Flags are the GSS request flags (GSSMutualFlag|GSSIntegFlag|...) of the initiator.
	Flags uint32
	// NegMechs narrows SPNEGO's offer with gss_set_neg_mechs, as gss-client -spnego -mech
	// does. Empty lets MIT's SPNEGO offer every mechanism it can get credentials for (with a
	// "DOMAIN\user" name and a password, and no KDC configured, that came out as NTLM alone).
	NegMechs []string
	// ChannelBindings is the application_data of the gss_channel_bindings_struct (for TLS,
	// "tls-server-end-point:" followed by the certificate hash, RFC 5929); the address fields
	// stay empty, as SSPI and every HTTP stack leave them. Nil means no channel bindings.
	// gss-ntlmssp 1.2's acceptor refuses mismatched bindings (GSSDefectiveToken, minor EACCES)
	// but accepts when only one side has any.
	ChannelBindings []byte
	// RequestMIC makes a gss-ntlmssp initiator put a MIC in its AUTHENTICATE (with MsvAvFlags
	// 0x2), by inquiring GSS_SPNEGO_REQUIRE_MIC (1.3.6.1.4.1.7165.655.1.2) after the first
	// step, as MIT's SPNEGO does. Plain NTLM through gss-ntlmssp sends no MIC otherwise.
	RequestMIC bool
	// NTLM is gss-ntlmssp's environment for this peer's process.
	NTLM NTLMEnv
	// Env holds extra KEY=VALUE entries; they override the defaults (KRB5_CONFIG, KRB5CCNAME,
	// KRB5_KTNAME point at private files) and NTLM.
	Env []string
	// Timeout bounds every operation; zero means DefaultTimeout.
	Timeout time.Duration
}

// GSSError is a failure reported by the peer's GSS-API call, with its status codes.
type GSSError struct {
	// Major is the GSS major status (compare RoutineError(Major) with GSSBadSig...); Minor is
	// the mechanism's code (gss-ntlmssp: errno values or its own ERR_* codes).
	Major, Minor uint32
	// Message is gss_display_status's text for both codes.
	Message string
}

// Error formats the peer's gss_display_status text with both codes.
func (e *GSSError) Error() string {
	return fmt.Sprintf("gss peer: %s (major 0x%08x, minor %d)", e.Message, e.Major, e.Minor)
}

// GSS major status codes that tests compare GSSError.Major against (RFC 2744, routine errors
// are shifted left by 16).
const (
	GSSBadMech             = 1 << 16
	GSSBadName             = 2 << 16
	GSSBadBindings         = 4 << 16
	GSSBadSig              = 6 << 16
	GSSNoCred              = 7 << 16
	GSSNoContext           = 8 << 16
	GSSDefectiveToken      = 9 << 16
	GSSDefectiveCredential = 10 << 16
	GSSFailure             = 13 << 16
)

// RoutineError returns the routine-error part of a major status (what GSS_ROUTINE_ERROR does).
func RoutineError(major uint32) uint32 { return major & 0x00ff0000 }

// GSSContextInfo is what the peer reports about its context (gss_inquire_context plus the
// session key through GSS_C_INQ_SSPI_SESSION_KEY).
type GSSContextInfo struct {
	// Established is true once the handshake is complete on this side.
	Established bool `json:"established"`
	// PeerName is the other side's name: the authenticated initiator on an acceptor
	// ("TESTDOM\alice" for gss-ntlmssp), the target on an initiator.
	PeerName string `json:"peer_name"`
	// LocalName is this side's name: the initiator's own name, or the acceptor's
	// AcceptorName (the driver does not inquire an acceptor's target name, which crashes
	// python3-gssapi with gss-ntlmssp).
	LocalName string `json:"local_name"`
	// Mech is the mechanism actually in use (dotted OID), NTLM under SPNEGO for example.
	Mech string `json:"mech"`
	// Flags are the GSS return flags (GSSConfFlag|GSSIntegFlag|...).
	Flags uint32 `json:"flags"`
	// Lifetime is the context's remaining lifetime in seconds, nil when unknown
	// (gss-ntlmssp reports 36 hours).
	Lifetime *int `json:"lifetime"`
	// SessionKey is the mechanism's session key (NTLM: ExportedSessionKey), nil when the
	// mechanism does not give it out.
	SessionKey []byte `json:"session_key"`
}

// GSSPeer is a real GSS-API initiator or acceptor in a child process (Debian's python3 with
// python3-gssapi on MIT krb5, with gss-ntlmssp for NTLM), driven one token at a time. Use it
// from one goroutine; every call has the options' time-out.
type GSSPeer struct {
	opts GSSPeerOptions
	proc *lineProc
	done bool
}

// driverRequest is one command line to gss_driver.py; []byte fields travel as base64.
type driverRequest struct {
	Op    string `json:"op"`
	Token []byte `json:"token,omitempty"`
	Data  []byte `json:"data"` // never omitted: an empty message is still a message
	MIC   []byte `json:"mic"`
	Conf  bool   `json:"conf,omitempty"`
	// Hdr and Trl are the SIGN_ONLY buffers around the data of wrap_iov and unwrap_iov.
	Hdr []byte `json:"hdr,omitempty"`
	Trl []byte `json:"trl,omitempty"`
}

type driverReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	Token []byte `json:"token"`
	Done  bool   `json:"done"`
	Data  []byte `json:"data"`
	Conf  bool   `json:"conf"`
	QOP   int    `json:"qop"`
}

// NewGSSPeer starts a peer and acquires its credentials. It skips the test (or fails it under
// SSPI_INTEROP=require) when python3-gssapi or the mechanism's package is missing, and fails
// the test when the peer cannot get credentials. The peer is closed by tb's Cleanup.
func NewGSSPeer(tb testing.TB, opts GSSPeerOptions) *GSSPeer {
	tb.Helper()
	p, err := StartGSSPeer(tb, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// StartGSSPeer is NewGSSPeer returning the credential error instead of failing the test, for
// tests that expect acquisition to fail. Missing packages still skip (or fail under require).
func StartGSSPeer(tb testing.TB, opts GSSPeerOptions) (*GSSPeer, error) {
	tb.Helper()
	py := RequireGSSPython(tb)
	if opts.Mech == "" {
		opts.Mech = MechNTLM
	}
	if opts.Mech == MechNTLM || contains(opts.NegMechs, MechNTLM) {
		RequireGSSNTLMSSP(tb)
	}
	if opts.Target == "" {
		opts.Target = "host@localhost"
	}
	if opts.Role != Initiator && opts.Role != Acceptor {
		tb.Fatalf("testpeers: GSSPeerOptions.Role must be Initiator or Acceptor")
	}
	dir := tb.TempDir()
	script, err := writeTemp(dir, "gss_driver.py", gssDriverPy, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(py, "-u", script)
	cmd.Dir = dir
	cmd.Env = peerEnv(tb, dir, opts.NTLM, opts.Env)
	role := "initiate"
	if opts.Role == Acceptor {
		role = "accept"
	}
	cfg := map[string]any{
		"role": role, "mech": opts.Mech, "target": opts.Target, "target_type": opts.TargetType,
		"user": opts.User, "user_type": opts.UserType, "flags": opts.Flags,
		"neg_mechs": opts.NegMechs, "acceptor_name": opts.AcceptorName,
		"request_mic": opts.RequestMIC,
	}
	if opts.Password != "" {
		cfg["password"] = opts.Password
	}
	if opts.ChannelBindings != nil {
		cfg["cb_app_data"] = opts.ChannelBindings
	}
	line, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	proc, err := startLineProc("gss_driver.py ("+role+")", cmd, opts.Timeout)
	if err != nil {
		tb.Fatal(err)
	}
	p := &GSSPeer{opts: opts, proc: proc}
	tb.Cleanup(func() { _ = p.Close() })
	if _, err := p.call(string(line)); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// call sends one line and decodes the reply, turning {"ok": false} into a *GSSError.
func (p *GSSPeer) call(line string) (*driverReply, error) {
	out, err := p.proc.exchange(line)
	if err != nil {
		return nil, err
	}
	var r driverReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("testpeers: bad line from gss driver %q: %w", out, err)
	}
	if !r.OK {
		return nil, &GSSError{Major: r.Major, Minor: r.Minor, Message: r.Error}
	}
	return &r, nil
}

func (p *GSSPeer) do(req driverRequest) (*driverReply, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return p.call(string(b))
}

// Step feeds the other side's token (nil for an initiator's first call) to
// gss_init_sec_context or gss_accept_sec_context and returns the token to send back (nil when
// there is none) and whether the context is now established. A GSS failure is a *GSSError.
func (p *GSSPeer) Step(in []byte) (out []byte, done bool, err error) {
	r, err := p.do(driverRequest{Op: "step", Token: in})
	if err != nil {
		return nil, false, err
	}
	p.done = r.Done
	return r.Token, r.Done, nil
}

// Established reports whether the last Step completed the context.
func (p *GSSPeer) Established() bool { return p.done }

// Wrap protects msg with gss_wrap, with confidentiality when conf is set, and reports whether
// confidentiality was really applied.
func (p *GSSPeer) Wrap(msg []byte, conf bool) (token []byte, confApplied bool, err error) {
	r, err := p.do(driverRequest{Op: "wrap", Data: nonNil(msg), Conf: conf})
	if err != nil {
		return nil, false, err
	}
	return r.Data, r.Conf, nil
}

// Unwrap undoes the other side's wrap token with gss_unwrap and reports whether it was
// encrypted.
func (p *GSSPeer) Unwrap(token []byte) (msg []byte, encrypted bool, err error) {
	r, err := p.do(driverRequest{Op: "unwrap", Data: nonNil(token)})
	if err != nil {
		return nil, false, err
	}
	return nonNil(r.Data), r.Conf, nil
}

// UnwrapIOV undoes a Wrap token split as SSPI's EncryptMessage splits it (header and
// trailer in header, the sealed data in data) with gss_unwrap_iov, and reports whether it
// was encrypted. hdr and trl, when not nil, are SIGN_ONLY buffers before and after the
// data (DCE/RPC's PDU header and security trailer). It is how DCE/RPC peers read
// Windows' DCE-style layout, which MIT's plain gss_unwrap refuses.
func (p *GSSPeer) UnwrapIOV(header, hdr, data, trl []byte) (msg []byte, encrypted bool, err error) {
	r, err := p.do(driverRequest{Op: "unwrap_iov", Token: nonNil(header), Hdr: hdr, Trl: trl, Data: nonNil(data)})
	if err != nil {
		return nil, false, err
	}
	return nonNil(r.Data), r.Conf, nil
}

// WrapIOV seals data with gss_wrap_iov into a HEADER buffer (which takes the trailer
// too) and the data in place, with hdr and trl as SIGN_ONLY buffers when not nil.
func (p *GSSPeer) WrapIOV(hdr, data, trl []byte, conf bool) (header, sealed []byte, err error) {
	r, err := p.do(driverRequest{Op: "wrap_iov", Hdr: hdr, Trl: trl, Data: nonNil(data), Conf: conf})
	if err != nil {
		return nil, nil, err
	}
	return r.Token, nonNil(r.Data), nil
}

// GetMIC returns gss_get_mic's signature over msg.
func (p *GSSPeer) GetMIC(msg []byte) ([]byte, error) {
	r, err := p.do(driverRequest{Op: "get_mic", Data: nonNil(msg)})
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// VerifyMIC checks the other side's signature over msg with gss_verify_mic; a bad signature is
// a *GSSError (GSSBadSig for NTLM and Kerberos).
func (p *GSSPeer) VerifyMIC(msg, mic []byte) error {
	_, err := p.do(driverRequest{Op: "verify_mic", Data: nonNil(msg), MIC: nonNil(mic)})
	return err
}

// Info reports the peer's view of the context.
func (p *GSSPeer) Info() (GSSContextInfo, error) {
	var info GSSContextInfo
	out, err := p.proc.exchange(`{"op":"info"}`)
	if err != nil {
		return info, err
	}
	var r driverReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return info, fmt.Errorf("testpeers: bad line from gss driver %q: %w", out, err)
	}
	if !r.OK {
		return info, &GSSError{Major: r.Major, Minor: r.Minor, Message: r.Error}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return info, fmt.Errorf("testpeers: bad info from gss driver %q: %w", out, err)
	}
	return info, nil
}

// PeerName returns the other side's name as the peer sees it: on an acceptor, the
// authenticated initiator ("TESTDOM\alice").
func (p *GSSPeer) PeerName() (string, error) {
	info, err := p.Info()
	if err != nil {
		return "", err
	}
	if !info.Established {
		return "", errors.New("testpeers: context not established")
	}
	return info.PeerName, nil
}

// Stderr returns the last 16 KiB the peer wrote to stderr (Python tracebacks, library noise).
func (p *GSSPeer) Stderr() string { return p.proc.stderr.String() }

// Close ends the peer: it closes the driver's stdin (the driver exits at end of input) and
// kills its process group if it has not exited within five seconds. Idempotent.
func (p *GSSPeer) Close() error {
	return p.proc.close()
}

// nonNil turns nil into an empty slice: encoding/json writes nil as null, and the driver takes
// null to mean "no token", which is not the same as an empty message.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Stepper is one side of a token exchange: a GSSPeer, an NTLMAuthClient or NTLMAuthServer, or
// an adapter around gosspi's own contexts.
type Stepper interface {
	Step(in []byte) (out []byte, done bool, err error)
}

// Handshake runs the token exchange between an initiator and an acceptor until both are done,
// at most maxLegs tokens (0 means 10). The initiator starts with a nil token. It returns the
// tokens in the order they were sent, for tests that inspect or replay them.
func Handshake(initiator, acceptor Stepper, maxLegs int) ([][]byte, error) {
	if maxLegs <= 0 {
		maxLegs = 10
	}
	var tokens [][]byte
	var in []byte
	sides := [2]Stepper{initiator, acceptor}
	names := [2]string{"initiator", "acceptor"}
	var done [2]bool
	for i := 0; ; i++ {
		s := i % 2
		out, d, err := sides[s].Step(in)
		if err != nil {
			return tokens, fmt.Errorf("testpeers: %s step %d: %w", names[s], i/2+1, err)
		}
		done[s] = d
		if len(out) == 0 {
			if !done[s] {
				return tokens, fmt.Errorf("testpeers: %s produced no token but is not done", names[s])
			}
			if !done[1-s] {
				return tokens, fmt.Errorf("testpeers: %s is done without a token for the %s, which is not", names[s], names[1-s])
			}
			return tokens, nil
		}
		tokens = append(tokens, out)
		if len(tokens) > maxLegs {
			return tokens, fmt.Errorf("testpeers: handshake did not finish in %d tokens", maxLegs)
		}
		in = out
		if done[0] && done[1] {
			return tokens, fmt.Errorf("testpeers: %s sent a token after both sides were done", names[s])
		}
	}
}
