package adinterop

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
)

// TestADArmoredLogon logs on to the Samba AD DC with a password armored in FAST
// (ClientConfig.ArmorCCache, a TGT MIT's kinit got for the service account), as Windows
// clients of a domain that requires Kerberos armoring do, and authenticates to a service.
// Samba's KDC is the Heimdal fork with AD's FAST; the client refuses any AS reply without
// FAST, so the logon succeeding means the DC armored it.
func TestADArmoredLogon(t *testing.T) {
	d := domain(t)
	armor := d.Kinit(t, svcName, svcPass)
	cfg := &kerberos.ClientConfig{Principal: d.Principal(userName), Password: userPass, Config: d.Krb5Conf, ArmorCCache: "FILE:" + armor}
	cc := acquire(t, sspi.CredOutbound, cfg)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[svcSPN]})
	_, srv := connect(t, cc, sc, sspi.ClientOptions{Target: svcSPN})
	if id, err := srv.Identity(); err != nil || id.Principal != d.Principal(userName) {
		t.Errorf("acceptor identity %+v, %v, want %s", id, err, d.Principal(userName))
	}
	wrong := *cfg
	wrong.Password = "not-" + userPass
	if _, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, &wrong, nil); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("armored logon with a wrong password: %v, want SEC_E_LOGON_DENIED", err)
	}
}
