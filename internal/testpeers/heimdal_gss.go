package testpeers

import (
	"context"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

//go:embed cdriver/heimdal_gss_driver.c
var heimdalGSSDriverC []byte

// heimdalGSS is a GSS-API Kerberos context in Heimdal's libgssapi: Debian packages no
// gss-client or gss-server for Heimdal, so a small C driver (cdriver/heimdal_gss_driver.c)
// is built against the unpacked tree's headers and library and spoken to a line at a time.
type heimdalGSS struct {
	proc *lineProc
	done bool
	// Flags are the context's return flags (GSS*Flag), set once established.
	Flags uint32
	// Mech is the mechanism's OID, DER contents in hex, set once established.
	Mech string
}

// HeimdalGSSClient is Heimdal's GSS-API initiator (gss_init_sec_context). It implements
// Stepper.
type HeimdalGSSClient struct{ heimdalGSS }

// HeimdalGSSServer is Heimdal's GSS-API acceptor (gss_accept_sec_context) with the keys of a
// keytab.
type HeimdalGSSServer struct {
	heimdalGSS
	// Client is the initiator's name as Heimdal's gss_display_name shows it, set once
	// established.
	Client string
}

// BuildHeimdalGSSClient compiles the driver (both roles) with gcc against h into a
// temporary directory of tb and returns the binary's path. It skips (or fails under
// SSPI_INTEROP=require) without gcc or Heimdal's gssapi.h (heimdal-multidev, unpacked by
// scripts/install-peers).
func BuildHeimdalGSSClient(tb testing.TB, h *Heimdal) string {
	tb.Helper()
	gcc := Require(tb, "gcc", "gcc")
	inc := filepath.Join(h.Root, "usr/include/heimdal")
	Require(tb, "heimdal-multidev (unpacked)", filepath.Join(inc, "gssapi/gssapi.h"))
	dir := tb.TempDir()
	src, err := writeTemp(dir, "heimdal_gss_driver.c", heimdalGSSDriverC, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "heimdal_gss_driver")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gcc, "-O1", "-Wall", "-Werror", "-I", inc, "-o", bin, src,
		"-L", filepath.Join(h.LibDir, "heimdal"), "-Wl,-rpath-link,"+h.LibDir, "-lgssapi").CombinedOutput()
	if err != nil {
		tb.Fatalf("testpeers: compiling the Heimdal GSS client: %v\n%s", err, out)
	}
	return bin
}

// NewHeimdalGSSClient starts Heimdal's GSS initiator for target (a host-based service,
// "host@localhost") with the credentials in ccache, asking for flags (GSS*Flag), against
// k's realm; tb's Cleanup stops it.
func NewHeimdalGSSClient(tb testing.TB, k *HeimdalKDC, ccache, target string, flags uint32) *HeimdalGSSClient {
	tb.Helper()
	bin := BuildHeimdalGSSClient(tb, k.Heimdal)
	env, err := privateEnv(tb.TempDir(), append(k.Env(), "KRB5CCNAME=FILE:"+strings.TrimPrefix(ccache, "FILE:"), "LD_LIBRARY_PATH="+k.LibDir))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "init", target, strconv.FormatUint(uint64(flags), 10))
	cmd.Env = env
	p, err := startLineProc("heimdal_gss_driver", cmd, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.close() })
	return &HeimdalGSSClient{heimdalGSS{proc: p}}
}

// NewHeimdalGSSServer starts Heimdal's GSS acceptor with the keys in keytab (any service
// in it: GSS_C_NO_CREDENTIAL), against k's realm; tb's Cleanup stops it.
func NewHeimdalGSSServer(tb testing.TB, k *HeimdalKDC, keytab string) *HeimdalGSSServer {
	tb.Helper()
	bin := BuildHeimdalGSSClient(tb, k.Heimdal)
	env, err := privateEnv(tb.TempDir(), append(k.Env(), "KRB5_KTNAME=FILE:"+strings.TrimPrefix(keytab, "FILE:"), "LD_LIBRARY_PATH="+k.LibDir))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "accept")
	cmd.Env = env
	p, err := startLineProc("heimdal_gss_driver", cmd, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.close() })
	return &HeimdalGSSServer{heimdalGSS: heimdalGSS{proc: p}}
}

