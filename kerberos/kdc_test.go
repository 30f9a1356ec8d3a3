package kerberos

import (
	"net"
	"os"
	"testing"

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
	os.Exit(code)
}

// getKDC returns the test binary's loopback MIT KDC (testpeers.SharedKDC): alice with
// testPassword, bob with a random key, and host/localhost and HTTP/localhost in its Keytab. It skips (or fails
// under SSPI_INTEROP=require) without MIT's KDC packages.
func getKDC(t *testing.T) *testpeers.KDC {
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
