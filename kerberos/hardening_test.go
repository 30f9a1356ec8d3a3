package kerberos

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// hostileAPReq is an unauthenticated AP-REQ whose ticket names a service of n empty
// components: about 2n bytes on the wire, a name of n-1 slashes once joined.
func hostileAPReq(tb testing.TB, n int) []byte {
	tb.Helper()
	req := messages.APReq{
		PVNO: 5, MsgType: 14, APOptions: types.NewKrbFlags(),
		Ticket: messages.Ticket{TktVNO: 5, Realm: testRealm,
			SName:   types.PrincipalName{NameType: 2, NameString: make([]string, n)},
			EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: make([]byte, 64)}},
		EncryptedAuthenticator: types.EncryptedData{EType: 18, Cipher: make([]byte, 64)},
	}
	der, err := req.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return appendGSSFramed(nil, tokAPReq, der)
}

// heapAddress matches what reflection-based ASN.1 errors print for pointer fields.
var heapAddress = regexp.MustCompile(`0x[0-9a-f]{6,}`)

// TestErrorTextBounded (issue 8 item 12): a 64 KiB AP-REQ whose ticket names 32k empty
// components, and malformed ASN.1, give errors of a few hundred bytes that carry no heap
// addresses, with and without a service principal configured.
func TestErrorTextBounded(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry("host/localhost", testRealm, "pw", fixedTime, 1, 18); err != nil {
		t.Fatal(err)
	}
	big := hostileAPReq(t, 32<<10)
	if len(big) < 64<<10 {
		t.Fatalf("hostile AP-REQ is only %d bytes", len(big))
	}
	// A valid AP-REQ whose SEQUENCE tag is zeroed: the ASN.1 library's error prints its
	// field parameters, pointers included.
	bad := validAPReq(t, kt)
	i := strings.Index(string(bad), "\x6e\x82") // [APPLICATION 14], two length bytes
	if i < 0 || bad[i+4] != 0x30 {
		t.Fatal("no AP-REQ SEQUENCE where expected")
	}
	bad[i+4] = 0
	for _, tc := range []struct {
		name string
		spn  string
		tok  []byte
	}{
		{"long-name-any-principal", "", big},
		{"long-name-with-spn", "host/localhost", big},
		{"asn1-error", "", bad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &serverCreds{kt: ktKeys(t, kt), skew: 300e9, now: fixedNow, replays: NewMemoryReplayCache(0)}
			if tc.spn != "" {
				cr.spn = tc.spn
			}
			s := &serverContext{creds: cr}
			p := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: tc.tok}}}
			_, err := s.Step(p)
			if err == nil {
				t.Fatal("hostile AP-REQ accepted")
			}
			msg := err.Error()
			if len(msg) > 600 {
				t.Errorf("error of %d bytes: %.300s…", len(msg), msg)
			}
			if heapAddress.MatchString(msg) {
				t.Errorf("error carries an address: %s", msg)
			}
			t.Log(msg)
		})
	}
}

// serverCredsFor acquires inbound Kerberos credentials with AcquireCredentialsHandle's
// principal, as an SSPI server names its service.
func serverCredsFor(t *testing.T, pkg, principal string, authData any) (*sspi.Credentials, error) {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle(principal, pkg, sspi.CredInbound, nil, authData, nil)
	if err == nil {
		t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(c) })
	}
	return c, err
}

