package sockauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gosspi/sspi"
)

// TestRoundTrip is our client against our server: every registered package, both
// framings, every protection mode, and both FramingSSPI sessions (the SDK sample's
// greeting, and messages).
func TestRoundTrip(t *testing.T) {
	type mode struct {
		framing  Framing
		messages bool
	}
	modes := []mode{{FramingSSPI, false}, {FramingSSPI, true}, {FramingGSS, false}}
	for _, pkg := range serverPackages() {
		for _, m := range modes {
			for _, prot := range []Protection{ProtectSeal, ProtectSign, ProtectNone} {
				name := fmt.Sprintf("%s/%s/%s", pkg, m.framing, prot)
				if m.framing == FramingSSPI {
					name += map[bool]string{false: "/sample", true: "/messages"}[m.messages]
				}
				t.Run(name, func(t *testing.T) {
					srv := startServer(t, &Server{
						Credentials:      serverCreds(t, pkg),
						Framing:          m.framing,
						AllowUnprotected: prot == ProtectNone,
					})
					var legs []Leg
					cl := &Client{
						Credentials: clientCreds(t, pkg, testDomain+`\`+testUser, testPassword),
						Framing:     m.framing,
						Protection:  prot,
						Messages:    m.messages,
						Trace:       func(l Leg) { legs = append(legs, l) },
					}
					c, err := cl.Dial(testCtx(t), srv.Addr)
					if err != nil {
						t.Fatalf("Dial: %v\nserver log:\n%s", err, srv.Log)
					}
					local := c.LocalAddr().String()
					if len(legs) < 2 || legs[len(legs)-1].Status != sspi.OK {
						t.Errorf("legs: %v", legs)
					}
					if c.Package() != "NTLM" {
						t.Errorf("package %q", c.Package())
					}
					if got := protectionOf(c.Attributes(), false); prot != ProtectNone && got != prot {
						t.Errorf("client attributes %s give %s, asked for %s", c.Attributes().Format(false), got, prot)
					}
					exchange(t, c, m.framing, m.messages)
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
					rec := srv.Log.waitRecord(t, local)
					if rec["status"] != "SEC_E_OK" || rec["identity"] != testDomain+`\`+testUser || rec["package"] != "NTLM" || rec["level"] != "INFO" {
						t.Errorf("server log line: %v", rec)
					}
				})
			}
		}
	}
}

// exchange runs the messages of a session from the client's side.
func exchange(t *testing.T, c *Conn, f Framing, messages bool) {
	t.Helper()
	switch {
	case f == FramingGSS:
		for _, msg := range []string{"first message", "second message"} {
			if err := c.WriteMessage([]byte(msg)); err != nil {
				t.Fatalf("WriteMessage(%q): %v", msg, err)
			}
		}
	case !messages:
		g, err := c.ReadMessage()
		if err != nil || string(g) != DefaultGreeting {
			t.Fatalf("greeting %q, %v", g, err)
		}
		if _, err := c.ReadMessage(); err != io.EOF {
			t.Fatalf("after the greeting: %v, want io.EOF", err)
		}
		if err := c.WriteMessage([]byte("x")); !errors.Is(err, ErrSampleOneWay) {
			t.Fatalf("writing in the sample protocol: %v", err)
		}
	default:
		g, err := c.ReadMessage()
		if err != nil || string(g) != DefaultGreeting {
			t.Fatalf("greeting %q, %v", g, err)
		}
		for _, msg := range []string{"first message", "", "third"} {
			if err := c.WriteMessage([]byte(msg)); err != nil {
				t.Fatalf("WriteMessage(%q): %v", msg, err)
			}
			echo, err := c.ReadMessage()
			if err != nil || string(echo) != msg {
				t.Fatalf("echo %q, %v; want %q", echo, err, msg)
			}
		}
	}
}

// TestSampleGreetingWire checks the greeting byte for byte as the SDK sample's client reads
// it: after the length-prefixed tokens, the server sends (with no frame) a little-endian
// DWORD trailer size, the trailer and the sealed greeting, then closes. The client side
// here is written with the SSPI-shaped calls only, like the sample's.
func TestSampleGreetingWire(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM")})
	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	cred := clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword)
	cc := sspi.NewClientContext(cred, sspi.ClientOptions{Target: "host/localhost", Req: sspi.ISCReqConfidentiality})
	defer cc.Close()
	var in []byte
	for {
		out, err := cc.Step(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > 0 {
			var hdr [4]byte
			binary.LittleEndian.PutUint32(hdr[:], uint32(len(out)))
			nc.Write(append(hdr[:], out...))
		}
		if cc.Established() {
			break
		}
		var hdr [4]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			t.Fatal(err)
		}
		in = make([]byte, binary.LittleEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(nc, in); err != nil {
			t.Fatal(err)
		}
	}
	data, err := io.ReadAll(nc) // ReceiveBytes: to the end of the stream
	if err != nil {
		t.Fatal(err)
	}
	var sizes sspi.Sizes
	if err := sspi.QueryContextAttributes(cc.Handle(), sspi.AttrSizes, &sizes); err != nil {
		t.Fatal(err)
	}
	trailer := int(binary.LittleEndian.Uint32(data))
	if trailer != sizes.SecurityTrailer || len(data) != 4+trailer+len(DefaultGreeting) {
		t.Fatalf("greeting of %d bytes announces a %d-byte trailer (cbSecurityTrailer %d)", len(data), trailer, sizes.SecurityTrailer)
	}
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: data[4 : 4+trailer]}, {Type: sspi.BufferData, Data: data[4+trailer:]}}
	if _, _, err := sspi.DecryptMessage(cc.Handle(), bufs, 0); err != nil {
		t.Fatal(err)
	}
	if string(bufs[1].Data) != DefaultGreeting {
		t.Fatalf("greeting %q", bufs[1].Data)
	}
}

// TestMessagesWire checks the framed message layout of FramingSSPI sessions with messages:
// the empty frame that asks for them, then frames holding [t][token][data].
func TestMessagesWire(t *testing.T) {
	var b bytes.Buffer
	b.Write(appendSSPIFrame(nil, appendSSPIBody(nil, []byte{1, 2, 3}, []byte("data"))))
	want := []byte{11, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 'd', 'a', 't', 'a'}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("frame % x, want % x", b.Bytes(), want)
	}
	f, err := readSSPIFrame(&b, 100, "x")
	if err != nil {
		t.Fatal(err)
	}
	tok, data, err := parseSSPIBody(f)
	if err != nil || !bytes.Equal(tok, []byte{1, 2, 3}) || string(data) != "data" {
		t.Fatalf("parsed % x %q %v", tok, data, err)
	}
	g := appendGSSToken(nil, GSSTokenData|GSSTokenWrapped|GSSTokenEncrypted|GSSTokenSendMIC, []byte("ab"))
	if !bytes.Equal(g, []byte{0xe4, 0, 0, 0, 2, 'a', 'b'}) {
		t.Fatalf("gss token % x", g)
	}
}

// TestRequirements checks the attribute checks after the loop, on both sides.
func TestRequirements(t *testing.T) {
	// NTLM never authenticates the server, so a server requiring mutual authentication
	// refuses every NTLM client, and says why.
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Require: sspi.ASCRetMutualAuth, Framing: FramingGSS})
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS}
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	if err := c.WriteMessage([]byte("hi")); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("message to a server that refused the context: %v", err)
	}
	c.Close()
	rec := srv.Log.waitRecord(t, local)
	if rec["status"] != "SEC_E_SECURITY_QOS_FAILED" || rec["msg"] != "authentication refused" {
		t.Errorf("log: %v", rec)
	}

	// A client requiring mutual authentication refuses an NTLM context.
	srv2 := startServer(t, &Server{Credentials: serverCreds(t, "NTLM")})
	cl2 := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Require: sspi.ISCRetMutualAuth}
	if _, err := cl2.Dial(testCtx(t), srv2.Addr); !errors.Is(err, sspi.ErrMutualAuthFailed) {
		t.Errorf("client requiring mutual auth: %v", err)
	}

	// A server requiring integrity refuses a client that asked for none.
	srv3 := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingGSS})
	cl3 := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS, Protection: ProtectNone}
	c3, err := cl3.Dial(testCtx(t), srv3.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c3.WriteMessage([]byte("hi")); err == nil {
		t.Errorf("an unprotected session was served")
	}
	c3.Close()
}

// TestWrongPassword: the client learns of the refusal as SEC_E_LOGON_DENIED, the server
// logs it with its cause, and keeps serving.
func TestWrongPassword(t *testing.T) {
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: f})
			bad := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, "wrong password"), Framing: f}
			c, err := bad.Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatal(err) // NTLM's client cannot tell: its last token goes out unanswered
			}
			local := c.LocalAddr().String()
			if f == FramingGSS {
				err = c.WriteMessage([]byte("hello"))
			} else {
				_, err = c.ReadMessage()
			}
			if !errors.Is(err, sspi.ErrLogonDenied) || !errors.Is(err, ErrNoAnswer) {
				t.Errorf("after a wrong password: %v", err)
			}
			c.Close()
			rec := srv.Log.waitRecord(t, local)
			if rec["status"] != "SEC_E_LOGON_DENIED" || rec["level"] != "WARN" {
				t.Errorf("log: %v", rec)
			}
			good := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: f}
			c2, err := good.Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			exchange(t, c2, f, false)
			c2.Close()
		})
	}
}
