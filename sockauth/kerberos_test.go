package sockauth

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// Kerberos through the sockets service: our client and server with each other, against an
// in-process KDC (kerberos/kdctest, startOwnKDC), which needs nothing installed; MIT's
// gss-client against our server and our client against MIT's gss-server, against a
// loopback MIT KDC (testpeers.StartKDC), which skip without MIT's KDC and gss-sample
// programs (scripts/install-peers), and fail then under SSPI_INTEROP=require.

// startKDC starts a KDC with alice (the KDC's password) and host/localhost, and points this
// process's Kerberos at it (KRB5_CONFIG, and an empty KRB5CCNAME), for the test.
func startKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	k := testpeers.StartKDC(t, testpeers.KDCOptions{})
	for _, kv := range k.Env() {
		key, value, _ := strings.Cut(kv, "=")
		t.Setenv(key, value)
	}
	t.Setenv("KRB5_KTNAME", "FILE:"+k.Keytab)
	return k
}

// startOwnKDC returns the test binary's in-process KDC (kerberos/kdctest), with alice and
// host/localhost as startKDC's MIT one has them, and points this process's Kerberos at it
// for the test. Only the KDC's fields and Principal and Env apply: its other methods drive
// MIT's tools.
func startOwnKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	k := testkdc.Shared(t, testpeers.KDCOptions{})
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "empty.ccache"))
	t.Setenv("KRB5_KTNAME", "FILE:"+k.Keytab)
	return k.KDC
}

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

