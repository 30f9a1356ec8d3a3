package adinterop

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// The accounts of the delegation tests, as a Windows domain would have them:
//
//	adfront    the front service (http/adfront): constrained delegation to cifs/adback
//	           (msDS-AllowedToDelegateTo) with protocol transition (TrustedToAuthForDelegation)
//	adfrontkcd like adfront, without protocol transition (Kerberos only)
//	adrbfront  a front service with no delegation settings of its own
//	adback     the back service (cifs/adback), the target of adfront and adfrontkcd
//	adrbback   a back service (cifs/adrbback) that lets adrbfront act for users on it
//	           (msDS-AllowedToActOnBehalfOfOtherIdentity: resource-based)
//	adother    a service (cifs/adother) nobody may delegate to
//	adtrusted  a service trusted for unconstrained delegation (TrustedForDelegation),
//	           whose tickets carry OK-AS-DELEGATE
const (
	frontName, frontPass, frontSPN          = "adfront", "Front-Passw0rd1!", "http/adfront.samdom.test"
	frontKCDName, frontKCDPass, frontKCDSPN = "adfrontkcd", "Kcd-Passw0rd1!", "http/adfrontkcd.samdom.test"
	rbFrontName, rbFrontPass, rbFrontSPN    = "adrbfront", "Rbfront-Passw0rd1!", "http/adrbfront.samdom.test"
	backName, backSPN                       = "adback", "cifs/adback.samdom.test"
	rbBackName, rbBackSPN                   = "adrbback", "cifs/adrbback.samdom.test"
	otherName, otherSPN                     = "adother", "cifs/adother.samdom.test"
	trustedName, trustedSPN                 = "adtrusted", "http/adtrusted.samdom.test"
	backPass                                = "Back-Passw0rd1!"
)

var (
	delegOnce   sync.Once
	delegErr    string
	delegKeytab []byte // the keys of every service above, by SPN
)

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	uacNormalAccount              = 0x200
	uacTrustedForDelegation       = 0x80000
	uacTrustedToAuthForDelegation = 0x1000000
)

func uac(bits int) string { return fmt.Sprintf("userAccountControl: %d", uacNormalAccount|bits) }

func utf16le(s string) []byte {
	var out []byte
	for _, r := range utf16.Encode([]rune(s)) {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

// serviceKeytab makes the keytab of the services' SPNs from their passwords, as ktpass
// would, with AD's salt (the realm and the account name) and the first key version:
// exporting each with samba-tool takes seconds per account.
func serviceKeytab(t *testing.T, realm string, accounts [][3]string) []byte {
	t.Helper()
	kt := &keytab.Keytab{}
	for _, a := range accounts {
		comps := strings.Split(a[2], "/")
		for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA196, krbcrypto.RC4HMAC} {
			k, err := krbcrypto.StringToKey(et, a[1], realm+a[0], nil)
			if err != nil {
				t.Fatal(err)
			}
			kt.Entries = append(kt.Entries, keytab.Entry{
				Principal: wire.PrincipalName{Type: wire.NameSrvHost, Components: comps}, Realm: realm, KVNO: 1,
				Key: wire.EncryptionKey{Type: int32(et), Value: k.Bytes()},
			})
		}
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delegDomain is domain(t) with the delegation accounts and settings added (once).
func delegDomain(t *testing.T) *testpeers.ADDC {
	t.Helper()
	d := domain(t)
	delegOnce.Do(func() {
		delegErr = "setting up the delegation accounts failed in an earlier test"
		accounts := [][3]string{
			{frontName, frontPass, frontSPN}, {frontKCDName, frontKCDPass, frontKCDSPN}, {rbFrontName, rbFrontPass, rbFrontSPN},
			{backName, backPass, backSPN}, {rbBackName, backPass, rbBackSPN}, {otherName, backPass, otherSPN}, {trustedName, backPass, trustedSPN},
		}
		// The accounts with their delegation settings in one ldbmodify: samba-tool takes
		// tens of seconds a call on a loaded machine. What samba-tool delegation add-service,
		// for-any-protocol and for-any-service would write: msDS-AllowedToDelegateTo and
		// userAccountControl's TRUSTED_TO_AUTH_FOR_DELEGATION and TRUSTED_FOR_DELEGATION.
		settings := map[string]string{
			frontName:    "msDS-AllowedToDelegateTo: " + backSPN + "\n" + uac(uacTrustedToAuthForDelegation),
			frontKCDName: "msDS-AllowedToDelegateTo: " + backSPN + "\n" + uac(0),
			trustedName:  uac(uacTrustedForDelegation),
		}
		var ldif strings.Builder
		for _, a := range accounts {
			fmt.Fprintf(&ldif, "dn: CN=%s,CN=Users,%s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n",
				a[0], d.BaseDN(), a[0], a[0], testpeers.ADDCDNSDomain)
			fmt.Fprintf(&ldif, "unicodePwd:: %s\nservicePrincipalName: %s\n", base64.StdEncoding.EncodeToString(utf16le(`"`+a[1]+`"`)), a[2])
			if v, ok := settings[a[0]]; ok {
				ldif.WriteString(v + "\n")
			} else {
				ldif.WriteString(uac(0) + "\n")
			}
			ldif.WriteString("\n")
		}
		d.Ldbmodify(t, ldif.String())
		// The security descriptor of resource-based delegation is samba-tool's to write.
		d.SambaTool(t, "delegation", "add-principal", rbBackName, rbFrontName)
		delegKeytab = serviceKeytab(t, d.Realm, accounts)
		delegErr = ""
	})
	if delegErr != "" {
		t.Fatal(delegErr)
	}
	return d
}

// serviceCreds are a front service's own client credentials (its password), for S4U.
func serviceCreds(t *testing.T, d *testpeers.ADDC, name, pass string) *sspi.Credentials {
	return acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(name), Password: pass, Config: d.Krb5Conf, Forwardable: true})
}

// userCreds are aduser's, with a forwardable TGT (AD's default for a user).
func userCreds(t *testing.T, d *testpeers.ADDC) *sspi.Credentials {
	return acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(userName), Password: userPass, Config: d.Krb5Conf, Forwardable: true})
}

