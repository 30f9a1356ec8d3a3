package kdctest_test

import (
	"context"
	"testing"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// BenchmarkLogon: our client logs on (AS exchange with preauthentication: two requests)
// and gets a service ticket (TGS), from kdctest and from MIT's krb5kdc, over UDP. The
// client's string-to-key (PBKDF2, 4096 rounds for aes256-cts-hmac-sha1-96) is in every
// iteration, as in a real logon.
func BenchmarkLogon(b *testing.B) {
	b.Run("kdctest", func(b *testing.B) {
		_, conf, _ := startKDC(b, &kdctest.Options{Logf: func(string, ...any) {}})
		benchLogon(b, conf, realm, user, password)
	})
	b.Run("MIT", func(b *testing.B) {
		k := testpeers.StartKDC(b, testpeers.KDCOptions{})
		benchLogon(b, k.Krb5Conf, k.Realm, testpeers.KDCUser, testpeers.KDCPassword)
	})
}

func benchLogon(b *testing.B, confPath, realm, name, pw string) {
	cfg, err := krbconf.Load(confPath)
	if err != nil {
		b.Fatal(err)
	}
	svc, _ := krbclient.ParsePrincipal(spn, realm)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := krbclient.NewWithPassword(&krbclient.Options{Config: cfg}, krbclient.Principal{Name: mustName(b, name), Realm: realm}, pw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.ServiceTicket(ctx, svc, nil); err != nil {
			b.Fatal(err)
		}
		c.Destroy()
	}
}

func mustName(b *testing.B, name string) wire.PrincipalName {
	p, err := krbclient.ParsePrincipal(name, "X")
	if err != nil {
		b.Fatal(err)
	}
	return p.Name
}