// Step gives the acceptor the initiator's token and returns its answer (nil when it has
// none); done is true once the context is established.
func (s *HeimdalGSSServer) Step(in []byte) (out []byte, done bool, err error) {
	line, err := s.proc.exchange("TOKEN " + hex.EncodeToString(in))
	if err != nil {
		return nil, false, err
	}
	if out, line, err = s.token(line); err != nil || line == "CONTINUE" {
		return out, false, err
	}
	f, err := s.answer(line, nil, "ESTABLISHED")
	if err != nil || len(f) < 3 {
		return out, false, fmt.Errorf("testpeers: Heimdal GSS acceptor: %q: %v", line, err)
	}
	s.established(f)
	s.Client = strings.Join(f[2:], " ")
	return out, true, nil
}

// token takes a "TOKEN" line, when line is one, and reads the line after it.
func (c *heimdalGSS) token(line string) (out []byte, next string, err error) {
	if !strings.HasPrefix(line, "TOKEN ") {
		return nil, line, nil
	}
	if out, err = hex.DecodeString(line[len("TOKEN "):]); err != nil {
		return nil, "", err
	}
	next, err = c.proc.read()
	return out, next, err
}

func (c *heimdalGSS) established(f []string) {
	fl, _ := strconv.ParseUint(f[0], 10, 32)
	c.Flags, c.Mech, c.done = uint32(fl), f[1], true
}

// answer reads a line and checks it starts with want; an ERROR line becomes the error.
func (c *heimdalGSS) answer(line string, err error, want string) ([]string, error) {
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != want {
		return nil, fmt.Errorf("testpeers: Heimdal GSS client: %s", line)
	}
	return f[1:], nil
}

// Step gives the client the acceptor's last token (nil at first) and returns its next
// one; done is true once the context is established.
func (c *HeimdalGSSClient) Step(in []byte) (out []byte, done bool, err error) {
	var line string
	if in == nil {
		line, err = c.proc.read()
	} else {
		line, err = c.proc.exchange("TOKEN " + hex.EncodeToString(in))
	}
	if err != nil {
		return nil, false, err
	}
	if out, line, err = c.token(line); err != nil || line == "CONTINUE" {
		return out, false, err
	}
	f, err := c.answer(line, nil, "ESTABLISHED")
	if err != nil || len(f) != 2 {
		return out, false, fmt.Errorf("testpeers: Heimdal GSS client: %q: %v", line, err)
	}
	c.established(f)
	return out, true, nil
}

// Established reports whether the context is complete.
func (c *heimdalGSS) Established() bool { return c.done }

func (c *heimdalGSS) call(req, want string) ([]string, error) {
	line, err := c.proc.exchange(req)
	return c.answer(line, err, want)
}

// Wrap seals msg (gss_wrap with confidentiality).
func (c *heimdalGSS) Wrap(msg []byte) ([]byte, error) {
	f, err := c.call("WRAP "+hex.EncodeToString(msg), "WRAPPED")
	if err != nil || len(f) != 1 {
		return nil, fmt.Errorf("testpeers: Heimdal gss_wrap: %v %q", err, f)
	}
	return hex.DecodeString(f[0])
}

// Unwrap opens a token (gss_unwrap) and reports whether it was sealed.
func (c *heimdalGSS) Unwrap(tok []byte) (msg []byte, sealed bool, err error) {
	f, err := c.call("UNWRAP "+hex.EncodeToString(tok), "UNWRAPPED")
	if err != nil || len(f) < 1 {
		return nil, false, fmt.Errorf("testpeers: Heimdal gss_unwrap: %v %q", err, f)
	}
	if len(f) == 2 {
		msg, err = hex.DecodeString(f[1])
	}
	return msg, f[0] == "1", err
}

// GetMIC signs msg (gss_get_mic).
func (c *heimdalGSS) GetMIC(msg []byte) ([]byte, error) {
	f, err := c.call("MIC "+hex.EncodeToString(msg), "MIC")
	if err != nil || len(f) != 1 {
		return nil, fmt.Errorf("testpeers: Heimdal gss_get_mic: %v %q", err, f)
	}
	return hex.DecodeString(f[0])
}

// VerifyMIC checks a MIC over msg (gss_verify_mic).
func (c *heimdalGSS) VerifyMIC(msg, mic []byte) error {
	_, err := c.call("VERIFY "+hex.EncodeToString(msg)+" "+hex.EncodeToString(mic), "VERIFIED")
	return err
}
