package kdctest_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/ccache"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
	"github.com/gosspi/sspi/sockauth"
)

// mit runs MIT's command-line tools against one KDC in a private environment: the KDC's
// krb5.conf, a credential cache of the test's own, nothing from the host.
type mit struct {
	t    *testing.T
	k    *kdctest.KDC
	env  []string
	cc   string // the credential cache, without "FILE:"
	conf string
}

func newMIT(t *testing.T, opts *kdctest.Options) (*mit, string) {
	t.Helper()
	testpeers.Require(t, "krb5-user", "kinit")
	k, conf, kt := startKDC(t, opts)
	cc := filepath.Join(t.TempDir(), "ccache")
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+cc)
	return &mit{t: t, k: k, env: env, cc: cc, conf: conf}, kt
}

// run runs an MIT tool (stdin: the password, if any) and returns its output and whether
// it exited with status 0.
func (m *mit) run(stdin, name string, args ...string) (string, bool) {
	m.t.Helper()
	path := testpeers.Require(m.t, "krb5-user", name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = m.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		m.t.Fatalf("%s %v timed out: %s", name, args, out)
	}
	return string(out), err == nil
}

func (m *mit) mustRun(stdin, name string, args ...string) string {
	m.t.Helper()
	out, ok := m.run(stdin, name, args...)
	if !ok {
		m.t.Fatalf("%s %v failed:\n%s", name, args, out)
	}
	return out
}

func (m *mit) readCCache() *ccache.CCache {
	m.t.Helper()
	b, err := os.ReadFile(m.cc)
	if err != nil {
		m.t.Fatal(err)
	}
	c, err := ccache.Parse(b)
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

func (m *mit) ticket(c *ccache.CCache, server string) *ccache.Credential {
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if !cr.IsConfig() && cr.Server.Name.String()+"@"+cr.Server.Realm == server {
			return cr
		}
	}
	m.t.Fatalf("no ticket for %s in the ccache", server)
	return nil
}

// TestMITKinitKvnoKlist: MIT's kinit logs on to the KDC with a password for every
// encryption type, kvno gets a service ticket, klist lists both; the ccache MIT wrote
// holds them with the KDC's enctypes, and package kerberos's client uses that ccache to
// authenticate to its acceptor with the keytab the KDC exported; kinit -k logs on with that
// keytab.
func TestMITKinitKvnoKlist(t *testing.T) {
	for _, et := range allEnctypes {
		t.Run(et, func(t *testing.T) {
			m, kt := newMIT(t, &kdctest.Options{Enctypes: []string{et}})
			m.mustRun(password+"\n", "kinit", user)
			out := m.mustRun("", "kvno", spn)
			if !strings.Contains(out, spn+"@"+realm+": kvno = 1") {
				t.Errorf("kvno: %s", out)
			}
			out = m.mustRun("", "klist", "-e")
			for _, want := range []string{"Default principal: " + user + "@" + realm, "krbtgt/" + realm + "@" + realm, spn + "@" + realm, et} {
				if !strings.Contains(out, want) {
					t.Errorf("klist -e lacks %q:\n%s", want, out)
				}
			}
			c := m.readCCache()
			for _, s := range []string{"krbtgt/" + realm + "@" + realm, spn + "@" + realm} {
				cr := m.ticket(c, s)
				if cr.Key.Type != etypeNumber(et) || cr.Flags&wire.FlagPreAuthent == 0 {
					t.Errorf("%s: session key type %d, flags %#x", s, cr.Key.Type, cr.Flags)
				}
			}
			cc := acquire(t, kerberos.PackageName, sspi.CredOutbound, &kerberos.ClientConfig{CCache: m.cc, Config: m.conf})
			sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt})
			handshake(t, cc, sc)

			// The exported keytab logs the service itself on (kinit -k), as kadmin's would.
			m.mustRun("", "kinit", "-k", "-t", kt, spn)
			if c := m.readCCache(); c.DefaultPrincipal.Name.String() != spn {
				t.Errorf("kinit -k: default principal %v", c.DefaultPrincipal)
			}
		})
	}
}

