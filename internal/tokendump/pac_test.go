package tokendump

import (
	"bytes"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// The PAC test vectors of internal/krb5/pac: a whole PAC a Windows AD KDC issued to
// testuser1@TEST.GOKRB5 for sysHTTP (logon info, UPN_DNS_INFO, client info, signatures)
// and the service key that signed it.
const (
	adPAC    = "../krb5/pac/testdata/ad-pac.bin"
	adKeytab = "../krb5/pac/testdata/ad-syshttp.keytab"
)

var adAuthTime = time.Date(2017, 5, 6, 15, 53, 11, 0, time.UTC)

// adAPReq wraps pacData in a ticket for sysHTTP@TEST.GOKRB5 encrypted in the keytab's key
// (so the PAC sits where a KDC puts it: AD-WIN2K-PAC in AD-IF-RELEVANT) and an
// AP-REQ with an authenticator, as a client would send it.
func adAPReq(t *testing.T, kt *keytab.Keytab, pacData []byte, client string) []byte {
	t.Helper()
	ent := kt.Entries[0]
	svcKey, err := krbcrypto.NewKey(krbcrypto.EType(ent.Key.Type), ent.Key.Value)
	if err != nil {
		t.Fatal(err)
	}
	sessionBytes := make([]byte, 32)
	rand.Read(sessionBytes)
	session, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, sessionBytes)
	pacAD, err := wire.MarshalAuthorizationData([]wire.AuthorizationData{{Type: 128, Data: pacData}})
	if err != nil {
		t.Fatal(err)
	}
	cname := wire.PrincipalName{Type: 1, Components: []string{client}}
	part := wire.EncTicketPart{
		Key: wire.EncryptionKey{Type: int32(krbcrypto.AES256CTSHMACSHA196), Value: sessionBytes}, CRealm: "TEST.GOKRB5", CName: cname,
		AuthTime: adAuthTime, EndTime: adAuthTime.Add(10 * time.Hour),
		AuthData: []wire.AuthorizationData{{Type: wire.ADIfRelevant, Data: pacAD}},
	}
	plain, err := part.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	encPart, err := svcKey.Encrypt(nil, plain, usageTicket, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := wire.Authenticator{CRealm: "TEST.GOKRB5", CName: cname, CTime: adAuthTime.Add(time.Minute)}
	plain, err = auth.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	encAuth, err := session.Encrypt(nil, plain, usageAuthenticator, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	req := wire.APReq{
		Ticket: wire.Ticket{Realm: ent.Realm, SName: ent.Principal,
			EncPart: wire.EncryptedData{EType: ent.Key.Type, KVNO: ent.KVNO, HasKVNO: true, Cipher: encPart}},
		Authenticator: wire.EncryptedData{EType: int32(krbcrypto.AES256CTSHMACSHA196), Cipher: encAuth},
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A PAC in a ticket the keytab decrypts is decoded (the user's and groups' SIDs, names,
// UPN_DNS_INFO, client info, signature types) and its server signature checked with the
// key that decrypted the ticket: it verifies as issued, not when a byte of the logon info
// was changed, and the client info is compared with the ticket's client.
func TestPACInTicket(t *testing.T) {
	raw, err := os.ReadFile(adPAC)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := LoadKeytab(adKeytab)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(raw)
	// A byte of the logon info's LogonTime (after the NDR common and private headers and
	// the referent).
	tampered[bytes.Index(raw, []byte{0x01, 0x10, 0x08, 0x00})+24] ^= 1
	for _, tt := range []struct {
		name, client string
		pac          []byte
		want         map[string]string
	}{
		{"as issued", "testuser1", raw, map[string]string{
			"effectiveName":             "testuser1",
			"fullName":                  "Test1 User1",
			"logonDomainName":           "TEST",
			"logonServer":               "ADDC",
			"user":                      "S-1-5-21-3167651404-3865080224-2280184895-1105 (RID 1105)",
			"primaryGroup":              "S-1-5-21-3167651404-3865080224-2280184895-513 (RID 513)",
			"upn":                       "testuser1@test.gokrb5",
			"dnsDomainName":             "TEST.GOKRB5",
			"name":                      "testuser1",
			"server signature":          "type 16 (hmac-sha1-96-aes256), (12 bytes) 1e251d98d552be7df384f550",
			"KDC signature":             "type -138 (hmac-md5 (rc4)), ",
			"matches the ticket":        "yes (client name and authtime)",
			"server signature verified": "yes, with the key that decrypted the ticket",
		}},
		{"logon info altered", "testuser1", tampered, map[string]string{
			"server signature verified": "NO: the server signature does not match: the PAC was altered or not made for this service's key",
		}},
		{"another client's ticket", "testuser2", raw, map[string]string{
			"matches the ticket":        `no: pac: the PAC's client info names "testuser1"`,
			"server signature verified": "yes, with the key that decrypted the ticket",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := Decode(adAPReq(t, kt, tt.pac, tt.client), &Options{Keytab: kt})
			var text bytes.Buffer
			n.WriteText(&text)
			for k, want := range tt.want {
				got, ok := find(n, k)
				if !ok || !strings.HasPrefix(got, want) {
					t.Errorf("%s = %q (found %v), want prefix %q\n%s", k, got, ok, want, text.String())
				}
			}
			if tt.name == "as issued" {
				// Five domain groups and two extra SIDs, every one listed.
				for i := range 7 {
					if _, ok := find(n, "group "+string(rune('0'+i))); !ok {
						t.Errorf("group %d missing\n%s", i, text.String())
					}
				}
				compareGolden(t, "testdata/golden/ad-pac-ticket.txt", text.Bytes())
			}
		})
	}
}

// A PAC decoded outside a ticket this tool decrypted (no key) is decoded but not called
// verified; Options.PAC still replaces the decoding.
func TestPACWithoutKey(t *testing.T) {
	raw, err := os.ReadFile(adPAC)
	if err != nil {
		t.Fatal(err)
	}
	root := &Node{}
	d := &builder{n: root, b: &budget{fields: maxFields}, opts: &Options{}}
	d.pac(d, raw)
	if v, _ := find(root, "server signature verified"); !strings.HasPrefix(v, "no: the PAC is not in a ticket") {
		t.Errorf("verified = %q", v)
	}
	if v, _ := find(root, "effectiveName"); v != "testuser1" {
		t.Errorf("effectiveName = %q", v)
	}
	called := false
	d = &builder{n: &Node{}, b: &budget{fields: maxFields}, opts: &Options{PAC: func(*Builder, []byte) { called = true }}}
	d.pac(d, raw)
	if !called {
		t.Error("Options.PAC not called")
	}
	// A PAC the strict parser refuses is still listed, with the reason.
	bad := bytes.Clone(raw)
	bad[4] = 1 // version
	root = &Node{}
	d = &builder{n: root, b: &budget{fields: maxFields}, opts: &Options{}}
	d.pac(d, bad)
	if v, _ := find(root, "buffer 0"); v == "" || !strings.Contains(root.Error, "version 1") {
		t.Errorf("buffer 0 %q, error %q", v, root.Error)
	}
}
