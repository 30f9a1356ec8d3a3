package mssql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	mssqldb "github.com/microsoft/go-mssqldb"
)

// A TDS login endpoint (MS-TDS), just enough for go-mssqldb's own login code to run its
// integrated authentication through this package's provider: PRELOGIN answered with
// "encryption not supported", LOGIN7 carrying the first SSPI token, SSPI tokens back and
// forth (token 0xED one way, packet type 0x11 the other), then LOGINACK and DONE, or
// ERROR 18456 ("Login failed") and DONE with its error bit. Nothing after the login.

const (
	tdsPrelogin = 0x12
	tdsReply    = 0x04
	tdsLogin7   = 0x10
	tdsSSPI     = 0x11

	tokSSPI     = 0xED
	tokLoginAck = 0xAD
	tokDone     = 0xFD
	tokError    = 0xAA
)

type tdsServer struct {
	ln   net.Listener
	cred *sspi.Credentials
	mu   sync.Mutex
	ids  []sspi.Identity
	errs []error
}

func startTDS(t *testing.T, cred *sspi.Credentials) *tdsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tdsServer{ln: ln, cred: cred}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *tdsServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// readMessage reads TDS packets up to the end of a message (status bit 0x01).
func readMessage(c net.Conn) (typ byte, msg []byte, err error) {
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return 0, nil, err
		}
		n := int(binary.BigEndian.Uint16(hdr[2:]))
		if n < 8 || len(msg)+n > 1<<20 {
			return 0, nil, fmt.Errorf("tds: packet length %d", n)
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(c, body); err != nil {
			return 0, nil, err
		}
		typ, msg = hdr[0], append(msg, body...)
		if hdr[1]&0x01 != 0 {
			return typ, msg, nil
		}
	}
}

func writeMessage(c net.Conn, typ byte, msg []byte) error {
	const max = 4096 - 8
	for id := byte(1); ; id++ {
		n := min(len(msg), max)
		status := byte(0)
		if n == len(msg) {
			status = 0x01
		}
		hdr := []byte{typ, status, 0, 0, 0, 0, id, 0}
		binary.BigEndian.PutUint16(hdr[2:], uint16(8+n))
		if _, err := c.Write(append(hdr, msg[:n]...)); err != nil {
			return err
		}
		if msg = msg[n:]; len(msg) == 0 {
			return nil
		}
	}
}

func ucs2(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

func (s *tdsServer) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *tdsServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if typ, _, err := readMessage(c); err != nil || typ != tdsPrelogin {
		s.fail(fmt.Errorf("tds: want PRELOGIN, got %#x, %v", typ, err))
		return
	}
	// VERSION (6 bytes) and ENCRYPTION = ENCRYPT_NOT_SUP, then the terminator.
	prelogin := []byte{0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xFF, 16, 0, 0, 0, 0, 0, 2}
	if err := writeMessage(c, tdsReply, prelogin); err != nil {
		return
	}
	typ, login, err := readMessage(c)
	if err != nil || typ != tdsLogin7 || len(login) < 94 {
		s.fail(fmt.Errorf("tds: want LOGIN7, got %#x (%d bytes), %v", typ, len(login), err))
		return
	}
	off, n := int(binary.LittleEndian.Uint16(login[78:])), int(binary.LittleEndian.Uint16(login[80:]))
	if n == 0 || off+n > len(login) || login[25]&0x80 == 0 { // fIntSecurity in OptionFlags2
		s.fail(errors.New("tds: LOGIN7 without integrated security"))
		return
	}
	ctx := sspi.NewServerContext(s.cred, sspi.ServerOptions{})
	defer ctx.Close()
	tok := login[off : off+n]
	for {
		out, err := ctx.Step(tok)
		if err != nil {
			s.fail(err)
			writeMessage(c, tdsReply, loginFailed())
			return
		}
		var reply []byte
		if len(out) > 0 {
			reply = binary.LittleEndian.AppendUint16([]byte{tokSSPI}, uint16(len(out)))
			reply = append(reply, out...)
		}
		if ctx.Established() {
			id, _ := ctx.Identity()
			s.mu.Lock()
			s.ids = append(s.ids, id)
			s.mu.Unlock()
			// go-mssqldb reads an SSPI token as the end of its message, so the last token
			// (SPNEGO's accept-completed, Kerberos's AP-REP) goes alone, LOGINACK after it.
			if len(reply) > 0 {
				writeMessage(c, tdsReply, reply)
			}
			writeMessage(c, tdsReply, loginAck())
			readMessage(c) // until the client hangs up
			return
		}
		if err := writeMessage(c, tdsReply, reply); err != nil {
			return
		}
		if typ, tok, err = readMessage(c); err != nil || typ != tdsSSPI {
			s.fail(fmt.Errorf("tds: want an SSPI message, got %#x, %v", typ, err))
			return
		}
	}
}

