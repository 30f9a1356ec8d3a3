package credssp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/schannel"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

// sharedKDC is the package's in-process KDC (kerberos/kdctest): alice, and TERMSRV/localhost
// and HTTP/localhost in its keytab. It needs nothing installed.
func sharedKDC(t *testing.T) *testkdc.KDC {
	t.Helper()
	return testkdc.Shared(t, testpeers.KDCOptions{Services: []string{"TERMSRV/localhost", "HTTP/localhost"}})
}

// Kerberos inside CredSSP, our client against our server, with the package's KDC: the
// server is mutually authenticated, so Windows' default policy (TERMSRV/*) lets the
// client delegate without the NTLM-only opt-in.
func TestKerberosInside(t *testing.T) {
	kdc := sharedKDC(t)
	user := testpeers.KDCUser
	client := func(password string) Config {
		return Config{
			Negotiate: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{
				negotiate.Kerberos: &kerberos.ClientConfig{Principal: kdc.Principal(user), Password: password, Config: kdc.Krb5Conf}}},
			Delegate: &PasswordCredentials{Domain: kdc.Realm, User: user, Password: password},
		}
	}
	server := Config{Negotiate: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{
		negotiate.Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}}}}
	for _, tt := range []struct {
		name           string
		target         string
		password       string
		req            sspi.ContextReq
		mod            func(c *Config)
		client, server sspi.Status
	}{
		{name: "delegation to TERMSRV with mutual auth", target: "TERMSRV/localhost", req: defaultReq | sspi.ISCReqMutualAuth},
		{name: "version 2 with Kerberos", target: "TERMSRV/localhost", req: defaultReq, mod: func(c *Config) { c.MaxVersion, c.MinVersion = 2, 2 }},
		{name: "delegation to HTTP refused by the default policy", target: "HTTP/localhost", req: defaultReq, client: sspi.ErrDelegationPolicy},
		{name: "delegation to HTTP allowed by policy", target: "HTTP/localhost", req: defaultReq, mod: func(c *Config) { c.DelegateTo = []string{"HTTP/localhost"} }},
		{name: "no delegation anywhere", target: "TERMSRV/localhost", req: defaultReq, mod: func(c *Config) { c.DelegateTo = []string{} }, client: sspi.ErrDelegationPolicy},
		{name: "wrong password", target: "TERMSRV/localhost", password: "wrong", req: defaultReq, client: sspi.ErrLogonDenied},
		{name: "unknown service", target: "TERMSRV/nowhere.invalid", req: defaultReq, client: sspi.ErrTargetUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pw := testpeers.KDCPassword
			if tt.password != "" {
				pw = tt.password
			}
			ccfg, scfg := client(pw), server
			if tt.mod != nil {
				tt.mod(&ccfg)
				scfg.MinVersion = ccfg.MinVersion
			}
			c, err := newClientHandshake(innerCreds(t, sspi.CredOutbound, ccfg), tt.target, tt.req, testSPK)
			if err != nil {
				t.Fatal(err)
			}
			s, err := newServerHandshake(innerCreds(t, sspi.CredInbound, scfg), testSPK)
			if err != nil {
				t.Fatal(err)
			}
			c.gctx, s.gctx = t.Context(), t.Context()
			p := &msgPair{c: c, s: s}
			cerr, serr := p.run(t, nil)
			if tt.client != 0 || tt.server != 0 {
				if tt.client != 0 && !errors.Is(cerr, tt.client) {
					t.Fatalf("client: %v, want %v", cerr, tt.client)
				}
				if tt.server != 0 && !errors.Is(serr, tt.server) {
					t.Fatalf("server: %v, want %v", serr, tt.server)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
			if c.inner.attr&sspi.ISCRetMutualAuth == 0 {
				t.Fatal("Kerberos did not authenticate the server")
			}
			if s.id.User != user || s.id.Domain != kdc.Realm || s.id.Package != "Kerberos" {
				t.Fatalf("server identity %+v", s.id)
			}
			if pw, ok := s.delegated.(*PasswordCredentials); !ok || pw.User != user || pw.Password != testpeers.KDCPassword {
				t.Fatalf("delegated %#v", s.delegated)
			}
		})
	}
}

// A KDC that does not answer: the inner Kerberos cannot get a ticket, which CredSSP
// reports as SEC_E_NO_AUTHENTICATING_AUTHORITY.
func TestNoAuthenticatingAuthority(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[libdefaults]\n default_realm = DEAD.TEST\n dns_lookup_kdc = false\n udp_preference_limit = 1\n"+
		"[realms]\n DEAD.TEST = {\n  kdc = tcp/127.0.0.1:%d\n }\n", port)), 0o600)
	cfg := Config{
		TLS: &schannel.Config{},
		Negotiate: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{
			negotiate.Kerberos: &kerberos.ClientConfig{Principal: "alice@DEAD.TEST", Password: "x", Config: conf}}},
		Delegate: &PasswordCredentials{User: "alice", Password: "x"},
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &cfg, nil)
	if err == nil {
		defer sspi.FreeCredentialsHandle(cred)
		p := &sspiPair{t: t, ccred: cred, scred: acquireCredSSP(t, sspi.CredInbound, pkgServerConfig(t)), creq: clientReq, sreq: serverReq, target: "TERMSRV/rdp.example.com"}
		err, _ = p.run()
	}
	if !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) {
		t.Fatalf("err = %v, want SEC_E_NO_AUTHENTICATING_AUTHORITY", err)
	}
}

// The same through the package: TLS, then Kerberos inside, mutual authentication granted.
func TestKerberosInsidePackage(t *testing.T) {
	kdc := sharedKDC(t)
	ccfg := Config{
		Negotiate: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{
			negotiate.Kerberos: &kerberos.ClientConfig{Principal: kdc.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: kdc.Krb5Conf}}},
		Delegate: &PasswordCredentials{Domain: kdc.Realm, User: testpeers.KDCUser, Password: testpeers.KDCPassword},
	}
	scfg := Config{
		TLS: &schannel.Config{Certificates: []tls.Certificate{serverCert(t)}},
		Negotiate: &negotiate.Config{Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{
			negotiate.Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}}},
	}
	p := newSSPIPair(t, ccfg, scfg)
	p.target = "TERMSRV/localhost"
	p.creq |= sspi.ISCReqMutualAuth
	if cerr, serr := p.run(); cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	if a := p.cctx.Attributes(); a&sspi.ISCRetMutualAuth == 0 || a&sspi.ISCRetDelegate == 0 {
		t.Fatalf("client attributes %v", a)
	}
	d, err := DelegatedCredentials(p.sctx)
	if pw, ok := d.(*PasswordCredentials); err != nil || !ok || pw.User != testpeers.KDCUser {
		t.Fatalf("delegated %#v %v", d, err)
	}
	var names sspi.Names
	if err := sspi.QueryContextAttributes(p.sctx, sspi.AttrNames, &names); err != nil || names.UserName != kdc.Principal(testpeers.KDCUser) {
		t.Fatalf("names %+v %v", names, err)
	}
}
