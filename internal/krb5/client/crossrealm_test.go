package krbclient

import (
	"context"
	"strconv"
	"strings"
	"testing"

	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
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

// TestMITTransitTGTNotReused: a referral chain A -> B -> C leaves the client holding
// krbtgt/C@B, which B issued. A later request for a service of C named with its realm
// goes, as MIT's client goes, from the client's realm: through krbtgt/C@A (A trusts C
// directly here), not through the TGT of realm B, which was on the path of one referral
// only and would otherwise stand between the client and every service of C. (Reused, it
// did: the ticket for C's second service named B as transited and A was not asked.)
func TestMITTransitTGTNotReused(t *testing.T) {
	const ra, rb, rc, web, db = "TRA.TEST", "TRB.TEST", "TRC.TEST", "web.c.test", "db.c.test"
	a := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: ra, Users: map[string]string{preauthUser: password}, Services: []string{},
		KDCConf: "[domain_realm]\n\t" + web + " = " + rb + "\n"})
	b := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: rb, Users: map[string]string{}, Services: []string{},
		KDCConf: "[domain_realm]\n\t" + web + " = " + rc + "\n"})
	c := testpeers.StartKDC(t, testpeers.KDCOptions{Realm: rc, Users: map[string]string{}, Services: []string{"HTTP/" + web, "HTTP/" + db},
		KDCConf: "[capaths]\n\t" + ra + " = {\n\t\t" + rc + " = " + rb + "\n\t}\n"})
	trust := func(from, to string, kdcs ...*testpeers.KDC) {
		for _, k := range kdcs {
			k.Kadmin(t, "addprinc -pw cross-realm-secret-"+from+" -e aes256-cts-hmac-sha1-96:normal krbtgt/"+to+"@"+from)
		}
	}
	trust(ra, rb, a, b)
	trust(rb, rc, b, c)
	trust(ra, rc, a, c)
	var conf strings.Builder
	conf.WriteString("[libdefaults]\n default_realm = " + ra + "\n dns_lookup_kdc = false\n dns_lookup_realm = false\n[realms]\n")
	for _, k := range []*testpeers.KDC{a, b, c} {
		conf.WriteString(" " + k.Realm + " = {\n  kdc = 127.0.0.1:" + strconv.Itoa(k.Port) + "\n }\n")
	}
	kc, err := krbconf.Parse([]byte(conf.String()))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ParsePrincipal(preauthUser, ra)
	cl, err := NewWithPassword(&Options{Config: kc}, p, password)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, _ := ParsePrincipal("HTTP/"+web, "")
	st, err := cl.ServiceTicket(ctx, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(c.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	if tr := transited(t, kt, st); !strings.Contains(tr, rb) {
		t.Fatalf("the referral chain's ticket names %q as transited, want %s: the set-up is not A -> B -> C", tr, rb)
	}
	aBefore := strings.Count(a.Log(), "TGS_REQ")
	svc2, _ := ParsePrincipal("HTTP/"+db+"@"+rc, "")
	if st, err = cl.ServiceTicket(ctx, svc2, nil); err != nil {
		t.Fatal(err)
	}
	if tr := transited(t, kt, st); tr != "" {
		t.Errorf("the ticket for %s names %q as transited: it came through the TGT B issued, want straight from A", svc2, tr)
	}
	if n := strings.Count(a.Log(), "TGS_REQ") - aBefore; n != 1 {
		t.Errorf("A's KDC was asked %d times for the second service, want once (krbtgt/%s@%s)", n, rc, ra)
	}
}

// transited returns the transited field of st's ticket, opened with the service's key.
func transited(t *testing.T, kt *keytab.Keytab, st *Credential) string {
	t.Helper()
	var tk wire.Ticket
	if err := tk.Unmarshal(st.Ticket.Raw); err != nil {
		t.Fatal(err)
	}
	e, ok := kt.Find(tk.SName, tk.Realm, 0, tk.EncPart.EType)
	if !ok {
		t.Fatalf("no keytab key for %s", tk.SName)
	}
	key, _ := krbcrypto.NewKey(krbcrypto.EType(e.Key.Type), e.Key.Value)
	plain, err := key.Decrypt(nil, tk.EncPart.Cipher, 2)
	if err != nil {
		t.Fatal(err)
	}
	var etp wire.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return string(etp.Transited.Contents)
}
