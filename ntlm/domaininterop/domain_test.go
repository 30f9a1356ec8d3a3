package domaininterop

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/dcerpc"
	"github.com/gosspi/sspi/internal/nrpc"
	"github.com/gosspi/sspi/internal/testpeers"
	_ "github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/ntlm/netlogon"
	"github.com/gosspi/sspi/ntlm/winbind"
)

// The domain's accounts, made once per test binary.
const (
	machine         = "GOSSPI1"
	machinePassword = "Machine-Passw0rd-4711"
	userPassword    = "User-Passw0rd!1"
	groupName       = "gosspi-readers"
)

type domain struct {
	dc       *testpeers.ADDC
	groupSID string
	aliceSID string
}

var (
	domainOnce sync.Once
	theDomain  *domain
	domainErr  string
)

// setUp returns the DC with the machine account and the users every test here uses:
// alice (a member of gosspi-readers), and one user per refusal.
func setUp(t *testing.T) *domain { return setUpB(t) }

func setUpB(t testing.TB) *domain {
	t.Helper()
	dc := testpeers.SharedADDC(t)
	domainOnce.Do(func() {
		d := &domain{dc: dc}
		dc.SambaTool(t, "computer", "create", machine)
		dc.SambaTool(t, "user", "setpassword", machine+"$", "--newpassword="+machinePassword)
		for _, u := range []string{"alice", "dora", "edgar", "hank", "lena"} {
			dc.AddUser(t, u, userPassword)
		}
		dc.SambaTool(t, "user", "add", "mustchange", userPassword, "--must-change-at-next-login")
		dc.SambaTool(t, "user", "disable", "dora")
		dc.SambaTool(t, "user", "setexpiry", "edgar", "--days=0")
		// hank may never log on: logonHours all zero.
		dc.Ldbmodify(t, "dn: "+dc.DN(t, "hank")+"\nchangetype: modify\nreplace: logonHours\nlogonHours:: "+base64.StdEncoding.EncodeToString(make([]byte, 21))+"\n")
		// lena is locked out: ten wrong passwords under a threshold of ten. (Other
		// users' few wrong passwords stay below it.)
		dc.SambaTool(t, "domain", "passwordsettings", "set", "--account-lockout-threshold=10")
		lockOut(t, d, "lena")
		dc.SambaTool(t, "group", "add", groupName)
		dc.SambaTool(t, "group", "addmembers", groupName, "alice")
		out := dc.SambaTool(t, "group", "show", groupName, "--attributes=objectSid")
		m := regexp.MustCompile(`objectSid: (S-1-5-21-[0-9-]+)`).FindStringSubmatch(out)
		if m == nil {
			domainErr = "no objectSid for " + groupName + ": " + out
			return
		}
		d.groupSID = m[1]
		d.aliceSID = dc.UserSID(t, "alice")
		theDomain = d
	})
	if theDomain == nil {
		t.Fatalf("setting up the domain failed earlier: %s", domainErr)
	}
	return theDomain
}