// krbServerCreds acquires inbound credentials with the KDC's service keytab: Kerberos
// directly, or Negotiate with Kerberos (and NTLM, for the accounts of the other tests).
func krbServerCreds(t *testing.T, k *testpeers.KDC, pkg string) *sspi.Credentials {
	t.Helper()
	var authData any = &kerberos.ServerConfig{Keytab: k.Keytab}
	if pkg == "Negotiate" {
		authData = &negotiate.Config{Credentials: map[string]any{
			"Kerberos": &kerberos.ServerConfig{Keytab: k.Keytab},
			"NTLM":     &ntlm.ServerConfig{Accounts: testStore(t)},
		}}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredInbound, nil, authData, nil)
	if err != nil {
		t.Fatalf("server credentials for %s: %v", pkg, err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// krbClientCreds acquires outbound credentials for user with a password (an AS exchange
// with the KDC).
func krbClientCreds(t *testing.T, k *testpeers.KDC, pkg, user, password string) *sspi.Credentials {
	t.Helper()
	var authData any = &kerberos.ClientConfig{Principal: k.Principal(user), Password: password, Config: k.Krb5Conf}
	if pkg == "Negotiate" {
		authData = &sspi.AuthIdentity{User: k.Principal(user), Password: password}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	if err != nil {
		t.Fatalf("client credentials for %s: %v", pkg, err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// TestKerberosRoundTrip runs our client against our server over Kerberos, directly and
// through Negotiate, in both framings and every protection mode: mutual authentication is
// granted (Kerberos proves the server), both sides name each other, and the server logs
// package Kerberos and alice's principal.
func TestKerberosRoundTrip(t *testing.T) {
	k := startOwnKDC(t)
	type mode struct {
		framing  Framing
		messages bool
	}
	modes := []mode{{FramingSSPI, false}, {FramingSSPI, true}, {FramingGSS, false}}
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		for _, m := range modes {
			for _, prot := range []Protection{ProtectSeal, ProtectSign, ProtectNone} {
				name := fmt.Sprintf("%s/%s/%s", pkg, m.framing, prot)
				if m.framing == FramingSSPI {
					name += map[bool]string{false: "/sample", true: "/messages"}[m.messages]
				}
				t.Run(name, func(t *testing.T) {
					srv := startServer(t, &Server{
						Credentials:      krbServerCreds(t, k, pkg),
						Framing:          m.framing,
						AllowUnprotected: prot == ProtectNone,
					})
					cl := &Client{
						Credentials: krbClientCreds(t, k, pkg, testpeers.KDCUser, testpeers.KDCPassword),
						Framing:     m.framing,
						Protection:  prot,
						Messages:    m.messages,
						Target:      testpeers.KDCService,
						Require:     sspi.ISCRetMutualAuth,
					}
					c, err := cl.Dial(testCtx(t), srv.Addr)
					if err != nil {
						t.Fatalf("Dial: %v\nserver log:\n%s\nKDC log:\n%s", err, srv.Log, k.Log())
					}
					local := c.LocalAddr().String()
					if c.Package() != "Kerberos" {
						t.Errorf("package %q", c.Package())
					}
					if !c.Attributes().Has(sspi.ISCRetMutualAuth) {
						t.Errorf("client attributes %s lack MUTUAL_AUTH", c.Attributes().Format(false))
					}
					if got := protectionOf(c.Attributes(), false); prot != ProtectNone && got != prot {
						t.Errorf("client attributes %s give %s, asked for %s", c.Attributes().Format(false), got, prot)
					}
					if id := c.Identity(); id.Server != testpeers.KDCService && id.Server != k.Principal(testpeers.KDCService) {
						t.Errorf("client's view of the server: %+v", id)
					}
					t.Cleanup(func() {
						if t.Failed() {
							t.Logf("server log:\n%s", srv.Log)
						}
					})
					exchange(t, c, m.framing, m.messages)
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
					rec := srv.Log.waitRecord(t, local)
					if rec["status"] != "SEC_E_OK" || rec["identity"] != k.Principal(testpeers.KDCUser) || rec["package"] != "Kerberos" || rec["level"] != "INFO" ||
						rec["service"] != k.Principal(testpeers.KDCService) {
						t.Errorf("server log line: %v", rec)
					}
				})
			}
		}
	}
}

// TestKerberosWrongPassword: the KDC refuses the AS exchange, so the client fails before it
// sends anything, with SEC_E_LOGON_DENIED, and the server is unharmed.
// TestKerberosWrongPassword (issue 9 item 4): a password the KDC refuses fails before any
// connection is made. Kerberos itself refuses it at AcquireCredentialsHandle; Negotiate,
// which leaves the AS exchange to the first context (so that IP-address targets never
// cause one), refuses it in Dial's first InitializeSecurityContext, which comes before the
// connection: a listener sees no connection. The right password then works.
func TestKerberosWrongPassword(t *testing.T) {
	k := startOwnKDC(t)
	_, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: "not the password", Config: k.Krb5Conf}, nil)
	if !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("Kerberos, wrong password: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			cred, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, &negotiate.Config{
				Mechanisms:  []string{"Kerberos"},
				Credentials: map[string]any{"Kerberos": &kerberos.ClientConfig{Principal: k.Principal(testpeers.KDCUser), Password: "not the password", Config: k.Krb5Conf}},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(cred)
			bad := &Client{Credentials: cred, Framing: f, Target: testpeers.KDCService}
			c, err := bad.Dial(testCtx(t), l.Addr().String())
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, sspi.ErrLogonDenied) || StatusName(err) != "SEC_E_LOGON_DENIED" {
				t.Errorf("wrong password: %v (%s)", err, StatusName(err))
			}
			if n := accepted.Load(); n != 0 {
				t.Errorf("the client connected %d times with a password the KDC refused", n)
			}
			srv := startServer(t, &Server{Credentials: krbServerCreds(t, k, "Kerberos"), Framing: f})
			good := &Client{Credentials: krbClientCreds(t, k, "Kerberos", testpeers.KDCUser, testpeers.KDCPassword), Framing: f, Target: testpeers.KDCService}
			c2, err := good.Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			exchange(t, c2, f, false)
			c2.Close()
		})
	}
}

// TestKerberosGSSClient runs MIT's gss-client with a ticket from kinit against our server
// with FramingGSS, with the krb5 mechanism directly and through SPNEGO: the server logs
// Kerberos and alice, reads the messages, and gss-client verifies the server's MIC over each
// (exit 0).
func TestKerberosGSSClient(t *testing.T) {
	testpeers.RequireGSSSample(t)
	k := startKDC(t)
	cc := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	cases := []struct {
		name     string
		pkg      string
		spnego   bool
		args     []string
		message  string
		messages int
	}{
		{name: "krb5", pkg: "Kerberos", messages: 1},
		{name: "krb5-three-messages", pkg: "Kerberos", args: []string{"-mcount", "3"}, messages: 3},
		{name: "krb5-no-encryption", pkg: "Kerberos", args: []string{"-nx"}, messages: 1},
		// Shorter than the 60-byte trailer once wrapped without encryption (41 bytes).
		{name: "krb5-no-encryption-short", pkg: "Kerberos", args: []string{"-nx"}, message: "short message", messages: 1},
		{name: "krb5-nomutual", pkg: "Kerberos", args: []string{"-nomutual"}, messages: 1},
		{name: "spnego", pkg: "Negotiate", spnego: true, messages: 1},
		{name: "spnego-two-messages", pkg: "Negotiate", spnego: true, args: []string{"-mcount", "2"}, messages: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: krbServerCreds(t, k, tc.pkg), Framing: FramingGSS})
			msg := tc.message
			if msg == "" {
				msg = "hello from gss-client over Kerberos"
			}
			res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{
				SPNEGO:  tc.spnego,
				Message: msg,
				Args:    tc.args,
				Env:     append(k.Env(), "KRB5CCNAME=FILE:"+cc),
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := waitRecords(t, srv.Log, 1)[0]
			if res.ExitCode != 0 {
				t.Errorf("gss-client exit %d, output:\n%s\nserver log:\n%s", res.ExitCode, res.Output, srv.Log)
			}
			if rec["status"] != "SEC_E_OK" || rec["package"] != "Kerberos" || rec["identity"] != k.Principal(testpeers.KDCUser) {
				t.Errorf("server log: %v", rec)
			}
			if got, _ := rec["messages_in"].(float64); int(got) != tc.messages {
				t.Errorf("server read %v messages, want %d", rec["messages_in"], tc.messages)
			}
		})
	}
}

