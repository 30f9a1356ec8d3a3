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

//go:embed cdriver/heimdal_gss_client.c
var heimdalGSSClientC []byte

// HeimdalGSSClient is a GSS-API Kerberos initiator in Heimdal's libgssapi: Debian packages no
// gss-client for Heimdal, so a small C driver (cdriver/heimdal_gss_client.c) is built
// against the unpacked tree's headers and library and spoken to a line at a time. It
// implements Stepper.
type HeimdalGSSClient struct {
	proc *lineProc
	done bool
	// Flags are the context's return flags (GSS*Flag), set once established.
	Flags uint32
	// Mech is the mechanism's OID, DER contents in hex, set once established.
	Mech string
}

// BuildHeimdalGSSClient compiles the driver with gcc against h into a temporary directory
// of tb and returns the binary's path. It skips (or fails under SSPI_INTEROP=require)
// without gcc or Heimdal's gssapi.h (heimdal-multidev, unpacked by scripts/install-peers).
func BuildHeimdalGSSClient(tb testing.TB, h *Heimdal) string {
	tb.Helper()
	gcc := Require(tb, "gcc", "gcc")
	inc := filepath.Join(h.Root, "usr/include/heimdal")
	Require(tb, "heimdal-multidev (unpacked)", filepath.Join(inc, "gssapi/gssapi.h"))
	dir := tb.TempDir()
	src, err := writeTemp(dir, "heimdal_gss_client.c", heimdalGSSClientC, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "heimdal_gss_client")
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
	cmd := exec.Command(bin, target, strconv.FormatUint(uint64(flags), 10))
	cmd.Env = env
	p, err := startLineProc("heimdal_gss_client", cmd, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.close() })
	return &HeimdalGSSClient{proc: p}
}

// answer reads a line and checks it starts with want; an ERROR line becomes the error.
func (c *HeimdalGSSClient) answer(line string, err error, want string) ([]string, error) {
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
	if strings.HasPrefix(line, "TOKEN ") {
		if out, err = hex.DecodeString(line[len("TOKEN "):]); err != nil {
			return nil, false, err
		}
		if line, err = c.proc.read(); err != nil {
			return out, false, err
		}
		if line == "CONTINUE" {
			return out, false, nil
		}
	}
	f, err := c.answer(line, nil, "ESTABLISHED")
	if err != nil || len(f) != 2 {
		return out, false, fmt.Errorf("testpeers: Heimdal GSS client: %q: %v", line, err)
	}
	fl, _ := strconv.ParseUint(f[0], 10, 32)
	c.Flags, c.Mech, c.done = uint32(fl), f[1], true
	return out, true, nil
}

// Established reports whether the context is complete.
func (c *HeimdalGSSClient) Established() bool { return c.done }

func (c *HeimdalGSSClient) call(req, want string) ([]string, error) {
	line, err := c.proc.exchange(req)
	return c.answer(line, err, want)
}

// Wrap seals msg (gss_wrap with confidentiality).
func (c *HeimdalGSSClient) Wrap(msg []byte) ([]byte, error) {
	f, err := c.call("WRAP "+hex.EncodeToString(msg), "WRAPPED")
	if err != nil || len(f) != 1 {
		return nil, fmt.Errorf("testpeers: Heimdal gss_wrap: %v %q", err, f)
	}
	return hex.DecodeString(f[0])
}

// Unwrap opens a token (gss_unwrap) and reports whether it was sealed.
func (c *HeimdalGSSClient) Unwrap(tok []byte) (msg []byte, sealed bool, err error) {
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
func (c *HeimdalGSSClient) GetMIC(msg []byte) ([]byte, error) {
	f, err := c.call("MIC "+hex.EncodeToString(msg), "MIC")
	if err != nil || len(f) != 1 {
		return nil, fmt.Errorf("testpeers: Heimdal gss_get_mic: %v %q", err, f)
	}
	return hex.DecodeString(f[0])
}

// VerifyMIC checks a MIC over msg (gss_verify_mic).
func (c *HeimdalGSSClient) VerifyMIC(msg, mic []byte) error {
	_, err := c.call("VERIFY "+hex.EncodeToString(msg)+" "+hex.EncodeToString(mic), "VERIFIED")
	return err
}
