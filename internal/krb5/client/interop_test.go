package krbclient

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

const (
	preauthUser = "bob"
	noPreauth   = "carol"
	password    = testpeers.KDCPassword
)

var kdcOnce sync.Once

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedKDC()
	os.Exit(code)
}

// sharedKDC is the test binary's MIT KDC: alice and bob (preauth required), carol (no
// preauth), the service host/localhost, and rc4/svc whose session keys are RC4.
func sharedKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	k := testpeers.SharedKDC(t, testpeers.KDCOptions{
		Users:                map[string]string{"alice": password, preauthUser: password, noPreauth: password},
		Services:             []string{testpeers.KDCService, "rc4/svc"},
		AllowWeakSessionKeys: true,
	})
	kdcOnce.Do(func() {
		// MIT's default supported_enctypes gives aes-sha1 keys only: give the principals
		// (and krbtgt, whose keys bound the TGT's session key) every type.
		all := "-e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal,aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal,arcfour-hmac:normal "
		for _, q := range []string{
			"cpw -pw " + password + " " + all + preauthUser,
			"cpw -randkey " + all + testpeers.KDCService,
			"cpw -randkey " + all + "krbtgt/" + k.Realm,
			"modprinc +requires_preauth " + preauthUser,
			"modprinc +requires_preauth alice",
			"modprinc -requires_preauth " + noPreauth,
			"addprinc -pw " + password + " +requires_preauth " + enterpriseName,
			"modprinc -maxrenewlife 7d krbtgt/" + k.Realm,
			"modprinc -maxrenewlife 7d alice",
		} {
			k.Kadmin(t, q)
		}
		serviceKeytab = k.KeytabFor(t, testpeers.KDCService)
	})
	return k
}

// enterpriseName is a principal whose one component is an enterprise name: MIT 1.20's DB2
// back end has no aliases, so this is how its KDC finds an NT-ENTERPRISE name.
const enterpriseName = "erin\\@upn.test"

var serviceKeytab string

// confFor returns krb5.conf for the KDC with extra [libdefaults] lines and kdc entries.
func confFor(t *testing.T, k *testpeers.KDC, libdefaults string, kdcs ...string) *krbconf.Config {
	t.Helper()
	if len(kdcs) == 0 {
		kdcs = []string{"127.0.0.1:" + strconv.Itoa(k.Port)}
	}
	s := "[libdefaults]\n default_realm = " + k.Realm + "\n dns_lookup_kdc = false\n" + libdefaults + "\n[realms]\n " + k.Realm + " = {\n"
	for _, e := range kdcs {
		s += "  kdc = " + e + "\n"
	}
	s += " }\n"
	c, err := krbconf.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type transportLog struct {
	mu   sync.Mutex
	used []string
}

func (l *transportLog) hook(addr string, tcp bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used = append(l.used, proto(tcp))
}

func (l *transportLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.used, ",")
}

