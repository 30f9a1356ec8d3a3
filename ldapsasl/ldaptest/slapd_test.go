package ldaptest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/ldapsasl"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedKDC()
	testpeers.StopSharedADDC()
	os.Exit(code)
}

// recorder keeps what the client writes on the wire.
type recorder struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.out.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *recorder) written() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.out.Bytes()...)
}

func kerberosClient(t *testing.T, kdc *testpeers.KDC) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, &kerberos.ClientConfig{
		Principal: kdc.Principal(testpeers.KDCUser), Password: testpeers.KDCPassword, Config: kdc.Krb5Conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// bind dials addr and binds with GSSAPI through a Conn configured by cfg.
func bind(t *testing.T, addr, spn string, cfg ldapsasl.Config) (*ldap.Conn, *ldapsasl.Conn, *recorder, error) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Conn: raw}
	conn := ldapsasl.NewConn(rec, cfg)
	l := ldap.NewConn(conn, false)
	l.Start()
	t.Cleanup(func() { l.Close() })
	return l, conn, rec, l.GSSAPIBind(conn.Client(), spn, "")
}

var bindLine = regexp.MustCompile(`conn=(\d+) op=\d+ BIND dn="([^"]*)" mech=GSSAPI bind_ssf=(\d+) ssf=(\d+)`)

// TestSlapd binds to OpenLDAP's slapd (Cyrus SASL GSSAPI, MIT Kerberos) with each security
// layer, then works through the layer: whoami, a search, and a read that slapd's ACL allows
// only with confidentiality. slapd's own log says which strength factor it saw.
func TestSlapd(t *testing.T) {
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Services: []string{"ldap/localhost"}})
	slapd := testpeers.StartSlapd(t, testpeers.SlapdOptions{KDC: kdc, Users: []string{testpeers.KDCUser}})
	cred := kerberosClient(t, kdc)
	aliceDN := "uid=" + testpeers.KDCUser + ",ou=people," + testpeers.SlapdSuffix
	for _, tt := range []struct {
		name   string
		layers ldapsasl.Layer
		want   ldapsasl.Layer
		minSSF int // what slapd must log
		maxSSF int
	}{
		{name: "confidentiality", want: ldapsasl.LayerConfidentiality, minSSF: 56, maxSSF: 256},
		{name: "integrity", layers: ldapsasl.LayerIntegrity, want: ldapsasl.LayerIntegrity, minSSF: 1, maxSSF: 1},
		{name: "none", layers: ldapsasl.LayerNone, want: ldapsasl.LayerNone, minSSF: 0, maxSSF: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, conn, rec, err := bind(t, slapd.Addr, "ldap/localhost", ldapsasl.Config{Credentials: cred, Layers: tt.layers})
			if err != nil {
				t.Fatalf("GSSAPI bind: %v\n%s", err, slapd.Log())
			}
			if got := conn.Layer(); got != tt.want {
				t.Fatalf("layer %v, want %v", got, tt.want)
			}
			who, err := l.WhoAmI(nil)
			if err != nil {
				t.Fatalf("whoami: %v", err)
			}
			if who.AuthzID != "dn:"+aliceDN {
				t.Fatalf("whoami says %q, want dn:%s", who.AuthzID, aliceDN)
			}
			since := len(rec.written())
			res, err := l.Search(ldap.NewSearchRequest("ou=people,"+testpeers.SlapdSuffix, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
				0, 0, false, "(uid=alice)", []string{"cn"}, nil))
			if err != nil || len(res.Entries) != 1 || res.Entries[0].DN != aliceDN {
				t.Fatalf("search: %v, %+v", err, res)
			}
			plainOnWire := bytes.Contains(rec.written()[since:], []byte("ou=people,"+testpeers.SlapdSuffix))
			if plainOnWire != (tt.want != ldapsasl.LayerConfidentiality) {
				t.Fatalf("the search base in clear on the wire: %v, with layer %v", plainOnWire, tt.want)
			}
			res, err = l.Search(ldap.NewSearchRequest(testpeers.SlapdSecret, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				0, 0, false, "(objectClass=*)", []string{"description"}, nil))
			readable := err == nil && len(res.Entries) == 1 && res.Entries[0].GetAttributeValue("description") == "sealed"
			if readable != (tt.want == ldapsasl.LayerConfidentiality) {
				t.Fatalf("the ssf=56 entry readable: %v (%v), with layer %v", readable, err, tt.want)
			}
			// A request larger than slapd's largest SASL buffer (65536 by default) goes as
			// several buffers; the search is valid and finds nothing.
			big := ldap.EscapeFilter(string(bytes.Repeat([]byte("x"), 100<<10)))
			res, err = l.Search(ldap.NewSearchRequest("ou=people,"+testpeers.SlapdSuffix, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
				0, 0, false, "(cn="+big+")", []string{"cn"}, nil))
			if err != nil || len(res.Entries) != 0 {
				t.Fatalf("a 100 KiB search: %v, %+v", err, res)
			}
			checkSlapdSSF(t, slapd.Log(), aliceDN, tt.minSSF, tt.maxSSF)
		})
	}
}

