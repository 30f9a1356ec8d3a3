package kerberos_test

// Interop with Heimdal 7.8 (unpacked by scripts/install-peers, see testpeers.RequireHeimdal):
// tickets from Heimdal's KDC, keytabs from Heimdal's kadmin, ccaches from Heimdal's kinit.
// These tests use the package's public API only, so that they hold whatever engine is
// underneath.

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

const (
	hRealm    = testpeers.HeimdalRealm
	hUser     = testpeers.KDCUser
	hPassword = testpeers.KDCPassword
	hService  = testpeers.KDCService
)

// heimdalEnctypeServices are services whose only keys are of one enctype, so a ticket for
// one is encrypted in that enctype, and the session key Heimdal picks for it is of that
// enctype too (the strongest the client asks for and the service has); keyLen is the
// session key's length.
var heimdalEnctypeServices = []heimdalService{
	{"aes256sha1/localhost", "aes256-cts-hmac-sha1-96", 32, false},
	{"aes128sha1/localhost", "aes128-cts-hmac-sha1-96", 16, false},
	{"aes256sha384/localhost", "aes256-cts-hmac-sha384-192", 32, false},
	{"aes128sha256/localhost", "aes128-cts-hmac-sha256-128", 16, false},
	{"rc4/localhost", "arcfour-hmac-md5", 16, true},
}

// heimdalService is a service principal of the Heimdal KDC, the enctypes of its keys, and
// the length of the session key a ticket for it carries; weak is RC4.
type heimdalService struct {
	spn, enctype string
	keyLen       int
	weak         bool
}

// heimdalServices are heimdalEnctypeServices and hService, which has keys of every enctype.
func heimdalServices() []heimdalService {
	return append(append([]heimdalService(nil), heimdalEnctypeServices...), heimdalService{hService, "all", 32, false})
}

// sha2User has only RFC 8009 keys, whose salt Heimdal makes random: a client that does not
// take the salt from the KDC's ETYPE-INFO2 cannot log on with the password.
const (
	sha2User     = "sha2user"
	keytabUser   = "carol"
	sha2Password = "an0ther-Passw0rd"
)

var heimdalSetup struct {
	once                 sync.Once
	keytab, clientKeytab string
	err                  error
}

// getHeimdal returns the test binary's Heimdal KDC (testpeers.SharedHeimdalKDC) with
// alice (password), sha2user (password, RFC 8009 keys only), carol (random key, in
// clientKeytab), host/localhost with every enctype and the one-enctype services of
// heimdalEnctypeServices, all in keytab (written by Heimdal's kadmin ext_keytab).
func getHeimdal(t *testing.T) (k *testpeers.HeimdalKDC, keytab, clientKeytab string) {
	t.Helper()
	services := []string{hService}
	for _, s := range heimdalEnctypeServices {
		services = append(services, s.spn)
	}
	k = testpeers.SharedHeimdalKDC(t, testpeers.HeimdalKDCOptions{
		Users:    map[string]string{hUser: hPassword, sha2User: sha2Password, keytabUser: ""},
		Services: services,
	})
	heimdalSetup.once.Do(func() {
		drop := func(principal string, keep ...string) {
			for _, e := range testpeers.HeimdalEnctypes {
				if !contains(keep, e) {
					k.Kadmin(t, "del_enctype", principal, e)
				}
			}
		}
		for _, s := range heimdalEnctypeServices {
			drop(s.spn, s.enctype)
		}
		drop(sha2User, "aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128")
		heimdalSetup.keytab = k.KeytabFor(t, services...)
		heimdalSetup.clientKeytab = k.KeytabFor(t, keytabUser)
	})
	if heimdalSetup.keytab == "" {
		t.Fatal("Heimdal realm setup failed in an earlier test")
	}
	return k, heimdalSetup.keytab, heimdalSetup.clientKeytab
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func acquire(t *testing.T, use sspi.CredentialUse, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, use, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(c) })
	return c
}

