package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/testpeers"
)

// TestServeSchannelWithOpenSSLClient: `sspi serve --package Schannel` (the tls framing
// by default) with openssl s_client, TLS 1.2 and 1.3: the greeting, a line echoed, and
// s_client's close_notify answered; then with --client-ca, s_client's certificate names
// the client in the log.
func TestServeSchannelWithOpenSSLClient(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	s := startServe(t, "--package", "Schannel", "--cert", p.Server.CertFile, "--key", p.Server.KeyFile, "--json")
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", s.addr, "-servername", "localhost",
			"-CAfile", p.CAFile, "-verify_return_error", v)
		if out, ok := c.WaitOutput(regexp.MustCompile("This is your server speaking"), 20*time.Second); !ok {
			t.Fatalf("s_client %s: no greeting:\n%s\nserver: %s", v, out, s.stderr)
		}
		c.Send("typed by hand\n")
		if out, ok := c.WaitOutput(regexp.MustCompile("(?s)speaking.*typed by hand"), 20*time.Second); !ok {
			t.Fatalf("s_client %s: no echo:\n%s", v, out)
		}
		c.CloseInput()
		if err := c.Wait(20 * time.Second); err != nil {
			t.Errorf("s_client %s: %v", v, err)
		}
	}
	waitLogs(t, s, 2)
	for _, rec := range s.logLines(t) {
		if rec["status"] != nil && (rec["status"] != "SEC_E_OK" || rec["framing"] != "tls" || rec["messages_in"] != 1.0) {
			t.Errorf("log %v", rec)
		}
	}

	s = startServe(t, "--package", "Schannel", "--cert", p.Server.CertFile, "--key", p.Server.KeyFile, "--json",
		"--client-ca", p.ClientCAFile)
	c := testpeers.StartTLSPeer(t, openssl, "s_client", "-connect", s.addr, "-servername", "localhost",
		"-CAfile", p.CAFile, "-verify_return_error", "-cert", p.Client.CertFile, "-key", p.Client.KeyFile)
	c.WaitOutput(regexp.MustCompile("This is your server speaking"), 20*time.Second)
	c.CloseInput()
	c.Wait(20 * time.Second)
	waitLogs(t, s, 1)
	for _, rec := range s.logLines(t) {
		if rec["status"] != nil && (rec["status"] != "SEC_E_OK" || rec["identity"] != "CN=alice") {
			t.Errorf("log %v", rec)
		}
	}
}

// waitLogs waits for n connection log lines.
func waitLogs(t *testing.T, s *served, n int) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		got := 0
		for _, rec := range s.logLines(t) {
			if rec["status"] != nil {
				got++
			}
		}
		if got >= n {
			return
		}
	}
	t.Fatalf("fewer than %d log lines:\n%s", n, s.stderr)
}

