package kerberos

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// Two MIT KDCs for the referral tests: alice in A.TEST; HTTP/web.b.test and
// HTTP/files.b.test in B.TEST, which trusts A.TEST (krbtgt/B.TEST@A.TEST in both
// databases). A's KDC maps the hosts web.b.test and ghost.b.test to B.TEST in its own
// [domain_realm], so it answers a canonicalize request for HTTP/web.b.test with a referral
// TGT; files.b.test it does not map, so it refers nothing for it. The client's krb5.conf knows both realms'
// KDCs but maps no host to a realm.
const (
	referralHost = "web.b.test"   // A's KDC refers it to B.TEST
	fallbackHost = "files.b.test" // A's KDC does not know its realm
	ghostHost    = "ghost.b.test" // A's KDC refers it to B.TEST, which has no such service
)

// crossRealm starts the two KDCs for t (about 0.6 s): the tests that use them run their
// cases as subtests of one test each.
func crossRealm(t *testing.T) *testpeers.CrossRealm {
	t.Helper()
	return testpeers.StartCrossRealmKDCs(t, testpeers.CrossRealmOptions{
		ServicesB:    []string{"HTTP/" + referralHost, "HTTP/" + fallbackHost},
		DomainRealmA: map[string]string{referralHost: testpeers.CrossRealmB, ghostHost: testpeers.CrossRealmB},
	})
}

// referralClient returns alice's credentials from the two-realm configuration, and the
// client credentials inside (to read what the client keeps).
func referralClient(t *testing.T, x *testpeers.CrossRealm) (*sspi.Credentials, *clientCreds) {
	t.Helper()
	c, err := newClientCreds(&ClientConfig{Principal: testpeers.KDCUser + "@" + x.A.Realm, Password: testpeers.KDCPassword, Config: x.Krb5Conf}, false)
	if err != nil {
		t.Fatal(err)
	}
	h, err := handOff(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(h) })
	return h, c
}

// TestMITReferral (issue 12), against two live MIT KDCs:
//   - referral: our client, whose krb5.conf has default_realm A.TEST and no [domain_realm],
//     gets a ticket for HTTP/web.b.test by asking A's KDC, following its referral (RFC 6806
//     8) to B's, and authenticates to our acceptor holding B's keytab (mutual
//     authentication, sealed messages). A's KDC answered the request for the service with
//     krbtgt/B.TEST@A.TEST (its log), B's issued the ticket, the client keeps the referral
//     TGT;
//   - fallback realm: for HTTP/files.b.test, which A's KDC neither holds nor refers, the
//     client asks, as MIT does, in the host's fallback realm B.TEST (its parent domain
//     upper-cased) through a cross-realm TGT it asks A for itself;
//   - no fallback after a referral, and the error when the fallback realm fails too;
//   - realms in lower case (alice@a.test, HTTP/files.b.test@b.test) as on Windows;
//   - MIT's kvno -S, with the same krb5.conf, takes the same two paths.
func TestMITReferral(t *testing.T) {
	x := crossRealm(t)
	t.Run("referral", func(t *testing.T) { referralFollowed(t, x) })
	t.Run("fallback realm", func(t *testing.T) { referralFallback(t, x) })
	t.Run("no fallback after a referral", func(t *testing.T) { referralNoFallback(t, x) })
	t.Run("fallback realm refused", func(t *testing.T) { referralFallbackRefused(t, x) })
	t.Run("realms in lower case", func(t *testing.T) { referralLowerCase(t, x) })
	t.Run("MIT kvno", func(t *testing.T) { referralMITKvno(t, x) })
}

func referralFollowed(t *testing.T, x *testpeers.CrossRealm) {
	cc, creds := referralClient(t, x)
	sc := acquire(t, sspi.CredInbound, &ServerConfig{Keytab: x.B.Keytab})
	aBefore, bBefore := len(x.A.Log()), len(x.B.Log())
	id := handshakeAndSeal(t, cc, sc, "HTTP/"+referralHost)
	if want := "HTTP/" + referralHost + "@" + x.B.Realm; id.Server != want {
		t.Errorf("the acceptor got a ticket for %s, want %s", id.Server, want)
	}
	if want := testpeers.KDCUser + "@" + x.A.Realm; id.Principal != want {
		t.Errorf("the ticket's client is %s, want %s", id.Principal, want)
	}
	// A's KDC answered the service request with the referral TGT; B's issued the ticket.
	aLog, bLog := x.A.Log()[aBefore:], x.B.Log()[bBefore:]
	if !regexp.MustCompile(`TGS_REQ .*ISSUE: .*alice@A\.TEST for krbtgt/B\.TEST@A\.TEST`).MatchString(aLog) {
		t.Errorf("A's KDC issued no referral TGT; its log:\n%s", tail(aLog))
	}
	if strings.Contains(aLog, "Server not found") {
		t.Errorf("A's KDC did not know the service (so no referral was followed); its log:\n%s", tail(aLog))
	}
	if !regexp.MustCompile(`TGS_REQ .*ISSUE: .*alice@A\.TEST for HTTP/web\.b\.test@B\.TEST`).MatchString(bLog) {
		t.Errorf("B's KDC issued no ticket for the service; its log:\n%s", tail(bLog))
	}
	if got := cachedServers(creds); !strings.Contains(got, "krbtgt/B.TEST@A.TEST") || !strings.Contains(got, "HTTP/web.b.test@B.TEST") {
		t.Errorf("the client keeps %s; want the referral TGT krbtgt/B.TEST@A.TEST and the ticket", got)
	}
}