// TestServicePrincipalHonoured (issue 8 item 8): a server given
// AcquireCredentialsHandle("host/localhost", inbound) and a keytab holding host/ and HTTP/
// refuses a ticket for HTTP/localhost with SEC_E_WRONG_PRINCIPAL, in every way the name
// can be written, directly and through Negotiate. The attack: a client that meant to
// reach the HTTP service is redirected to this one. Without a name, any key of the keytab
// is used, and Identity().Server says which.
func TestServicePrincipalHonoured(t *testing.T) {
	k := getKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5_KTNAME", "FILE:"+k.Keytab)
	cc := testClientCreds(t, k, testPassword)
	for _, tc := range []struct {
		name, pkg, principal string
		authData             any
		target               string
		want                 error // nil: accepted
		server               string
	}{
		{"default-creds-other-ticket", "Kerberos", "host/localhost", nil, otherSPN, sspi.ErrWrongPrincipal, ""},
		{"default-creds-own-ticket", "Kerberos", "host/localhost", nil, testSPN, nil, testSPN + "@" + testRealm},
		{"config-other-ticket", "Kerberos", "host/localhost", &ServerConfig{Keytab: k.Keytab}, otherSPN, sspi.ErrWrongPrincipal, ""},
		{"with-realm", "Kerberos", "host/localhost@" + testRealm, nil, otherSPN, sspi.ErrWrongPrincipal, ""},
		{"gss-form", "Kerberos", "host@localhost", nil, otherSPN, sspi.ErrWrongPrincipal, ""},
		{"config-field", "Kerberos", "", &ServerConfig{Keytab: k.Keytab, ServicePrincipal: testSPN}, otherSPN, sspi.ErrWrongPrincipal, ""},
		{"any-key", "Kerberos", "", nil, otherSPN, nil, otherSPN + "@" + testRealm},
		{"negotiate-other-ticket", "Negotiate", "host/localhost",
			&negotiate.Config{Mechanisms: []string{PackageName}, Credentials: map[string]any{PackageName: &ServerConfig{Keytab: k.Keytab}}}, otherSPN, sspi.ErrWrongPrincipal, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := serverCredsFor(t, tc.pkg, tc.principal, tc.authData)
			if err != nil {
				t.Fatal(err)
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: tc.target})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			if tc.pkg == "Negotiate" {
				// Our Kerberos client's raw AP-REQ; Negotiate's server takes it as Windows does.
				out, err := cli.Step(nil)
				if err != nil {
					t.Fatal(err)
				}
				_, err = srv.Step(out)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				return
			}
			_, err = handshake(t, cli, srv)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if id, _ := srv.Identity(); id.Server != tc.server {
					t.Errorf("Identity().Server = %q, want %q", id.Server, tc.server)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	// A name the keytab has no key for, and two names that disagree, fail at once.
	if _, err := serverCredsFor(t, PackageName, "cifs/localhost", nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Errorf("principal not in the keytab: %v", err)
	}
	if _, err := serverCredsFor(t, PackageName, "host/localhost", &ServerConfig{Keytab: k.Keytab, ServicePrincipal: otherSPN}); !errors.Is(err, sspi.ErrUnknownCredentials) {
		t.Errorf("disagreeing principals: %v", err)
	}
}

// TestChannelBindingPolicy (issue 8 item 9): ServerConfig.ChannelBindings, and Negotiate's
// Config.ChannelBindings handed to every mechanism. The attack is a relay: an attacker who
// terminates the client's TLS forwards its authentication into its own TLS connection to
// the server. A client that binds names the attacker's channel (refused under any policy
// but Off); one that does not bind sends zeros, which only BindingsRequired refuses, and
// which, before the policy existed, Kerberos always accepted even where NTLM was set to
// require bindings.
func TestChannelBindingPolicy(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	cb := func(app string) []byte {
		if app == "" {
			return nil
		}
		return (&sspi.ChannelBindings{ApplicationData: []byte(app)}).Marshal()
	}
	const server, attacker = "tls-server-end-point:server", "tls-server-end-point:attacker"
	for _, tc := range []struct {
		policy         sspi.ChannelBindingPolicy
		client, server string
		ok             bool
	}{
		{sspi.BindingsRequired, "", server, false}, // relayed from a client that does not bind
		{sspi.BindingsRequired, attacker, server, false},
		{sspi.BindingsRequired, server, server, true},
		{sspi.BindingsRequired, server, "", false}, // the server has nothing to check against
		{sspi.BindingsWhenPresent, "", server, true},
		{sspi.BindingsWhenPresent, attacker, server, false},
		{sspi.BindingsWhenPresent, server, server, true},
		{sspi.BindingsOff, attacker, server, true},
	} {
		name := tc.policy.String() + "/client=" + tc.client + "/server=" + tc.server
		t.Run(name, func(t *testing.T) {
			sc := testServerCreds(t, k, ServerConfig{ChannelBindings: tc.policy})
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, ChannelBindings: cb(tc.client)})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{ChannelBindings: cb(tc.server)})
			defer cli.Close()
			defer srv.Close()
			_, err := handshake(t, cli, srv)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, sspi.ErrBadBindings) {
				t.Fatalf("got %v, want SEC_E_BAD_BINDINGS", err)
			}
		})
	}
	if _, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &ServerConfig{Keytab: k.Keytab, ChannelBindings: 7}, nil); !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Errorf("unknown policy: %v", err)
	}

	// Negotiate: one policy for every mechanism. The client binds nothing; the server's
	// NTLM is set to require bindings on its own, Kerberos is not. Without
	// Config.ChannelBindings the client gets in by choosing Kerberos; with it, neither
	// mechanism lets it in.
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	store, err := ntlm.ParseAccounts(strings.NewReader(testRealm + ":" + testUser + ":" + testPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy      sspi.ChannelBindingPolicy
		packageList string
		ok          bool
	}{
		{sspi.BindingsWhenPresent, "", true},      // Kerberos's own default
		{sspi.BindingsWhenPresent, "NTLM", false}, // NTLM's own BindingsRequired
		{sspi.BindingsRequired, "", false},
		{sspi.BindingsRequired, "NTLM", false},
	} {
		t.Run("negotiate/"+tc.policy.String()+"/"+tc.packageList, func(t *testing.T) {
			negCC, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil,
				&sspi.AuthIdentity{User: testUser + "@" + testRealm, Password: testPassword, PackageList: tc.packageList}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(negCC)
			sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
				ChannelBindings: tc.policy,
				Credentials: map[string]any{
					"Kerberos": &ServerConfig{Keytab: k.Keytab},
					"NTLM":     &ntlm.ServerConfig{Accounts: store, ChannelBindings: ntlm.BindingsRequired},
				},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(sc)
			cli := sspi.NewClientContext(negCC, sspi.ClientOptions{Target: testSPN})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{ChannelBindings: cb(server)})
			defer cli.Close()
			defer srv.Close()
			_, err = handshake(t, cli, srv)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, sspi.ErrBadBindings) {
				t.Fatalf("got %v, want SEC_E_BAD_BINDINGS", err)
			}
		})
	}
}

