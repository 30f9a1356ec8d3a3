package kdctest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// TestHeimdalKinitKgetcred: Heimdal's kinit logs on to the KDC (a second implementation
// of the client side: its own preauthentication and ETYPE-INFO2 handling), kgetcred gets
// a service ticket, klist lists both; our client authenticates with Heimdal's ccache to
// our acceptor with the KDC's keytab. Heimdal 7 has no RFC 8009 types.
func TestHeimdalKinitKgetcred(t *testing.T) {
	h := testpeers.RequireHeimdal(t)
	for _, et := range []string{"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96", "rc4-hmac"} {
		t.Run(et, func(t *testing.T) {
			_, conf, kt := startKDC(t, &kdctest.Options{Enctypes: []string{et}})
			cc := filepath.Join(t.TempDir(), "ccache")
			env := testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+cc)
			run := func(stdin, name string, args ...string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), testpeers.DefaultTimeout)
				defer cancel()
				cmd, err := h.Command(ctx, env, name, args...)
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stdin = strings.NewReader(stdin)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("heimdal %s %v: %v\n%s", name, args, err, out)
				}
				return string(out)
			}
			run(password+"\n", "kinit", "--password-file=STDIN", user+"@"+realm)
			run("", "kgetcred", spn+"@"+realm)
			out := run("", "klist", "-v")
			for _, want := range []string{"krbtgt/" + realm + "@" + realm, spn + "@" + realm, et} {
				if !strings.Contains(out, want) {
					t.Errorf("klist -v lacks %q:\n%s", want, out)
				}
			}
			cc2 := acquire(t, kerberos.PackageName, sspi.CredOutbound, &kerberos.ClientConfig{CCache: cc, Config: conf})
			sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt})
			handshake(t, cc2, sc)
		})
	}
}