// run does a handshake of our client and server and returns the number of tokens.
func run(t *testing.T, cli *sspi.ClientContext, srv *sspi.ServerContext) int {
	t.Helper()
	var in []byte
	n := 0
	for i := 0; i < 4; i++ {
		out, err := cli.Step(in)
		if err != nil {
			t.Fatalf("client step %d: %v", i, err)
		}
		in = nil
		if len(out) > 0 {
			n++
			if in, err = srv.Step(out); err != nil {
				t.Fatalf("server step %d: %v", i, err)
			}
			if len(in) > 0 {
				n++
			}
		}
		if cli.Established() && srv.Established() {
			return n
		}
	}
	t.Fatal("handshake did not finish")
	return n
}

// checkSession checks the identity the server sees, that both sides hold the same session
// key of keyLen bytes, and message protection both ways: with an AES key, sealed and
// signed messages round-trip and a tampered one is refused; a weak (RC4) key either does
// the same, or (without RFC 4757 tokens) claims no protection and refuses Wrap with
// SEC_E_UNSUPPORTED_FUNCTION.
func checkSession(t *testing.T, cli *sspi.ClientContext, srv *sspi.ServerContext, user, spn string, keyLen int, weak bool) {
	t.Helper()
	id, err := srv.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.Principal != user+"@"+hRealm || id.User != user || id.Domain != hRealm || id.Server != spn+"@"+hRealm {
		t.Errorf("server identity %+v", id)
	}
	if !cli.Attributes().Has(sspi.ISCRetMutualAuth) || !srv.Attributes().Has(sspi.ASCRetMutualAuth) {
		t.Errorf("no mutual authentication: %s / %s", cli.Attributes().Format(false), srv.Attributes().Format(true))
	}
	k1, _ := cli.SessionKey()
	k2, _ := srv.SessionKey()
	if len(k1) != keyLen || !bytes.Equal(k1, k2) {
		t.Errorf("session keys %x / %x, want equal, %d bytes", k1, k2, keyLen)
	}
	const protection = sspi.ISCRetIntegrity | sspi.ISCRetConfidentiality
	if cli.Attributes()&protection != protection {
		if !weak {
			t.Fatalf("AES session key without protection: %s", cli.Attributes().Format(false))
		}
		if _, err := cli.Wrap([]byte("x")); !errors.Is(err, sspi.ErrUnsupportedFunction) {
			t.Errorf("Wrap without protection: %v", err)
		}
		return
	}
	msg := []byte("a message through Heimdal's session key, longer than a block")
	for i, pair := range []struct {
		a, b interface {
			Wrap([]byte) ([]byte, error)
			Unwrap([]byte) ([]byte, error)
			Sign([]byte) ([]byte, error)
			Verify(msg, sig []byte) error
		}
	}{{cli, srv}, {srv, cli}} {
		w, err := pair.a.Wrap(msg)
		if err != nil {
			t.Fatalf("%d: wrap: %v", i, err)
		}
		if bytes.Contains(w, msg) {
			t.Errorf("%d: sealed message holds the plaintext", i)
		}
		got, err := pair.b.Unwrap(w)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d: unwrap: %q %v", i, got, err)
		}
		sig, err := pair.a.Sign(msg)
		if err != nil {
			t.Fatalf("%d: sign: %v", i, err)
		}
		if err := pair.b.Verify(msg, sig); err != nil {
			t.Errorf("%d: verify: %v", i, err)
		}
		if err := pair.b.Verify(append([]byte("x"), msg...), sig); !errors.Is(err, sspi.ErrMessageAltered) {
			t.Errorf("%d: tampered message verified: %v", i, err)
		}
	}
}