func referralFallback(t *testing.T, x *testpeers.CrossRealm) {
	// A's KDC maps no realm for files.b.test, so it refuses the referral request; as
	// MIT does, the client then asks the host's fallback realm, its parent domain
	// upper-cased (B.TEST), through the cross-realm TGT it asks A for itself.
	cc, creds := referralClient(t, x)
	sc := acquire(t, sspi.CredInbound, &ServerConfig{Keytab: x.B.Keytab})
	aBefore, bBefore := len(x.A.Log()), len(x.B.Log())
	id := handshakeAndSeal(t, cc, sc, "HTTP/"+fallbackHost)
	if want := "HTTP/" + fallbackHost + "@" + x.B.Realm; id.Server != want {
		t.Errorf("the acceptor got a ticket for %s, want %s", id.Server, want)
	}
	aLog, bLog := x.A.Log()[aBefore:], x.B.Log()[bBefore:]
	refused := regexp.MustCompile(`TGS_REQ .*alice@A\.TEST for HTTP/files\.b\.test@A\.TEST, Server not found in Kerberos database`).FindStringIndex(aLog)
	crossTGT := regexp.MustCompile(`TGS_REQ .*ISSUE: .*alice@A\.TEST for krbtgt/B\.TEST@A\.TEST`).FindStringIndex(aLog)
	if refused == nil || crossTGT == nil || crossTGT[0] < refused[0] {
		t.Errorf("A's KDC should refuse HTTP/files.b.test, then issue krbtgt/B.TEST; its log:\n%s", tail(aLog))
	}
	if !regexp.MustCompile(`TGS_REQ .*ISSUE: .*alice@A\.TEST for HTTP/files\.b\.test@B\.TEST`).MatchString(bLog) {
		t.Errorf("B's KDC issued no ticket for the service; its log:\n%s", tail(bLog))
	}
	if got := cachedServers(creds); !strings.Contains(got, "krbtgt/B.TEST@A.TEST") {
		t.Errorf("the client keeps %s; want the cross-realm TGT krbtgt/B.TEST@A.TEST", got)
	}
}

func referralNoFallback(t *testing.T, x *testpeers.CrossRealm) {
	// A refers HTTP/ghost.b.test to B, which does not hold it: as in MIT, the fallback
	// realm is for a refusal of the first request only, so the client stops there.
	cc, _ := referralClient(t, x)
	sc := acquire(t, sspi.CredInbound, &ServerConfig{Keytab: x.B.Keytab})
	aBefore := len(x.A.Log())
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "HTTP/" + ghostHost})
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer cli.Close()
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err == nil || !strings.Contains(err.Error(), "SEC_E_TARGET_UNKNOWN") || !strings.Contains(err.Error(), "B.TEST") {
		t.Fatalf("handshake: %v, want SEC_E_TARGET_UNKNOWN from B.TEST", err)
	}
	if n := strings.Count(x.A.Log()[aBefore:], "TGS_REQ"); n != 1 {
		t.Errorf("A's KDC got %d TGS requests, want the one it answered with a referral:\n%s", n, tail(x.A.Log()[aBefore:]))
	}
}

