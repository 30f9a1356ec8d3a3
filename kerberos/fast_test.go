package kerberos

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// fastSPN is a service MIT's KDC gives tickets for only to TGTs got with the encrypted
// challenge, which it accepts only inside FAST (encrypted_challenge_indicator and
// require_auth): a context to it proves the logon was armored.
const fastSPN = "fast/localhost"

// TestMITArmorCCache logs on with a password armored by the host's TGT (ClientConfig.
// ArmorCCache, a cache MIT's kinit -k filled from the host keytab) against MIT 1.20's
// KDC, and authenticates to a service only armored logons reach.
func TestMITArmorCCache(t *testing.T) {
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	k := testpeers.StartKDC(t, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword},
		Services: []string{testSPN, fastSPN},
		KDCConf:  "[realms]\n\t" + testRealm + " = {\n\t\tencrypted_challenge_indicator = fast\n\t}\n",
	})
	k.Kadmin(t, "modprinc +requires_preauth "+testUser)
	k.Kadmin(t, "setstr "+fastSPN+" require_auth fast")
	armor := filepath.Join(t.TempDir(), "armor.ccache")
	cmd := exec.Command(kinit, "-k", "-t", k.Keytab, "-c", "FILE:"+armor, k.Principal(testSPN))
	cmd.Env = k.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit -k: %v\n%s", err, out)
	}
	sc := testServerCreds(t, k, ServerConfig{})
	connect := func(cfg *ClientConfig) error {
		cc, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, cfg, nil)
		if err != nil {
			return err
		}
		defer sspi.FreeCredentialsHandle(cc)
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: fastSPN})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer cli.Close()
		defer srv.Close()
		_, err = handshake(t, cli, srv)
		return err
	}
	base := ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: k.Krb5Conf}

	armored := base
	armored.ArmorCCache = "FILE:" + armor
	if err := connect(&armored); err != nil {
		t.Fatalf("armored logon to the FAST-only service: %v", err)
	}
	if err := connect(&base); err == nil || !strings.Contains(err.Error(), "KDC_ERR_POLICY") {
		t.Fatalf("unarmored logon to the FAST-only service: %v, want the KDC's KDC_ERR_POLICY (else the test proves nothing)", err)
	}

	wrong := armored
	wrong.Password = "not-" + testPassword
	if _, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &wrong, nil); !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("armored logon with a wrong password: %v, want SEC_E_LOGON_DENIED", err)
	}

	missing := base
	missing.ArmorCCache = filepath.Join(t.TempDir(), "none")
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &missing, nil)
	if !errors.Is(err, sspi.ErrNoCredentials) || !strings.Contains(err.Error(), "armor") {
		t.Errorf("armor cache that does not exist: %v, want SEC_E_NO_CREDENTIALS naming the armor", err)
	}
}
