// Package testkdc gives tests an in-process KDC (kerberos/kdctest) in the shape of
// testpeers.KDC, so that a test which needs a KDC but not MIT's behaviour runs on a machine
// with nothing installed (issue 15), and moves from MIT's KDC by changing one call:
// testpeers.SharedKDC becomes testkdc.Shared, testpeers.StartKDC becomes testkdc.Start.
//
// The KDC's fields (Realm, Dir, Krb5Conf, Keytab, Port) and Principal, Env and ServerEnv
// mean what they mean for testpeers.KDC; KeytabFor exports keys from memory, Log is the
// KDC's request log. What drives MIT's tools (Kinit, Kadmin) fails the test: a test of
// MIT's behaviour uses testpeers. Server is the kdctest.KDC itself (SetPAC,
// SetOKAsDelegate, Counts).
//
// A test binary imports it only from tests; the packages kdctest is built from
// (internal/krb5/...) can use it only from an external test package.
package testkdc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// KDC is an in-process KDC with the files a Kerberos test needs.
type KDC struct {
	*testpeers.KDC
	// Server is the running KDC.
	Server *kdctest.KDC

	mu  sync.Mutex
	log strings.Builder
	seq int
}

// Start starts a KDC for tb, configured as testpeers.StartKDC's with opts (Realm, Users,
// Services and their defaults; AllowWeakSessionKeys adds RC4 to the key types; Lifetime
// does not apply); tb's Cleanup stops it.
func Start(tb testing.TB, opts testpeers.KDCOptions) *KDC {
	tb.Helper()
	k, err := launch(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(k.Stop)
	return k
}

var shared struct {
	once sync.Once
	kdc  *KDC
	err  error
}

// Shared returns the test binary's KDC, started with opts on the first call (later calls'
// opts are ignored), as testpeers.SharedKDC does. It lives until StopShared, which the
// package's TestMain calls after m.Run.
func Shared(tb testing.TB, opts testpeers.KDCOptions) *KDC {
	tb.Helper()
	shared.once.Do(func() { shared.kdc, shared.err = launch(opts) })
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.kdc
}

// StopShared stops the KDC Shared started, if any.
func StopShared() {
	if shared.kdc != nil {
		shared.kdc.Stop()
	}
}

func launch(opts testpeers.KDCOptions) (_ *KDC, err error) {
	if opts.Realm == "" {
		opts.Realm = testpeers.KDCRealm
	}
	if opts.Users == nil {
		opts.Users = map[string]string{testpeers.KDCUser: testpeers.KDCPassword}
	}
	if opts.Services == nil {
		opts.Services = []string{testpeers.KDCService}
	}
	k := &KDC{}
	ko := &kdctest.Options{Realm: opts.Realm, Logf: k.logf}
	if opts.AllowWeakSessionKeys {
		ko.Enctypes = append(append([]string{}, kdctest.DefaultEnctypes...), "rc4-hmac")
	}
	if k.Server, err = kdctest.New(ko); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			k.Server.Close()
		}
	}()
	for user, pw := range opts.Users {
		if pw == "" {
			var random [16]byte
			rand.Read(random[:])
			pw = hex.EncodeToString(random[:])
		}
		if err := k.Server.AddUser(user, pw); err != nil {
			return nil, err
		}
	}
	for _, spn := range opts.Services {
		if _, err := k.Server.AddService(spn); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "testkdc-")
	if err != nil {
		return nil, err
	}
	k.KDC = &testpeers.KDC{Realm: opts.Realm, Dir: dir, Krb5Conf: filepath.Join(dir, "krb5.conf"), Keytab: filepath.Join(dir, "krb5.keytab")}
	_, port, _ := strings.Cut(k.Server.Addr(), ":")
	k.Port, _ = strconv.Atoi(port)
	if err := k.Server.WriteConfig(k.Krb5Conf); err == nil {
		err = k.Server.WriteKeytab(k.Keytab, opts.Services...)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return k, nil
}

func (k *KDC) logf(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fmt.Fprintf(&k.log, format, args...)
	k.log.WriteByte('\n')
}

// Log returns the KDC's request log so far.
func (k *KDC) Log() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.log.String()
}

// Stop closes the KDC and removes Dir. Idempotent.
func (k *KDC) Stop() {
	k.Server.Close()
	os.RemoveAll(k.Dir)
}

// KeytabFor writes the keys of principals (without the realm; users too) to a new keytab
// in Dir and returns its path.
func (k *KDC) KeytabFor(tb testing.TB, principals ...string) string {
	tb.Helper()
	k.mu.Lock()
	k.seq++
	path := filepath.Join(k.Dir, fmt.Sprintf("keytab-%d", k.seq))
	k.mu.Unlock()
	if err := k.Server.WriteKeytab(path, principals...); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Kinit fails tb: it is MIT's kinit, which a test that needs it gets from testpeers.StartKDC.
func (k *KDC) Kinit(tb testing.TB, principal, password string) string {
	tb.Helper()
	tb.Fatal("testkdc: Kinit runs MIT's kinit; a test that needs it uses testpeers.StartKDC")
	return ""
}

// Kadmin fails tb: there is no kadmin; use Server's methods (SetPAC, SetOKAsDelegate).
func (k *KDC) Kadmin(tb testing.TB, query string) {
	tb.Helper()
	tb.Fatal("testkdc: no kadmin.local for an in-process KDC; use Server's methods")
}
