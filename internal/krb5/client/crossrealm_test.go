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

// TestMITReferralBackHome: realm B's KDC answers a referral with a TGT for the client's
// own realm (krbtgt/A@B: B maps the host to A, as a hostile or misconfigured foreign
// KDC may). The client stops at the loop, and its own TGT stays the one A issued: a
// TGT for A that another realm issued must not become the TGT the client presents to A
// for every later request (kept in its place, it did, until it expired).
func TestMITReferralBackHome(t *testing.T) {
	const realmA, realmB, loopHost = "LOOPA.TEST", "LOOPB.TEST", "loop.b.test"
	a := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: realmA, Users: map[string]string{preauthUser: password},
		Services: []string{testpeers.KDCService}, KDCConf: "[domain_realm]\n\t" + loopHost + " = " + realmB + "\n"})
	b := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: realmB, Users: map[string]string{}, Services: []string{},
		KDCConf: "[domain_realm]\n\t" + loopHost + " = " + realmA + "\n"})
	for _, k := range []*testpeers.KDC{a, b} {
		for _, x := range []string{"krbtgt/" + realmB + "@" + realmA, "krbtgt/" + realmA + "@" + realmB} {
			k.Kadmin(t, "addprinc -pw cross-realm-secret -e aes256-cts-hmac-sha1-96:normal "+x)
		}
	}
	conf, err := krbconf.Parse([]byte("[libdefaults]\n default_realm = " + realmA + "\n dns_lookup_kdc = false\n dns_lookup_realm = false\n[realms]\n " +
		realmA + " = {\n  kdc = 127.0.0.1:" + strconv.Itoa(a.Port) + "\n }\n " + realmB + " = {\n  kdc = 127.0.0.1:" + strconv.Itoa(b.Port) + "\n }\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParsePrincipal(preauthUser, realmA)
	c, err := NewWithPassword(&Options{Config: conf}, p, password)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	home, err := c.TGT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := ParsePrincipal("HTTP/"+loopHost, "")
	_, err = c.ServiceTicket(ctx, svc, nil)
	if err == nil || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("referral back to the client's realm: %v, want the loop refused", err)
	}
	if !strings.Contains(b.Log(), "TGS_REQ") {
		t.Fatal("B's KDC was not asked: the test proves nothing")
	}
	tgt, err := c.TGT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tgt != home || tgt.Server.Realm != realmA {
		t.Fatalf("the client's TGT is now %s (issued by %s), want A's own %s", tgt.Server, tgt.Server.Realm, home.Server)
	}
	// A's services are still reached with A's own TGT.
	if _, err := c.ServiceTicket(ctx, host(t, realmA), nil); err != nil {
		t.Fatalf("a service of the client's realm after the loop: %v", err)
	}
}
