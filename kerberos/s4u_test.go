package kerberos

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
)

// Against MIT's KDC (DB2 back end): S4U2Self works for a service (MIT verified the
// PA-FOR-USER checksum), and the S4U2Proxy that follows is refused at the last check, as
// MIT decides constrained delegation only with its LDAP back end: the refusal is
// SEC_E_DELEGATION_POLICY with a cause that says so. The Samba AD DC
// tests (kerberos/adinterop) cover the allowed cases.
func TestS4UAgainstMIT(t *testing.T) {
	k, kt := delegKDC(t)
	svc := acquire(t, sspi.CredOutbound, &ClientConfig{Principal: delegSPN + "@" + testRealm, Keytab: kt, Config: k.Krb5Conf, Forwardable: true})

	imp, err := ImpersonateUser(svc, testUser, nil)
	if err != nil {
		t.Fatalf("S4U2Self: %v", err)
	}
	defer sspi.FreeCredentialsHandle(imp)
	var names sspi.CredentialNames
	if err := sspi.QueryCredentialsAttributes(imp, sspi.CredAttrNames, &names); err != nil || names.UserName != testUser+"@"+testRealm {
		t.Errorf("impersonation credentials name %q (%v)", names.UserName, err)
	}
	wantRefusal(t, imp)

	// The same from an accepted context: alice's ticket to deleg/localhost as evidence.
	cli := sspi.NewClientContext(delegClient(t, k, true, false), sspi.ClientOptions{Target: delegSPN})
	defer cli.Close()
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{Keytab: kt}), sspi.ServerOptions{})
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err != nil {
		t.Fatal(err)
	}
	proxy, err := ProxyCredentials(svc, srv.Handle(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(proxy)
	wantRefusal(t, proxy)

	// Misuse is refused up front.
	if _, err := ImpersonateUser(imp, testUser, nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Errorf("ImpersonateUser with impersonation credentials: %v", err)
	}
	if _, err := ImpersonateUser(testServerCreds(t, k, ServerConfig{Keytab: kt}), testUser, nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Errorf("ImpersonateUser with server credentials: %v", err)
	}
	if _, err := ProxyCredentials(svc, cli.Handle(), nil); !errors.Is(err, sspi.ErrNoContext) {
		t.Errorf("ProxyCredentials with a client context: %v", err)
	}
	if _, err := ImpersonateUser(svc, "nosuchuser", nil); err == nil {
		t.Error("S4U2Self for an unknown user")
	}
}

func wantRefusal(t *testing.T, c *sspi.Credentials) {
	t.Helper()
	ctx := sspi.NewClientContext(c, sspi.ClientOptions{Target: testSPN})
	defer ctx.Close()
	_, err := ctx.Step(nil)
	if !errors.Is(err, sspi.ErrDelegationPolicy) || !errors.Is(err, krbclient.ErrDelegationNotAllowed) || !strings.Contains(err.Error(), "S4U2Proxy") {
		t.Fatalf("S4U2Proxy with MIT's DB2 back end: %v", err)
	}
	var kerr *krbclient.KDCError
	if !errors.As(err, &kerr) {
		t.Errorf("no KDCError in %v", err)
	}
	// MIT checked everything it can without an LDAP back end: the evidence ticket is
	// forwardable (the service is ok_to_auth_as_delegate, alice's TGT forwardable).
	if !strings.Contains(err.Error(), "UNSUPPORTED_S4U2PROXY_REQUEST") {
		t.Errorf("MIT refused for another reason: %v", err)
	}
}
