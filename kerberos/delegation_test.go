package kerberos

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/negotiate"
)

// delegSPN is a service the KDC marks OK-AS-DELEGATE (trusted for delegation); testSPN
// is not marked.
const delegSPN = "deleg/localhost"

var delegOnce sync.Once

// delegKDC is the test binary's MIT KDC with delegSPN and carol added (once), and a
// keytab holding delegSPN and testSPN, for the tests in which MIT's tools read what our
// code writes or MIT's GSS-API delegates (ownDelegKDC for the others).
func delegKDC(t *testing.T) (*testpeers.KDC, string) {
	t.Helper()
	k := testpeers.SharedKDC(t, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword, "bob": ""},
		Services: []string{testSPN, otherSPN},
	})
	delegOnce.Do(func() {
		k.Kadmin(t, "addprinc -randkey +ok_as_delegate +ok_to_auth_as_delegate "+delegSPN)
		k.Kadmin(t, "addprinc -pw "+testPassword+"x carol")
	})
	return k, k.KeytabFor(t, delegSPN, testSPN)
}

var ownDelegOnce sync.Once

// ownDelegKDC is delegKDC on getKDC's in-process KDC, for the tests of our client and our
// server that need no MIT tool: delegSPN marked OK-AS-DELEGATE, carol, and a keytab
// holding delegSPN and testSPN.
func ownDelegKDC(t *testing.T) (*testpeers.KDC, string) {
	t.Helper()
	k := ownKDC(t)
	ownDelegOnce.Do(func() {
		if _, err := k.Server.AddService(delegSPN); err != nil {
			t.Fatal(err)
		}
		if err := k.Server.SetOKAsDelegate(delegSPN, true); err != nil {
			t.Fatal(err)
		}
		if err := k.Server.AddUser("carol", testPassword+"x"); err != nil {
			t.Fatal(err)
		}
	})
	return k.KDC, k.KeytabFor(t, delegSPN, testSPN)
}

// forwardableConf is a copy of the KDC's krb5.conf with forwardable = true, as MIT's
// programs need it to get forwardable TGTs.
func forwardableConf(t *testing.T, k *testpeers.KDC) string {
	t.Helper()
	b, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n\tforwardable = true\n", 1)
	p := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func delegClient(t *testing.T, k *testpeers.KDC, forwardable, ignoreOK bool) *sspi.Credentials {
	return acquire(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword,
		Config: k.Krb5Conf, Forwardable: forwardable, IgnoreOKAsDelegate: ignoreOK})
}

// TestDelegationPolicy: a forwarded TGT goes only to a service whose ticket says
// OK-AS-DELEGATE (as on Windows), to any with IgnoreOKAsDelegate (as MIT's -d), and never
// without a forwardable TGT; ISC_RET_DELEGATE and ASC_RET_DELEGATE say what happened.
func TestDelegationPolicy(t *testing.T) {
	k, kt := ownDelegKDC(t)
	srvCreds := testServerCreds(t, k, ServerConfig{Keytab: kt})
	for _, tc := range []struct {
		name                  string
		target                string
		forwardable, ignoreOK bool
		want                  bool
	}{
		{"ok-as-delegate", delegSPN, true, false, true},
		{"not-ok-as-delegate", testSPN, true, false, false},
		{"not-ok-as-delegate-ignored", testSPN, true, true, true},
		{"not-forwardable", delegSPN, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := sspi.NewClientContext(delegClient(t, k, tc.forwardable, tc.ignoreOK), sspi.ClientOptions{Target: tc.target, Req: sspi.DefaultClientReq | sspi.ISCReqDelegate})
			defer cli.Close()
			srv := sspi.NewServerContext(srvCreds, sspi.ServerOptions{})
			defer srv.Close()
			if _, err := handshake(t, cli, srv); err != nil {
				t.Fatal(err)
			}
			if got := cli.Attributes().Has(sspi.ISCRetDelegate); got != tc.want {
				t.Errorf("client ISC_RET_DELEGATE %v, want %v", got, tc.want)
			}
			if got := srv.Attributes().Has(sspi.ASCRetDelegate); got != tc.want {
				t.Errorf("server ASC_RET_DELEGATE %v, want %v", got, tc.want)
			}
			dc, err := DelegatedCredentials(srv.Handle(), &DelegationOptions{Config: k.Krb5Conf})
			if tc.want {
				if err != nil {
					t.Fatal(err)
				}
				sspi.FreeCredentialsHandle(dc)
			} else if !errors.Is(err, sspi.ErrNoCredentials) || !strings.Contains(err.Error(), "delegated no TGT") {
				t.Errorf("DelegatedCredentials without delegation: %v", err)
			}
		})
	}
}