// TestReplaySequenceAttributes (issue 8 item 10): the attributes say exactly what the
// context enforces. Sequence numbers are checked strictly when the client asked for replay
// or sequence detection (MIT's gss-client asks for replay alone), so both are reported
// together, on both sides; a client that asked for neither gets neither, and a replayed
// message then goes through, as the attributes said it would.
func TestReplaySequenceAttributes(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	const both = sspi.ISCReqReplayDetect | sspi.ISCReqSequenceDetect
	for _, tc := range []struct {
		name     string
		req      sspi.ContextReq
		enforced bool
	}{
		{"both", both, true},
		{"replay-only", sspi.ISCReqReplayDetect, true},
		{"sequence-only", sspi.ISCReqSequenceDetect, true},
		{"neither", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sspi.DefaultClientReq&^both | tc.req
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: req})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{Req: sspi.DefaultServerReq})
			defer cli.Close()
			defer srv.Close()
			if _, err := handshake(t, cli, srv); err != nil {
				t.Fatal(err)
			}
			sa, ca := srv.Attributes(), cli.Attributes()
			if sa.Has(sspi.ASCRetReplayDetect) != tc.enforced || sa.Has(sspi.ASCRetSequenceDetect) != tc.enforced {
				t.Errorf("server attributes %s, enforced %v", sa.Format(true), tc.enforced)
			}
			if ca.Has(sspi.ISCRetReplayDetect) != tc.enforced || ca.Has(sspi.ISCRetSequenceDetect) != tc.enforced {
				t.Errorf("client attributes %s, enforced %v", ca.Format(false), tc.enforced)
			}
			w, err := cli.Wrap([]byte("pay 100 to mallory"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Unwrap(w); err != nil {
				t.Fatal(err)
			}
			_, err = srv.Unwrap(w) // the attacker replays it
			if tc.enforced && !errors.Is(err, sspi.ErrOutOfSequence) {
				t.Errorf("replayed message with detection reported: %v", err)
			}
			if !tc.enforced && err != nil {
				t.Errorf("replayed message without detection: %v", err)
			}
		})
	}
}

