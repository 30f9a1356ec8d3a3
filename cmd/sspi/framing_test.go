package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/sockauth"
)

// What `sspi connect` says when the server closes the connection instead of answering, and
// when the two ends use different framings: what is known (where the server closed, and
// that its log says why), not a guess at SEC_E_LOGON_DENIED; the framing to use when the
// server's first bytes show it; and never a wait for the time-out.

// syncBuffer takes a child's output while the test reads it.
type syncBuffer = testpeers.SyncBuffer

// testServer is a sockauth server in this process with an ephemeral NTLM account, logging
// to a buffer.
type testServer struct {
	addr           string
	user, password string
	testpeers.SyncBuffer
}

func (s *testServer) Log() string { return s.String() }

func startTestServer(t *testing.T, f sockauth.Framing, require sspi.ContextAttr) *testServer {
	t.Helper()
	sc, err := acquireServer(serverSettings{pkg: "NTLM"}, &env{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(sc.cred); sc.cleanup() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: l.Addr().String(), user: sc.ephemeral.User, password: sc.ephemeral.Password}
	// A time-out longer than the client's: a server waiting for bytes that never come
	// would show as the client's TIMEOUT.
	srv := &sockauth.Server{Credentials: sc.cred, Framing: f, Require: require, Timeout: sockauth.DefaultTimeout * 6, Logger: slog.New(slog.NewTextHandler(ts, nil))}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ts
}

// readFirstToken reads a client's first handshake token in framing f (after gss-client's
// opening NOOP).
func readFirstToken(r io.Reader, f sockauth.Framing) ([]byte, error) {
	if f == sockauth.FramingGSS {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil { // the opening NOOP
			return nil, err
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		tok := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
		_, err := io.ReadFull(r, tok)
		return tok, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	tok := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(r, tok)
	return tok, err
}

// firstToken encodes a client's first token in framing f.
func firstToken(tok []byte, f sockauth.Framing) []byte {
	if f == sockauth.FramingGSS {
		b := []byte{sockauth.GSSTokenNoop | sockauth.GSSTokenContextNext, 0, 0, 0, 0, sockauth.GSSTokenContext}
		return append(binary.BigEndian.AppendUint32(b, uint32(len(tok))), tok...)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(tok))), tok...)
}

// startTranslator listens for clients of framing from, hands their first token to the
// server in the server's framing to, and then relays bytes unchanged both ways: the client
// gets the real server's answer in the other framing, as from a server that took its
// token but speaks the other framing.
func startTranslator(t *testing.T, from, to sockauth.Framing, server string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			cc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer cc.Close()
				tok, err := readFirstToken(cc, from)
				if err != nil {
					return
				}
				sc, err := net.Dial("tcp", server)
				if err != nil {
					return
				}
				defer sc.Close()
				sc.Write(firstToken(tok, to))
				go io.Copy(sc, cc)
				io.Copy(cc, sc)
			}()
		}
	}()
	return l.Addr().String()
}

func TestConnectServerClosed(t *testing.T) {
	sspiSrv := startTestServer(t, sockauth.FramingSSPI, 0)
	gssSrv := startTestServer(t, sockauth.FramingGSS, 0)
	mutualSrv := startTestServer(t, sockauth.FramingSSPI, sspi.ASCRetMutualAuth) // NTLM cannot grant it
	viaGSS := startTranslator(t, sockauth.FramingSSPI, sockauth.FramingGSS, gssSrv.addr)
	viaSSPI := startTranslator(t, sockauth.FramingGSS, sockauth.FramingSSPI, sspiSrv.addr)
	for _, tc := range []struct {
		name      string
		srv       *testServer
		addr      string
		framing   string
		password  string
		status    string
		stderr    string
		serverLog string
	}{
		{"wrong password", sspiSrv, sspiSrv.addr, "sspi", "wrong", "DISCONNECTED",
			"DISCONNECTED: the server closed the connection after the handshake; see its log", "status=SEC_E_LOGON_DENIED"},
		{"wrong password, gss", gssSrv, gssSrv.addr, "gss", "wrong", "DISCONNECTED",
			"DISCONNECTED: the server closed the connection after the handshake; see its log", "status=SEC_E_LOGON_DENIED"},
		{"logon accepted, session refused", mutualSrv, mutualSrv.addr, "sspi", "", "DISCONNECTED",
			"DISCONNECTED: the server closed the connection after the handshake; see its log", "status=SEC_E_SECURITY_QOS_FAILED"},
		{"gss client, sspi server", sspiSrv, sspiSrv.addr, "gss", "", "DISCONNECTED",
			"DISCONNECTED: the server closed the connection after the first token of the handshake; see its log", "gss-framed"},
		{"sspi client, gss server", gssSrv, gssSrv.addr, "sspi", "", "DISCONNECTED",
			"DISCONNECTED: the server closed the connection after the first token of the handshake; see its log", "sspi-framed"},
		{"sspi client, gss answer", gssSrv, viaGSS, "sspi", "", "SEC_E_ILLEGAL_MESSAGE",
			"SEC_E_ILLEGAL_MESSAGE: the server speaks the gss framing: try --framing gss", ""},
		{"gss client, sspi answer", sspiSrv, viaSSPI, "gss", "", "SEC_E_ILLEGAL_MESSAGE",
			"SEC_E_ILLEGAL_MESSAGE: the server speaks the sspi framing: try --framing sspi", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := tc.password
			if pw == "" {
				pw = tc.srv.password
			}
			code, out, errOut := runCmd(t, "", map[string]string{"SSPI_PASSWORD": pw}, "connect", tc.addr,
				"--package", "NTLM", "--user", tc.srv.user, "--framing", tc.framing, "--timeout", "30s", "--json")
			var res connectResult
			if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitAuth || res.Status != tc.status || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, status %q, stderr %q; want %d, %q, %q\nserver log:\n%s", code, res.Status, errOut, exitAuth, tc.status, tc.stderr, tc.srv.Log())
			}
			if strings.Contains(errOut, "LOGON_DENIED") || strings.Contains(errOut, "refused the logon") {
				t.Errorf("the client claims a refused logon: %s", errOut)
			}
			if tc.serverLog == "" {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), sockauth.DefaultTimeout)
			defer cancel()
			for !strings.Contains(tc.srv.Log(), tc.serverLog) && ctx.Err() == nil {
				<-time.After(5 * time.Millisecond)
			}
			if !strings.Contains(tc.srv.Log(), tc.serverLog) {
				t.Errorf("the server's log lacks %q:\n%s", tc.serverLog, tc.srv.Log())
			}
		})
	}
}