// TestDelegationThirdService: our client delegates to our server, which reaches a third
// service as the user with the delegated credentials, and writes them as a ccache that MIT
// reads; deleting the context zeroes the TGT's key it held.
func TestDelegationThirdService(t *testing.T) {
	k, kt := delegKDC(t)
	srvCreds := testServerCreds(t, k, ServerConfig{Keytab: kt})
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			cc := delegClient(t, k, true, false)
			sc := srvCreds
			if pkg == "Negotiate" {
				cc = acquireNegotiate(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: k.Krb5Conf, Forwardable: true})
				sc = acquireNegotiate(t, sspi.CredInbound, &ServerConfig{Keytab: kt})
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: delegSPN, Req: sspi.DefaultClientReq | sspi.ISCReqDelegate})
			defer cli.Close()
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			if _, err := handshake(t, cli, srv); err != nil {
				t.Fatal(err)
			}
			if !srv.Attributes().Has(sspi.ASCRetDelegate) || !cli.Attributes().Has(sspi.ISCRetDelegate) {
				t.Fatalf("server %s, client %s: want DELEGATE on both", srv.Attributes().Format(true), cli.Attributes().Format(false))
			}
			dc, err := DelegatedCredentials(srv.Handle(), &DelegationOptions{Config: k.Krb5Conf})
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(dc)
			var names sspi.CredentialNames
			if err := sspi.QueryCredentialsAttributes(dc, sspi.CredAttrNames, &names); err != nil || names.UserName != testUser+"@"+testRealm {
				t.Errorf("delegated credentials name %q (%v)", names.UserName, err)
			}
			// The server, as alice, to the third service.
			third := sspi.NewClientContext(dc, sspi.ClientOptions{Target: testSPN})
			defer third.Close()
			thirdSrv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
			defer thirdSrv.Close()
			if _, err := handshake(t, third, thirdSrv); err != nil {
				t.Fatal(err)
			}
			if id, _ := thirdSrv.Identity(); id.Principal != testUser+"@"+testRealm {
				t.Errorf("third service saw %+v", id)
			}
			// The ccache: one forwarded TGT of alice, which MIT's klist reads.
			path := filepath.Join(t.TempDir(), "deleg.ccache")
			if err := WriteDelegatedCCache(srv.Handle(), "FILE:"+path); err != nil {
				t.Fatal(err)
			}
			c, err := ccache.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Credentials) != 1 || c.DefaultPrincipal.Name.String() != testUser || c.Credentials[0].Server.Name.String() != "krbtgt/"+testRealm ||
				c.Credentials[0].Flags&wire.FlagForwarded == 0 {
				t.Errorf("delegated ccache %+v", c)
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("ccache mode %v (%v)", st.Mode(), err)
			}
			klistShows(t, k, path, "krbtgt/"+testRealm+"@"+testRealm)

			// The context's copy of the key is zeroed when it is deleted.
			var key []byte
			_ = onServerContext(srv.Handle(), "test", func(s *serverContext) error {
				key = s.deleg.Credentials[0].Key.Value
				return nil
			})
			if allZero(key) {
				t.Fatal("the delegated key is zero before the context is deleted")
			}
			srv.Close()
			if !allZero(key) {
				t.Error("the delegated TGT's key survives DeleteSecurityContext")
			}
			if _, err := DelegatedCredentials(srv.Handle(), nil); err == nil {
				t.Error("DelegatedCredentials on a deleted context")
			}
			// The credentials handed out are the caller's and work until freed.
			again := sspi.NewClientContext(dc, sspi.ClientOptions{Target: testSPN})
			defer again.Close()
			if _, err := again.Step(nil); err != nil {
				t.Errorf("delegated credentials after the context was deleted: %v", err)
			}
		})
	}
}

func acquireNegotiate(t *testing.T, use sspi.CredentialUse, kcfg any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", use, nil,
		&negotiate.Config{Mechanisms: []string{PackageName}, Credentials: map[string]any{PackageName: kcfg}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(c) })
	return c
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return len(b) > 0
}

// klistShows runs MIT's klist on the cache and looks for principal.
func klistShows(t *testing.T, k *testpeers.KDC, path, principal string) {
	t.Helper()
	klist := testpeers.Require(t, "krb5-user", "klist")
	cmd := exec.Command(klist, "-f", "-c", "FILE:"+path)
	cmd.Env = append(k.Env(), "PATH=/usr/bin:/bin")
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err != nil {
		t.Fatalf("klist: %v\n%s", err, out)
	}
	if !strings.Contains(out, principal) || !strings.Contains(out, "Flags: F") {
		t.Errorf("klist of the delegated ccache:\n%s", out)
	}
}

