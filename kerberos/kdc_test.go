package kerberos

import (
	"net"
	"os"
	"testing"

	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
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
	// No test looks at the host's DNS: a krb5.conf that leaves dns_canonicalize_hostname
	// on gets NXDOMAIN for every name (hostname_test.go injects its own answers).
	hostDNS = noDNS{}
	code := m.Run()
	testpeers.StopSharedKDC()
	testkdc.StopShared()
	os.Exit(code)
}

// getKDC returns the test binary's in-process KDC (kerberos/kdctest, issue 15), so that the
// tests that need a KDC but not MIT's run with nothing installed: alice with testPassword,
// bob with a random password, and host/localhost and HTTP/localhost in its Keytab. It comes
// in testpeers.KDC's shape with the fields set (Realm, Dir, Krb5Conf, Keytab, Port); the
// methods that drive MIT's kadmin do not apply to it (ownKeytab exports keys): tests of
// MIT's behaviour use getMITKDC.
func getKDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	return ownKDC(t).KDC
}

func ownKDC(t *testing.T) *testkdc.KDC {
	t.Helper()
	return testkdc.Shared(t, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword, "bob": ""},
		Services: []string{testSPN, otherSPN},
	})
}

// ownKeytab writes the keys of principals of getKDC's KDC (a client keytab for bob) to a
// new keytab and returns its path.
func ownKeytab(t *testing.T, principals ...string) string {
	t.Helper()
	return ownKDC(t).KeytabFor(t, principals...)
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
