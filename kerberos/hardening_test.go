package kerberos

import (
	"errors"

	"github.com/gosspi/sspi/negotiate"
	"regexp"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
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
			cr := &serverCreds{kt: kt, skew: 300e9, now: fixedNow, replays: newReplayCache()}
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
