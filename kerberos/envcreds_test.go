package kerberos

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
)

// TestEnvironmentClientCredentials: with no password and no keytab the client finds its
// credentials as MIT's gss_acquire_cred does: the cache KRB5CCNAME names when it holds a
// TGT (TestEnvironmentClientCredentialsKinit), otherwise the client keytab
// KRB5_CLIENT_KTNAME names; a cache named in ClientConfig.CCache gets no keytab fallback,
// and with neither the error names the cache. The KDC is getKDC's.
func TestEnvironmentClientCredentials(t *testing.T) {
	k := getKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	sc := testServerCreds(t, k, ServerConfig{})
	missing := t.TempDir() + "/no-such-cache"
	t.Run("KRB5_CLIENT_KTNAME", func(t *testing.T) {
		t.Setenv("KRB5CCNAME", "FILE:"+missing)
		t.Setenv("KRB5_CLIENT_KTNAME", "FILE:"+ownKeytab(t, testUser))
		envLogon(t, sc, nil)
		envLogon(t, sc, &ClientConfig{Principal: testUser})
	})
	t.Run("neither", func(t *testing.T) {
		t.Setenv("KRB5CCNAME", missing)
		t.Setenv("KRB5_CLIENT_KTNAME", missing)
		_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, nil, nil)
		if !errors.Is(err, sspi.ErrNoCredentials) || !strings.Contains(err.Error(), "credential cache at "+missing) {
			t.Errorf("%v", err)
		}
	})
	t.Run("named cache, no keytab fallback", func(t *testing.T) {
		t.Setenv("KRB5_CLIENT_KTNAME", ownKeytab(t, testUser))
		_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &ClientConfig{CCache: missing}, nil)
		if !errors.Is(err, sspi.ErrNoCredentials) {
			t.Errorf("%v", err)
		}
	})
}

// TestEnvironmentClientCredentialsKinit: the cache KRB5CCNAME names, written by MIT's
// kinit, is used before the client keytab.
func TestEnvironmentClientCredentialsKinit(t *testing.T) {
	k := getMITKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	sc := testServerCreds(t, k, ServerConfig{})
	t.Setenv("KRB5CCNAME", k.Kinit(t, testUser, testPassword))
	t.Setenv("KRB5_CLIENT_KTNAME", t.TempDir()+"/no-such-keytab")
	envLogon(t, sc, nil)
}

// envLogon logs on with authData's (or the environment's) client credentials to sc's
// service and checks that the server sees testUser.
func envLogon(t *testing.T, sc *sspi.Credentials, authData any) {
	t.Helper()
	cc := acquire(t, sspi.CredOutbound, authData)
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: sspi.DefaultClientReq | sspi.ISCReqMutualAuth})
	defer cli.Close()
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err != nil {
		t.Fatal(err)
	}
	if id, err := srv.Identity(); err != nil || id.Principal != testUser+"@"+testRealm {
		t.Errorf("server sees %q", id.Principal)
	}
}
