package ccache

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	gkclient "github.com/jcmturner/gokrb5/v8/client"
	gkconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	gkmessages "github.com/jcmturner/gokrb5/v8/messages"
	gktypes "github.com/jcmturner/gokrb5/v8/types"
)

type mitTools struct {
	t           *testing.T
	env         []string
	klist, kvno string
}

func newMITTools(t *testing.T, kdc *testpeers.KDC) *mitTools {
	return &mitTools{
		t:     t,
		env:   testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+kdc.Krb5Conf),
		klist: testpeers.Require(t, "krb5-user", "klist"),
		kvno:  testpeers.Require(t, "krb5-user", "kvno"),
	}
}

func (m *mitTools) run(name string, args ...string) string {
	m.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = m.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		m.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// useCache checks that MIT's klist lists the cache at path and kvno gets a service ticket
// with it, appending to our file, which then still parses.
func (m *mitTools) useCache(kdc *testpeers.KDC, path string) {
	m.t.Helper()
	out := m.run(m.klist, "-c", "FILE:"+path)
	if !strings.Contains(out, "krbtgt/"+kdc.Realm+"@"+kdc.Realm) || !strings.Contains(out, kdc.Principal(testpeers.KDCUser)) {
		m.t.Fatalf("klist does not show the TGT:\n%s", out)
	}
	m.run(m.kvno, "-c", "FILE:"+path, kdc.Principal(testpeers.KDCService))
	c, err := Load(path)
	if err != nil {
		m.t.Fatalf("the cache after kvno: %v", err)
	}
	found := false
	for _, cr := range c.Credentials {
		found = found || cr.Server.Name.String() == testpeers.KDCService
	}
	if !found {
		m.t.Fatal("kvno's service ticket is not in the cache")
	}
}

// TestMITReadsRewrittenCCache: a cache MIT's kinit wrote parses, is written back by us, and
// MIT's klist and kvno use the rewritten file.
func TestMITReadsRewrittenCCache(t *testing.T) {
	kdc := testpeers.StartKDC(t, testpeers.KDCOptions{})
	m := newMITTools(t, kdc)
	c, err := Load(kdc.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rewritten")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m.useCache(kdc, path)
}

// TestMITReadsBuiltCCache: a cache built from scratch around a TGT gokrb5 got (test-only)
// is used by MIT's klist and kvno.
func TestMITReadsBuiltCCache(t *testing.T) {
	kdc := testpeers.StartKDC(t, testpeers.KDCOptions{})
	m := newMITTools(t, kdc)
	conf, err := gkconfig.Load(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	cl := gkclient.NewWithPassword(testpeers.KDCUser, kdc.Realm, testpeers.KDCPassword, conf, gkclient.DisablePAFXFAST(true))
	asreq, err := gkmessages.NewASReqForTGT(kdc.Realm, conf, gktypes.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, testpeers.KDCUser))
	if err != nil {
		t.Fatal(err)
	}
	asrep, err := cl.ASExchange(kdc.Realm, asreq, 0)
	if err != nil {
		t.Fatal(err)
	}
	tkt, err := asrep.Ticket.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var parsed wire.Ticket
	if err := parsed.Unmarshal(tkt); err != nil {
		t.Fatal(err)
	}
	ep := asrep.DecryptedEncPart
	var flags uint32
	for i := 0; i < 4 && i < len(ep.Flags.Bytes); i++ {
		flags |= uint32(ep.Flags.Bytes[i]) << (24 - 8*i)
	}
	client := Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{testpeers.KDCUser}}, Realm: kdc.Realm}
	c := &CCache{
		DefaultPrincipal: client,
		Credentials: []Credential{{
			Client:   client,
			Server:   Principal{Name: parsed.SName, Realm: parsed.Realm},
			Key:      wire.EncryptionKey{Type: ep.Key.KeyType, Value: ep.Key.KeyValue},
			AuthTime: ep.AuthTime, StartTime: ep.StartTime, EndTime: ep.EndTime, RenewTill: ep.RenewTill,
			Flags:  flags,
			Ticket: tkt,
		}},
	}
	c.SetTimeOffset(0)
	path := filepath.Join(t.TempDir(), "built")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m.useCache(kdc, path)
}