// reach authenticates with creds to spn (our acceptor with the services' keytab) and
// returns the client the acceptor saw, or the client's error.
func reach(t *testing.T, creds *sspi.Credentials, spn string) (sspi.Identity, error) {
	t.Helper()
	cli := sspi.NewClientContext(creds, sspi.ClientOptions{Target: spn})
	defer cli.Close()
	tok, err := cli.Step(nil)
	if err != nil {
		return sspi.Identity{}, err
	}
	srv := sspi.NewServerContext(acquire(t, sspi.CredInbound, &kerberos.ServerConfig{KeytabData: delegKeytab}), sspi.ServerOptions{})
	defer srv.Close()
	rep, err := srv.Step(tok)
	if err != nil {
		t.Fatalf("the back service refused the delegated ticket: %v", err)
	}
	if _, err := cli.Step(rep); err != nil {
		t.Fatalf("mutual authentication with the back service: %v", err)
	}
	return srv.Identity()
}

// acceptUser runs aduser's handshake with the front service spn and returns the front's
// server context (its ticket is the S4U2Proxy evidence).
func acceptUser(t *testing.T, d *testpeers.ADDC, spn string, req sspi.ContextReq) *sspi.ServerContext {
	t.Helper()
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{KeytabData: delegKeytab})
	_, srv := connect(t, userCreds(t, d), sc, sspi.ClientOptions{Target: spn, Req: req})
	return srv
}

func wantUser(t *testing.T, id sspi.Identity, err error, spn string) {
	t.Helper()
	if err != nil {
		t.Fatalf("reaching %s as the user: %v", spn, err)
	}
	if id.Principal != "aduser@SAMDOM.TEST" || id.Server != spn+"@SAMDOM.TEST" {
		t.Errorf("the back service saw %+v", id)
	}
}

// wantRefused checks a KDC refusal: SEC_E_DELEGATION_POLICY, KDC_ERR_BADOPTION, and a
// cause that says delegation is not allowed.
func wantRefused(t *testing.T, err error) {
	t.Helper()
	wantStatus(t, err, sspi.ErrDelegationPolicy, "KDC_ERR_BADOPTION", "delegation is not allowed", "S4U2Proxy")
}

