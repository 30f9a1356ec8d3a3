package testpeers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Where Debian's OpenLDAP and Cyrus SASL keep what a private slapd loads.
const (
	slapdModules = "/usr/lib/ldap"
	slapdSchema  = "/etc/ldap/schema"
	saslPlugins  = "/usr/lib/x86_64-linux-gnu/sasl2"
)

// SlapdSuffix is the naming context of StartSlapd's directory, and SlapdSecret an entry
// under it that only a connection with a security strength factor of at least 56
// (Cyrus SASL's figure for GSSAPI confidentiality) may read.
const (
	SlapdSuffix = "dc=gosspi,dc=test"
	SlapdSecret = "cn=flag,ou=secret," + SlapdSuffix
)

// SlapdOptions configures StartSlapd.
type SlapdOptions struct {
	// KDC is the realm's KDC; its Keytab must hold ldap/localhost (KDCOptions.Services).
	KDC *KDC
	// Users get an entry uid=<name>,ou=people,SlapdSuffix, which the identities of their
	// GSSAPI binds map to (authz-regexp).
	Users []string
	// MinSSF, if not zero, is the security strength factor slapd requires of every
	// operation after the bind ("security ssf=N"): 1 needs at least an integrity layer.
	MinSSF int
}

// Slapd is a running OpenLDAP slapd with Cyrus SASL GSSAPI, on a private configuration,
// database and port of 127.0.0.1, its service principal ldap/localhost taken from the
// KDC's keytab (KRB5_KTNAME).
type Slapd struct {
	// Addr is host:port of its LDAP listener.
	Addr string
	// Dir holds the configuration, the database and the log.
	Dir string

	out  *capBuffer
	stop func()
}

// RequireSlapd finds slapd, slapadd and Cyrus SASL's GSSAPI plug-in, or skips (fails
// under SSPI_INTEROP=require).
func RequireSlapd(tb testing.TB) (slapd, slapadd string) {
	tb.Helper()
	slapd = Require(tb, "slapd", "/usr/sbin/slapd")
	slapadd = Require(tb, "slapd", "/usr/sbin/slapadd")
	if _, err := os.Stat(filepath.Join(saslPlugins, "libgssapiv2.so")); err != nil {
		Unavailable(tb, "Cyrus SASL's GSSAPI plug-in is not installed (Debian package libsasl2-modules-gssapi-mit)")
	}
	return slapd, slapadd
}

// StartSlapd writes a private slapd.conf and database, starts slapd in the foreground
// with stats logging and waits for its port; tb's Cleanup stops it.
func StartSlapd(tb testing.TB, opts SlapdOptions) *Slapd {
	tb.Helper()
	bin, slapadd := RequireSlapd(tb)
	dir := tb.TempDir()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(slapdConf(dir, opts)), 0o600); err != nil {
		tb.Fatal(err)
	}
	// Cyrus SASL reads <SASL_CONF_PATH>/slapd.conf for the server's options: only GSSAPI.
	saslDir := filepath.Join(dir, "sasl2")
	if err := os.MkdirAll(saslDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(saslDir, "slapd.conf"), []byte("mech_list: GSSAPI\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	env := peerEnv(tb, dir, NTLMEnv{}, append(opts.KDC.ServerEnv(), "SASL_CONF_PATH="+saslDir, "SASL_PATH="+saslPlugins))
	add := exec.Command(slapadd, "-f", conf, "-l", "/dev/stdin")
	add.Env, add.Stdin = env, strings.NewReader(slapdLDIF(opts.Users))
	if out, err := add.CombinedOutput(); err != nil {
		tb.Fatalf("testpeers: slapadd: %v\n%s", err, out)
	}
	s := &Slapd{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, out: &capBuffer{max: 1 << 20}}
	// -d stats: foreground, one line per connection and operation (BIND ... ssf=N) on stderr.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", conf, "-h", "ldap://"+s.Addr+"/", "-d", "stats")
	cmd.Env, cmd.Dir = env, dir
	s.stop, err = serveDaemon(cmd, cancel, daemon{
		name: "slapd", out: s.out, ready: serving(s.Addr),
		within: 10 * time.Second, grace: 5 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// slapdConf is the server's whole configuration: the core schemas, one MDB database, the
// realm's GSSAPI identities mapped to entries under ou=people, and the ou=secret subtree
// readable only with confidentiality.
func slapdConf(dir string, opts SlapdOptions) string {
	var b strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", slapdSchema, s)
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\nmodulepath %s\nmoduleload back_mdb\n",
		filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"), slapdModules)
	fmt.Fprintf(&b, "sasl-realm %s\nsasl-host localhost\nsasl-secprops noanonymous,noplain\n", opts.KDC.Realm)
	// Cyrus names a GSSAPI identity uid=<user>,cn=<realm>,cn=gssapi,cn=auth, or without the
	// realm part for sasl-realm's own.
	fmt.Fprintf(&b, "authz-regexp \"^uid=([^,@]+)(,cn=[^,]+)?,cn=gssapi,cn=auth$\" \"uid=$1,ou=people,%s\"\n", SlapdSuffix)
	if opts.MinSSF > 0 {
		fmt.Fprintf(&b, "security ssf=%d\n", opts.MinSSF)
	}
	fmt.Fprintf(&b, "database mdb\nmaxsize 10485760\nsuffix %q\nrootdn \"cn=admin,%s\"\ndirectory %s\n",
		SlapdSuffix, SlapdSuffix, filepath.Join(dir, "db"))
	fmt.Fprintf(&b, "access to dn.subtree=\"ou=secret,%s\" by ssf=56 read by * none\naccess to * by * read\n", SlapdSuffix)
	return b.String()
}

func slapdLDIF(users []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: gosspi\ndc: gosspi\n\n", SlapdSuffix)
	for _, ou := range []string{"people", "secret"} {
		fmt.Fprintf(&b, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, SlapdSuffix, ou)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\ncn: flag\ndescription: sealed\n\n", SlapdSecret)
	for _, u := range users {
		fmt.Fprintf(&b, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n\n", u, SlapdSuffix, u, u, u)
	}
	return b.String()
}

// Log returns slapd's output so far: with -d stats, a line per connection and operation,
// such as "conn=1000 op=2 BIND dn=\"uid=alice,...\" mech=GSSAPI bind_ssf=256 ssf=256".
func (s *Slapd) Log() string { return s.out.String() }

// Stop stops slapd and waits for it. Idempotent.
func (s *Slapd) Stop() { s.stop() }