// TestKerberosGSSServer runs our client, Kerberos and Negotiate, against MIT's gss-server with
// the service keytab: gss-server accepts krb5, logs each message, and its MIC over them
// verifies; mutual authentication is granted.
func TestKerberosGSSServer(t *testing.T) {
	k := startKDC(t)
	gs := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{Keytab: k.Keytab, Env: k.ServerEnv()})
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		for _, prot := range []Protection{ProtectSeal, ProtectSign, ProtectNone} {
			t.Run(pkg+"/"+prot.String(), func(t *testing.T) {
				cl := &Client{
					Credentials: krbClientCreds(t, k, pkg, testpeers.KDCUser, testpeers.KDCPassword),
					Framing:     FramingGSS,
					Protection:  prot,
					Target:      testpeers.KDCService,
					Require:     sspi.ISCRetMutualAuth,
				}
				c, err := cl.Dial(testCtx(t), gs.Addr)
				if err != nil {
					t.Fatalf("Dial: %v\ngss-server log:\n%s", err, gs.Log())
				}
				if c.Package() != "Kerberos" || !c.Attributes().Has(sspi.ISCRetMutualAuth) {
					t.Errorf("package %s, attributes %s", c.Package(), c.Attributes().Format(false))
				}
				msg := "hello gss-server over Kerberos, " + pkg + ", " + prot.String()
				if err := c.WriteMessage([]byte(msg)); err != nil {
					t.Fatalf("WriteMessage: %v\ngss-server log:\n%s", err, gs.Log())
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				if !gs.ReceivedMessage(msg) {
					t.Errorf("gss-server did not log the message:\n%s", gs.Log())
				}
				if !gs.AcceptedMech(testpeers.MechKerberos) {
					t.Errorf("gss-server did not accept krb5:\n%s", gs.Log())
				}
			})
		}
	}
}

