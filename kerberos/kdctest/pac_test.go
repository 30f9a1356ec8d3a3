package kdctest_test

import (
	"slices"
	"testing"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

const domainSID = "S-1-5-21-1111-2222-3333"

// TestPAC: a user given a PAC gets service tickets whose PAC our acceptor verifies (server
// signature, client info) and turns into an access token with the user's SID and groups,
// for every encryption type; its KDC signature verifies with the KDC's key (read from the
// ticket as the KDC would); a user without one gets tickets without a PAC.
func TestPAC(t *testing.T) {
	for _, et := range allEnctypes {
		t.Run(et, func(t *testing.T) {
			k, conf, kt := startKDC(t, &kdctest.Options{Enctypes: []string{et}})
			if err := k.SetPAC(user, &kdctest.PAC{DomainSID: domainSID, UserRID: 1105, GroupRIDs: []uint32{kdctest.RIDDomainAdmins}, ExtraSIDs: []string{"S-1-18-1"}, FullName: "Alice Liddell"}); err != nil {
				t.Fatal(err)
			}
			cc := acquire(t, kerberos.PackageName, sspi.CredOutbound, &kerberos.ClientConfig{Principal: user + "@" + realm, Password: password, Config: conf})
			sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt, RequirePAC: true})
			_, srv := handshake(t, cc, sc)
			var tok sspi.AccessToken
			if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &tok); err != nil {
				t.Fatal(err)
			}
			var groups []string
			for _, g := range tok.Groups {
				groups = append(groups, g.SID)
			}
			want := []string{domainSID + "-513", domainSID + "-512", "S-1-18-1"}
			if tok.Source != sspi.AuthzPAC || tok.UserSID != domainSID+"-1105" || !slices.Equal(groups, want) ||
				tok.UserName != user || tok.FullName != "Alice Liddell" || tok.LogonDomain != "KDCTEST" || tok.UPN != user+"@kdctest.test" {
				t.Errorf("access token %+v, groups %v", tok, groups)
			}
			verifyKDCSignature(t, k, tok.PAC)
		})
	}
	t.Run("no PAC", func(t *testing.T) {
		_, conf, kt := startKDC(t, nil)
		cc := acquire(t, kerberos.PackageName, sspi.CredOutbound, &kerberos.ClientConfig{Principal: user + "@" + realm, Password: password, Config: conf})
		sc := acquire(t, kerberos.PackageName, sspi.CredInbound, &kerberos.ServerConfig{Keytab: kt})
		_, srv := handshake(t, cc, sc)
		var tok sspi.AccessToken
		if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &tok); err != nil || tok.Source != sspi.AuthzNoPAC || tok.PAC != nil {
			t.Errorf("access token %+v, %v", tok, err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		k, _, _ := startKDC(t, nil)
		for _, p := range []*kdctest.PAC{{UserRID: 1}, {DomainSID: "S-1-5-21-1"}, {DomainSID: "not a SID", UserRID: 1}, {DomainSID: domainSID, UserRID: 1, ExtraSIDs: []string{"x"}}} {
			if err := k.SetPAC(user, p); err == nil {
				t.Errorf("SetPAC(%+v) accepted", p)
			}
		}
		if err := k.SetPAC(spn, &kdctest.PAC{DomainSID: domainSID, UserRID: 1}); err == nil {
			t.Error("SetPAC for a service accepted")
		}
	})
}

// verifyKDCSignature checks the PAC's KDC signature with the krbtgt key, which a keytab
// of the KDC's own principal holds.
func verifyKDCSignature(t *testing.T, k *kdctest.KDC, raw []byte) {
	t.Helper()
	b, err := k.Keytab("krbtgt/" + realm)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Parse(b)
	if err != nil || len(kt.Entries) == 0 {
		t.Fatal(err)
	}
	e := kt.Entries[0]
	key, err := krbcrypto.NewKey(krbcrypto.EType(e.Key.Type), e.Key.Value)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pac.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyKDC(key); err != nil {
		t.Errorf("KDC signature: %v", err)
	}
}
