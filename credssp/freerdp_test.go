package credssp

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/rdp"
	"github.com/gosspi/sspi/internal/testpeers"
)

// Interop with FreeRDP 2.11 (NTLM inside CredSSP), at the message layer over crypto/tls:
// xfreerdp against our server, our client against freerdp-shadow-cli. The RDP prelude is
// internal/rdp's.

func TestFreeRDPClientToOurServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs xfreerdp")
	}
	x := testpeers.StartXvfb(t)
	for _, tt := range []struct {
		name     string
		user     string
		password string
		maxVer   int
		sec      string // xfreerdp /sec:
		want     sspi.Status
	}{
		{"right password v6", "alice", testPassword, 0, "nla", sspi.OK},
		{"right password v5", "alice", testPassword, 5, "nla", sspi.OK},
		{"right password v4", "alice", testPassword, 4, "nla", sspi.OK},
		{"right password v3", "alice", testPassword, 3, "nla", sspi.OK},
		{"right password v2", "alice", testPassword, 2, "nla", sspi.OK},
		{"wrong password", "alice", "wrong", 0, "nla", sspi.ErrLogonDenied},
		{"unknown user", "mallory", testPassword, 0, "nla", sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scfg := serverConfig(t)
			scfg.MaxVersion = tt.maxVer
			if tt.maxVer != 0 && tt.maxVer < 5 {
				scfg.MinVersion = 2
			}
			ex := tt.sec == "ext"
			scfg.EarlyUserAuthResult = ex
			creds := innerCreds(t, sspi.CredInbound, scfg)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				h     *serverHandshake
				proto uint32
				err   error
			}
			done := make(chan result, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					done <- result{err: err}
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				proto, err := rdpServerPrelude(conn, ex)
				if err != nil {
					done <- result{err: err}
					return
				}
				cert := serverCert(t)
				tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
				if err := tc.Handshake(); err != nil {
					done <- result{err: err}
					return
				}
				spk, _ := subjectPublicKey(cert.Leaf)
				h, err := newServerHandshake(creds, spk)
				if err != nil {
					done <- result{err: err}
					return
				}
				h.gctx = context.Background()
				var rec [][]byte
				err = serveMessageLayer(tc, h, &rec)
				if err == nil {
					record(t, "xfreerdp-"+strings.ReplaceAll(tt.name, " ", "-"), rec)
				}
				// Let the client read what we sent before the connection goes.
				time.Sleep(200 * time.Millisecond)
				done <- result{h: h, proto: proto, err: err}
			}()
			res, err := testpeers.RunXFreeRDP(t, ln.Addr().String(), testpeers.XFreeRDPOptions{
				Domain: testDomain, User: tt.user, Password: tt.password, Sec: tt.sec, X: x})
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if tt.want != sspi.OK {
				if !errors.Is(r.err, tt.want) {
					t.Fatalf("server: %v, want %v", r.err, tt.want)
				}
				if res.ExitCode == 0 {
					t.Fatalf("xfreerdp exited 0 after a refused logon:\n%s", res.Output)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("server: %v\nxfreerdp (exit %d):\n%s", r.err, res.ExitCode, tailLines(res.Output))
			}
			want := &PasswordCredentials{Domain: testDomain, User: tt.user, Password: tt.password}
			if !reflect.DeepEqual(r.h.delegated, want) {
				t.Fatalf("delegated %+v, want %+v", r.h.delegated, want)
			}
			if r.h.id.User != tt.user || !strings.EqualFold(r.h.id.Domain, testDomain) {
				t.Fatalf("identity %+v", r.h.id)
			}
			wantVer := int64(Version)
			if tt.maxVer != 0 {
				wantVer = int64(tt.maxVer)
			}
			if r.h.peerVersion != Version || r.h.negotiated() != wantVer {
				t.Fatalf("FreeRDP sent version %d, negotiated %d; want 6 and %d", r.h.peerVersion, r.h.negotiated(), wantVer)
			}
			if ex != (r.proto == rdp.ProtocolHybridEx) {
				t.Fatalf("selected protocol %d", r.proto)
			}
			t.Logf("xfreerdp +auth-only against the NLA gate: exit %d\n%s", res.ExitCode, tailLines(res.Output))
		})
	}
}

func TestOurClientToFreeRDPServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs freerdp-shadow-cli")
	}
	srv := testpeers.StartFreeRDPShadow(t, testpeers.ShadowOptions{Users: []testpeers.RDPUser{{User: testUser, Password: testPassword}}})
	for _, tt := range []struct {
		name     string
		pkg      string
		password string
		maxVer   int
		want     sspi.Status
	}{
		{"NTLM v6", "NTLM", testPassword, 0, sspi.OK},
		{"NTLM v5", "NTLM", testPassword, 5, sspi.OK},
		{"NTLM v3", "NTLM", testPassword, 3, sspi.OK},
		{"NTLM v2", "NTLM", testPassword, 2, sspi.OK},
		// winpr 2.11's Negotiate is NTLM without SPNEGO: it cannot read our SPNEGO token
		// and answers errorCode 0xC00700EA. Windows takes both; FreeRDP needs bare NTLM.
		{"Negotiate (SPNEGO) refused by winpr", "", testPassword, 0, sspi.ErrLogonDenied},
		{"wrong password", "NTLM", "wrong", 0, sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg := Config{Package: tt.pkg, Negotiate: &sspi.AuthIdentity{User: testUser, Password: tt.password},
				DelegateToNTLMOnly: []string{"TERMSRV/*"}, MaxVersion: tt.maxVer}
			if tt.maxVer != 0 && tt.maxVer < 5 {
				ccfg.MinVersion = 2
			}
			creds := innerCreds(t, sspi.CredOutbound, ccfg)
			conn, err := net.DialTimeout("tcp", srv.Addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			proto, err := rdpClientPrelude(conn, testUser, rdp.ProtocolSSL|rdp.ProtocolHybrid)
			if err != nil || proto != rdp.ProtocolHybrid {
				t.Fatalf("prelude: %d %v", proto, err)
			}
			// CredSSP authenticates the server through the binding, not the chain.
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			spk, err := subjectPublicKey(tc.ConnectionState().PeerCertificates[0])
			if err != nil {
				t.Fatal(err)
			}
			h, err := newClientHandshake(creds, "TERMSRV/localhost", defaultReq, spk)
			if err != nil {
				t.Fatal(err)
			}
			h.gctx = context.Background()
			var rec [][]byte
			err = connectMessageLayer(tc, h, &rec)
			if err == nil {
				record(t, "shadow-"+strings.ReplaceAll(tt.name, " ", "-"), rec)
			}
			if tt.want == sspi.OK {
				if err != nil {
					t.Fatalf("%v\nserver log:\n%s", err, tailLines(srv.Log()))
				}
				if h.peerVersion != Version {
					t.Fatalf("freerdp-shadow-cli speaks version %d", h.peerVersion)
				}
				return
			}
			if err == nil {
				t.Fatal("authenticated")
			}
			// freerdp-shadow-cli closes the connection on a failed logon without an
			// errorCode; it sends one only when its Negotiate fails outright.
			if sspi.StatusOf(err) != tt.want && !errors.Is(err, io.EOF) {
				t.Fatalf("err = %v, want %v or the connection closed", err, tt.want)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
}

var update = flag.Bool("update", false, "rewrite testdata/freerdp from the live FreeRDP peers")

// record writes the TSRequests a FreeRDP peer sent (plaintext, from inside TLS), one hex
// line each, for TestFreeRDPRecorded to replay without the peer.
func record(t testing.TB, name string, msgs [][]byte) {
	if !*update {
		return
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(hex.EncodeToString(m) + "\n")
	}
	if err := os.MkdirAll("testdata/freerdp", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata/freerdp", name+".hex"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tailLines(s string) string {
	l := strings.Split(s, "\n")
	if len(l) > 25 {
		l = l[len(l)-25:]
	}
	return strings.Join(l, "\n")
}
