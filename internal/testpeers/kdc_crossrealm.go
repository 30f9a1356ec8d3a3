package testpeers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Defaults of CrossRealmOptions.
const (
	CrossRealmA = "A.TEST" // the users' realm
	CrossRealmB = "B.TEST" // the services' realm
)

// CrossRealmOptions configures StartCrossRealmKDCs.
type CrossRealmOptions struct {
	// RealmA holds the users (KDCUser with KDCPassword); default CrossRealmA.
	RealmA string
	// RealmB holds the services; default CrossRealmB.
	RealmB string
	// ServicesB are principals of RealmB (without the realm) with random keys, all exported
	// to B.Keytab.
	ServicesB []string
	// DomainRealmA is A's KDC's [domain_realm] (".b.test" or "web.b.test" -> "B.TEST"): the
	// hosts whose host-based service names A's KDC refers to another realm when a client
	// asks for them with the canonicalize option (MIT 1.20's find_referral_tgs).
	DomainRealmA map[string]string
}

// CrossRealm is two MIT KDCs (krb5kdc with fresh databases, each on its own loopback port,
// each with private configuration) where RealmB trusts RealmA: both databases hold
// krbtgt/RealmB@RealmA with the same keys and kvno.
type CrossRealm struct {
	A, B *KDC
	// Krb5Conf is a client configuration: default_realm RealmA, the KDCs of both realms in
	// [realms], no [domain_realm] and no DNS, so that only A's KDC can say a host is in B.
	Krb5Conf string
}

// Env is what a Kerberos process of a user of A needs: KRB5_CONFIG naming Krb5Conf and
// KRB5CCNAME naming an empty cache.
func (c *CrossRealm) Env() []string {
	return []string{"KRB5_CONFIG=" + c.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(c.A.Dir, "empty.ccache")}
}

// StartCrossRealmKDCs starts the two KDCs for tb; tb's Cleanup stops them. It skips (or
// fails under SSPI_INTEROP=require) without krb5-kdc and krb5-admin-server.
func StartCrossRealmKDCs(tb testing.TB, opts CrossRealmOptions) *CrossRealm {
	tb.Helper()
	if opts.RealmA == "" {
		opts.RealmA = CrossRealmA
	}
	if opts.RealmB == "" {
		opts.RealmB = CrossRealmB
	}
	var refer strings.Builder
	if len(opts.DomainRealmA) > 0 {
		refer.WriteString("[domain_realm]\n")
		hosts := make([]string, 0, len(opts.DomainRealmA))
		for h := range opts.DomainRealmA {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			fmt.Fprintf(&refer, "\t%s = %s\n", h, opts.DomainRealmA[h])
		}
	}
	a := StartKDC(tb, KDCOptions{Realm: opts.RealmA, Services: []string{}, KDCConf: refer.String()})
	services := opts.ServicesB
	if services == nil {
		services = []string{}
	}
	b := StartKDC(tb, KDCOptions{Realm: opts.RealmB, Users: map[string]string{}, Services: services})

	// The same password and salt (the principal's name, the same in both databases) give
	// both KDCs the same keys, at kvno 1.
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		tb.Fatal(err)
	}
	pw := hex.EncodeToString(raw[:])
	xtgt := "krbtgt/" + opts.RealmB + "@" + opts.RealmA
	for _, k := range []*KDC{a, b} {
		k.Kadmin(tb, "addprinc -pw "+pw+" -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal "+xtgt)
	}

	conf := clientLibdefaults(opts.RealmA, "") + fmt.Sprintf(`[realms]
	%s = {
		kdc = 127.0.0.1:%d
	}
	%s = {
		kdc = 127.0.0.1:%d
	}
`, opts.RealmA, a.Port, opts.RealmB, b.Port)
	c := &CrossRealm{A: a, B: b, Krb5Conf: filepath.Join(a.Dir, "crossrealm-krb5.conf")}
	if err := os.WriteFile(c.Krb5Conf, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	return c
}