func loginAck() []byte {
	name := ucs2("gosspi")
	body := []byte{1, 0x74, 0, 0, 4, byte(len(name) / 2)}
	body = append(append(body, name...), 16, 0, 0, 0)
	b := binary.LittleEndian.AppendUint16([]byte{tokLoginAck}, uint16(len(body)))
	return append(append(b, body...), done(0)...)
}

func done(status uint16) []byte {
	b := binary.LittleEndian.AppendUint16([]byte{tokDone}, status)
	return append(b, make([]byte, 2+8)...)
}

func loginFailed() []byte {
	msg := "Login failed."
	body := binary.LittleEndian.AppendUint32(nil, 18456)
	body = append(body, 1, 14)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(msg)))
	body = append(body, ucs2(msg)...)
	body = append(body, 0, 0)
	body = binary.LittleEndian.AppendUint32(body, 1)
	b := binary.LittleEndian.AppendUint16([]byte{tokError}, uint16(len(body)))
	return append(append(b, body...), done(0x02)...)
}

// driverLogin logs in to srv with go-mssqldb's connector and the given parameters.
func driverLogin(t *testing.T, srv *tdsServer, params string) error {
	t.Helper()
	connStr := fmt.Sprintf("sqlserver://localhost:%d?authenticator=%s&encrypt=disable&dial+timeout=5&%s", srv.port(), ProviderName, params)
	connector, err := mssqldb.NewConnector(connStr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := connector.Connect(ctx)
	if err == nil {
		conn.Close()
	}
	return err
}

// lastIdentity returns whom srv authenticated last.
func (s *tdsServer) lastIdentity(t *testing.T) sspi.Identity {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		t.Fatalf("the server authenticated nobody (its errors: %v)", s.errs)
	}
	return s.ids[len(s.ids)-1]
}

// TestDriverLogin: go-mssqldb's own login code (PRELOGIN, LOGIN7 with the first token,
// SSPI messages, LOGINACK) authenticates to the TDS endpoint through authenticator=gosspi,
// with NTLM inside Negotiate and, with the in-process KDC, with Kerberos; a wrong password
// gets the server's "Login failed".
func TestDriverLogin(t *testing.T) {
	srv := startTDS(t, ntlmAcceptor(t))
	t.Run("NTLM", func(t *testing.T) {
		if err := driverLogin(t, srv, "user+id=EXAMPLE%5Calice&password="+password); err != nil {
			t.Fatalf("login: %v", err)
		}
		if id := srv.lastIdentity(t); id.Principal != `EXAMPLE\alice` || id.Package != "NTLM" {
			t.Fatalf("the server authenticated %+v", id)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		err := driverLogin(t, srv, "user+id=EXAMPLE%5Calice&password=wrong")
		if err == nil || !strings.Contains(err.Error(), "Login failed") {
			t.Fatalf("login with a wrong password: %v", err)
		}
	})
	t.Run("Kerberos", func(t *testing.T) {
		kdc := testkdc.Shared(t, testpeers.KDCOptions{Services: []string{sqlSPN}})
		t.Setenv("KRB5_CONFIG", kdc.Krb5Conf)
		t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-cache"))
		krb := startTDS(t, acceptor(t, map[string]any{negotiate.Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}}))
		// The port is not 1433: the SPN is given, as for a SQL Server behind a redirect.
		user := url.QueryEscape(kdc.Principal(testpeers.KDCUser))
		if err := driverLogin(t, krb, "ServerSPN="+url.QueryEscape(sqlSPN)+"&user+id="+user+"&password="+url.QueryEscape(testpeers.KDCPassword)); err != nil {
			t.Fatalf("login: %v", err)
		}
		if id := krb.lastIdentity(t); id.Principal != kdc.Principal(testpeers.KDCUser) || id.Package != "Kerberos" {
			t.Fatalf("the server authenticated %+v", id)
		}
	})
}
