package httpauth

import (
	"os"
	"testing"

	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

// ownPAC is what the service tickets of ownKDC's alice say about her, as an Active
// Directory domain controller would: her SID and groups.
var ownPAC = kdctest.PAC{DomainSID: "S-1-5-21-1004336348-1177238915-682003330", UserRID: 1105,
	GroupRIDs: []uint32{kdctest.RIDDomainAdmins}, FullName: "Alice Liddell"}

// ownKDC returns the package's in-process KDC (kerberos/kdctest, issue 15), for the tests
// of our client and our middleware, which need a KDC but not MIT's: they run with nothing
// installed. alice has the KDC's password and a PAC (ownPAC); HTTP/localhost is in its
// Keytab. The tests against Apache, curl and MIT's libraries use testpeers.StartKDC.
func ownKDC(t testing.TB) *testkdc.KDC {
	t.Helper()
	k := testkdc.Shared(t, testpeers.KDCOptions{Services: []string{httpService}})
	if err := k.Server.SetPAC(testpeers.KDCUser, &ownPAC); err != nil {
		t.Fatal(err)
	}
	return k
}
