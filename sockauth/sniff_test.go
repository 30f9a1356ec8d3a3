package sockauth

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSniffFraming: the first bytes of each framing's handshake, as real clients and
// servers send them, are recognized as such by a reader of the other framing, and never
// by a reader of their own.
func TestSniffFraming(t *testing.T) {
	ntlmNegotiate := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), make([]byte, 28)...)
	spnegoInit := append([]byte{0x60, 0x48, 0x06, 0x06}, make([]byte, 70)...)
	spnegoResp := append([]byte{0xa1, 0x81, 0xb2}, make([]byte, 178)...)
	krbAPReq := append([]byte{0x60, 0x82, 0x02, 0x4c}, make([]byte, 588)...)
	long := append([]byte{0xa1, 0x82, 0x01, 0x00}, make([]byte, 256)...) // a length whose low byte is 2 below
	long = long[:258]
	gssOpen := appendGSSToken(nil, GSSTokenNoop|GSSTokenContextNext, nil)
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  Framing // the framing of the bytes
	}{
		{"gss opening and NTLM", appendGSSToken(gssOpen, GSSTokenContext, ntlmNegotiate), FramingGSS},
		{"gss opening and SPNEGO", appendGSSToken(gssOpen, GSSTokenContext, spnegoInit), FramingGSS},
		{"gss-client -na opening", appendGSSToken(nil, GSSTokenNoop, nil), FramingGSS},
		{"gss CONTEXT answer, SPNEGO", appendGSSToken(nil, GSSTokenContext, spnegoResp), FramingGSS},
		{"gss CONTEXT answer, Kerberos", appendGSSToken(nil, GSSTokenContext, krbAPReq), FramingGSS},
		{"sspi NTLM", appendSSPIFrame(nil, ntlmNegotiate), FramingSSPI},
		{"sspi SPNEGO", appendSSPIFrame(nil, spnegoInit), FramingSSPI},
		{"sspi answer", appendSSPIFrame(nil, spnegoResp), FramingSSPI},
		{"sspi Kerberos", appendSSPIFrame(nil, krbAPReq), FramingSSPI},
		{"sspi 258-byte token", appendSSPIFrame(nil, long), FramingSSPI},
	} {
		for _, reader := range []Framing{FramingSSPI, FramingGSS} {
			got, other := sniffFraming(bufio.NewReader(bytes.NewReader(tc.bytes)), reader, DefaultMaxToken)
			if want := reader != tc.want; other != want || other && got != tc.want {
				t.Errorf("%s read as %s: (%s, %v), want other framing %v", tc.name, reader, got, other, want)
			}
		}
	}
	// Too few bytes, an empty frame, and noise: no verdict, the reader reports them.
	for _, b := range [][]byte{nil, {0x11, 0}, {0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x02, 0, 0, 0, 0x28, 0}} {
		for _, reader := range []Framing{FramingSSPI, FramingGSS} {
			if _, other := sniffFraming(bufio.NewReader(bytes.NewReader(b)), reader, DefaultMaxToken); other {
				t.Errorf("% x read as %s: the other framing", b, reader)
			}
		}
	}
}

// TestFramingMismatch: a client and a server of different framings. The server sees the
// other framing in the client's first bytes and closes at once, whatever the length those
// bytes announce in its own framing, and logs why; the client learns that the server
// closed without answering, not a time-out.
func TestFramingMismatch(t *testing.T) {
	for _, pkg := range []string{"NTLM", "Negotiate"} {
		for _, f := range []Framing{FramingSSPI, FramingGSS} {
			t.Run(pkg+"/"+f.String()+" server", func(t *testing.T) {
				srv := startServer(t, &Server{Credentials: serverCreds(t, pkg), Framing: f, Timeout: time.Minute})
				other := FramingGSS
				if f == FramingGSS {
					other = FramingSSPI
				}
				cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: other, Timeout: time.Minute}
				nc, err := net.Dial("tcp", srv.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				_, err = cl.Handshake(testCtx(t), nc)
				if !errors.Is(err, ErrNoAnswer) {
					t.Errorf("client: %v (%s)", err, StatusName(err))
				}
				rec := srv.Log.waitRecord(t, nc.LocalAddr().String())
				if cause, _ := rec["cause"].(string); rec["status"] != "SEC_E_ILLEGAL_MESSAGE" || !strings.Contains(cause, other.String()+"-framed") {
					t.Errorf("server log: %v", rec)
				}
			})
		}
	}
}
