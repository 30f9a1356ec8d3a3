package sockauth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// forwardableKrb5Conf points this process's and MIT's Kerberos at a copy of the KDC's
// krb5.conf with forwardable = true, and returns its path.
func forwardableKrb5Conf(t *testing.T, k *testpeers.KDC) string {
	t.Helper()
	b, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "krb5.conf")
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n\tforwardable = true\n", 1)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", p)
	return p
}

// TestKerberosDelegationGSSClient: MIT's gss-client -d delegates its TGT to our server,
// which, in its handler, reaches a third service as the user with the delegated
// credentials, then serves gss-client as gss-server would.
func TestKerberosDelegationGSSClient(t *testing.T) {
	testpeers.RequireGSSSample(t)
	k := startKDC(t)
	conf := forwardableKrb5Conf(t, k)
	type result struct {
		attrs sspi.ContextAttr
		third string
		err   error
	}
	got := make(chan result, 1)
	srv := &Server{Credentials: krbServerCreds(t, k, "Kerberos"), Framing: FramingGSS}
	srv.Handler = func(ctx context.Context, c *Conn) error {
		r := result{attrs: c.Attributes()}
		r.third, r.err = actAsClient(k, c.SecurityContext(), conf)
		got <- r
		return srv.defaultHandler(ctx, c)
	}
	ts := startServer(t, srv)
	res, err := testpeers.RunGSSClient(t, ts.Addr, testpeers.GSSClientOptions{
		User: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Args: []string{"-d"},
		Message: "delegated", Env: append(k.Env(), "KRB5_CONFIG="+conf),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("gss-client -d exit %d:\n%s", res.ExitCode, res.Output)
	}
	r := <-got
	if !r.attrs.Has(sspi.ASCRetDelegate) {
		t.Errorf("no ASC_RET_DELEGATE: %s", r.attrs.Format(true))
	}
	if r.err != nil || r.third != k.Principal(testpeers.KDCUser) {
		t.Errorf("the third service saw %q (%v)", r.third, r.err)
	}
}

// actAsClient authenticates to host/localhost (our acceptor, the third service) with
// the credentials delegated to sctx and returns the name the third service saw.
func actAsClient(k *testpeers.KDC, sctx *sspi.Context, conf string) (string, error) {
	dc, err := kerberos.DelegatedCredentials(sctx, &kerberos.DelegationOptions{Config: conf})
	if err != nil {
		return "", err
	}
	defer sspi.FreeCredentialsHandle(dc)
	sc, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredInbound, nil, &kerberos.ServerConfig{Keytab: k.Keytab}, nil)
	if err != nil {
		return "", err
	}
	defer sspi.FreeCredentialsHandle(sc)
	cli := sspi.NewClientContext(dc, sspi.ClientOptions{Target: testpeers.KDCService})
	defer cli.Close()
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv.Close()
	var in []byte
	for !cli.Established() || !srv.Established() {
		out, err := cli.Step(in)
		if err != nil {
			return "", err
		}
		if len(out) == 0 {
			break
		}
		if in, err = srv.Step(out); err != nil {
			return "", err
		}
	}
	id, err := srv.Identity()
	return id.Principal, err
}

// TestKerberosDelegationGSSServer: our client with Delegate (and IgnoreOKAsDelegate, as
// host/localhost is not marked OK-AS-DELEGATE) delegates its TGT to MIT's gss-server,
// which logs GSS_C_DELEG_FLAG among the context's flags: it opened our KRB-CRED.
func TestKerberosDelegationGSSServer(t *testing.T) {
	k := startKDC(t)
	gs := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{Keytab: k.Keytab, Env: k.ServerEnv()})
	for _, delegate := range []bool{true, false} {
		cred, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, &kerberos.ClientConfig{
			Principal: k.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: k.Krb5Conf,
			Forwardable: true, IgnoreOKAsDelegate: true,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sspi.FreeCredentialsHandle(cred)
		cl := &Client{Credentials: cred, Framing: FramingGSS, Protection: ProtectSeal, Target: testpeers.KDCService, Delegate: delegate}
		c, err := cl.Dial(testCtx(t), gs.Addr)
		if err != nil {
			t.Fatalf("Dial: %v\ngss-server log:\n%s", err, gs.Log())
		}
		if got := c.Attributes().Has(sspi.ISCRetDelegate); got != delegate {
			t.Errorf("delegate %v: ISC_RET_DELEGATE %v", delegate, got)
		}
		msg := "delegation " + map[bool]string{true: "on", false: "off"}[delegate]
		if err := c.WriteMessage([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if !gs.ReceivedMessage(msg) {
			t.Fatalf("gss-server did not log %q:\n%s", msg, gs.Log())
		}
		// This connection's lines: from its first token to its message.
		log := gs.Log()
		seg := log[:strings.Index(log, msg)]
		if i := strings.LastIndex(seg, "Received token"); i >= 0 {
			seg = seg[i:]
		}
		if got := strings.Contains(seg, "context flag: GSS_C_DELEG_FLAG"); got != delegate {
			t.Errorf("delegate %v: gss-server logged GSS_C_DELEG_FLAG %v:\n%s", delegate, got, seg)
		}
	}
}
