package testpeers

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

//go:embed py/impacket_ntlm.py
var impacketNTLMPy []byte

// ImpacketNTLMOptions configures Impacket's NTLM client code (impacket.ntlm, python3-impacket
// 0.10.0). Impacket is an independent implementation: it shares no code with gosspi, Samba or
// gss-ntlmssp, which is what makes it useful as a second opinion.
type ImpacketNTLMOptions struct {
	User, Domain, Password string
	// NTHash, 16 bytes, replaces Password (pass-the-hash, as Impacket allows).
	NTHash []byte
	// Workstation goes into the AUTHENTICATE (Impacket never puts it in the NEGOTIATE).
	Workstation string
	// Flags replaces Impacket's NEGOTIATE flags; zero keeps its own choice (KEY_EXCH, SIGN,
	// SEAL, 128, 56, NTLM, UNICODE, REQUEST_TARGET, EXTENDED_SESSIONSECURITY, TARGET_INFO).
	Flags uint32
	// Version sets NTLMSSP_NEGOTIATE_VERSION with a VERSION field: a 40-byte NEGOTIATE, which
	// gss-ntlmssp needs (it rejects the 32-byte one Impacket sends by default).
	Version bool
	// KeepVersionBug leaves Impacket 0.10.0's broken AUTHENTICATE as it is when VERSION is
	// negotiated (offsets reserving room for VERSION and MIC fields it never writes). Without
	// it the script fills both fields, which makes the message well-formed.
	KeepVersionBug bool
	// NTLMv1 makes Impacket answer with NTLMv1 (use_ntlmv2=False).
	NTLMv1 bool
	// Timeout bounds each call; zero means DefaultTimeout.
	Timeout time.Duration
}

// ImpacketAuthenticateResult is what Impacket produced for one CHALLENGE.
type ImpacketAuthenticateResult struct {
	// Negotiate is the NEGOTIATE the AUTHENTICATE belongs to (byte-identical to
	// ImpacketNegotiate's for the same options).
	Negotiate []byte `json:"negotiate"`
	// Authenticate is the AUTHENTICATE message.
	Authenticate []byte `json:"authenticate"`
	// ExportedSessionKey is the session key Impacket chose (random with KEY_EXCH).
	ExportedSessionKey []byte `json:"exported_session_key"`
}

// ImpacketVerifyInput holds one NTLM exchange to verify independently.
type ImpacketVerifyInput struct {
	// Negotiate is needed only to check a MIC.
	Negotiate, Challenge, Authenticate []byte
	// Password (or NTHash) is the account's secret.
	Password string
	NTHash   []byte
	// User and Domain override the names in the AUTHENTICATE (NTOWFv2 upper-cases the user,
	// not the domain); empty takes them from the message.
	User, Domain string
	Timeout      time.Duration
}

// ImpacketVerifyResult is Impacket's independent reading of an AUTHENTICATE.
type ImpacketVerifyResult struct {
	User        string `json:"user"`
	Domain      string `json:"domain"`
	Workstation string `json:"workstation"`
	Flags       uint32 `json:"flags"`
	// NTLMv2 is false for a 24-byte (NTLMv1) NT response; nothing else is checked then.
	NTLMv2 bool `json:"ntlmv2"`
	// NTProofOK: the NTProofStr recomputed from the password matches.
	NTProofOK bool `json:"nt_proof_ok"`
	// LMv2OK is nil when the LMv2 response is all zeros (allowed alongside a timestamp).
	LMv2OK             *bool  `json:"lmv2_ok"`
	SessionBaseKey     []byte `json:"session_base_key"`
	KeyExchangeKey     []byte `json:"key_exchange_key"`
	ExportedSessionKey []byte `json:"exported_session_key"`
	// MICPresent follows MsvAvFlags bit 0x2 in the client's AV pairs; MICOK is nil without it.
	MICPresent bool  `json:"mic_present"`
	MICOK      *bool `json:"mic_ok"`
	// AVPairs are the client's AV pairs from the NTLMv2 blob, keyed by MsvAvId.
	AVPairs map[string][]byte `json:"av_pairs"`
	// ChannelBindings is MsvAvChannelBindings (16 bytes, MD5 of the bindings), nil if absent.
	ChannelBindings []byte `json:"channel_bindings"`
	// TargetName is MsvAvTargetName ("host/localhost", "cifs/SERVER"...), empty if absent.
	TargetName *string `json:"target_name"`
}

// AVPair returns the client's AV pair id, or nil.
func (r *ImpacketVerifyResult) AVPair(id int) []byte { return r.AVPairs[strconv.Itoa(id)] }