// TestHeimdalEnctypes: our client logs on to Heimdal's KDC with a password, gets a ticket
// for each one-enctype service, and our acceptor, with the keytab Heimdal's kadmin
// exported, takes it: aes256/aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192,
// aes128-cts-hmac-sha256-128 and rc4-hmac, and host/localhost with all of them.
func TestHeimdalEnctypes(t *testing.T) {
	k, keytab, _ := getHeimdal(t)
	cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: hUser + "@" + hRealm, Password: hPassword, Config: k.Krb5Conf})
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytab})
	cases := heimdalServices()
	for _, tc := range cases {
		t.Run(tc.enctype, func(t *testing.T) {
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: tc.spn, Req: sspi.DefaultClientReq | sspi.ISCReqMutualAuth})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			if n := run(t, cli, srv); n != 2 {
				t.Errorf("%d tokens, want AP-REQ and AP-REP", n)
			}
			checkSession(t, cli, srv, hUser, tc.spn, tc.keyLen, tc.weak)
		})
	}
	if !strings.Contains(k.Log(), "TGS-REQ alice@"+hRealm) {
		t.Errorf("Heimdal's KDC saw no TGS-REQ from alice:\n%s", k.Log())
	}
}

// TestHeimdalLogons: the other ways our client gets its TGT from Heimdal: a password for a
// principal whose keys all have a random salt (RFC 8009 keys, as Heimdal makes them), a
// client keytab Heimdal exported, and a ccache Heimdal's kinit wrote (with and without a
// service ticket kgetcred added).
func TestHeimdalLogons(t *testing.T) {
	k, keytab, clientKeytab := getHeimdal(t)
	heimdalCC := k.Kinit(t, hUser, hPassword)
	withService := k.Kinit(t, hUser, hPassword)
	k.Kgetcred(t, withService, hService)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytab, ServicePrincipal: hService})
	for _, tc := range []struct {
		name   string
		user   string
		keyLen int
		cfg    kerberos.ClientConfig
	}{
		{"sha2-password", sha2User, 32, kerberos.ClientConfig{Principal: sha2User + "@" + hRealm, Password: sha2Password}},
		{"keytab", keytabUser, 32, kerberos.ClientConfig{Principal: keytabUser + "@" + hRealm, Keytab: clientKeytab}},
		{"heimdal-kinit-ccache", hUser, 32, kerberos.ClientConfig{CCache: "FILE:" + heimdalCC}},
		{"heimdal-kgetcred-ccache", hUser, 32, kerberos.ClientConfig{CCache: withService}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Config = k.Krb5Conf
			cc := acquire(t, sspi.CredOutbound, &tc.cfg)
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: hService, Req: sspi.DefaultClientReq | sspi.ISCReqMutualAuth})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			run(t, cli, srv)
			checkSession(t, cli, srv, tc.user, hService, tc.keyLen, false)
		})
	}
}

// TestHeimdalRefusals: Heimdal's KDC's refusals come back with the statuses Windows gives:
// a wrong password and an unknown client are SEC_E_LOGON_DENIED (KDC_ERR_PREAUTH_FAILED,
// KDC_ERR_C_PRINCIPAL_UNKNOWN), an unknown service SEC_E_TARGET_UNKNOWN
// (KDC_ERR_S_PRINCIPAL_UNKNOWN), and a ticket for a service whose key the acceptor's keytab
// lacks SEC_E_WRONG_PRINCIPAL.
func TestHeimdalRefusals(t *testing.T) {
	k, _, _ := getHeimdal(t)
	for _, tc := range []struct {
		name, principal, password string
	}{
		{"wrong-password", hUser + "@" + hRealm, "wrong"},
		{"unknown-client", "nobody@" + hRealm, "x"},
	} {
		_, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
			&kerberos.ClientConfig{Principal: tc.principal, Password: tc.password, Config: k.Krb5Conf}, nil)
		if !errors.Is(err, sspi.ErrLogonDenied) {
			t.Errorf("%s: %v, want SEC_E_LOGON_DENIED", tc.name, err)
		} else if !strings.HasPrefix(err.Error(), "SEC_E_LOGON_DENIED") {
			t.Errorf("%s: error text %q does not start with its status", tc.name, err)
		}
	}
	cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: hUser + "@" + hRealm, Password: hPassword, Config: k.Krb5Conf})
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "HTTP/nowhere.invalid"})
	defer cli.Close()
	if _, err := cli.Step(nil); !errors.Is(err, sspi.ErrTargetUnknown) {
		t.Errorf("unknown service: %v, want SEC_E_TARGET_UNKNOWN", err)
	}
	// A keytab with host/localhost only, and a ticket for aes256sha1/localhost.
	only := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: k.KeytabFor(t, hService)})
	cli2 := sspi.NewClientContext(cc, sspi.ClientOptions{Target: heimdalEnctypeServices[0].spn})
	defer cli2.Close()
	apreq, err := cli2.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := sspi.NewServerContext(only, sspi.ServerOptions{})
	defer srv.Close()
	if _, err := srv.Step(apreq); !errors.Is(err, sspi.ErrWrongPrincipal) {
		t.Errorf("ticket for a service not in the keytab: %v, want SEC_E_WRONG_PRINCIPAL", err)
	}
}

