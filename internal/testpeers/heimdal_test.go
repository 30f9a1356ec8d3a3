package testpeers

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The Heimdal KDC starts from the unpacked tree, Heimdal's kinit and kgetcred get a TGT and a
// service ticket from it, its klist shows them, the service keytab holds every default
// enctype, a wrong password is refused, and Stop ends the kdc and removes its directory.
func TestHeimdalKDC(t *testing.T) {
	k := StartHeimdalKDC(t, HeimdalKDCOptions{Services: []string{KDCService, "HTTP/localhost"}})
	cc := k.Kinit(t, KDCUser, KDCPassword)
	k.Kgetcred(t, cc, KDCService)
	list := k.Klist(t, cc)
	for _, want := range []string{
		"Principal: alice@" + HeimdalRealm,
		"Server: krbtgt/" + HeimdalRealm + "@" + HeimdalRealm,
		"Server: host/localhost@" + HeimdalRealm,
		"Ticket etype: aes256-cts-hmac-sha1-96",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("klist lacks %q:\n%s", want, list)
		}
	}
	kt, err := k.Run("", "ktutil", "-k", "FILE:"+k.Keytab, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"host/localhost@", "HTTP/localhost@"} {
		for _, e := range HeimdalEnctypes {
			if !strings.Contains(kt, e+"  ") || !strings.Contains(kt, svc+HeimdalRealm) {
				t.Errorf("keytab lacks %s %s:\n%s", svc, e, kt)
			}
		}
	}
	if _, err := k.Run("wrong\n", "kinit", "--password-file=STDIN", "-c", "FILE:"+k.Dir+"/bad", KDCUser); err == nil ||
		!strings.Contains(err.Error(), "Password incorrect") && !strings.Contains(err.Error(), "preauth") {
		t.Errorf("kinit with a wrong password: %v", err)
	}
	if !strings.Contains(k.Log(), "AS-REQ alice@"+HeimdalRealm) {
		t.Errorf("the KDC's log has no AS-REQ:\n%s", k.Log())
	}
	k.Stop()
	if _, err := os.Stat(k.Dir); !os.IsNotExist(err) {
		t.Errorf("Stop left %s: %v", k.Dir, err)
	}
	// Nothing of the kdc (master or worker) is left listening.
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(k.Port))); err == nil {
		c.Close()
		t.Errorf("port %d still takes connections after Stop", k.Port)
	}
}

// MIT's klist reads a ccache Heimdal's kinit wrote (both write FILE ccache v4).
func TestHeimdalCCacheMITKlist(t *testing.T) {
	klist := Require(t, "krb5-user", "klist")
	k := StartHeimdalKDC(t, HeimdalKDCOptions{})
	cc := k.Kinit(t, KDCUser, KDCPassword)
	k.Kgetcred(t, cc, KDCService)
	env, err := privateEnv(t.TempDir(), k.Env())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, klist, "-e", "-c", "FILE:"+cc)
	c.Env = env
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("MIT klist: %v\n%s", err, out)
	}
	for _, want := range []string{"Default principal: alice@" + HeimdalRealm, "host/localhost@" + HeimdalRealm, "aes256-cts-hmac-sha1-96"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("MIT klist lacks %q:\n%s", want, out)
		}
	}
}