func etypeNumber(name string) int32 {
	return map[string]int32{"aes128-cts-hmac-sha1-96": 17, "aes256-cts-hmac-sha1-96": 18,
		"aes128-cts-hmac-sha256-128": 19, "aes256-cts-hmac-sha384-192": 20, "rc4-hmac": 23}[name]
}

// TestMITErrors: MIT's tools report the KDC's refusals as they report krb5kdc's: a wrong
// password (PREAUTH_FAILED), an unknown client and server, a clock too far off.
func TestMITErrors(t *testing.T) {
	var offset atomic.Int64 // the KDC's clock runs in its own goroutines
	m, _ := newMIT(t, &kdctest.Options{Time: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	for _, tc := range []struct {
		name, principal, pw string
		offset              time.Duration
		want                string
	}{
		{"wrong password", user, "wrong", 0, "Password incorrect"},
		{"unknown client", "mallory", password, 0, "not found in Kerberos database"},
		{"skew", user, password, time.Hour, "Clock skew too great"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offset.Store(int64(tc.offset))
			defer offset.Store(0)
			if tc.offset != 0 {
				// MIT corrects its clock by the KDC's time in KDC_ERR_PREAUTH_REQUIRED
				// (kdc_timesync, on by default); without that, the KDC's check refuses.
				noSync := filepath.Join(t.TempDir(), "krb5.conf")
				conf, _ := os.ReadFile(m.conf)
				os.WriteFile(noSync, []byte(strings.Replace(string(conf), "[libdefaults]\n", "[libdefaults]\n\tkdc_timesync = 0\n", 1)), 0o644)
				m.env = append(m.env, "KRB5_CONFIG="+noSync)
				defer func() { m.env = m.env[:len(m.env)-1] }()
			}
			out, ok := m.run(tc.pw+"\n", "kinit", tc.principal)
			if ok || !strings.Contains(out, tc.want) {
				t.Errorf("kinit %s: ok %v:\n%s", tc.principal, ok, out)
			}
		})
	}
	t.Run("unknown server", func(t *testing.T) {
		m.mustRun(password+"\n", "kinit", user)
		out, ok := m.run("", "kvno", "HTTP/nowhere.test")
		if ok || !strings.Contains(out, "Server HTTP/nowhere.test@"+realm+" not found in Kerberos database") {
			t.Errorf("kvno: ok %v:\n%s", ok, out)
		}
	})
}

// TestMITFlagsAndRenewal: kinit -f -r gets a forwardable, renewable TGT bounded by the
// KDC's limits; kinit -R renews it; kvno gets a forwardable service ticket from it.
func TestMITFlagsAndRenewal(t *testing.T) {
	m, _ := newMIT(t, &kdctest.Options{MaxTicketLife: 2 * time.Hour, MaxRenewableLife: 48 * time.Hour})
	start := time.Now().Truncate(time.Second)
	m.mustRun(password+"\n", "kinit", "-f", "-l", "10h", "-r", "7d", user)
	tgt := m.ticket(m.readCCache(), "krbtgt/"+realm+"@"+realm)
	want := uint32(wire.FlagForwardable | wire.FlagRenewable | wire.FlagInitial | wire.FlagPreAuthent)
	if tgt.Flags != want {
		t.Errorf("TGT flags %#x, want %#x", tgt.Flags, want)
	}
	if d := tgt.EndTime.Sub(start); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("TGT lifetime %v, want the KDC's maximum of 2h", d)
	}
	if d := tgt.RenewTill.Sub(start); d < 48*time.Hour-time.Minute || d > 48*time.Hour+time.Minute {
		t.Errorf("TGT renewable for %v, want the KDC's maximum of 48h", d)
	}
	if out := m.mustRun("", "klist", "-f"); !strings.Contains(out, "Flags: FRIA") {
		t.Errorf("klist -f:\n%s", out)
	}
	m.mustRun("", "kinit", "-R")
	renewed := m.ticket(m.readCCache(), "krbtgt/"+realm+"@"+realm)
	if renewed.Flags&wire.FlagRenewable == 0 || renewed.Flags&wire.FlagInitial == 0 || !renewed.RenewTill.Equal(tgt.RenewTill) || renewed.StartTime.Before(tgt.StartTime) {
		t.Errorf("renewed TGT: flags %#x, start %v, renew-till %v (was %v)", renewed.Flags, renewed.StartTime, renewed.RenewTill, tgt.RenewTill)
	}
	m.mustRun("", "kvno", spn)
	st := m.ticket(m.readCCache(), spn+"@"+realm)
	if st.Flags&wire.FlagForwardable == 0 || st.Flags&wire.FlagInitial != 0 {
		t.Errorf("service ticket flags %#x", st.Flags)
	}
}