// MIT's initiator (python3-gssapi, GSS_C_DELEG_FLAG, as gss-client -d asks) delegates to our
// acceptor, which uses the TGT to reach a third service as the user.
func TestDelegationMITInitiator(t *testing.T) {
	k, kt := delegKDC(t)
	testpeers.RequireGSSPython(t)
	conf := forwardableConf(t, k)
	ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
		Password: testPassword, Target: "host@localhost",
		Flags: testpeers.GSSDelegFlag | testpeers.GSSMutualFlag | testpeers.GSSIntegFlag | testpeers.GSSConfFlag,
		Env:   append(k.Env(), "KRB5_CONFIG="+conf),
	})
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{Keytab: kt}), sspi.ServerOptions{})
	defer srv.Close()
	tok, _, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Step(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ini.Step(rep); err != nil {
		t.Fatal(err)
	}
	if !srv.Attributes().Has(sspi.ASCRetDelegate) {
		t.Fatalf("MIT's delegation not granted: %s", srv.Attributes().Format(true))
	}
	info, err := ini.Info()
	if err != nil || info.Flags&testpeers.GSSDelegFlag == 0 {
		t.Errorf("MIT initiator flags %#x (%v)", info.Flags, err)
	}
	thirdService(t, k, srv.Handle(), otherSPN)
}

// Our initiator delegates to MIT's acceptor (python3-gssapi), which reports
// GSS_C_DELEG_FLAG: it decrypted and stored our KRB-CRED.
func TestDelegationMITAcceptor(t *testing.T) {
	k, _ := delegKDC(t)
	testpeers.RequireGSSPython(t)
	acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: "host@localhost", Env: k.ServerEnv(),
	})
	cli := sspi.NewClientContext(delegClient(t, k, true, true), sspi.ClientOptions{Target: testSPN, Req: sspi.DefaultClientReq | sspi.ISCReqDelegate})
	defer cli.Close()
	tok, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := acc.Step(tok)
	if err != nil {
		t.Fatalf("MIT acceptor: %v\n%s", err, acc.Stderr())
	}
	if _, err := cli.Step(rep); err != nil {
		t.Fatal(err)
	}
	info, err := acc.Info()
	if err != nil || info.Flags&testpeers.GSSDelegFlag == 0 {
		t.Errorf("MIT acceptor flags %#x, no GSS_C_DELEG_FLAG (%v)", info.Flags, err)
	}
	if !cli.Attributes().Has(sspi.ISCRetDelegate) {
		t.Errorf("client attributes %s", cli.Attributes().Format(false))
	}
}

// swapForwarder delegates whatever cred gives instead of the client's forwarded TGT.
type swapForwarder struct {
	*clientTickets
	cred func(t *testing.T) *krbclient.Credential
	t    *testing.T
}

func (s *swapForwarder) forwardedTGT(context.Context, string, bool) (*krbclient.Credential, error) {
	return s.cred(s.t), nil
}

// The acceptor refuses a KRB-CRED that does not carry the authenticated client's own TGT:
// carol's TGT delegated by alice (she would have the server act as bob), or a service
// ticket instead of a TGT. Each was delegated by our real client with its forwarder
// swapped; the unmodified client is accepted (TestDelegationPolicy).
func TestDelegationRefusesOthersTickets(t *testing.T) {
	k, kt := ownDelegKDC(t)
	carolCl, err := krbclient.NewWithPassword(&krbclient.Options{Config: mustConfig(t, k.Krb5Conf), Forwardable: true},
		krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{"carol"}}, Realm: testRealm}, testPassword+"x")
	if err != nil {
		t.Fatal(err)
	}
	defer carolCl.Destroy()
	for _, tc := range []struct {
		name string
		cred func(t *testing.T) *krbclient.Credential
		want string
	}{
		{"another-client", func(t *testing.T) *krbclient.Credential {
			c, err := carolCl.ForwardedTGT(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, "delegated a ticket of another client"},
		{"not-a-tgt", func(t *testing.T) *krbclient.Credential {
			c, err := carolCl.ServiceTicket(context.Background(), krbclient.Principal{Name: wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"host", "localhost"}}, Realm: testRealm}, &krbclient.TicketOptions{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			c.Client.Name.Components = []string{testUser} // the info claims alice; the ticket is still no TGT
			return c
		}, "not a TGT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := delegClient(t, k, true, false)
			if err := withCredentials(cc, "test", func(c *credentials) error {
				c.client.tickets = &swapForwarder{clientTickets: c.client.tickets.(*clientTickets), cred: tc.cred, t: t}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: delegSPN, Req: sspi.DefaultClientReq | sspi.ISCReqDelegate})
			defer cli.Close()
			srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{Keytab: kt}), sspi.ServerOptions{})
			defer srv.Close()
			tok, err := cli.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = srv.Step(tok)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("server accepted or refused for another reason: %v", err)
			}
		})
	}
}

func mustConfig(t *testing.T, path string) *krbconf.Config {
	t.Helper()
	c, err := krbconf.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
