package ldaptest

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/ldapsasl"
	"github.com/gosspi/sspi/negotiate"
)

// TestADDC binds to a Samba AD DC's LDAP server, which keeps Active Directory's default
// "ldap server require strong auth": a GSSAPI bind must sign or seal. Binds with either
// layer work and find the user; a bind without a layer is refused by Samba.
func TestADDC(t *testing.T) {
	dc := testpeers.SharedADDC(t)
	t.Logf("AD DC: provisioned in %v, waited %v for another binary's, started in %v", dc.Provisioned, dc.Waited, dc.Started)
	const user, password = "ldapuser", "LdapPassw0rd-1!"
	dc.AddUser(t, user, password)
	cred, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil, &kerberos.ClientConfig{
		Principal: dc.Principal(user), Password: password, Config: dc.Krb5Conf}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	// The template holds the DC's ldap/ names (samba_spnupdate at provisioning): the
	// first bind after samba starts gets its ticket.
	spn := "ldap/" + testpeers.ADDCHostName + "." + testpeers.ADDCDNSDomain
	search := ldap.NewSearchRequest(dc.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+user+")", []string{"sAMAccountName", "userPrincipalName"}, nil)
	for _, tt := range []struct {
		name   string
		layers ldapsasl.Layer
		want   ldapsasl.Layer
	}{
		{name: "seal", layers: ldapsasl.LayerConfidentiality, want: ldapsasl.LayerConfidentiality},
		{name: "sign", layers: ldapsasl.LayerIntegrity, want: ldapsasl.LayerIntegrity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, conn, _, err := bind(t, dc.LDAPAddr, spn, ldapsasl.Config{Credentials: cred, Layers: tt.layers})
			if err != nil {
				t.Fatalf("GSSAPI bind: %v\nDC log (end): %s", err, tail(dc.Log(), 3000))
			}
			if conn.Layer() != tt.want {
				t.Fatalf("layer %v, want %v", conn.Layer(), tt.want)
			}
			// Samba has no whoami (RFC 4532): its "Extended Operation not supported",
			// read through the layer, is no proof of identity. The search is.
			res, err := l.Search(search)
			if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("sAMAccountName") != user {
				t.Fatalf("search: %v, %+v", err, res)
			}
		})
	}
	t.Run("SPNEGO under the GSSAPI name", func(t *testing.T) {
		ncred, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, &negotiate.Config{
			Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: &kerberos.ClientConfig{
				Principal: dc.Principal(user), Password: password, Config: dc.Krb5Conf}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sspi.FreeCredentialsHandle(ncred)
		l, conn, _, err := bind(t, dc.LDAPAddr, spn, ldapsasl.Config{Credentials: ncred, Package: "Negotiate"})
		if err != nil {
			t.Fatalf("GSSAPI bind with SPNEGO tokens: %v", err)
		}
		res, err := l.Search(search)
		if err != nil || len(res.Entries) != 1 || conn.Layer() != ldapsasl.LayerConfidentiality {
			t.Fatalf("search: %v, %+v, layer %v", err, res, conn.Layer())
		}
	})
	t.Run("no layer", func(t *testing.T) {
		l, conn, _, err := bind(t, dc.LDAPAddr, spn, ldapsasl.Config{Credentials: cred, Layers: ldapsasl.LayerNone})
		if err == nil {
			_, err = l.Search(search)
		}
		t.Logf("without a layer: %v (layer %v)", err, conn.Layer())
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
			t.Fatalf("without a layer: %v, want Samba's strongerAuthRequired", err)
		}
	})
}

// tail is the end of a peer's log, for a failure message.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
