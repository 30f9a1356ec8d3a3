package testpeers

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// WatchRealm is the default realm of a KDCWatch's krb5.conf.
const WatchRealm = "WATCHED.TEST"

// KDCWatch is a KDC that is never meant to be asked, for tests that prove Kerberos was not
// tried: a TCP listener on 127.0.0.1, the only KDC of the default realm, that counts the
// connections made to it and closes them; and a resolver hook on net.DefaultResolver that
// counts DNS queries (a KDC looked for through SRV records, or a KDC's host name) and
// answers none. Its krb5.conf has dns_lookup_kdc on, so a realm it does not list is looked
// for in DNS, and sends every KDC request over TCP.
type KDCWatch struct {
	// Krb5Conf is the configuration; WatchKDC sets KRB5_CONFIG to it for the test.
	Krb5Conf      string
	connects, dns atomic.Int32
}

// WatchKDC starts a KDCWatch for the test; its Cleanup restores the resolver. Tests using it
// must not run in parallel with others (t.Setenv enforces it).
func WatchKDC(t *testing.T) *KDCWatch {
	t.Helper()
	w := &KDCWatch{Krb5Conf: filepath.Join(t.TempDir(), "krb5.conf")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			w.connects.Add(1)
			c.Close()
		}
	}()
	conf := "[libdefaults]\n\tdefault_realm = " + WatchRealm + "\n\tdns_lookup_kdc = true\n\tdns_lookup_realm = false\n\tudp_preference_limit = 1\n" +
		"[realms]\n\t" + WatchRealm + " = {\n\t\tkdc = " + l.Addr().String() + "\n\t}\n"
	if err := os.WriteFile(w.Krb5Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", w.Krb5Conf)
	prev := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		w.dns.Add(1)
		return nil, errors.New("testpeers: KDCWatch allows no DNS")
	}}
	t.Cleanup(func() { net.DefaultResolver = prev })
	return w
}

// Asked returns how many connections the KDC got and how many DNS queries were made.
func (w *KDCWatch) Asked() (connects, dns int) {
	return int(w.connects.Load()), int(w.dns.Load())
}
