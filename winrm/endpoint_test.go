package winrm

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
)

// The smallest WS-Management shell service masterzen/winrm and pywinrm can run a command
// on (MS-WSMV): Create opens a shell, Command starts a command, Receive returns its whole
// output and exit code at once, Signal and Delete end them. Its one command is "echo";
// "whoami" prints the authenticated client. It sits behind httpauth's middleware, which
// authenticates each connection and keeps its security context
// (Config.KeepSecurityContext) for the message encryption.

const (
	nsSOAP  = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr  = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"

	actionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	actionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionCommand = nsShell + "/Command"
	actionReceive = nsShell + "/Receive"
	actionSignal  = nsShell + "/Signal"

	testShellID   = "0B2E5D71-3A43-4F2B-9E0B-6A7A2C1D0E01"
	testCommandID = "7C1D2E3F-4A5B-4C6D-8E9F-0A1B2C3D4E5F"
)

// wsmanRequest is what the endpoint reads of a request envelope.
type wsmanRequest struct {
	Action    string   `xml:"Header>Action"`
	MessageID string   `xml:"Header>MessageID"`
	Command   string   `xml:"Body>CommandLine>Command"`
	Args      []string `xml:"Body>CommandLine>Arguments"`
}

// wsman is the endpoint's handler. It records what it saw, for the tests.
type wsman struct {
	mu        sync.Mutex
	actions   []string
	sealed    []bool   // per SOAP request: whether it arrived sealed
	protocols []string // per SOAP request: the protocol it was sealed under, if sealed
	commands  map[string]string
	errs      []error
	// plainAnswers makes the endpoint answer sealed requests in the clear, as a man in
	// the middle who cannot seal would have to.
	plainAnswers bool
}

func (s *wsman) fail(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	http.Error(w, "bad request", http.StatusBadRequest)
}

