package httpauth

import (
	"path/filepath"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// startOwnKDC starts an in-process KDC (kerberos/kdctest, issue 15) with alice and
// services, for the tests of our client and our middleware, which need a KDC but not
// MIT's: they run with nothing installed. It comes in testpeers.KDC's shape with the
// fields set (Realm, Dir, Krb5Conf, Keytab); the methods that drive MIT's tools do not
// apply to it. The tests against Apache, curl and MIT's libraries use testpeers.StartKDC.
func startOwnKDC(t testing.TB, services ...string) *testpeers.KDC {
	t.Helper()
	return startOwnKDCWith(t, nil, services...)
}

// startOwnKDCWith is startOwnKDC with setup run on the KDC once the principals exist (to
// mark a service OK-AS-DELEGATE, say).
func startOwnKDCWith(t testing.TB, setup func(*kdctest.KDC) error, services ...string) *testpeers.KDC {
	t.Helper()
	kdc, err := kdctest.New(&kdctest.Options{Realm: testpeers.KDCRealm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kdc.Close() })
	if err := kdc.AddUser(testpeers.KDCUser, testpeers.KDCPassword); err != nil {
		t.Fatal(err)
	}
	for _, spn := range services {
		if _, err := kdc.AddService(spn); err != nil {
			t.Fatal(err)
		}
	}
	if setup != nil {
		if err := setup(kdc); err != nil {
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
