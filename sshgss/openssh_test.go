package sshgss

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// Our Client logs in to OpenSSH's sshd (MIT's GSSAPI, a host keytab from the MIT KDC)
// and runs a command; sshd's log names the principal it accepted. With delegation asked,
// the login works either way, and when the Kerberos package grants ISC_RET_DELEGATE the
// session has a ccache (KRB5CCNAME) holding the forwarded TGT; without delegation, none.
func TestOpenSSHServer(t *testing.T) {
	kdc := sharedKDC(t)
	sshd := testpeers.StartSSHD(t, kdc, testpeers.SSHDOptions{})
	ccred, dcred := clientCred(t, kdc), delegatingCred(t, kdc)
	for _, tt := range []struct {
		name     string
		delegate bool
	}{
		{name: "login"},
		{name: "delegation asked", delegate: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cred := ccred
			if tt.delegate {
				cred = dcred
			}
			c, err := NewClient(cred, &ClientConfig{Delegate: tt.delegate})
			if err != nil {
				t.Fatal(err)
			}
			out, err := runCommand(sshd.Addr, sshd.User, ssh.GSSAPIWithMICAuthMethod(c, "localhost"), sshd.HostKey,
				`echo "user=$(id -un) ccache=${KRB5CCNAME:-none}"; klist 2>&1 | grep -o 'krbtgt/[^ ]*' | head -1`)
			if err != nil {
				t.Fatalf("login to sshd: %v\noutput: %s\nsshd log:\n%s", err, out, sshd.Log())
			}
			if !strings.HasPrefix(out, "user="+sshd.User+" ccache=") {
				t.Fatalf("command output %q", out)
			}
			if !strings.Contains(sshd.Log(), "Authorized to "+sshd.User+", krb5 principal "+kdc.Principal(sshUser)) {
				t.Fatalf("sshd did not log the principal's authorization:\n%s", sshd.Log())
			}
			delegated := !strings.Contains(out, "ccache=none")
			granted := c.Attributes().Has(sspi.ISCRetDelegate)
			t.Logf("delegation granted: %v; session: %q", granted, out)
			switch {
			case !tt.delegate && (delegated || granted):
				t.Fatalf("delegation without asking: granted %v, session %q", granted, out)
			case tt.delegate && canDelegate(t) && !granted:
				t.Fatal("the Kerberos package can delegate, but did not to an OK-AS-DELEGATE service")
			case granted && !strings.Contains(out, "krbtgt/"+kdc.Realm+"@"+kdc.Realm):
				t.Fatalf("delegation granted but the session has no forwarded TGT: %q", out)
			}
		})
	}
	t.Run("wrong account", func(t *testing.T) {
		c, _ := NewClient(ccred, nil)
		if _, err := runCommand(sshd.Addr, "nobody", ssh.GSSAPIWithMICAuthMethod(c, "localhost"), sshd.HostKey, "true"); err == nil {
			t.Fatal("alice logged in as nobody, whose k5login does not name her")
		}
	})
}

// OpenSSH's ssh -K (MIT's GSSAPI with a ccache from MIT's kinit) logs in to an
// x/crypto/ssh server that authenticates with our Server, and its command runs.
func TestOpenSSHClient(t *testing.T) {
	kdc := sharedKDC(t)
	srv := startGoServer(t, serverCred(t, kdc.KeytabFor(t, "host/localhost")), nil)
	ccache := kdc.KinitForwardable(t, sshUser, testpeers.KDCPassword)
	for _, tt := range []struct {
		name     string
		delegate bool
	}{
		{name: "login"},
		{name: "ssh -K (delegation)", delegate: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := testpeers.RunSSHClient(t, kdc, testpeers.SSHClientOptions{
				Addr: srv.addr, User: sshUser, CCache: ccache, Delegate: tt.delegate, Command: "hostname",
			})
			if err := srv.result(t); err != nil || code != 0 {
				t.Fatalf("ssh exit %d, server: %v\noutput: %s", code, err, out)
			}
			if want := kdc.Principal(sshUser) + " ran hostname\n"; out != want {
				t.Fatalf("ssh output %q, want %q", out, want)
			}
			d := srv.delegations()
			t.Logf("the client delegated: %v", d[len(d)-1])
			if !tt.delegate && d[len(d)-1] {
				t.Fatal("delegation without GSSAPIDelegateCredentials")
			}
			if tt.delegate && canDelegate(t) && !d[len(d)-1] {
				t.Fatal("the Kerberos package can accept delegation, but ssh -K's forwarded TGT was not reported")
			}
		})
	}
	t.Run("refused user", func(t *testing.T) {
		out, code := testpeers.RunSSHClient(t, kdc, testpeers.SSHClientOptions{Addr: srv.addr, User: "root", CCache: ccache, Command: "true"})
		if err := srv.result(t); err == nil || code == 0 {
			t.Fatalf("ssh exit %d, server: %v; want a refusal\noutput: %s", code, err, out)
		}
	})
}

// canDelegate reports whether this build's Kerberos package does delegation
// (SECPKG_FLAG_DELEGATION): the delegation checks are strict only then.
func canDelegate(t *testing.T) bool {
	info, err := sspi.QuerySecurityPackageInfo(Kerberos)
	if err != nil {
		t.Fatal(err)
	}
	return info.Capabilities&sspi.CapDelegation != 0
}
