package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/sockauth"
)

// Names of the demo's embedded Kerberos realm: its service runs on 127.0.0.1, and the
// client names it host/localhost, which the KDC's krb5.conf maps to the realm.
const (
	demoRealm = "SSPI-DEMO.TEST"
	demoSPN   = "host/localhost"
)

// demoPAC is what the embedded KDC's tickets say about the demo's account, as an Active
// Directory domain controller's would: a SID in a domain made up for the demo, Domain
// Users as its primary group, one more group of the domain, and the SID Windows adds for
// an identity its authority asserted. The server's log line shows them.
var demoPAC = kdctest.PAC{
	DomainSID:     "S-1-5-21-1000000001-1000000002-1000000003",
	UserRID:       1106,
	GroupRIDs:     []uint32{1107},
	ExtraSIDs:     []string{"S-1-18-1"},
	NetBIOSDomain: "SSPI-DEMO",
	FullName:      "Demo User",
}

// demoKerberos is where the demo's Kerberos tickets come from: the in-process KDC
// (kerberos/kdctest), started the first time a package needs it, or, with --keytab, the
// realm's own KDC that krb5.conf names.
type demoKerberos struct {
	// --keytab, --spn, --user, --password-file: the realm's KDC instead of the embedded one.
	keytab, spn, user, passwordFile string

	kdc  *kdctest.KDC
	dir  string // the embedded KDC's krb5.conf and keytab
	conf string
	kt   string
	err  error // why the embedded KDC could not start
}

func (d *demoKerberos) system() bool { return d.keytab != "" }

// validate checks the flags: the realm's KDC needs the keytab and the service to ask for.
func (d *demoKerberos) validate() error {
	switch {
	case d.keytab == "" && (d.spn != "" || d.user != "" || d.passwordFile != ""):
		return usageErrorf("--spn, --user and --password-file go with --keytab (the realm's KDC); without it the demo runs its own")
	case d.keytab != "" && d.spn == "":
		return usageErrorf("--keytab needs --spn: the service principal in the keytab that the client asks a ticket for")
	}
	return nil
}

// start starts the embedded KDC with the demo's service, once.
func (d *demoKerberos) start() error {
	if d.kdc != nil || d.err != nil {
		return d.err
	}
	d.err = func() error {
		kdc, err := kdctest.New(&kdctest.Options{Realm: demoRealm})
		if err != nil {
			return err
		}
		d.kdc = kdc
		if _, err := kdc.AddService(demoSPN); err != nil {
			return err
		}
		if d.dir, err = os.MkdirTemp("", "sspi-demo-kdc-"); err != nil {
			return err
		}
		d.conf, d.kt = filepath.Join(d.dir, "krb5.conf"), filepath.Join(d.dir, "krb5.keytab")
		if err := kdc.WriteConfig(d.conf); err != nil {
			return err
		}
		return kdc.WriteKeytab(d.kt)
	}()
	return d.err
}

// close stops the embedded KDC and removes its files.
func (d *demoKerberos) close() {
	if d.kdc != nil {
		d.kdc.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// usesKerberos reports whether pkg is one whose demo authenticates with Kerberos.
func usesKerberos(pkg string) bool {
	return strings.EqualFold(pkg, kerberos.PackageName) || strings.EqualFold(pkg, negotiate.PackageName)
}

// credentials makes both ends' credentials for Kerberos, or Negotiate choosing Kerberos:
// with the embedded KDC, the account made up for the demo is also a principal of its
// realm and the service's keytab comes from the KDC; with --keytab, the user logs on to
// the realm's KDC.
func (d *demoKerberos) credentials(pkg string, e *env) (*demoCreds, error) {
	if d.system() {
		return d.systemCredentials(pkg, e)
	}
	if err := d.start(); err != nil {
		return nil, fmt.Errorf("starting the demo's KDC: %w", err)
	}
	sc, err := acquireServer(serverSettings{pkg: pkg, keytab: d.kt, spn: demoSPN}, e)
	if err != nil {
		return nil, err
	}
	acct := sc.ephemeral
	cred, err := func() (*sspi.Credentials, error) {
		if err := d.kdc.AddUser(acct.User, acct.Password); err != nil {
			return nil, err
		}
		if err := d.kdc.SetPAC(acct.User, &demoPAC); err != nil {
			return nil, err
		}
		krb := &kerberos.ClientConfig{Principal: acct.User + "@" + demoRealm, Password: acct.Password, Config: d.conf}
		var authData any = krb
		if strings.EqualFold(pkg, negotiate.PackageName) {
			authData = &negotiate.Config{Credentials: map[string]any{
				kerberos.PackageName: krb,
				ntlm.PackageName:     &ntlm.ClientConfig{User: acct.User, Password: acct.Password},
			}}
		}
		cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
		return cred, err
	}()
	if err != nil {
		sc.cleanup()
		sspi.FreeCredentialsHandle(sc.cred)
		return nil, err
	}
	return &demoCreds{server: sc, client: cred, framing: sockauth.FramingSSPI, target: demoSPN,
		intro: "account " + acct.User + "@" + demoRealm + " (made up for the demo), tickets from an in-process KDC (kerberos/kdctest) on " + d.kdc.Addr() +
			" with a PAC (the SIDs an Active Directory domain controller would put in them)"}, nil
}

// systemCredentials are the --keytab ones: the realm's KDC, as krb5.conf names it.
func (d *demoKerberos) systemCredentials(pkg string, e *env) (*demoCreds, error) {
	sc, err := acquireServer(serverSettings{pkg: pkg, keytab: d.keytab, spn: d.spn}, e)
	if err != nil {
		return nil, err
	}
	id, source, err := clientAuthData(kerberos.PackageName, d.user, d.passwordFile, e)
	var cred *sspi.Credentials
	if err == nil {
		var authData any
		if id != nil {
			authData = id
		}
		cred, _, err = sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	}
	if err != nil {
		sc.cleanup()
		sspi.FreeCredentialsHandle(sc.cred)
		return nil, err
	}
	who := d.user
	if who == "" {
		who = "the cached credentials' user"
	}
	return &demoCreds{server: sc, client: cred, framing: sockauth.FramingSSPI, target: d.spn,
		intro: who + " (" + source + ") with the realm's KDC, service " + d.spn + " from --keytab " + d.keytab}, nil
}