// TestConnectSchannel: `sspi connect --package Schannel` against openssl s_server -www
// (the page read to the server's close, which says the session is new) and against
// `sspi serve` (greeting, echo); and the failures: a certificate for another name, one
// from an unknown CA (and --insecure, which checks nothing), a file that cannot be read.
func TestConnectSchannel(t *testing.T) {
	p := testpeers.NewPKI(t)
	www := testpeers.StartOpenSSLServer(t, "-cert", p.Server.CertFile, "-key", p.Server.KeyFile, "-www")
	code, out, errOut := sspiCmd(t, nil, "", "connect", www.Addr, "--package", "Schannel", "--ca", p.CAFile, "--message", "GET /", "--json")
	var res connectResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitOK || !res.OK || res.TLS == nil || res.TLS.Version != "TLS 1.3" ||
		!strings.Contains(strings.Join(res.Received, "\n"), "New, TLSv1.3") || !res.Mutual || res.Server != "127.0.0.1" {
		t.Errorf("connect to s_server -www: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}

	s := startServe(t, "--package", "Microsoft Unified Security Protocol Provider", "--cert", p.Server.CertFile, "--key", p.Server.KeyFile)
	code, out, errOut = sspiCmd(t, nil, "", "connect", s.addr, "--package", "Schannel", "--ca", p.CAFile, "--message", "hello")
	if code != exitOK || !strings.Contains(out, `echo:        "hello" (verified)`) || !strings.Contains(out, "the server's certificate is valid for 127.0.0.1") {
		t.Errorf("connect to sspi serve: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = sspiCmd(t, nil, "", "connect", s.addr, "--package", "Schannel", "--ca", p.CAFile)
	if code != exitOK || !strings.Contains(out, `greeting:    "This is your server speaking"`) {
		t.Errorf("connect to sspi serve, no message: exit %d\n%s\n%s", code, out, errOut)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--ca", p.CAFile, "--target", "wrong.example"}, exitAuth, "SEC_E_WRONG_PRINCIPAL"},
		{[]string{"--ca", p.ClientCAFile}, exitAuth, "SEC_E_UNTRUSTED_ROOT"},
		{[]string{"--insecure"}, exitOK, "not checked (--insecure)"},
		{[]string{"--ca", filepath.Join(t.TempDir(), "absent.pem")}, exitAuth, "absent.pem: no such file or directory"},
		{[]string{"--ca", p.Client.KeyFile}, exitAuth, "client-key.pem: no PEM certificate in the file"},
	} {
		code, out, errOut := sspiCmd(t, nil, "", append([]string{"connect", s.addr, "--package", "Schannel"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("connect %q: exit %d (want %d), want %q in\n%s\n%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
}

// TestServeSchannelUnloadableCertificate: a certificate or key that cannot be loaded
// stops the server at start-up, exit 1, with the file and the reason.
func TestServeSchannelUnloadableCertificate(t *testing.T) {
	p := testpeers.NewPKI(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM\n"), 0o600)
	for _, tc := range []struct {
		cert, key, want string
	}{
		{filepath.Join(t.TempDir(), "absent.pem"), p.Server.KeyFile, "absent.pem: no such file or directory"},
		{garbage, p.Server.KeyFile, "--cert " + garbage},
		{p.Server.CertFile, p.Client.KeyFile, "private key does not match public key"},
	} {
		code, _, errOut := sspiCmd(t, nil, "", "serve", "--listen", "127.0.0.1:0", "--package", "Schannel", "--cert", tc.cert, "--key", tc.key)
		if code != exitAuth || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve --cert %s --key %s: exit %d, stderr %q; want 1 and %q", tc.cert, tc.key, code, errOut, tc.want)
		}
	}
}

// TestDemoSchannel: the demo runs Schannel once, with a certificate it says is made up.
func TestDemoSchannel(t *testing.T) {
	code, out, errOut := runCmd(t, "", nil, "demo")
	if code != exitOK || strings.Count(out, "== Schannel") != 1 || strings.Contains(out, "== Microsoft Unified") ||
		!strings.Contains(out, "a throwaway self-signed certificate for localhost, made in memory") ||
		!strings.Contains(out, "mutual authentication: the server proved it is localhost") {
		t.Errorf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "", nil, "packages")
	if code != exitOK || !strings.Contains(out, "Schannel ") || !strings.Contains(out, "Microsoft Unified Security Protocol Provider") {
		t.Errorf("packages: %d\n%s", code, out)
	}
}

// TestServeSchannelSendsAlert: a handshake the server refuses (s_client presents no
// certificate to --client-auth require) ends with the server's fatal alert on the wire
// (ASC_REQ_EXTENDED_ERROR), which s_client reports, not a bare close. With TLS 1.3 the
// client has finished before the server refuses, so s_client must go on reading
// (-ign_eof) to see it.
func TestServeSchannelSendsAlert(t *testing.T) {
	openssl := testpeers.RequireOpenSSL(t)
	p := testpeers.NewPKI(t)
	s := startServe(t, "--package", "Schannel", "--cert", p.Server.CertFile, "--key", p.Server.KeyFile, "--json",
		"--client-ca", p.ClientCAFile, "--client-auth", "require")
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		_, stderr, _ := testpeers.RunTLSClient(t, "", openssl, "s_client", "-connect", s.addr, "-servername", "localhost", "-CAfile", p.CAFile, "-ign_eof", v)
		if !regexp.MustCompile(`alert (certificate required|handshake failure)`).MatchString(stderr) {
			t.Errorf("s_client %s: no alert from the server:\n%s", v, stderr)
		}
	}
}

// TestConnectTLSToNonTLSServer: `sspi connect --package Schannel` against servers that do
// not speak TLS says so, and which framing they speak where their first bytes tell.
func TestConnectTLSToNonTLSServer(t *testing.T) {
	answer := func(reply []byte) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				nc, err := l.Accept()
				if err != nil {
					return
				}
				nc.Read(make([]byte, 4096))
				nc.Write(reply)
				nc.Close()
			}
		}()
		return l.Addr().String()
	}
	ntlm := startServe(t, "--package", "NTLM")
	for _, tt := range []struct {
		name, addr, want string
	}{
		{"sspi serve of the sspi framing closes", ntlm.addr, "without a TLS answer to the ClientHello: it does not speak TLS"},
		{"an sspi-framed answer", answer(append([]byte{40, 0, 0, 0}, "NTLMSSP\x00\x02\x00\x00\x00"...)), "it speaks the sspi framing: try --framing sspi"},
		{"an HTTP answer", answer([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")), `"HTTP/1.1 400 Bad`},
	} {
		code, _, errOut := sspiCmd(t, nil, "", "connect", tt.addr, "--package", "Schannel", "--insecure", "--timeout", "10s")
		if code != exitAuth || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "does not speak TLS") {
			t.Errorf("%s: exit %d, %s", tt.name, code, errOut)
		}
	}
}
