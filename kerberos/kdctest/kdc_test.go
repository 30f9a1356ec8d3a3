package kdctest_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
	"github.com/gosspi/sspi/negotiate"
)

const (
	realm    = "KDCTEST.TEST"
	user     = "alice"
	password = "correct horse battery staple"
	spn      = "host/localhost"
)

var allEnctypes = []string{
	"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96",
	"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128", "rc4-hmac",
}

// startKDC starts a KDC with alice and host/localhost and writes its krb5.conf and the
// service's keytab into a temporary directory.
func startKDC(t testing.TB, opts *kdctest.Options) (k *kdctest.KDC, conf, keytab string) {
	t.Helper()
	if opts == nil {
		opts = &kdctest.Options{}
	}
	if opts.Realm == "" {
		opts.Realm = realm
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	k, err := kdctest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	if err := k.AddUser(user, password); err != nil {
		t.Fatal(err)
	}
	if _, err := k.AddService(spn); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf, keytab = filepath.Join(dir, "krb5.conf"), filepath.Join(dir, "krb5.keytab")
	if err := k.WriteConfig(conf); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteKeytab(keytab); err != nil {
		t.Fatal(err)
	}
	return k, conf, keytab
}

func acquire(t testing.TB, pkg string, use sspi.CredentialUse, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", pkg, use, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// handshake runs client and server contexts to the end and checks a sealed round trip.
func handshake(t *testing.T, cc, sc *sspi.Credentials) (*sspi.ClientContext, *sspi.ServerContext) {
	t.Helper()
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: spn})
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	t.Cleanup(func() { cli.Close(); srv.Close() })
	var in []byte
	for i := 0; i < 6 && !(cli.Established() && srv.Established()); i++ {
		out, err := cli.Step(in)
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		if len(out) == 0 {
			break
		}
		if in, err = srv.Step(out); err != nil {
			t.Fatalf("server: %v", err)
		}
	}
	if !cli.Established() || !srv.Established() {
		t.Fatal("the handshake did not finish")
	}
	if !cli.Attributes().Has(sspi.ISCRetMutualAuth) {
		t.Errorf("no mutual authentication: %v", cli.Attributes())
	}
	msg := []byte("sealed round trip")
	tok, err := cli.Wrap(msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(tok, msg) {
		t.Error("the wrapped message is not encrypted")
	}
	got, err := srv.Unwrap(tok)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("unwrap: %q, %v", got, err)
	}
	return cli, srv
}

// TestOwnClientEveryEnctype: package kerberos logs on with a password (AS exchange with
// preauthentication), gets a service ticket (TGS) and authenticates to its own acceptor,
// which reads the keytab the KDC exported, for every encryption type the KDC offers.
func TestOwnClientEveryEnctype(t *testing.T) {
	for _, et := range allEnctypes {
		t.Run(et, func(t *testing.T) {
			k, conf, kt := startKDC(t, &kdctest.Options{Enctypes: []string{et}})
			cc := acquire(t, kerberos.PackageName, sspi.CredOutbound, &kerberos.ClientConfig{Principal: user + "@" + realm, Password: password, Config: conf})
			sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt})
			_, srv := handshake(t, cc, sc)
			id, err := srv.Identity()
			if err != nil || id.Principal != user+"@"+realm || id.Server != spn+"@"+realm {
				t.Errorf("server identity %+v, %v", id, err)
			}
			// KDC_ERR_PREAUTH_REQUIRED, the AS-REQ with the timestamp, the TGS-REQ.
			if c := k.Counts(); c.AS != 2 || c.TGS != 1 || c.Errors != 1 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

// TestNegotiateChoosesKerberos: Negotiate on both sides picks Kerberos with the KDC's
// tickets, as the demo shows.
func TestNegotiateChoosesKerberos(t *testing.T) {
	_, conf, kt := startKDC(t, nil)
	id := &kerberos.ClientConfig{Principal: user + "@" + realm, Password: password, Config: conf}
	cc := acquire(t, negotiate.PackageName, sspi.CredOutbound, &negotiate.Config{Mechanisms: []string{"Kerberos"}, Credentials: map[string]any{"Kerberos": id}})
	sc := acquire(t, negotiate.PackageName, sspi.CredInbound, &negotiate.Config{Mechanisms: []string{"Kerberos"}, Credentials: map[string]any{"Kerberos": &kerberos.ServerConfig{Keytab: kt}}})
	cli, srv := handshake(t, cc, sc)
	for _, h := range []*sspi.Context{cli.Handle(), srv.Handle()} {
		var ni sspi.NegotiationInfo
		if err := sspi.QueryContextAttributes(h, sspi.AttrNegotiationInfo, &ni); err != nil || ni.PackageInfo.Name != kerberos.PackageName {
			t.Errorf("negotiated %q, %v", ni.PackageInfo.Name, err)
		}
	}
}