// TestRC4SessionKeyProtection (issue 8 item 11, issue 12): a KDC that gives an RC4
// session key (here an in-process KDC that issues RC4 to a client whose
// default_tgs_enctypes ask for it first; MIT's does it for a service whose
// session_enctypes say so, TestInteropRC4) yields a context with RFC 4757 message
// protection, and the attributes say so: integrity, confidentiality, replay and sequence
// detection on both sides, as with AES; sealed and integrity-only Wrap and MIC work both
// ways and a replayed message is refused. (Item 11 reported none of these while RC4 had no
// message protection here.)
func TestRC4SessionKeyProtection(t *testing.T) {
	k := testkdc.Start(t, testpeers.KDCOptions{Realm: testRealm, Users: map[string]string{testUser: testPassword},
		Services: []string{testSPN}, AllowWeakSessionKeys: true})
	conf, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	rc4Conf := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(rc4Conf, []byte(strings.Replace(string(conf), "[libdefaults]", "[libdefaults]\n\tdefault_tgs_enctypes = rc4-hmac", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := testServerCreds(t, k.KDC, ServerConfig{})
	const protection = sspi.ISCRetIntegrity | sspi.ISCRetConfidentiality | sspi.ISCRetReplayDetect | sspi.ISCRetSequenceDetect
	const sprotection = sspi.ASCRetIntegrity | sspi.ASCRetConfidentiality | sspi.ASCRetReplayDetect | sspi.ASCRetSequenceDetect
	for _, tc := range []struct {
		name, conf string
		keyLen     int
	}{{"rc4", rc4Conf, 16}, {"aes", k.Krb5Conf, 32}} {
		t.Run(tc.name, func(t *testing.T) {
			cc := acquire(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: tc.conf})
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			if _, err := handshake(t, cli, srv); err != nil {
				t.Fatalf("%v\nKDC log:\n%s", err, k.Log())
			}
			key, _ := srv.SessionKey()
			if len(key) != tc.keyLen {
				t.Fatalf("session key of %d bytes for %s, want %d:\n%s", len(key), tc.name, tc.keyLen, k.Log())
			}
			ca, sa := cli.Attributes(), srv.Attributes()
			if !ca.Has(sspi.ISCRetMutualAuth) || !sa.Has(sspi.ASCRetMutualAuth) {
				t.Errorf("mutual authentication lost: %s / %s", ca.Format(false), sa.Format(true))
			}
			if ca&protection != protection || sa&sprotection != sprotection {
				t.Errorf("protection not reported: client %s, server %s", ca.Format(false), sa.Format(true))
			}
			w, err := cli.Wrap([]byte("pay 100 to mallory"))
			if err != nil {
				t.Fatal(err)
			}
			// RFC 4757's Wrap token is framed as a GSS token (0x60); RFC 4121's starts 05 04.
			if rfc4757 := len(w) > 2 && w[0] == 0x60; rfc4757 != (tc.name == "rc4") {
				t.Errorf("%s: Wrap token % x...: the other RFC's layout", tc.name, w[:min(len(w), 4)])
			}
			if _, err := srv.Unwrap(w); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Unwrap(w); !errors.Is(err, sspi.ErrOutOfSequence) {
				t.Errorf("replayed message: %v", err)
			}
			w, _ = cli.Wrap([]byte("pay 100 to mallory"))
			w[len(w)-2] ^= 1
			if _, err := srv.Unwrap(w); !errors.Is(err, sspi.ErrMessageAltered) {
				t.Errorf("altered message: %v", err)
			}
			// Both sides past the altered message's number.
			cli2 := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
			srv2 := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli2.Close()
			defer srv2.Close()
			if _, err := handshake(t, cli2, srv2); err != nil {
				t.Fatal(err)
			}
			exchangeMessages(t, cli2, srv2)
		})
	}
}