func (s *wsman) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, err)
		return
	}
	if len(body) == 0 {
		w.WriteHeader(http.StatusOK) // the empty request that authenticates before sealing
		return
	}
	sctx, ok := httpauth.SecurityContextFromContext(r.Context())
	if !ok {
		s.fail(w, fmt.Errorf("no security context kept for the request"))
		return
	}
	ct := r.Header.Get("Content-Type")
	sealed := strings.HasPrefix(strings.ToLower(ct), "multipart/")
	plain, protocol := body, ""
	if sealed {
		if plain, _, err = httpauth.DecryptWinRMBody(sctx.Handle(), body, ct); err != nil {
			s.fail(w, err)
			return
		}
		parts, _ := httpauth.ParseWinRMBody(body, ct) // it parsed a moment ago
		protocol = parts[0].Protocol
	}
	var req wsmanRequest
	if err := xml.Unmarshal(plain, &req); err != nil {
		s.fail(w, fmt.Errorf("not a SOAP envelope: %w", err))
		return
	}
	id, _ := httpauth.IdentityFromContext(r.Context())
	resp, err := s.answer(req, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.mu.Lock()
	s.actions = append(s.actions, req.Action)
	s.sealed = append(s.sealed, sealed)
	s.protocols = append(s.protocols, protocol)
	s.mu.Unlock()
	out, outType := []byte(resp), "application/soap+xml;charset=UTF-8"
	s.mu.Lock()
	plainAnswers := s.plainAnswers
	s.mu.Unlock()
	if sealed && !plainAnswers {
		// Answered in the request's protocol, as Windows does: pywinrm opens only a body
		// sealed under the protocol it sent.
		if out, outType, err = httpauth.EncryptWinRMBodyAs(sctx.Handle(), protocol, out, outType); err != nil {
			s.fail(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", outType)
	w.Write(out)
}

// envelope is a response to req: its action, RelatesTo naming the request (pywinrm
// checks it), and body.
func envelope(req wsmanRequest, action, body string) string {
	return `<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell + `">` +
		`<s:Header><a:Action>` + action + `</a:Action><a:RelatesTo>` + html.EscapeString(req.MessageID) + `</a:RelatesTo></s:Header>` +
		`<s:Body>` + body + `</s:Body></s:Envelope>`
}

func (s *wsman) answer(req wsmanRequest, id sspi.Identity) (string, error) {
	switch req.Action {
	case actionCreate:
		return envelope(req, actionCreate+"Response", `<x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><a:Address>http://localhost/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>`+nsShell+`/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">`+testShellID+`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>`+testShellID+`</rsp:ShellId></rsp:Shell>`), nil
	case actionCommand:
		s.mu.Lock()
		if s.commands == nil {
			s.commands = map[string]string{}
		}
		s.commands[testCommandID] = strings.TrimSpace(req.Command + " " + strings.Join(req.Args, " "))
		s.mu.Unlock()
		return envelope(req, actionCommand+"Response", `<rsp:CommandResponse><rsp:CommandId>`+testCommandID+`</rsp:CommandId></rsp:CommandResponse>`), nil
	case actionReceive:
		s.mu.Lock()
		cmd := s.commands[testCommandID]
		s.mu.Unlock()
		stdout, stderr, code := run(cmd, id)
		b64 := base64.StdEncoding.EncodeToString
		return envelope(req, actionReceive+"Response", `<rsp:ReceiveResponse>`+
			`<rsp:Stream Name="stdout" CommandId="`+testCommandID+`">`+b64([]byte(stdout))+`</rsp:Stream>`+
			`<rsp:Stream Name="stderr" CommandId="`+testCommandID+`">`+b64([]byte(stderr))+`</rsp:Stream>`+
			`<rsp:Stream Name="stdout" CommandId="`+testCommandID+`" End="true"></rsp:Stream>`+
			`<rsp:Stream Name="stderr" CommandId="`+testCommandID+`" End="true"></rsp:Stream>`+
			`<rsp:CommandState CommandId="`+testCommandID+`" State="`+nsShell+`/CommandState/Done"><rsp:ExitCode>`+fmt.Sprint(code)+`</rsp:ExitCode></rsp:CommandState>`+
			`</rsp:ReceiveResponse>`), nil
	case actionSignal:
		return envelope(req, actionSignal+"Response", `<rsp:SignalResponse/>`), nil
	case actionDelete:
		return envelope(req, actionDelete+"Response", ``), nil
	}
	return "", fmt.Errorf("unexpected action %q", req.Action)
}

// run is the shell's one-command interpreter.
func run(cmd string, id sspi.Identity) (stdout, stderr string, code int) {
	switch {
	case cmd == "whoami":
		return id.Principal + "\r\n", "", 0
	case strings.HasPrefix(cmd, "echo "):
		return strings.TrimPrefix(cmd, "echo ") + "\r\n", "", 0
	}
	return "", "'" + cmd + "' is not recognized as an internal or external command\r\n", 1
}

// startEndpoint serves the shell behind httpauth with cfg (KeepSecurityContext set).
func startEndpoint(t *testing.T, cfg httpauth.Config, tlsOn bool) (*httptest.Server, *wsman) {
	t.Helper()
	cfg.KeepSecurityContext = true
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	var ts *httptest.Server
	if tlsOn {
		// httptest makes its certificate when it starts, after the middleware exists.
		cfg.ServerCertificate = func(*tls.ConnectionState) (*tls.Certificate, error) { return &ts.TLS.Certificates[0], nil }
	}
	auth, err := httpauth.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	h := &wsman{}
	mux := http.NewServeMux()
	mux.Handle("/wsman", auth.Handler(h))
	ts = httptest.NewUnstartedServer(mux)
	auth.Install(ts.Config)
	if tlsOn {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, err := range h.errs {
			t.Errorf("endpoint: %v", err)
		}
	})
	return ts, h
}

// testWriter sends the middleware's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