// TestHeimdalGSSClient: Heimdal's own GSS-API initiator (libgssapi from the unpacked tree,
// through testpeers' C driver), with a ccache from Heimdal's kinit, against our acceptor and
// the keytab Heimdal's kadmin exported: mutual authentication, then sealed messages and
// MICs both ways, for each enctype's service.
func TestHeimdalGSSClient(t *testing.T) {
	k, keytab, _ := getHeimdal(t)
	ccache := k.Kinit(t, hUser, hPassword)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytab})
	const flags = testpeers.GSSMutualFlag | testpeers.GSSIntegFlag | testpeers.GSSConfFlag |
		testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag
	cases := heimdalServices()
	for _, tc := range cases {
		t.Run(tc.enctype, func(t *testing.T) {
			cli := testpeers.NewHeimdalGSSClient(t, k, ccache, strings.Replace(tc.spn, "/", "@", 1), flags)
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer srv.Close()
			heimdalHandshake(t, cli, srv)
			if cli.Flags&testpeers.GSSMutualFlag == 0 || cli.Mech != "2a864886f712010202" {
				t.Errorf("Heimdal's context: flags %#x, mech %s", cli.Flags, cli.Mech)
			}
			id, err := srv.Identity()
			if err != nil || id.Principal != hUser+"@"+hRealm || id.Server != tc.spn+"@"+hRealm {
				t.Errorf("our acceptor's identity %+v %v", id, err)
			}
			// Heimdal's initiator asks for mutual authentication and lists AES in its
			// authenticator, so over an RC4 ticket our acceptor answers with an AES acceptor
			// subkey (RFC 4537), as MIT's does: the context key is then aes256's 32 bytes.
			wantKey := tc.keyLen
			if tc.weak {
				wantKey = 32
			}
			if key, _ := srv.SessionKey(); len(key) != wantKey {
				t.Errorf("session key of %d bytes, want %d", len(key), wantKey)
			}
			if !srv.Attributes().Has(sspi.ASCRetConfidentiality) {
				if !tc.weak {
					t.Fatalf("AES context without confidentiality: %s", srv.Attributes().Format(true))
				}
				return
			}
			heimdalMessages(t, srv, cli)
		})
	}
}

// heimdalHandshake runs Heimdal's initiator cli against our acceptor srv to the end.
func heimdalHandshake(t *testing.T, cli *testpeers.HeimdalGSSClient, srv *sspi.ServerContext) {
	t.Helper()
	var in []byte
	legs := 0
	for !cli.Established() || !srv.Established() {
		if legs++; legs > 4 {
			t.Fatal("handshake did not finish")
		}
		out, _, err := cli.Step(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == 0 {
			break
		}
		if in, err = srv.Step(out); err != nil {
			t.Fatalf("our acceptor: %v", err)
		}
	}
	if !cli.Established() || !srv.Established() {
		t.Fatalf("not established: Heimdal %v, ours %v", cli.Established(), srv.Established())
	}
}
