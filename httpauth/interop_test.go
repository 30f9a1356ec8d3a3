package httpauth

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gkclient "github.com/jcmturner/gokrb5/v8/client"
	gkconfig "github.com/jcmturner/gokrb5/v8/config"
	gkspnego "github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// The real HTTP clients of our middleware: curl (--ntlm, --negotiate), python3-requests-
// kerberos with mutual authentication REQUIRED, python3-requests-ntlm, gokrb5's SPNEGO
// client. Each runs with a private environment (testpeers.Environ) and skips without
// its package, or fails under SSPI_INTEROP=require.

const httpService = "HTTP/localhost"

// runPeer runs a client program under a time-out and returns its standard output.
func runPeer(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("%s %q: %v\nstderr:\n%s", name, args, err, stderr.String())
	}
	return string(out), err
}

// localURL names the server as localhost, the host of HTTP/localhost and of the test
// certificate.
func localURL(ts *testServer) string {
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/"
}

// curlStatus runs curl and returns "CODE BODY".
func curl(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin := testpeers.RequireCurl(t)
	out, err := runPeer(t, env, bin, append([]string{"-sS", "--max-time", "30", "-w", " %{http_code}"}, args...)...)
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	return out
}

func TestInteropCurlNTLM(t *testing.T) {
	testpeers.RequireCurl(t)
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	env := testpeers.Environ(t, testpeers.NTLMEnv{})
	for _, user := range []string{`EXAMPLE\alice`, "alice@EXAMPLE"} {
		for _, scheme := range []string{"--ntlm"} {
			got := curl(t, env, scheme, "-u", user+":"+testPassword, localURL(ts))
			if got != `hello EXAMPLE\alice 200` {
				t.Errorf("curl %s -u %s: %q\n%s", scheme, user, got, ts.log)
			}
		}
	}
	if got := curl(t, env, "--ntlm", "-u", `EXAMPLE\alice:wrong`, localURL(ts)); !strings.HasSuffix(got, " 401") || strings.Contains(got, "SEC_E") {
		t.Errorf("wrong password: %q", got)
	}
	if !strings.Contains(ts.log.String(), "SEC_E_LOGON_DENIED") {
		t.Errorf("the failure is not in the log:\n%s", ts.log)
	}
}

// TestInteropCurlNTLMOverTLS: curl over HTTPS against Extended Protection. curl 7.88's
// own NTLM sends no channel bindings, so "when present" serves it and "required"
// refuses it, logged as SEC_E_BAD_BINDINGS.
func TestInteropCurlNTLMOverTLS(t *testing.T) {
	testpeers.RequireCurl(t)
	pki := testpeers.NewPKI(t)
	env := testpeers.Environ(t, testpeers.NTLMEnv{})
	for _, tt := range []struct {
		policy sspi.ChannelBindingPolicy
		want   string
	}{
		{sspi.BindingsWhenPresent, `hello EXAMPLE\alice 200`},
		{sspi.BindingsRequired, "Unauthorized\n 401"},
	} {
		cert := pki.Server.Cert
		ts := startServer(t, Config{NTLM: testNTLMConfig(t), ChannelBindings: tt.policy}, &cert)
		got := curl(t, env, "--cacert", pki.CAFile, "--ntlm", "-u", `EXAMPLE\alice:`+testPassword, localURL(ts))
		if got != tt.want {
			t.Errorf("policy %v: %q\n%s", tt.policy, got, ts.log)
		}
		if tt.policy == sspi.BindingsRequired && !strings.Contains(ts.log.String(), "SEC_E_BAD_BINDINGS") {
			t.Errorf("log:\n%s", ts.log)
		}
	}
}

// kdcServer starts the loopback MIT KDC with HTTP/localhost and a server offering
// Negotiate (Kerberos, NTLM), NTLM and Kerberos with its keytab.
func kdcServer(t *testing.T, cfg Config) (*testpeers.KDC, *testServer) {
	k := testpeers.StartKDC(t, testpeers.KDCOptions{Services: []string{httpService}})
	return k, krbServer(t, k, cfg)
}

// ownKDCServer is kdcServer with the package's in-process KDC (ownKDC), for clients that
// need a KDC but not MIT's.
func ownKDCServer(t *testing.T, cfg Config) (*testpeers.KDC, *testServer) {
	k := ownKDC(t).KDC
	return k, krbServer(t, k, cfg)
}

// krbServer starts a server offering Negotiate (Kerberos, NTLM), NTLM and Kerberos with
// k's keytab.
func krbServer(t *testing.T, k *testpeers.KDC, cfg Config) *testServer {
	cfg.NTLM = testNTLMConfig(t)
	cfg.Kerberos = &kerberos.ServerConfig{Keytab: k.Keytab}
	if cfg.Schemes == nil {
		cfg.Schemes = []string{SchemeNegotiate, SchemeNTLM, SchemeKerberos}
	}
	return startServer(t, cfg, nil)
}

func TestInteropCurlNegotiate(t *testing.T) {
	testpeers.RequireCurl(t)
	k, ts := kdcServer(t, Config{})
	ccache := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, append(k.Env(), "KRB5CCNAME="+ccache)...)
	got := curl(t, env, "--negotiate", "-u", ":", localURL(ts))
	if want := "hello " + k.Principal(testpeers.KDCUser) + " 200"; got != want {
		t.Fatalf("curl --negotiate: %q, want %q\n%s", got, want, ts.log)
	}
	if !strings.Contains(ts.log.String(), "scheme=Negotiate legs=1") || !strings.Contains(ts.log.String(), "package=Kerberos") {
		t.Errorf("log:\n%s", ts.log)
	}
}

