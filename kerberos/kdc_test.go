package kerberos

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

const (
	testRealm    = testpeers.KDCRealm
	testUser     = testpeers.KDCUser
	testPassword = testpeers.KDCPassword
	testSPN      = testpeers.KDCService
	// otherSPN is a second service in the same keytab, as a host serving HTTP keeps it.
	otherSPN = "HTTP/localhost"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedKDC()
	if own.kdc != nil {
		own.kdc.Close()
		os.RemoveAll(own.k.Dir)
	}
	os.Exit(code)
}

// own is the test binary's in-process KDC, started by the first getKDC.
var own struct {
	once sync.Once
	kdc  *kdctest.KDC
	k    *testpeers.KDC
	err  error
}

// getKDC returns the test binary's in-process KDC (kerberos/kdctest, issue 15), so that the
// tests that need a KDC but not MIT's run with nothing installed: alice with testPassword,
// bob with a random password, and host/localhost, HTTP/localhost and delegSPN (marked
// OK-AS-DELEGATE) in its Keytab. It comes in testpeers.KDC's shape with the fields set (Realm, Dir, Krb5Conf, Keytab, Port); the
// methods that drive MIT's kadmin do not apply to it (ownKeytab exports keys): tests of
// MIT's behaviour use getMITKDC.
func getKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	own.once.Do(func() { own.k, own.err = startOwnKDC() })
	if own.err != nil {
		t.Fatal(own.err)
	}
	return own.k
}

func startOwnKDC() (*testpeers.KDC, error) {
	kdc, err := kdctest.New(&kdctest.Options{Realm: testRealm})
	if err != nil {
		return nil, err
	}
	own.kdc = kdc
	var random [16]byte
	rand.Read(random[:])
	for user, pw := range map[string]string{testUser: testPassword, "bob": hex.EncodeToString(random[:])} {
		if err := kdc.AddUser(user, pw); err != nil {
			return nil, err
		}
	}
	for _, spn := range []string{testSPN, otherSPN, delegSPN} {
		if _, err := kdc.AddService(spn); err != nil {
			return nil, err
		}
	}
	// delegSPN is trusted for delegation, as delegKDC's kadmin marks it in MIT's KDC.
	if err := kdc.SetOKAsDelegate(delegSPN, true); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kerberos-kdctest-")
	if err != nil {
		return nil, err
	}
	k := &testpeers.KDC{Realm: testRealm, Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf"), Keytab: filepath.Join(dir, "krb5.keytab")}
	_, port, _ := strings.Cut(kdc.Addr(), ":")
	k.Port, _ = strconv.Atoi(port)
	if err := kdc.WriteConfig(k.Krb5Conf); err != nil {
		return nil, err
	}
	if err := kdc.WriteKeytab(k.Keytab); err != nil {
		return nil, err
	}
	return k, nil
}

// ownKeytab writes the keys of principals of getKDC's KDC (a client keytab for bob) to a
// new keytab and returns its path.
func ownKeytab(t *testing.T, principals ...string) string {
	t.Helper()
	getKDC(t)
	path := filepath.Join(t.TempDir(), "client.keytab")
	if err := own.kdc.WriteKeytab(path, principals...); err != nil {
		t.Fatal(err)
	}
	return path
}

// getMITKDC returns the test binary's loopback MIT KDC (testpeers.SharedKDC): alice with
// testPassword, bob with a random key, and host/localhost and HTTP/localhost in its Keytab. It skips (or fails
// under SSPI_INTEROP=require) without MIT's KDC packages.
func getMITKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	return testpeers.SharedKDC(t, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword, "bob": ""},
		Services: []string{testSPN, otherSPN},
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