// TestMITCanonicalizeAndTCP: kinit -C -E (an enterprise name with the realm in lower case,
// canonicalize) gets the canonical name back; with replies too big for UDP the KDC answers
// KRB_ERR_RESPONSE_TOO_BIG and MIT's library asks again over TCP.
func TestMITCanonicalizeAndTCP(t *testing.T) {
	m, _ := newMIT(t, &kdctest.Options{MaxUDPReply: 300})
	m.mustRun(password+"\n", "kinit", "-C", "-E", user+"@"+strings.ToLower(realm))
	c := m.readCCache()
	if got := c.DefaultPrincipal.Name.String() + "@" + c.DefaultPrincipal.Realm; got != user+"@"+realm {
		t.Errorf("default principal %s", got)
	}
	m.mustRun("", "kvno", spn)
	if n := m.k.Counts(); n.TooBig == 0 || n.TCP == 0 || n.UDP == 0 {
		t.Errorf("counts %+v: want UDP attempts refused as too big, then TCP", n)
	}
}

// TestMITGSSSample: MIT's gss-server accepts the tickets MIT's gss-client got from the
// KDC, with the keytab the KDC exported; gss-client also authenticates to our acceptor
// (sockauth with the gss-sample framing) with those tickets, and exchanges a sealed
// message.
func TestMITGSSSample(t *testing.T) {
	testpeers.RequireGSSSample(t)
	m, kt := newMIT(t, nil)
	m.mustRun(password+"\n", "kinit", user)
	env := []string{"KRB5_CONFIG=" + m.conf, "KRB5CCNAME=FILE:" + m.cc}

	t.Run("gss-server", func(t *testing.T) {
		srv := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{Keytab: kt, Env: []string{"KRB5_CONFIG=" + m.conf}})
		res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{Message: "to MIT", Env: env})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("gss-client: %v, exit %d\n%s\n%s", err, res.ExitCode, res.Output, srv.Log())
		}
		if !srv.AcceptedMech(testpeers.MechKerberos) || !srv.ReceivedMessage("to MIT") {
			t.Errorf("gss-server log:\n%s", srv.Log())
		}
	})
	t.Run("delegation", func(t *testing.T) {
		// gss-client -d asks its KDC for a forwarded TGT (a TGS-REQ with FORWARDED) and
		// sends it to gss-server in a KRB-CRED; kinit -f made the TGT forwardable.
		m.mustRun(password+"\n", "kinit", "-f", user)
		before := m.k.Counts().TGS
		srv := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{Keytab: kt, Env: []string{"KRB5_CONFIG=" + m.conf}})
		res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{Message: "delegated", Args: []string{"-d"}, Env: env})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("gss-client -d: %v, exit %d\n%s\n%s", err, res.ExitCode, res.Output, srv.Log())
		}
		if !srv.ReceivedMessage("delegated") {
			t.Errorf("gss-server log:\n%s", srv.Log())
		}
		// The service ticket and the forwarded TGT.
		if n := m.k.Counts().TGS - before; n != 2 {
			t.Errorf("%d TGS requests, want 2", n)
		}
	})
	t.Run("our acceptor", func(t *testing.T) {
		sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &sockauth.Server{Credentials: sc, Framing: sockauth.FramingGSS}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			<-done
		}()
		res, err := testpeers.RunGSSClient(t, l.Addr().String(), testpeers.GSSClientOptions{Message: "to gosspi", Env: env})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("gss-client: %v, exit %d\n%s", err, res.ExitCode, res.Output)
		}
	})
}
