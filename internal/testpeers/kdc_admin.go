package testpeers

import "testing"

// Kadmin runs one kadmin.local query against the KDC's database ("setstr svc/host
// session_enctypes rc4-hmac", "addprinc -randkey svc/host"), for what KDCOptions does not
// cover; it fails tb when kadmin.local does.
func (k *KDC) Kadmin(tb testing.TB, query string) {
	tb.Helper()
	if err := k.kadminQuery(query); err != nil {
		tb.Fatal(err)
	}
}
