package adinterop

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// The PAC test's own user and groups, so that the shared accounts' memberships stay as
// the other tests expect them.
const (
	pacUser   = "adpacuser"
	pacPass   = "Pac-Passw0rd1!"
	pacGroup1 = "adpacgroup1"
	pacGroup2 = "adpacgroup2"
)

// attribute returns the values of name in samba-tool's LDIF output.
func attribute(out, name string) []string {
	var vals []string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	return vals
}

var cnRE = regexp.MustCompile(`^CN=([^,]+),`)

// TestADPAC (issue 14): a Samba AD DC's ticket carries a PAC whose logon information our
// acceptor verifies (server signature with the service key, AES and RC4-only services)
// and exposes: the user's SID, primary group and groups are what `samba-tool user show`
// and `samba-tool group listmembers` say, after the user is added to two groups.
// The KDC signature verifies with the krbtgt key samba-tool exports.
func TestADPAC(t *testing.T) {
	d := domain(t)
	d.AddUser(t, pacUser, pacPass)
	// The groups (global security groups, as samba-tool group add makes them) and their
	// member go in with one ldbmodify: each samba-tool call is a Python start-up, seconds
	// on a loaded machine. samba-tool then says what the directory holds.
	var ldif strings.Builder
	for _, g := range []string{pacGroup1, pacGroup2} {
		dn := "CN=" + g + ",CN=Users," + d.BaseDN()
		ldif.WriteString("dn: " + dn + "\nchangetype: add\nobjectClass: group\nsAMAccountName: " + g + "\ngroupType: -2147483646\n\n")
		ldif.WriteString("dn: " + dn + "\nchangetype: modify\nadd: member\nmember: CN=" + pacUser + ",CN=Users," + d.BaseDN() + "\n\n")
	}
	d.Ldbmodify(t, ldif.String())
	groupSIDs := map[string]string{}
	for _, g := range []string{pacGroup1, pacGroup2} {
		if m := d.SambaTool(t, "group", "listmembers", g); !slices.Contains(strings.Fields(m), pacUser) {
			t.Fatalf("group listmembers %s: %q", g, m)
		}
		groupSIDs[g] = d.UserSID(t, g)
	}
	show := d.SambaTool(t, "user", "show", pacUser)
	userSID, primary := attribute(show, "objectSid"), attribute(show, "primaryGroupID")
	if len(userSID) != 1 || len(primary) != 1 {
		t.Fatalf("user show: %s", show)
	}
	// What the directory says the token must hold: the primary group and every group of
	// memberOf, by SID.
	want := []string{d.DomainSID + "-" + primary[0]}
	for _, dn := range attribute(show, "memberOf") {
		m := cnRE.FindStringSubmatch(dn)
		if m == nil || groupSIDs[m[1]] == "" {
			t.Fatalf("memberOf %q is not one of the test's groups", dn)
		}
		want = append(want, groupSIDs[m[1]])
	}
	if len(want) != 3 {
		t.Fatalf("user show: memberOf %v", attribute(show, "memberOf"))
	}
	krbtgt := d.ExportKeytab(t, "krbtgt")
	for _, spn := range []string{svcSPN, rc4SPN} {
		t.Run(spn, func(t *testing.T) {
			cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(pacUser), Password: pacPass, Config: d.Krb5Conf})
			sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[spn], RequirePAC: true})
			_, srv := connect(t, cc, sc, sspi.ClientOptions{Target: spn})
			id, err := srv.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.Authorization != sspi.AuthzPAC || id.UserSID != userSID[0] {
				t.Fatalf("authorization %v, user SID %q, want PAC and %s", id.Authorization, id.UserSID, userSID[0])
			}
			var tok sspi.AccessToken
			if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &tok); err != nil {
				t.Fatal(err)
			}
			checkADToken(t, d, &tok, want)
			p := checkKDCSignature(t, tok.PAC, krbtgt)
			// Samba 4.17 writes UPN_DNS_INFO's extension: the SAM name and the user's SID.
			if u := p.UPNDNSInfo; u == nil || u.Flags&pac.UPNFlagExtended == 0 || u.SAMName != pacUser || u.SID == nil || u.SID.String() != userSID[0] {
				t.Errorf("UPN_DNS_INFO %+v", u)
			}
			if p.TicketSignature == nil {
				t.Errorf("no ticket signature in Samba's PAC")
			}
		})
	}
}

func checkADToken(t *testing.T, d *testpeers.ADDC, tok *sspi.AccessToken, want []string) {
	t.Helper()
	var inDomain []string
	for _, g := range tok.Groups {
		if strings.HasPrefix(g.SID, d.DomainSID+"-") {
			inDomain = append(inDomain, g.SID)
		}
		if g.Attributes&sspi.GroupEnabled == 0 {
			t.Errorf("group %s not enabled: %#x", g.SID, g.Attributes)
		}
	}
	slices.Sort(inDomain)
	slices.Sort(want)
	if !slices.Equal(inDomain, want) {
		t.Errorf("the PAC's domain groups %v, the directory's %v", inDomain, want)
	}
	if tok.PrimaryGroupSID != d.DomainSID+"-513" || tok.DomainSID != d.DomainSID {
		t.Errorf("primary group %s, domain %s", tok.PrimaryGroupSID, tok.DomainSID)
	}
	if tok.UserName != pacUser || tok.LogonDomain != d.Domain || !strings.EqualFold(tok.DNSDomain, d.Realm) ||
		tok.UPN != pacUser+"@"+testpeers.ADDCDNSDomain || tok.LogonServer == "" {
		t.Errorf("names: user %q, domain %q, DNS domain %q, UPN %q, server %q", tok.UserName, tok.LogonDomain, tok.DNSDomain, tok.UPN, tok.LogonServer)
	}
	for _, g := range want {
		if !tok.IsMember(g) {
			t.Errorf("IsMember(%s) false", g)
		}
	}
	t.Logf("PAC: user %s, %d groups %v, logon server %s, user flags %#x", tok.UserSID, len(tok.Groups), tok.Groups, tok.LogonServer, tok.UserFlags)
}

// checkKDCSignature verifies the PAC's KDC signature with the krbtgt keys in the keytab and
// returns the parsed PAC.
func checkKDCSignature(t *testing.T, raw []byte, krbtgtKeytab string) *pac.PAC {
	t.Helper()
	p, err := pac.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(krbtgtKeytab)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var tried []string
	for _, e := range kt.Entries {
		et := krbcrypto.EType(e.Key.Type)
		if !et.Supported() || et.ChecksumType() != p.KDCSignature.Type {
			continue
		}
		k, err := krbcrypto.NewKey(et, e.Key.Value)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.VerifyKDC(k); err == nil {
			return p
		}
		tried = append(tried, et.String()+" kvno "+strconv.Itoa(int(e.KVNO)))
	}
	t.Fatalf("the KDC signature (type %d) verifies with none of the krbtgt keys %v", p.KDCSignature.Type, tried)
	return nil
}