// lockOut makes ten logons with a wrong password for user through Netlogon.
func lockOut(t testing.TB, d *domain, user string) {
	t.Helper()
	scred := serverCreds(t, d, d.netlogon(t, 1))
	for i := 0; i < 10; i++ {
		if _, _, err := logon(t, clientCreds(t, `SAMDOM\`+user, "Wrong-Passw0rd!"), scred, nil); !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatalf("locking %s out, wrong password %d: %v", user, i, err)
		}
	}
}

func (d *domain) netlogon(t testing.TB, conns int) *netlogon.Verifier {
	t.Helper()
	v, err := netlogon.New(netlogon.Config{DomainControllers: []string{d.dc.Addr}, Domain: d.dc.Domain, Computer: machine, Password: machinePassword, Connections: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// winbindEnv is this process's environment without _NO_WINBINDD, which would keep
// ntlm_auth from the DC's winbindd.
func winbindEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "_NO_WINBINDD=") {
			env = append(env, e)
		}
	}
	return env
}

func (d *domain) winbind(t testing.TB, cfg winbind.Config) *winbind.Verifier {
	t.Helper()
	testpeers.Require(t, "winbind", "ntlm_auth")
	cfg.ConfigFile, cfg.Env = d.dc.SMBConf, winbindEnv()
	v, err := winbind.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func serverCreds(t testing.TB, d *domain, v ntlm.Verifier) *sspi.Credentials {
	t.Helper()
	cfg := &ntlm.ServerConfig{Verifier: v, NetBIOSDomain: d.dc.Domain, NetBIOSComputer: "GOSSPI1", DNSDomain: strings.ToLower(d.dc.Realm)}
	c, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

func clientCreds(t testing.TB, user, password string) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredOutbound, nil, &ntlm.ClientConfig{User: user, Password: password, Workstation: "CLIENT1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// logon runs the three NTLM messages between our client and our server; tamper, if not
// nil, rewrites the AUTHENTICATE on its way.
func logon(t testing.TB, ccred, scred *sspi.Credentials, tamper func([]byte)) (*sspi.ClientContext, *sspi.ServerContext, error) {
	t.Helper()
	client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost", Req: sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity})
	server := sspi.NewServerContext(scred, sspi.ServerOptions{Req: sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity})
	t.Cleanup(func() { client.Close(); server.Close() })
	neg, err := client.Step(nil)
	if err != nil {
		return nil, nil, err
	}
	chal, err := server.Step(neg)
	if err != nil {
		return nil, nil, err
	}
	auth, err := client.Step(chal)
	if err != nil {
		return nil, nil, err
	}
	if tamper != nil {
		tamper(auth)
	}
	if _, err := server.Step(auth); err != nil {
		return nil, nil, err
	}
	return client, server, nil
}

// sealed checks that both sides hold the same session key: a sealed message each way.
func sealed(t *testing.T, client *sspi.ClientContext, server *sspi.ServerContext) {
	t.Helper()
	msg := []byte("sealed with the session key the domain controller returned")
	w, err := client.Wrap(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := server.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("server unwrap: %q, %v", got, err)
	}
	if w, err = server.Wrap(msg); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("client unwrap: %q, %v", got, err)
	}
}

type verifierCase struct {
	name string
	make func(t testing.TB, d *domain) ntlm.Verifier
	// groups: the verifier reports the user's SID and groups.
	groups bool
}

var verifiers = []verifierCase{
	{"netlogon", func(t testing.TB, d *domain) ntlm.Verifier { return d.netlogon(t, 1) }, true},
	{"winbind", func(t testing.TB, d *domain) ntlm.Verifier { return d.winbind(t, winbind.Config{LookupGroups: true}) }, true},
	{"winbind-oneshot", func(t testing.TB, d *domain) ntlm.Verifier { return d.winbind(t, winbind.Config{OneShot: true}) }, false},
}

// Domain users log on through each verifier with the right session key, and their
// identity carries their SID and groups.
func TestDomainLogon(t *testing.T) {
	d := setUp(t)
	for _, vc := range verifiers {
		t.Run(vc.name, func(t *testing.T) {
			scred := serverCreds(t, d, vc.make(t, d))
			for _, user := range []string{`SAMDOM\alice`, `samdom\ALICE`, "alice@samdom.test"} {
				client, server, err := logon(t, clientCreds(t, user, userPassword), scred, nil)
				if err != nil {
					t.Fatalf("%s: %v", user, err)
				}
				sealed(t, client, server)
				id, err := server.Identity()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.EqualFold(id.User, "alice") {
					t.Errorf("%s: identity %+v", user, id)
				}
				if !vc.groups {
					continue
				}
				if id.Authorization != sspi.AuthzDomainLogon || id.UserSID != d.aliceSID || id.Token == nil {
					t.Fatalf("%s: identity %+v, want SID %s", user, id, d.aliceSID)
				}
				if !id.Token.IsMember(d.groupSID) || !id.Token.IsMember(d.dc.DomainSID+"-513") {
					t.Errorf("%s: token groups %v lack %s (%s) or Domain Users", user, id.GroupSIDs(), groupName, d.groupSID)
				}
				var tok sspi.AccessToken
				if err := sspi.QueryContextAttributes(server.Handle(), sspi.AttrAccessToken, &tok); err != nil || tok.UserSID != d.aliceSID {
					t.Errorf("SECPKG_ATTR_ACCESS_TOKEN: %+v, %v", tok, err)
				}
			}
		})
	}
}

// Each refusal comes back with the domain controller's NTSTATUS, mapped as Windows maps
// it.
func TestDomainRefusals(t *testing.T) {
	d := setUp(t)
	tests := []struct {
		user, password string
		want           ntlm.NTStatus
		// oneShot is what ntlm_auth's command-line mode reports: it squashes an unknown
		// user and a wrong password into a plain logon failure.
		oneShot ntlm.NTStatus
	}{
		{`SAMDOM\alice`, "Wrong-Passw0rd!", ntlm.StatusWrongPassword, ntlm.StatusLogonFailure},
		{`SAMDOM\nobody`, userPassword, ntlm.StatusNoSuchUser, ntlm.StatusLogonFailure},
		{`SAMDOM\dora`, userPassword, ntlm.StatusAccountDisabled, ntlm.StatusAccountDisabled},
		{`SAMDOM\edgar`, userPassword, ntlm.StatusAccountExpired, ntlm.StatusAccountExpired},
		{`SAMDOM\mustchange`, userPassword, ntlm.StatusPasswordMustChange, ntlm.StatusPasswordMustChange},
		{`SAMDOM\hank`, userPassword, ntlm.StatusInvalidLogonHours, ntlm.StatusInvalidLogonHours},
		{`SAMDOM\lena`, userPassword, ntlm.StatusAccountLockedOut, ntlm.StatusAccountLockedOut},
	}
	for _, vc := range verifiers {
		t.Run(vc.name, func(t *testing.T) {
			scred := serverCreds(t, d, vc.make(t, d))
			for _, tt := range tests {
				want := tt.want
				if vc.name == "winbind-oneshot" {
					want = tt.oneShot
				}
				_, _, err := logon(t, clientCreds(t, tt.user, tt.password), scred, nil)
				var got ntlm.NTStatus
				if !errors.Is(err, sspi.ErrLogonDenied) || !errors.As(err, &got) || got != want {
					t.Errorf("%s: %v (NTSTATUS %v), want SEC_E_LOGON_DENIED with %s", tt.user, err, got.Name(), want.Name())
					continue
				}
				if !strings.Contains(err.Error(), want.Name()) {
					t.Errorf("%s: error %q does not name %s", tt.user, err, want.Name())
				}
			}
		})
	}
}

// An attacker between client and server who rewrites the AUTHENTICATE's flags (to drop
// sealing, say) is caught by the MIC, which the server checks with the session key the
// domain controller returned.
func TestDomainLogonMICCatchesTampering(t *testing.T) {
	d := setUp(t)
	scred := serverCreds(t, d, d.netlogon(t, 1))
	_, _, err := logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), scred, func(auth []byte) {
		auth[60] &^= 0x20 // NegotiateFlags (offset 60): clear NTLMSSP_NEGOTIATE_SEAL
	})
	if !errors.Is(err, sspi.ErrMessageAltered) {
		t.Fatalf("tampered AUTHENTICATE: %v, want SEC_E_MESSAGE_ALTERED", err)
	}
}

// A wrong machine password is no answer about the user: SEC_E_NO_AUTHENTICATING_AUTHORITY,
// and a cause that points at the machine account.
func TestNetlogonWrongMachinePassword(t *testing.T) {
	d := setUp(t)
	v, err := netlogon.New(netlogon.Config{DomainControllers: []string{d.dc.Addr}, Domain: d.dc.Domain, Computer: machine, Password: "not-the-password"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, _, err = logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), serverCreds(t, d, v), nil)
	if !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) || !strings.Contains(err.Error(), machine+"$") {
		t.Fatalf("%v, want SEC_E_NO_AUTHENTICATING_AUTHORITY naming the machine account", err)
	}
}

// The verifier finds the DC through DNS (the DC's own DNS server) when none is
// configured, and sets up its channel again after the connection is lost.
func TestNetlogonDiscoveryAndReconnect(t *testing.T) {
	d := setUp(t)
	r := &netResolver{addr: d.dc.Addr + ":53"}
	v, err := netlogon.New(netlogon.Config{DNSDomain: strings.ToLower(d.dc.Realm), Resolver: r.resolver(), Domain: d.dc.Domain, Computer: machine, Password: machinePassword})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	scred := serverCreds(t, d, v)
	for i := 0; i < 2; i++ {
		client, server, err := logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), scred, nil)
		if err != nil {
			t.Fatalf("logon %d: %v", i, err)
		}
		sealed(t, client, server)
		// A second verifier for the same machine account sets up its own channel: the
		// DC forgets the first one's credentials, which the first must survive.
		other := d.netlogon(t, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, _, err = logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), serverCreds(t, d, other), nil)
		cancel()
		_ = ctx
		if err != nil {
			t.Fatalf("second verifier: %v", err)
		}
	}
}

// Negotiate falls back to NTLM when the client cannot use Kerberos for the target (the
// service has no principal in the realm), and the NTLM inside is verified by the DC.
func TestNegotiateNTLMFallbackThroughNetlogon(t *testing.T) {
	d := setUp(t)
	t.Setenv("KRB5_CONFIG", d.dc.Krb5Conf)
	t.Setenv("KRB5CCNAME", "MEMORY:negotiate-fallback")
	scfg := &negotiate.Config{Mechanisms: []string{ntlm.PackageName}, Credentials: map[string]any{ntlm.PackageName: &ntlm.ServerConfig{Verifier: d.netlogon(t, 1), NetBIOSDomain: d.dc.Domain}}}
	scred, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(scred)
	ccred, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: "alice", Domain: "SAMDOM", Password: userPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(ccred)
	client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost", Req: sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity | sspi.ISCReqMutualAuth})
	server := sspi.NewServerContext(scred, sspi.ServerOptions{Req: sspi.ASCReqConfidentiality | sspi.ASCReqIntegrity})
	defer client.Close()
	defer server.Close()
	var in []byte
	for i := 0; i < 6 && !(client.Established() && server.Established()); i++ {
		out, err := client.Step(in)
		if err != nil {
			t.Fatalf("client step %d: %v", i, err)
		}
		if len(out) == 0 && client.Established() {
			break
		}
		if in, err = server.Step(out); err != nil {
			t.Fatalf("server step %d: %v", i, err)
		}
	}
	if !client.Established() || !server.Established() {
		t.Fatal("Negotiate did not finish")
	}
	sealed(t, client, server)
	id, err := server.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.Package != ntlm.PackageName || id.UserSID != d.aliceSID || !id.Token.IsMember(d.groupSID) {
		t.Fatalf("identity %+v, want NTLM with %s in %s", id, d.aliceSID, d.groupSID)
	}
}

// hiddenNames hides the netlogon verifier's TargetNames, so that a server can be set up
// under other names than its machine account's.
type hiddenNames struct{ ntlm.Verifier }

// A response made for a CHALLENGE that names another server (what a relaying attacker
// has: a client's response to some other member server) is refused by the DC, which binds
// NTLMv2 responses to the secure channel's machine account; the server therefore takes
// its CHALLENGE's names from the verifier.
func TestNetlogonRefusesResponsesForOtherServers(t *testing.T) {
	d := setUp(t)
	v := d.netlogon(t, 1)
	cfg := &ntlm.ServerConfig{Verifier: hiddenNames{v}, NetBIOSDomain: d.dc.Domain, NetBIOSComputer: "OTHERSRV"}
	scred, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(scred)
	_, _, err = logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), scred, nil)
	var st ntlm.NTStatus
	if !errors.Is(err, sspi.ErrLogonDenied) || !errors.As(err, &st) || st != ntlm.StatusLogonFailure {
		t.Fatalf("response for OTHERSRV: %v, want SEC_E_LOGON_DENIED (STATUS_LOGON_FAILURE)", err)
	}
	// With the verifier's own names (ServerConfig leaves them empty) the same user logs on.
	scred2 := serverCredsNamed(t, v, "", "")
	if _, _, err := logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), scred2, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil, &ntlm.ServerConfig{Verifier: v, NetBIOSComputer: "OTHERSRV"}, nil); !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Fatalf("a server named OTHERSRV with the GOSSPI1 verifier: %v", err)
	}
}

func serverCredsNamed(t testing.TB, v ntlm.Verifier, domain, computer string) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredInbound, nil, &ntlm.ServerConfig{Verifier: v, NetBIOSDomain: domain, NetBIOSComputer: computer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// proxy forwards TCP connections to target until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// cut closes every connection made so far, as a DC restart or a network failure would.
func (p *proxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	return n
}

// The verifier fails over from a DC that does not answer to the next, and sets its
// channel up again when its connections are cut.
func TestNetlogonFailoverAndReconnect(t *testing.T) {
	d := setUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := dcerpc.EptMap(ctx, d.dc.Addr, nrpc.Netlogon)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, net.JoinHostPort(d.dc.Addr, strconv.Itoa(port)))
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there any more: connections are refused
	v, err := netlogon.New(netlogon.Config{DomainControllers: []string{deadAddr, p.ln.Addr().String()}, Domain: d.dc.Domain, Computer: machine, Password: machinePassword})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	scred := serverCreds(t, d, v)
	for i := 0; i < 3; i++ {
		client, server, err := logon(t, clientCreds(t, `SAMDOM\alice`, userPassword), scred, nil)
		if err != nil {
			t.Fatalf("logon %d: %v", i, err)
		}
		sealed(t, client, server)
		if n := p.cut(); n == 0 {
			t.Fatalf("logon %d went through no connection of the proxy", i)
		}
	}
}

// A user in many groups gets validation information larger than one RPC fragment: the
// DC sends it in several sealed fragments, each with its own signature and sequence
// number, which the client reassembles. (The client offers small fragments here, so that
// a few hundred groups are enough: a thousand would take the DC half a minute to add.)
func TestNetlogonManyGroups(t *testing.T) {
	d := setUp(t)
	defer func(n int) { dcerpc.RecvFragment = n }(dcerpc.RecvFragment)
	dcerpc.RecvFragment = 2048
	const n = 300
	d.dc.AddUser(t, "gina", userPassword)
	gina := d.dc.DN(t, "gina")
	base := d.dc.BaseDN()
	var ldif strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&ldif, "dn: CN=gosspi-many-%d,CN=Users,%s\nchangetype: add\nobjectClass: group\nsAMAccountName: gosspi-many-%d\nmember: %s\n\n", i, base, i, gina)
	}
	d.dc.Ldbmodify(t, ldif.String())
	v := d.netlogon(t, 1)
	client, server, err := logon(t, clientCreds(t, `SAMDOM\gina`, userPassword), serverCreds(t, d, v), nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed(t, client, server)
	id, _ := server.Identity()
	if got := len(id.GroupSIDs()); got < n {
		t.Fatalf("%d groups in the identity, want at least %d", got, n)
	}
}