func referralFallbackRefused(t *testing.T, x *testpeers.CrossRealm) {
	// nothing.c.test: A refers nothing, and its fallback realm C.TEST is no realm A
	// trusts. The error is A's verdict on the service, with the fallback's added.
	cc, _ := referralClient(t, x)
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "HTTP/nothing.c.test"})
	defer cli.Close()
	_, err := cli.Step(nil)
	if sspi.StatusOf(err) != sspi.ErrTargetUnknown {
		t.Fatalf("Step: %v, want SEC_E_TARGET_UNKNOWN", err)
	}
	for _, want := range []string{"HTTP/nothing.c.test@A.TEST", "KDC_ERR_S_PRINCIPAL_UNKNOWN", "fallback realm C.TEST", "krbtgt/C.TEST@A.TEST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func referralLowerCase(t *testing.T, x *testpeers.CrossRealm) {
	// As on Windows, realms are named without regard to case: alice@a.test asks for
	// HTTP/files.b.test@b.test, which goes straight to B (a cross-realm TGT from A, no
	// referral request) in the spelling krb5.conf gives the realms.
	c, err := newClientCreds(&ClientConfig{Principal: "alice@a.test", Password: testpeers.KDCPassword, Config: x.Krb5Conf}, false)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := handOff(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(cc) })
	sc := acquire(t, sspi.CredInbound, &ServerConfig{Keytab: x.B.Keytab})
	aBefore := len(x.A.Log())
	id := handshakeAndSeal(t, cc, sc, "HTTP/"+fallbackHost+"@b.test")
	if want := "HTTP/" + fallbackHost + "@B.TEST"; id.Server != want || id.Principal != "alice@A.TEST" {
		t.Errorf("the acceptor got %s for %s, want alice@A.TEST for %s", id.Principal, id.Server, want)
	}
	if aLog := x.A.Log()[aBefore:]; strings.Contains(aLog, "Server not found") || !strings.Contains(aLog, "for krbtgt/B.TEST@A.TEST") {
		t.Errorf("A's KDC should issue krbtgt/B.TEST and nothing else fail; its log:\n%s", tail(aLog))
	}
}

func referralMITKvno(t *testing.T, x *testpeers.CrossRealm) {
	// MIT's own client with the same krb5.conf: kvno -S makes an NT-SRV-HST name in the
	// referral realm, as gss_import_name does for HTTP@web.b.test.
	out := mitKvno(t, x, "HTTP", referralHost)
	if !strings.Contains(out, "Following referral TGT krbtgt/B.TEST@A.TEST") {
		t.Errorf("MIT's client did not follow a referral:\n%s", out)
	}
	// And for the host A's KDC does not map, MIT falls back to B.TEST as we do.
	out = mitKvno(t, x, "HTTP", fallbackHost)
	if !strings.Contains(out, "Local realm referral failed; trying fallback realm B.TEST") {
		t.Errorf("MIT's client did not fall back to B.TEST:\n%s", out)
	}
}

// handshakeAndSeal runs our client against our acceptor for target with mutual
// authentication, exchanges sealed messages, and returns the acceptor's view.
func handshakeAndSeal(t *testing.T, cc, sc *sspi.Credentials, target string) sspi.Identity {
	t.Helper()
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: target})
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer cli.Close()
	defer srv.Close()
	toks, err := handshake(t, cli, srv)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 || cli.Attributes()&sspi.ISCRetMutualAuth == 0 {
		t.Errorf("%d tokens, attributes %v: want mutual authentication", len(toks), cli.Attributes())
	}
	exchangeMessages(t, cli, srv)
	id, err := srv.Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// cachedServers lists the servers of the tickets the client keeps.
func cachedServers(c *clientCreds) string {
	var s []string
	for _, cr := range c.cl.CCache().Credentials {
		s = append(s, cr.Server.Name.String()+"@"+cr.Server.Realm)
	}
	return strings.Join(s, " ")
}

// mitKvno runs MIT's kinit as alice and kvno -S service host with the two-realm
// krb5.conf and KRB5_TRACE, and returns the trace.
func mitKvno(t *testing.T, x *testpeers.CrossRealm, service, host string) string {
	t.Helper()
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	kvno := testpeers.Require(t, "krb5-user", "kvno")
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	env := append(os.Environ(), x.Env()...)
	env = append(env, "KRB5CCNAME=FILE:"+filepath.Join(dir, "cc"), "KRB5_TRACE="+trace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := exec.CommandContext(ctx, kinit, testpeers.KDCUser+"@"+x.A.Realm)
	k.Env, k.Stdin = env, strings.NewReader(testpeers.KDCPassword+"\n")
	if out, err := k.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	v := exec.CommandContext(ctx, kvno, "-S", service, host)
	v.Env = env
	out, err := v.CombinedOutput()
	tr, _ := os.ReadFile(trace)
	if err != nil {
		t.Fatalf("kvno -S %s %s: %v\n%s\n%s", service, host, err, out, tr)
	}
	return string(tr)
}

// tail is the end of a KDC log, for failure messages.
func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}
