package krbclient

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestHeimdalFAST runs the armored AS and TGS exchanges against Heimdal 7.8's KDC, the
// other FAST implementation, whose log says when a request came armored. Its FAST differs
// from MIT's in three ways the client must take: the outer AS-REP hides the client's name
// (empty cname and crealm; KrbFastFinished has it), the KDC's encrypted challenge is in
// the client challenge key, and TGS replies to armored requests carry no FAST.
func TestHeimdalFAST(t *testing.T) {
	k := testpeers.StartHeimdalKDC(t, testpeers.HeimdalKDCOptions{})
	k.Kadmin(t, "modify", "--attributes=+requires-pre-auth", k.Principal(testpeers.KDCUser))
	b, err := os.ReadFile(k.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := krbconf.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hc, err := NewWithKeytab(&Options{Config: conf}, host(t, k.Realm), kt)
	if err != nil {
		t.Fatal(err)
	}
	armor, err := hc.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user, err := ParsePrincipal(testpeers.KDCUser, k.Realm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithPassword(&Options{Config: conf, Armor: armor}, user, testpeers.KDCPassword)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := c.Login(ctx)
	if err != nil {
		t.Fatalf("armored logon: %v\n%s", err, tail(k.Log()))
	}
	if tgt.Client.String() != k.Principal(testpeers.KDCUser) {
		t.Errorf("TGT of %s, want the name KrbFastFinished gives", tgt.Client)
	}
	log := k.Log()
	for _, want := range []string{"Client sent patypes: FX-COOKIE, ENC-CHAL", "ENC-CHAL pre-authentication succeeded", "FAST armor protection"} {
		if !strings.Contains(log, want) {
			t.Errorf("Heimdal's log lacks %q:\n%s", want, tail(log))
		}
	}
	if _, err := c.ServiceTicket(ctx, host(t, k.Realm), nil); err != nil {
		t.Fatalf("armored TGS: %v\n%s", err, tail(k.Log()))
	}
	if !strings.Contains(k.Log(), "Got TGS FAST request") {
		t.Errorf("Heimdal's log does not show the armored TGS request:\n%s", tail(k.Log()))
	}
	bad, err := NewWithPassword(&Options{Config: conf, Armor: armor}, user, "not-"+testpeers.KDCPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Login(ctx); sspi.StatusOf(err) != sspi.ErrLogonDenied {
		t.Errorf("armored logon with a wrong password: %v, want SEC_E_LOGON_DENIED", err)
	}
}