// checkSlapdSSF finds the last GSSAPI bind of dn in slapd's log and checks its ssf.
func checkSlapdSSF(t *testing.T, log, dn string, minSSF, maxSSF int) {
	t.Helper()
	all := bindLine.FindAllStringSubmatch(log, -1)
	if len(all) == 0 {
		t.Fatalf("no GSSAPI BIND line in slapd's log:\n%s", log)
	}
	m := all[len(all)-1]
	ssf, _ := strconv.Atoi(m[3])
	if m[2] != dn || ssf < minSSF || ssf > maxSSF {
		t.Fatalf("slapd logged %q: want dn=%s and bind_ssf in [%d, %d]", m[0], dn, minSSF, maxSSF)
	}
	t.Logf("slapd: %s", m[0])
}

// TestSlapdRequiresLayer: with "security ssf=1" slapd refuses operations on a connection
// without a layer, and serves them through an integrity layer.
func TestSlapdRequiresLayer(t *testing.T) {
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Services: []string{"ldap/localhost"}})
	slapd := testpeers.StartSlapd(t, testpeers.SlapdOptions{KDC: kdc, Users: []string{testpeers.KDCUser}, MinSSF: 1})
	cred := kerberosClient(t, kdc)
	search := ldap.NewSearchRequest(testpeers.SlapdSuffix, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)

	l, _, _, err := bind(t, slapd.Addr, "ldap/localhost", ldapsasl.Config{Credentials: cred, Layers: ldapsasl.LayerNone})
	if err == nil {
		_, err = l.Search(search)
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired) {
		t.Fatalf("without a layer: %v, want slapd's confidentialityRequired", err)
	}
	t.Logf("without a layer slapd refuses: %v", err)

	l, _, _, err = bind(t, slapd.Addr, "ldap/localhost", ldapsasl.Config{Credentials: cred, Layers: ldapsasl.LayerIntegrity})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Search(search); err != nil {
		t.Fatalf("with an integrity layer: %v", err)
	}
}

// TestSlapdWrongSPN: a bind to a service the KDC does not know fails on the client with
// the package's status, before anything reaches slapd's SASL layer.
func TestSlapdWrongSPN(t *testing.T) {
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Services: []string{"ldap/localhost"}})
	slapd := testpeers.StartSlapd(t, testpeers.SlapdOptions{KDC: kdc, Users: []string{testpeers.KDCUser}})
	_, _, _, err := bind(t, slapd.Addr, "ldap/nowhere.invalid", ldapsasl.Config{Credentials: kerberosClient(t, kdc)})
	if !errors.Is(err, sspi.ErrTargetUnknown) {
		t.Fatalf("bind to an unknown SPN: %v, want SEC_E_TARGET_UNKNOWN", err)
	}
}

// Client satisfies go-ldap's interface without importing it.
var _ ldap.GSSAPIClient = (*ldapsasl.Client)(nil)

// TestSlapdReference runs OpenLDAP's own ldapwhoami (Cyrus SASL's GSSAPI client over MIT)
// against the same slapd: the identity and strength factor it gets are the ones our
// client's confidentiality bind gets in TestSlapd, so the peer's setup, not our client,
// decides them.
func TestSlapdReference(t *testing.T) {
	kdc := testpeers.SharedKDC(t, testpeers.KDCOptions{Services: []string{"ldap/localhost"}})
	slapd := testpeers.StartSlapd(t, testpeers.SlapdOptions{KDC: kdc, Users: []string{testpeers.KDCUser}})
	bin := testpeers.Require(t, "ldap-utils", "ldapwhoami")
	cc := kdc.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	_, port, _ := net.SplitHostPort(slapd.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -N: no reverse DNS for the SASL host name; the principal is ldap/localhost as written.
	cmd := exec.CommandContext(ctx, bin, "-Q", "-N", "-Y", "GSSAPI", "-H", "ldap://localhost:"+port)
	cmd.Env = testpeers.Environ(t, testpeers.NTLMEnv{}, append(kdc.Env(), "KRB5CCNAME=FILE:"+cc, "LDAPNOINIT=1")...)
	out, err := cmd.CombinedOutput()
	aliceDN := "uid=" + testpeers.KDCUser + ",ou=people," + testpeers.SlapdSuffix
	if err != nil || strings.TrimSpace(string(out)) != "dn:"+aliceDN {
		t.Fatalf("ldapwhoami: %v: %s", err, out)
	}
	checkSlapdSSF(t, slapd.Log(), aliceDN, 56, 256)
}
