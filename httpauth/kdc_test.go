package httpauth

import (
	"path/filepath"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// ownKDCDomainSID is the made-up domain of startOwnKDC's PAC.
const ownKDCDomainSID = "S-1-5-21-1004336348-1177238915-682003330"

// startOwnKDC starts an in-process KDC (kerberos/kdctest, issue 15) with alice and
// services, for the tests of our client and our middleware, which need a KDC but not
// MIT's: they run with nothing installed. It comes in testpeers.KDC's shape with the
// fields set (Realm, Dir, Krb5Conf, Keytab); the methods that drive MIT's tools do not
// apply to it. The tests against Apache, curl and MIT's libraries use testpeers.StartKDC.
func startOwnKDC(t testing.TB, services ...string) *testpeers.KDC {
	t.Helper()
	kdc, err := kdctest.New(&kdctest.Options{Realm: testpeers.KDCRealm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kdc.Close() })
	if err := kdc.AddUser(testpeers.KDCUser, testpeers.KDCPassword); err != nil {
		t.Fatal(err)
	}
	// alice's tickets carry a PAC, as a domain's do, so the handler sees SIDs and groups.
	if err := kdc.SetPAC(testpeers.KDCUser, &kdctest.PAC{DomainSID: ownKDCDomainSID, UserRID: 1105, GroupRIDs: []uint32{kdctest.RIDDomainAdmins}}); err != nil {
		t.Fatal(err)
	}
	for _, spn := range services {
		if _, err := kdc.AddService(spn); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	k := &testpeers.KDC{Realm: kdc.Realm(), Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf"), Keytab: filepath.Join(dir, "krb5.keytab")}
	if err := kdc.WriteConfig(k.Krb5Conf); err != nil {
		t.Fatal(err)
	}
	if err := kdc.WriteKeytab(k.Keytab); err != nil {
		t.Fatal(err)
	}
	return k
}