// runImpacket runs one request through impacket_ntlm.py and decodes the answer into out.
func runImpacket(tb testing.TB, req map[string]any, timeout time.Duration, out any) error {
	tb.Helper()
	py := RequireImpacket(tb)
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dir := tb.TempDir()
	script, err := writeTemp(dir, "impacket_ntlm.py", impacketNTLMPy, 0o600)
	if err != nil {
		return err
	}
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	env, err := privateEnv(dir, nil)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, py, script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("%w: impacket_ntlm.py after %v", errTimeout, timeout)
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &status); err != nil {
		return fmt.Errorf("testpeers: impacket_ntlm.py: %v (%v); stderr: %s", err, runErr, stderr.String())
	}
	if !status.OK {
		return fmt.Errorf("testpeers: impacket: %s; stderr: %s", status.Error, stderr.String())
	}
	return json.Unmarshal(stdout.Bytes(), out)
}

func (o ImpacketNTLMOptions) request(op string) map[string]any {
	req := map[string]any{
		"op": op, "workstation": o.Workstation, "domain": o.Domain, "user": o.User,
		"password": o.Password, "version": o.Version, "ntlmv1": o.NTLMv1,
		"keep_version_bug": o.KeepVersionBug,
	}
	if o.Flags != 0 {
		req["flags"] = o.Flags
	}
	if o.NTHash != nil {
		req["nthash"] = hex.EncodeToString(o.NTHash)
	}
	return req
}

// ImpacketNegotiate returns Impacket's NEGOTIATE message for opts (getNTLMSSPType1). Without
// Version it is the 32-byte form.
func ImpacketNegotiate(tb testing.TB, opts ImpacketNTLMOptions) ([]byte, error) {
	tb.Helper()
	var r struct {
		Negotiate []byte `json:"negotiate"`
	}
	if err := runImpacket(tb, opts.request("negotiate"), opts.Timeout, &r); err != nil {
		return nil, err
	}
	return r.Negotiate, nil
}

// ImpacketAuthenticate answers challenge with Impacket's AUTHENTICATE (getNTLMSSPType3), for
// the NEGOTIATE that ImpacketNegotiate gives for the same opts.
func ImpacketAuthenticate(tb testing.TB, opts ImpacketNTLMOptions, challenge []byte) (ImpacketAuthenticateResult, error) {
	tb.Helper()
	req := opts.request("authenticate")
	req["challenge"] = challenge
	var r ImpacketAuthenticateResult
	err := runImpacket(tb, req, opts.Timeout, &r)
	return r, err
}

// ImpacketVerifyNTLMv2 checks an NTLMv2 AUTHENTICATE with Impacket's primitives, independently
// of whoever produced it: NTProofStr, LMv2, the session keys and, when claimed, the MIC.
func ImpacketVerifyNTLMv2(tb testing.TB, in ImpacketVerifyInput) (ImpacketVerifyResult, error) {
	tb.Helper()
	if in.Challenge == nil || in.Authenticate == nil {
		return ImpacketVerifyResult{}, errors.New("testpeers: ImpacketVerifyNTLMv2 needs the CHALLENGE and AUTHENTICATE")
	}
	req := map[string]any{
		"op": "verify", "challenge": in.Challenge, "authenticate": in.Authenticate,
		"password": in.Password,
	}
	if in.Negotiate != nil {
		req["negotiate"] = in.Negotiate
	}
	if in.NTHash != nil {
		req["nthash"] = hex.EncodeToString(in.NTHash)
	}
	if in.User != "" {
		req["user"] = in.User
	}
	if in.Domain != "" {
		req["domain"] = in.Domain
	}
	var r ImpacketVerifyResult
	err := runImpacket(tb, req, in.Timeout, &r)
	return r, err
}

// ImpacketClient adapts Impacket to Stepper: nil → NEGOTIATE, CHALLENGE → AUTHENTICATE (done).
// Each step is a separate Impacket run; Result holds the last AUTHENTICATE's details.
type ImpacketClient struct {
	TB     testing.TB
	Opts   ImpacketNTLMOptions
	Result ImpacketAuthenticateResult
	state  int
}

// Step implements Stepper.
func (c *ImpacketClient) Step(in []byte) ([]byte, bool, error) {
	switch c.state {
	case 0:
		c.state = 1
		out, err := ImpacketNegotiate(c.TB, c.Opts)
		return out, false, err
	case 1:
		c.state = 2
		r, err := ImpacketAuthenticate(c.TB, c.Opts, in)
		c.Result = r
		return r.Authenticate, err == nil, err
	}
	return nil, true, errors.New("testpeers: impacket client: no step after AUTHENTICATE")
}