func newPW(t *testing.T, conf *krbconf.Config, user, pw string) (*Client, *transportLog) {
	t.Helper()
	p, err := ParsePrincipal(user, conf.LibDefaults.DefaultRealm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithPassword(&Options{Config: conf}, p, pw)
	if err != nil {
		t.Fatal(err)
	}
	l := &transportLog{}
	c.onAttempt = l.hook
	return c, l
}

func host(t *testing.T, realm string) Principal {
	p, err := ParsePrincipal(testpeers.KDCService, realm)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMITLoginAndServiceTicket: AS with and without preauth, then TGS; the service ticket
// decrypts with the service's keytab key (so the KDC and we agree on every byte).
func TestMITLoginAndServiceTicket(t *testing.T) {
	k := sharedKDC(t)
	kt, err := keytab.Load(serviceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{preauthUser, noPreauth} {
		t.Run(user, func(t *testing.T) {
			c, _ := newPW(t, confFor(t, k, ""), user, password)
			ctx := context.Background()
			tgt, err := c.Login(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tgt.Client.String() != user+"@"+k.Realm || tgt.Server.String() != "krbtgt/"+k.Realm+"@"+k.Realm {
				t.Fatalf("TGT %s -> %s", tgt.Client, tgt.Server)
			}
			if user == preauthUser && tgt.Flags&wire.FlagPreAuthent == 0 {
				t.Error("TGT lacks the pre-authent flag")
			}
			st, err := c.ServiceTicket(ctx, host(t, ""), nil)
			if err != nil {
				t.Fatal(err)
			}
			verifyServiceTicket(t, kt, st)
			again, err := c.ServiceTicket(ctx, host(t, ""), nil)
			if err != nil || again != st {
				t.Errorf("second request not served from the cache: %v", err)
			}
		})
	}
}

func verifyServiceTicket(t *testing.T, kt *keytab.Keytab, st *Credential) {
	t.Helper()
	e, ok := kt.Find(st.Ticket.SName, st.Ticket.Realm, 0, st.Ticket.EncPart.EType)
	if !ok {
		t.Fatalf("no keytab key for %s etype %d", st.Ticket.SName, st.Ticket.EncPart.EType)
	}
	var tk wire.Ticket
	if err := tk.Unmarshal(st.Ticket.Raw); err != nil {
		t.Fatal(err)
	}
	key, _ := krbcrypto.NewKey(krbcrypto.EType(e.Key.Type), e.Key.Value)
	plain, err := key.Decrypt(nil, tk.EncPart.Cipher, 2)
	if err != nil {
		t.Fatalf("service ticket does not decrypt with the service key: %v", err)
	}
	var etp wire.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if !etp.CName.Equal(st.Client.Name) || !st.Key.Equal(mustKey(t, etp.Key)) {
		t.Errorf("ticket's client %s / key differ from the reply's", etp.CName)
	}
}

func mustKey(t *testing.T, k wire.EncryptionKey) *krbcrypto.Key {
	key, err := krbcrypto.NewKey(krbcrypto.EType(k.Type), k.Value)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestMITTransports proves both transports against the real KDC: udp_preference_limit
// decides, and tcp/ and udp/ prefixes restrict; the Dial hook sees which network was used.
func TestMITTransports(t *testing.T) {
	k := sharedKDC(t)
	port := strconv.Itoa(k.Port)
	for _, tc := range []struct {
		name, lib string
		kdcs      []string
		want      string
	}{
		{"udp by default", "", nil, "udp"},
		{"tcp by limit", " udp_preference_limit = 1", nil, "tcp"},
		{"tcp prefix", "", []string{"tcp/127.0.0.1:" + port}, "tcp"},
		{"udp prefix beats the limit", " udp_preference_limit = 1", []string{"udp/127.0.0.1:" + port}, "udp"},
		{"ipv4 in brackets? no: v6 form", "", []string{"[127.0.0.1]:" + port}, "udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := confFor(t, k, tc.lib, tc.kdcs...)
			p, _ := ParsePrincipal(preauthUser, k.Realm)
			var mu sync.Mutex
			var nets []string
			opts := &Options{Config: conf, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				mu.Lock()
				nets = append(nets, network)
				mu.Unlock()
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}
			c, err := NewWithPassword(opts, p, password)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ServiceTicket(context.Background(), host(t, ""), nil); err != nil {
				t.Fatal(err)
			}
			for _, n := range nets {
				if n != tc.want {
					t.Fatalf("networks used %v, want only %s", nets, tc.want)
				}
			}
			if len(nets) < 3 { // AS (twice, preauth) + TGS
				t.Fatalf("networks used %v", nets)
			}
		})
	}
}

// TestMITErrors: wrong password, unknown principal, and a clock an hour off each come back
// with their own status and KDC code.
func TestMITErrors(t *testing.T) {
	k := sharedKDC(t)
	conf := confFor(t, k, "")
	for _, tc := range []struct {
		name, user, pw string
		offset         time.Duration
		status         sspi.Status
		code           int32
	}{
		{"wrong password", preauthUser, "wrong", 0, sspi.ErrLogonDenied, wire.KDCErrPreauthFailed},
		{"unknown principal", "nobody", password, 0, sspi.ErrLogonDenied, wire.KDCErrCPrincipalUnknown},
		{"skew", preauthUser, password, time.Hour, sspi.ErrTimeSkew, wire.KRBAPErrSkew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := ParsePrincipal(tc.user, k.Realm)
			c, err := NewWithPassword(&Options{Config: conf, Time: func() time.Time { return time.Now().Add(tc.offset) }}, p, tc.pw)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Login(context.Background())
			var ke *KDCError
			if !errors.Is(err, tc.status) || !errors.As(err, &ke) || ke.Code != tc.code {
				t.Fatalf("err = %v, want status %v and code %d", err, tc.status, tc.code)
			}
			if !strings.HasPrefix(err.Error(), tc.status.String()+": krbclient: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
	// Without preauth the wrong password shows when the reply does not decrypt.
	c, _ := newPW(t, conf, noPreauth, "wrong")
	if _, err := c.Login(context.Background()); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("no-preauth wrong password: %v", err)
	}
}

// TestMITEnctypes: every implemented type as the only one asked for, RC4 with allow_rc4.
func TestMITEnctypes(t *testing.T) {
	k := sharedKDC(t)
	kt, err := keytab.Load(serviceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range []krbcrypto.EType{17, 18, 19, 20, 23} {
		t.Run(et.String(), func(t *testing.T) {
			lib := " default_tkt_enctypes = " + et.String() + "\n default_tgs_enctypes = " + et.String() + "\n permitted_enctypes = " + et.String()
			if et == krbcrypto.RC4HMAC {
				lib += "\n allow_rc4 = true"
			}
			c, _ := newPW(t, confFor(t, k, lib), preauthUser, password)
			tgt, err := c.Login(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tgt.Key.EType() != et {
				t.Errorf("TGT session key %s", tgt.Key.EType())
			}
			st, err := c.ServiceTicket(context.Background(), host(t, ""), nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Key.EType() != et {
				t.Errorf("service session key %s", st.Key.EType())
			}
			verifyServiceTicket(t, kt, st)
		})
	}
	// Without allow_rc4 an RC4-only list is empty and refused before any KDC is asked.
	c, _ := newPW(t, confFor(t, k, " default_tkt_enctypes = rc4-hmac"), preauthUser, password)
	if _, err := c.Login(context.Background()); !errors.Is(err, sspi.ErrKDCUnknownEtype) {
		t.Errorf("rc4 without allow_rc4: %v", err)
	}
}

// TestMITKeytabLogin logs on with keys from a keytab MIT exported.
func TestMITKeytabLogin(t *testing.T) {
	k := sharedKDC(t)
	kt, err := keytab.Load(k.KeytabFor(t, preauthUser))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParsePrincipal(preauthUser, k.Realm)
	c, err := NewWithKeytab(&Options{Config: confFor(t, k, "")}, p, kt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceTicket(context.Background(), host(t, ""), nil); err != nil {
		t.Fatal(err)
	}
}

// TestMITRealmCaseAndEnterprise: a realm given in lower case, and an enterprise name.
func TestMITRealmCaseAndEnterprise(t *testing.T) {
	k := sharedKDC(t)
	conf := confFor(t, k, "")
	c, _ := newPW(t, conf, preauthUser+"@"+strings.ToLower(k.Realm), password)
	if _, err := c.ServiceTicket(context.Background(), host(t, strings.ToLower(k.Realm)), nil); err != nil {
		t.Fatalf("lower-case realm: %v", err)
	}
	e, err := NewWithPassword(&Options{Config: conf}, Enterprise("erin@upn.test", strings.ToLower(k.Realm)), password)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.ServiceTicket(context.Background(), host(t, ""), nil)
	if err != nil {
		t.Fatalf("enterprise name: %v", err)
	}
	if st.Client.String() != "erin\\@upn.test@"+k.Realm {
		t.Errorf("canonical client %s", st.Client)
	}
}

// TestMITForwardedAndRenew: a forwardable TGT gives a forwarded one; a renewable one renews.
func TestMITForwardedAndRenew(t *testing.T) {
	k := sharedKDC(t)
	c, _ := newPW(t, confFor(t, k, " forwardable = true\n renew_lifetime = 2d"), "alice", password)
	ctx := context.Background()
	tgt, err := c.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Flags&wire.FlagForwardable == 0 {
		t.Fatalf("TGT flags %#x lack forwardable", tgt.Flags)
	}
	fwd, err := c.ForwardedTGT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fwd.Flags&wire.FlagForwarded == 0 {
		t.Errorf("forwarded TGT flags %#x", fwd.Flags)
	}
	if tgt.Flags&wire.FlagRenewable == 0 {
		t.Fatalf("TGT flags %#x lack renewable", tgt.Flags)
	}
	r, err := c.Renew(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Key.Equal(tgt.Key) {
		t.Error("renewed TGT kept the session key")
	}
	// Not forwardable: refused before asking.
	c2, _ := newPW(t, confFor(t, k, ""), preauthUser, password)
	if _, err := c2.ForwardedTGT(ctx); !errors.Is(err, sspi.ErrDelegationRequired) {
		t.Errorf("non-forwardable: %v", err)
	}
}

// TestMITCCache: a cache we write is listed by MIT's klist; a cache kinit wrote gets us a
// service ticket.
func TestMITCCache(t *testing.T) {
	k := sharedKDC(t)
	klist := testpeers.Require(t, "krb5-user", "klist")
	c, _ := newPW(t, confFor(t, k, ""), preauthUser, password)
	if _, err := c.ServiceTicket(context.Background(), host(t, ""), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cc")
	if err := c.WriteCCache("FILE:" + path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(klist, "-c", "FILE:"+path)
	cmd.Env = append(os.Environ(), k.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist: %v\n%s", err, out)
	}
	for _, want := range []string{"Default principal: " + preauthUser + "@" + k.Realm, "krbtgt/" + k.Realm + "@" + k.Realm, testpeers.KDCService + "@" + k.Realm} {
		if !strings.Contains(string(out), want) {
			t.Errorf("klist output lacks %q:\n%s", want, out)
		}
	}

	mitCC := k.Kinit(t, preauthUser, password)
	lc, err := LoadCCache(&Options{Config: confFor(t, k, "")}, "FILE:"+mitCC)
	if err != nil {
		t.Fatal(err)
	}
	kt, _ := keytab.Load(serviceKeytab)
	st, err := lc.ServiceTicket(context.Background(), host(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	verifyServiceTicket(t, kt, st)
	cc, err := ccache.Load(mitCC)
	if err != nil || len(cc.Credentials) == 0 {
		t.Fatal(err)
	}
}

func BenchmarkMITLoginAndServiceTicket(b *testing.B) {
	k := testpeers.SharedKDC(b, testpeers.KDCOptions{Users: map[string]string{"alice": password, preauthUser: password, noPreauth: password}, Services: []string{testpeers.KDCService, "rc4/svc"}, AllowWeakSessionKeys: true})
	conf, _ := krbconf.Parse([]byte("[libdefaults]\n default_realm = " + k.Realm + "\n[realms]\n " + k.Realm + " = {\n kdc = 127.0.0.1:" + strconv.Itoa(k.Port) + "\n }\n"))
	p, _ := ParsePrincipal(noPreauth, k.Realm)
	svc, _ := ParsePrincipal(testpeers.KDCService, k.Realm)
	b.ReportAllocs()
	for b.Loop() {
		c, err := NewWithPassword(&Options{Config: conf}, p, password)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ServiceTicket(context.Background(), svc, nil); err != nil {
			b.Fatal(err)
		}
	}
}
