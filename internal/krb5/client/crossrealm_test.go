package krbclient

import (
	"context"
	"strconv"
	"strings"
	"testing"

	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestMITCrossRealm: a service of another realm is reached through the cross-realm TGT
// krbtgt/OTHER@HOME, issued by one MIT KDC and honoured by another.
func TestMITCrossRealm(t *testing.T) {
	home := sharedKDC(t)
	other := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: "OTHER.TEST", Users: map[string]string{}, Services: []string{testpeers.KDCService}})
	cross := "krbtgt/OTHER.TEST@" + home.Realm
	for _, k := range []*testpeers.KDC{home, other} {
		k.Kadmin(t, "addprinc -pw cross-realm-secret -e aes256-cts-hmac-sha1-96:normal "+cross)
	}
	conf, err := krbconf.Parse([]byte("[libdefaults]\n default_realm = " + home.Realm + "\n dns_lookup_kdc = false\n[realms]\n " +
		home.Realm + " = {\n  kdc = 127.0.0.1:" + strconv.Itoa(home.Port) + "\n }\n OTHER.TEST = {\n  kdc = 127.0.0.1:" + strconv.Itoa(other.Port) + "\n }\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParsePrincipal(preauthUser, home.Realm)
	c, err := NewWithPassword(&Options{Config: conf}, p, password)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := ParsePrincipal(testpeers.KDCService+"@OTHER.TEST", "")
	st, err := c.ServiceTicket(context.Background(), svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Server.Realm != "OTHER.TEST" || st.Client.Realm != home.Realm {
		t.Fatalf("ticket %s -> %s", st.Client, st.Server)
	}
	kt, err := keytab.Load(other.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	verifyServiceTicket(t, kt, st)
	// The cross-realm TGT is kept and goes into the ccache.
	if cc := c.CCache(); len(cc.Credentials) != 3 {
		t.Errorf("ccache holds %d credentials, want TGT, cross-realm TGT, service ticket", len(cc.Credentials))
	}
	// And it is used again: a second service of OTHER.TEST costs one request to OTHER's
	// KDC, none to home's.
	other.Kadmin(t, "addprinc -randkey HTTP/second")
	homeBefore, otherBefore := strings.Count(home.Log(), "TGS_REQ"), strings.Count(other.Log(), "TGS_REQ")
	svc2, _ := ParsePrincipal("HTTP/second@OTHER.TEST", "")
	if st, err = c.ServiceTicket(context.Background(), svc2, nil); err != nil {
		t.Fatal(err)
	}
	if st.Server.Realm != "OTHER.TEST" {
		t.Fatalf("ticket for %s", st.Server)
	}
	if h, o := strings.Count(home.Log(), "TGS_REQ")-homeBefore, strings.Count(other.Log(), "TGS_REQ")-otherBefore; h != 0 || o != 1 {
		t.Errorf("the second service took %d requests to home's KDC and %d to OTHER's, want 0 and 1", h, o)
	}
}
