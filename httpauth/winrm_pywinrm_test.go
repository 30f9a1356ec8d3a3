package httpauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// openSSLLegacyConf makes OpenSSL 3 load its legacy provider, where python3-ntlm-auth
// finds MD4.
const openSSLLegacyConf = `openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
`

// pywinrmScript opens a shell with message encryption always on and prints its ShellId.
const pywinrmScript = `import sys, winrm
p = winrm.Protocol(endpoint=sys.argv[1], transport='ntlm', username='EXAMPLE\\alice',
                   password='Passw0rd!', message_encryption='always')
print('SHELL', p.open_shell())
`

const winrmShellID = "5E1AB5C1-0F0A-4B7E-9C55-0123456789AB"

const soapCreateResponse = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action></s:Header><s:Body><x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + winrmShellID + `</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated></s:Body></s:Envelope>`

// winrmConn is one connection's NTLM state: NTLM authenticates the connection.
type winrmConn struct {
	server *sspi.ServerContext
}

type winrmConnKey struct{}

// winrmTestServer is a minimal WinRM endpoint: the NTLM 401 dance per connection, then
// encrypted SOAP in and out. It records the requests it opened.
type winrmTestServer struct {
	t    *testing.T
	cred *sspi.Credentials
	mu   sync.Mutex
	got  [][]byte
	errs []error
}

func (s *winrmTestServer) fail(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	http.Error(w, "refused", http.StatusBadRequest)
}

func (s *winrmTestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := r.Context().Value(winrmConnKey{}).(*winrmConn)
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok64, _ := strings.Cut(auth, " ")
		tok, err := base64.StdEncoding.DecodeString(tok64)
		if err != nil || (!strings.EqualFold(scheme, "NTLM") && !strings.EqualFold(scheme, "Negotiate")) {
			s.fail(w, err)
			return
		}
		if c.server == nil || c.server.Established() {
			c.server = sspi.NewServerContext(s.cred, sspi.ServerOptions{})
		}
		out, err := c.server.Step(tok)
		if err != nil {
			s.fail(w, err)
			return
		}
		if !c.server.Established() {
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(out))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	if c.server == nil || !c.server.Established() {
		w.Header().Set("WWW-Authenticate", "NTLM")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if len(body) == 0 { // pywinrm's empty request that sets up the context
		w.WriteHeader(http.StatusOK)
		return
	}
	plain, typ, err := DecryptWinRMBody(c.server.Handle(), body, r.Header.Get("Content-Type"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, plain)
	s.mu.Unlock()
	if !strings.HasPrefix(typ, "application/soap+xml") {
		s.fail(w, sspi.Errorf(sspi.ErrInvalidToken, "original type %q", typ))
		return
	}
	enc, ct, err := EncryptWinRMBody(c.server.Handle(), []byte(soapCreateResponse), "")
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(enc)
}

// TestWinRMPywinrm has Debian's python3-winrm, with NTLM message encryption, open a shell
// on our server: we open its encrypted Create request and it opens our encrypted answer.
func TestWinRMPywinrm(t *testing.T) {
	py := testpeers.RequirePython(t, "python3-winrm", "winrm", "requests_ntlm")
	srv := &winrmTestServer{t: t, cred: winrmNTLMServerCred(t)}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, winrmConnKey{}, &winrmConn{})
	}
	ts.Start()
	defer ts.Close()

	dir := t.TempDir()
	conf := filepath.Join(dir, "openssl.cnf")
	if err := os.WriteFile(conf, []byte(openSSLLegacyConf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", pywinrmScript, ts.URL+"/wsman")
	cmd.Env = testpeers.Environ(t, testpeers.NTLMEnv{}, "OPENSSL_CONF="+conf)
	out, err := cmd.CombinedOutput()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if err != nil || len(srv.errs) > 0 {
		t.Fatalf("pywinrm: %v\n%s\nserver errors: %v", err, out, srv.errs)
	}
	if len(srv.got) != 1 {
		t.Fatalf("server opened %d requests, want 1", len(srv.got))
	}
	req := srv.got[0]
	if !bytes.Contains(req, []byte("<env:Envelope")) && !bytes.Contains(req, []byte("Envelope")) {
		t.Fatalf("request is not a SOAP envelope: %.200q", req)
	}
	if !bytes.Contains(req, []byte("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create")) {
		t.Fatalf("request is not a Create: %.300q", req)
	}
	if want := "SHELL " + winrmShellID; !strings.Contains(string(out), want) {
		t.Fatalf("pywinrm printed %q, want %q", out, want)
	}
}