// TestShortWrapToken: a wrap token shorter than the security trailer goes to the package
// whole. Kerberos's integrity-only tokens can be (TestKerberosRoundTrip's sign mode); for
// NTLM, whose token is never shorter, the package refuses it as an invalid token.
func TestShortWrapToken(t *testing.T) {
	srv := startServer(t, &Server{Credentials: serverCreds(t, "NTLM"), Framing: FramingGSS})
	cl := &Client{Credentials: clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword), Framing: FramingGSS}
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for n := 0; n < 16; n++ {
		if _, _, err := c.gssUnwrap(make([]byte, n)); !errors.Is(err, sspi.ErrInvalidToken) {
			t.Errorf("%d-byte wrap token: %v", n, err)
		}
	}
	exchange(t, c, FramingGSS, false)
}

// TestLogAuthorization (issues 14 and 15): the session's log line says what the server
// learned beyond the client's name. A Kerberos ticket with a PAC: the user's SID, the
// number of groups, and their SIDs up to maxLoggedGroups (a user in many groups does not
// make the line unbounded); without a PAC, that it had none; NTLM, that it has no groups.
func TestLogAuthorization(t *testing.T) {
	k := startOwnKDC(t)
	kdc := testkdc.Shared(t, testpeers.KDCOptions{}).Server
	const domain = "S-1-5-21-4000000001-4000000002-4000000003"
	var many []uint32
	for rid := uint32(2000); rid < 2030; rid++ {
		many = append(many, rid)
	}
	users := map[string]*kdctest.PAC{
		"pac-few":  {DomainSID: domain, UserRID: 1201, GroupRIDs: []uint32{kdctest.RIDDomainAdmins}},
		"pac-many": {DomainSID: domain, UserRID: 1202, GroupRIDs: many},
		"no-pac":   nil,
	}
	for user, pac := range users {
		if err := kdc.AddUser(user, testpeers.KDCPassword); err != nil {
			t.Fatal(err)
		}
		if err := kdc.SetPAC(user, pac); err != nil {
			t.Fatal(err)
		}
	}
	var manySIDs []any
	for _, rid := range append([]uint32{kdctest.RIDDomainUsers}, many...)[:maxLoggedGroups] {
		manySIDs = append(manySIDs, fmt.Sprintf("%s-%d", domain, rid))
	}
	for _, tc := range []struct {
		user string
		want map[string]any
	}{
		{"pac-few", map[string]any{"authorization": "PAC", "sid": domain + "-1201", "groups": 2.0,
			"group_sids": []any{domain + "-513", domain + "-512"}}},
		{"pac-many", map[string]any{"authorization": "PAC", "sid": domain + "-1202", "groups": 31.0, "group_sids": manySIDs}},
		{"no-pac", map[string]any{"authorization": sspi.AuthzNoPAC.String(), "sid": nil, "groups": nil, "group_sids": nil}},
		{"ntlm", map[string]any{"authorization": sspi.AuthzNone.String(), "sid": nil, "groups": nil, "group_sids": nil}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			scred, ccred := serverCreds(t, "NTLM"), clientCreds(t, "NTLM", testDomain+`\`+testUser, testPassword)
			if tc.user != "ntlm" {
				scred, ccred = krbServerCreds(t, k, "Kerberos"), krbClientCreds(t, k, "Kerberos", tc.user, testpeers.KDCPassword)
			}
			srv := startServer(t, &Server{Credentials: scred, Framing: FramingSSPI})
			c, err := (&Client{Credentials: ccred, Framing: FramingSSPI, Messages: true, Target: testpeers.KDCService}).Dial(testCtx(t), srv.Addr)
			if err != nil {
				t.Fatalf("Dial: %v\nserver log:\n%s", err, srv.Log)
			}
			local := c.LocalAddr().String()
			exchange(t, c, FramingSSPI, true)
			c.Close()
			rec := srv.Log.waitRecord(t, local)
			for key, want := range tc.want {
				if got := rec[key]; !reflect.DeepEqual(got, want) {
					t.Errorf("log %s = %#v, want %#v", key, got, want)
				}
			}
		})
	}
}
