package winrm

import (
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/masterzen/winrm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

const password = "Passw0rd!"

func ntlmServerConfig(t *testing.T) *ntlm.ServerConfig {
	t.Helper()
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:" + password + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &ntlm.ServerConfig{Accounts: store}
}

// client is a masterzen/winrm client of url through tr.
func client(t *testing.T, rawURL string, tr *Transport) *winrm.Client {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	params := *winrm.DefaultParameters
	params.TransportDecorator = func() winrm.Transporter { return tr }
	ep := winrm.NewEndpoint(host, port, u.Scheme == "https", true, nil, nil, nil, 0)
	c, err := winrm.NewClientWithParameters(ep, "", "", &params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return c
}

// runCommands runs echo and whoami through c and checks their output.
func runCommands(t *testing.T, c *winrm.Client, who string) {
	t.Helper()
	stdout, stderr, code, err := c.RunWithString("echo sealed hello", "")
	if err != nil || code != 0 || stdout != "sealed hello\r\n" || stderr != "" {
		t.Fatalf("echo: %q, %q, %d, %v", stdout, stderr, code, err)
	}
	stdout, _, code, err = c.RunWithString("whoami", "")
	if err != nil || code != 0 || stdout != who+"\r\n" {
		t.Fatalf("whoami: %q, %d, %v; want %s", stdout, code, err, who)
	}
	_, stderr, code, err = c.RunWithString("format c:", "")
	if err != nil || code != 1 || !strings.Contains(stderr, "not recognized") {
		t.Fatalf("unknown command: %q, %d, %v", stderr, code, err)
	}
}

// checkSealed checks that the endpoint saw a full shell conversation, every request sealed
// (or none, when sealed is false).
func checkSealed(t *testing.T, h *wsman, sealed bool) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.actions) < 5 {
		t.Fatalf("the endpoint saw %d requests: %v", len(h.actions), h.actions)
	}
	for i, s := range h.sealed {
		if s != sealed {
			t.Fatalf("request %d (%s) sealed: %v, want %v", i, h.actions[i], s, sealed)
		}
	}
}

// checkProtocol checks that every sealed request named protocol.
func checkProtocol(t *testing.T, h *wsman, protocol string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, p := range h.protocols {
		if h.sealed[i] && p != protocol {
			t.Fatalf("request %d (%s) sealed under %q, want %q", i, h.actions[i], p, protocol)
		}
	}
}

// TestNTLM: masterzen/winrm through Transport with NTLM runs commands on the endpoint over
// plain HTTP, every message sealed with NTLM session security, the identity the endpoint
// sees being the Transport's user.
func TestNTLM(t *testing.T) {
	for _, pkg := range []string{"NTLM", "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			ts, h := startEndpoint(t, httpauth.Config{NTLM: ntlmServerConfig(t)}, false)
			tr := &Transport{Package: pkg, Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: password}, SPN: "HTTP/localhost"}
			runCommands(t, client(t, ts.URL, tr), `EXAMPLE\alice`)
			checkSealed(t, h, true)
		})
	}
}

func TestWrongPassword(t *testing.T) {
	ts, h := startEndpoint(t, httpauth.Config{NTLM: ntlmServerConfig(t)}, false)
	tr := &Transport{Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "wrong"}, SPN: "HTTP/localhost"}
	_, _, _, err := client(t, ts.URL, tr).RunWithString("whoami", "")
	if !errors.Is(err, sspi.ErrLogonDenied) {
		t.Fatalf("wrong password: %v, want SEC_E_LOGON_DENIED", err)
	}
	if len(h.actions) != 0 {
		t.Fatalf("the endpoint served %v", h.actions)
	}
}

// TestKerberos: with a ticket from an in-process KDC for HTTP/localhost, as Negotiate (SPNEGO)
// and as a bare Kerberos token under the Negotiate scheme, sealed with RFC 4121 Wrap
// tokens; the endpoint's AP-REP authenticates it to the Transport.
func TestKerberos(t *testing.T) {
	kdc := testkdc.Shared(t, testpeers.KDCOptions{Services: []string{"HTTP/localhost"}})
	ccfg := &kerberos.ClientConfig{Principal: kdc.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: kdc.Krb5Conf}
	for _, tt := range []struct {
		pkg      string
		authData any
	}{
		{pkg: "Kerberos", authData: ccfg},
		{pkg: "Negotiate", authData: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: ccfg}}},
	} {
		t.Run(tt.pkg, func(t *testing.T) {
			ts, h := startEndpoint(t, httpauth.Config{Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}}, false)
			cred, _, err := sspi.AcquireCredentialsHandle("", tt.pkg, sspi.CredOutbound, nil, tt.authData, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(cred)
			tr := &Transport{Package: tt.pkg, Credentials: cred}
			runCommands(t, client(t, strings.Replace(ts.URL, "127.0.0.1", "localhost", 1), tr), kdc.Principal(testpeers.KDCUser))
			checkSealed(t, h, true)
			// The protocol names the Negotiate scheme the tokens went under, not the package.
			checkProtocol(t, h, httpauth.WinRMProtocolSPNEGO)
			if tr.sess == nil || tr.sess.Attributes()&sspi.ISCRetMutualAuth == 0 {
				t.Fatal("the Transport's context did not authenticate the server")
			}
		})
	}
}

// TestHTTPS: over TLS the default leaves messages to TLS, with the authentication bound to
// the TLS channel (Extended Protection); EncryptAlways seals them too.
func TestHTTPS(t *testing.T) {
	for _, tt := range []struct {
		name string
		enc  Encryption
	}{{"TLS only", EncryptOverHTTP}, {"sealed inside TLS", EncryptAlways}} {
		t.Run(tt.name, func(t *testing.T) {
			ts, h := startEndpoint(t, httpauth.Config{NTLM: ntlmServerConfig(t), ChannelBindings: sspi.BindingsRequired}, true)
			tr := &Transport{Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: password}, SPN: "HTTP/localhost", Encryption: tt.enc}
			runCommands(t, client(t, ts.URL, tr), `EXAMPLE\alice`)
			checkSealed(t, h, tt.enc == EncryptAlways)
		})
	}
}

// TestUnsealedAnswer: an answer in the clear to a sealed request (what a man in the middle
// who cannot seal must send) is refused, not parsed.
func TestUnsealedAnswer(t *testing.T) {
	ts, h := startEndpoint(t, httpauth.Config{NTLM: ntlmServerConfig(t)}, false)
	h.mu.Lock()
	h.plainAnswers = true
	h.mu.Unlock()
	tr := &Transport{Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: password}, SPN: "HTTP/localhost"}
	_, _, _, err := client(t, ts.URL, tr).RunWithString("whoami", "")
	if err == nil || !strings.Contains(err.Error(), "answered a sealed request with an unsealed") {
		t.Fatalf("an unsealed answer: %v", err)
	}
}