const requestsKerberosScript = `
import sys, requests
from requests_kerberos import HTTPKerberosAuth, REQUIRED
r = requests.get(sys.argv[1], auth=HTTPKerberosAuth(mutual_authentication=REQUIRED))
print(r.status_code, r.text)
`

// TestInteropRequestsKerberos: requests-kerberos with mutual authentication REQUIRED
// checks our final token (the AP-REP inside SPNEGO's accept-completed); with the token
// stripped from the response it refuses the response, which shows the check ran.
func TestInteropRequestsKerberos(t *testing.T) {
	py := testpeers.RequirePython(t, "python3-requests-kerberos", "requests_kerberos")
	k, ts := kdcServer(t, Config{})
	ccache := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, append(k.Env(), "KRB5CCNAME="+ccache)...)
	out, err := runPeer(t, env, py, "-c", requestsKerberosScript, localURL(ts))
	if want := "200 hello " + k.Principal(testpeers.KDCUser) + "\n"; err != nil || out != want {
		t.Fatalf("requests-kerberos: %q %v, want %q\n%s", out, err, want, ts.log)
	}

	// The same server with the final token removed from its responses.
	strip := startServerWith(t, ts.auth, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(stripFinal{w}, r)
		})
	})
	out, err = runPeer(t, env, py, "-c", requestsKerberosScript, localURL(strip))
	if err == nil || strings.HasPrefix(out, "200") {
		t.Fatalf("requests-kerberos accepted a response without the final token: %q", out)
	}
}

// stripFinal deletes WWW-Authenticate from a successful response.
type stripFinal struct{ http.ResponseWriter }

func (s stripFinal) WriteHeader(code int) {
	if code == http.StatusOK {
		s.Header().Del(HeaderWWWAuthenticate)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s stripFinal) Write(b []byte) (int, error) {
	s.Header().Del(HeaderWWWAuthenticate)
	return s.ResponseWriter.Write(b)
}

// startServerWith serves a's Handler wrapped by wrap on a new httptest server.
func startServerWith(t *testing.T, a *Server, wrap func(http.Handler) http.Handler) *testServer {
	ts := httptestServer(t, wrap(a.Handler(whoami)), a)
	return &testServer{ts, a, nil}
}

const requestsNTLMScript = `
import sys, requests
from requests_ntlm import HttpNtlmAuth
verify = sys.argv[4] if len(sys.argv) > 4 else True
r = requests.get(sys.argv[1], auth=HttpNtlmAuth(sys.argv[2], sys.argv[3]), verify=verify)
print(r.status_code, r.text)
`

// opensslLegacy writes an OPENSSL_CONF that enables the legacy provider, where
// OpenSSL 3 keeps the MD4 that python3-ntlm-auth needs.
func opensslLegacy(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "openssl.cnf")
	conf := "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n" +
		"[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n" +
		"[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n"
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInteropRequestsNTLM: requests-ntlm over HTTP, and over HTTPS with Extended
// Protection required (requests-ntlm binds to the server's certificate).
func TestInteropRequestsNTLM(t *testing.T) {
	py := testpeers.RequirePython(t, "python3-requests-ntlm", "requests_ntlm")
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, "OPENSSL_CONF="+opensslLegacy(t))
	ts := startServer(t, Config{NTLM: testNTLMConfig(t)}, nil)
	for _, user := range []string{`EXAMPLE\alice`, "alice@EXAMPLE"} {
		out, err := runPeer(t, env, py, "-c", requestsNTLMScript, localURL(ts), user, testPassword)
		if err != nil || out != "200 hello EXAMPLE\\alice\n" {
			t.Errorf("requests-ntlm as %s: %q %v\n%s", user, out, err, ts.log)
		}
	}
	pki := testpeers.NewPKI(t)
	cert := pki.Server.Cert
	tlsTS := startServer(t, Config{NTLM: testNTLMConfig(t), ChannelBindings: sspi.BindingsRequired}, &cert)
	out, err := runPeer(t, env, py, "-c", requestsNTLMScript, localURL(tlsTS), `EXAMPLE\alice`, testPassword, pki.CAFile)
	if err != nil || out != "200 hello EXAMPLE\\alice\n" {
		t.Errorf("requests-ntlm over TLS, bindings required: %q %v\n%s", out, err, tlsTS.log)
	}
	if !strings.Contains(tlsTS.log.String(), "channel_bindings=true") {
		t.Errorf("log:\n%s", tlsTS.log)
	}
}

// TestInteropGokrb5SPNEGO: gokrb5's SPNEGO HTTP client (test-only dependency), with
// tickets from the package's KDC.
func TestInteropGokrb5SPNEGO(t *testing.T) {
	k, ts := ownKDCServer(t, Config{})
	conf, err := gkconfig.Load(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	cl := gkclient.NewWithPassword(testpeers.KDCUser, k.Realm, testpeers.KDCPassword, conf, gkclient.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	defer cl.Destroy()
	req, _ := http.NewRequest(http.MethodGet, localURL(ts), nil)
	resp, err := gkspnego.NewClient(cl, nil, httpService).Do(req)
	if err != nil {
		t.Fatalf("%v\n%s", err, ts.log)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "hello " + k.Principal(testpeers.KDCUser); resp.StatusCode != http.StatusOK || string(body) != want {
		t.Fatalf("%d %q, want %q\n%s", resp.StatusCode, body, want, ts.log)
	}
	if resp.Header.Get(HeaderWWWAuthenticate) == "" {
		t.Errorf("no final token on the response")
	}
}