// TestADConstrainedDelegation: S4U2Proxy with the user's own ticket as evidence
// (ProxyCredentials), to the allowed back service, refused to another.
func TestADConstrainedDelegation(t *testing.T) {
	d := delegDomain(t)
	for _, front := range [][3]string{{frontName, frontPass, frontSPN}, {frontKCDName, frontKCDPass, frontKCDSPN}} {
		t.Run(front[0], func(t *testing.T) {
			srv := acceptUser(t, d, front[2], sspi.DefaultClientReq)
			pc, err := kerberos.ProxyCredentials(serviceCreds(t, d, front[0], front[1]), srv.Handle(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(pc)
			id, err := reach(t, pc, backSPN)
			wantUser(t, id, err, backSPN)
			_, err = reach(t, pc, otherSPN)
			wantRefused(t, err)
		})
	}
}

// TestADProtocolTransition: S4U2Self for a user who authenticated otherwise, then
// S4U2Proxy (ImpersonateUser): allowed with TrustedToAuthForDelegation; without it the
// S4U2Self ticket is not forwardable and the KDC refuses S4U2Proxy with it.
func TestADProtocolTransition(t *testing.T) {
	d := delegDomain(t)
	for _, tc := range []struct {
		front, pass string
		allowed     bool
	}{
		{frontName, frontPass, true},
		{frontKCDName, frontKCDPass, false},
	} {
		t.Run(tc.front, func(t *testing.T) {
			imp, err := kerberos.ImpersonateUser(serviceCreds(t, d, tc.front, tc.pass), userName, nil)
			if err != nil {
				t.Fatalf("S4U2Self: %v", err)
			}
			defer sspi.FreeCredentialsHandle(imp)
			var names sspi.CredentialNames
			if err := sspi.QueryCredentialsAttributes(imp, sspi.CredAttrNames, &names); err != nil || !strings.EqualFold(names.UserName, "aduser@SAMDOM.TEST") {
				t.Errorf("impersonation credentials of %q (%v)", names.UserName, err)
			}
			id, err := reach(t, imp, backSPN)
			if !tc.allowed {
				wantRefused(t, err)
				return
			}
			wantUser(t, id, err, backSPN)
			_, err = reach(t, imp, otherSPN)
			wantRefused(t, err)
		})
	}
	// The user named as Windows names it, DOMAIN\user (the NetBIOS domain's realm).
	svc := serviceCreds(t, d, frontName, frontPass)
	imp, err := kerberos.ImpersonateUser(svc, `SAMDOM\`+userName, nil)
	if err != nil {
		t.Fatalf("S4U2Self for SAMDOM\\%s: %v", userName, err)
	}
	defer sspi.FreeCredentialsHandle(imp)
	id, err := reach(t, imp, backSPN)
	wantUser(t, id, err, backSPN)
	// Protocol transition for a user the DC does not know.
	_, err = kerberos.ImpersonateUser(svc, "adnobody", nil)
	wantStatus(t, err, sspi.ErrLogonDenied, "S4U2Self", "KDC_ERR_C_PRINCIPAL_UNKNOWN")
}

// TestADResourceBasedDelegation: the back service's msDS-AllowedToActOnBehalfOfOtherIdentity
// names the front service, which has no delegation settings of its own, and our S4U2Proxy
// requests carry PA-PAC-OPTIONS with the resource-based-constrained-delegation bit, as
// Windows sends it. Samba 4.17's KDC (its embedded Heimdal) has no resource-based check:
// it refuses with KDC_ERR_BADOPTION, which must reach the caller as a delegation refusal
// like any other; a KDC that allows it must give a ticket for the user, with the user's
// own ticket as evidence and after protocol transition (whose ticket is not forwardable).
// Delegation to a service that does not name the front is refused either way.
func TestADResourceBasedDelegation(t *testing.T) {
	d := delegDomain(t)
	svc := serviceCreds(t, d, rbFrontName, rbFrontPass)
	srv := acceptUser(t, d, rbFrontSPN, sspi.DefaultClientReq)
	pc, err := kerberos.ProxyCredentials(svc, srv.Handle(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(pc)
	imp, err := kerberos.ImpersonateUser(svc, userName, nil)
	if err != nil {
		t.Fatalf("S4U2Self: %v", err)
	}
	defer sspi.FreeCredentialsHandle(imp)
	for name, c := range map[string]*sspi.Credentials{"evidence": pc, "protocol transition": imp} {
		id, err := reach(t, c, rbBackSPN)
		if errors.Is(err, sspi.ErrDelegationPolicy) {
			wantRefused(t, err)
			t.Logf("%s: Samba %s refuses resource-based delegation: %v", name, "4.17", err)
		} else {
			wantUser(t, id, err, rbBackSPN)
		}
		_, err = reach(t, c, backSPN)
		wantRefused(t, err)
	}
}

// TestADUnconstrainedDelegation: the DC marks tickets to a service trusted for delegation
// OK-AS-DELEGATE; our client delegates its TGT to that one only (as Windows does), and the
// service reaches another as the user with it.
func TestADUnconstrainedDelegation(t *testing.T) {
	d := delegDomain(t)
	for _, tc := range []struct {
		spn  string
		want bool
	}{
		{trustedSPN, true},
		{backSPN, false},
	} {
		t.Run(tc.spn, func(t *testing.T) {
			srv := acceptUser(t, d, tc.spn, sspi.DefaultClientReq|sspi.ISCReqDelegate)
			if got := srv.Attributes().Has(sspi.ASCRetDelegate); got != tc.want {
				t.Fatalf("ASC_RET_DELEGATE %v, want %v", got, tc.want)
			}
			dc, err := kerberos.DelegatedCredentials(srv.Handle(), &kerberos.DelegationOptions{Config: d.Krb5Conf})
			if !tc.want {
				if !errors.Is(err, sspi.ErrNoCredentials) {
					t.Errorf("DelegatedCredentials without delegation: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(dc)
			id, err := reach(t, dc, otherSPN)
			wantUser(t, id, err, otherSPN)
		})
	}
}
