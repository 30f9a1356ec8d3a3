package kerberos

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/ndr"
	"github.com/gosspi/sspi/negotiate"
)

// serviceKeyFor returns the keytab's key of type et for host/localhost.
func serviceKeyFor(t *testing.T, path string, et int32) *krbcrypto.Key {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := kt.Find(wire.PrincipalName{Type: 2, Components: strings.Split(testSPN, "/")}, testRealm, 0, et)
	if !ok {
		t.Fatalf("no key of type %d for %s", et, testSPN)
	}
	k, err := krbcrypto.NewKey(krbcrypto.EType(et), e.Key.Value)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rewriteTicket is the attacker who holds the service's key: it decrypts the ticket of a
// framed AP-REQ, lets edit change the EncTicketPart (its authorization data, the PAC), and
// encrypts it again with the same key, so that the ticket itself decrypts and checks out.
func rewriteTicket(t *testing.T, tok []byte, keytabPath string, edit func(*wire.EncTicketPart, *krbcrypto.Key)) []byte {
	t.Helper()
	_, msg, err := parseGSSFramed(tok)
	if err != nil {
		t.Fatal(err)
	}
	var req wire.APReq
	if err := req.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	key := serviceKeyFor(t, keytabPath, req.Ticket.EncPart.EType)
	plain, err := key.Decrypt(nil, req.Ticket.EncPart.Cipher, usageTicket)
	if err != nil {
		t.Fatal(err)
	}
	var part wire.EncTicketPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	edit(&part, key)
	plain, err = part.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	conf := bytes.Repeat([]byte{7}, key.EType().ConfounderSize())
	cipher, err := key.Usage(usageTicket).Seal(nil, plain, conf)
	if err != nil {
		t.Fatal(err)
	}
	req.Ticket.Raw = nil
	req.Ticket.EncPart.Cipher = cipher
	out, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return appendGSSFramed(nil, tokAPReq, out)
}

// editPAC applies f to the raw PAC inside the ticket's AD-IF-RELEVANT.
func editPAC(t *testing.T, part *wire.EncTicketPart, f func(raw []byte) []byte) {
	t.Helper()
	raw, ok, err := pac.Find(part.AuthData)
	if err != nil || !ok {
		t.Fatalf("the ticket has no PAC: %v", err)
	}
	ad, err := pac.AuthorizationData(f(bytes.Clone(raw)))
	if err != nil {
		t.Fatal(err)
	}
	part.AuthData = []wire.AuthorizationData{ad}
}

func forgedInfo(t *testing.T) *pac.ValidationInfo {
	dom, err := ndr.ParseSID("S-1-5-21-1000-2000-3000")
	if err != nil {
		t.Fatal(err)
	}
	return &pac.ValidationInfo{
		EffectiveName: "alice", FullName: "Alice Example", LogonDomainName: "GOSSPI", LogonServer: "DC1",
		LogoffTime: pac.FileTimeOf(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), KickOffTime: pac.NeverTime,
		UserID: 1104, PrimaryGroupID: 513, LogonDomainID: &dom,
		GroupIDs:  []pac.GroupMembership{{RID: 513, Attributes: 7}, {RID: 512, Attributes: 7}},
		UserFlags: pac.UserFlagExtraSIDs, ExtraSIDs: []pac.SIDAndAttributes{{SID: ndr.SID{Revision: 1, Authority: [6]byte{0, 0, 0, 0, 0, 18}, SubAuthorities: []uint32{1}}, Attributes: 7}},
	}
}

// TestPACVerified (issue 14): the acceptor verifies the PAC in every ticket with the key
// that decrypted the ticket and ties it to the ticket's client. The attacker holds the
// service key (or sits where tickets are re-encrypted) and rewrites the ticket's PAC: a
// flipped byte, a PAC signed for another client or another logon, two PACs, garbage. Each
// is refused with SEC_E_LOGON_DENIED and a cause; an unaltered MIT ticket and a ticket
// without PAC are accepted and marked.
func TestPACVerified(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	flip := func(part *wire.EncTicketPart, _ *krbcrypto.Key) {
		editPAC(t, part, func(raw []byte) []byte {
			p, err := pac.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range p.Buffers {
				if b.Type == pac.TypeClientInfo {
					raw[b.Offset+10] ^= 0x20 // "alice" becomes "Alice": the signature breaks
				}
			}
			return raw
		})
	}
	resign := func(name string, authShift time.Duration) func(*wire.EncTicketPart, *krbcrypto.Key) {
		return func(part *wire.EncTicketPart, key *krbcrypto.Key) {
			kdcKey, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, make([]byte, 32))
			raw, err := pac.Build(&pac.Contents{ClientName: name, AuthTime: part.AuthTime.Add(authShift)}, key, kdcKey)
			if err != nil {
				t.Fatal(err)
			}
			ad, _ := pac.AuthorizationData(raw)
			part.AuthData = []wire.AuthorizationData{ad}
		}
	}
	for _, tc := range []struct {
		name       string
		edit       func(*wire.EncTicketPart, *krbcrypto.Key)
		requirePAC bool
		want       string // "" accepted
		authz      sspi.AuthorizationSource
	}{
		{"as-issued", nil, false, "", sspi.AuthzPACWithoutLogonInfo},
		{"as-issued-pac-required", nil, true, "", sspi.AuthzPACWithoutLogonInfo},
		{"pac-byte-flipped", flip, false, "fails verification", 0},
		{"pac-for-bob", resign("bob", 0), false, "another logon", 0},
		{"pac-for-another-logon", resign(testUser, time.Hour), false, "another logon", 0},
		{"pac-resigned-same-client", resign(testUser, 0), false, "", sspi.AuthzPACWithoutLogonInfo},
		{"two-pacs", func(part *wire.EncTicketPart, _ *krbcrypto.Key) {
			part.AuthData = append(part.AuthData, part.AuthData...)
		}, false, "unusable authorization data", 0},
		{"garbage-pac", func(part *wire.EncTicketPart, _ *krbcrypto.Key) {
			editPAC(t, part, func([]byte) []byte { return []byte("not a PAC") })
		}, false, "malformed PAC", 0},
		{"no-pac", func(part *wire.EncTicketPart, _ *krbcrypto.Key) { part.AuthData = nil }, false, "", sspi.AuthzNoPAC},
		{"no-pac-required", func(part *wire.EncTicketPart, _ *krbcrypto.Key) { part.AuthData = nil }, true, "requires one", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := testServerCreds(t, k, ServerConfig{RequirePAC: tc.requirePAC})
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			tok, err := cli.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tok = rewriteTicket(t, tok, k.Keytab, tc.edit)
			}
			_, err = srv.Step(tok)
			if tc.want != "" {
				if !errors.Is(err, sspi.ErrLogonDenied) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want SEC_E_LOGON_DENIED with %q", err, tc.want)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := srv.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.Authorization != tc.authz || id.UserSID != "" || id.GroupSIDs() != nil {
				t.Fatalf("Authorization %v, UserSID %q, groups %v", id.Authorization, id.UserSID, id.GroupSIDs())
			}
			if tc.authz == sspi.AuthzNoPAC {
				if id.Token != nil {
					t.Fatalf("a ticket without PAC has a token: %+v", id.Token)
				}
				return
			}
			// MIT's PAC names the client and carries no SIDs.
			if id.Token == nil || id.Token.UserName != testUser || id.Token.LogonDomain != testRealm || len(id.Token.PAC) == 0 || id.Token.Source != tc.authz {
				t.Fatalf("token %+v", id.Token)
			}
		})
	}
}

// TestPACAccessToken: a PAC with logon information (built here and signed with the
// service key, as a Windows or Samba KDC would) gives the identity its SIDs and groups,
// and QueryContextAttributes answers SECPKG_ATTR_ACCESS_TOKEN, _LOGOFF_TIME and _NAMES,
// directly and through Negotiate.
func TestPACAccessToken(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	info := forgedInfo(t)
	withInfo := func(part *wire.EncTicketPart, key *krbcrypto.Key) {
		kdcKey, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, make([]byte, 32))
		raw, err := pac.Build(&pac.Contents{LogonInfo: info, ClientName: testUser, AuthTime: part.AuthTime,
			UPNDNSInfo: &pac.UPNDNSInfo{UPN: "alice@gosspi.test", DNSDomainName: "GOSSPI.TEST"}}, key, kdcKey)
		if err != nil {
			t.Fatal(err)
		}
		ad, _ := pac.AuthorizationData(raw)
		part.AuthData = []wire.AuthorizationData{ad}
	}
	for _, pkg := range []string{PackageName, "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			var authData any = &ServerConfig{Keytab: k.Keytab}
			if pkg == "Negotiate" {
				authData = &negotiate.Config{Mechanisms: []string{PackageName}, Credentials: map[string]any{PackageName: authData}}
			}
			sc, err := serverCredsFor(t, pkg, "", authData)
			if err != nil {
				t.Fatal(err)
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			tok, err := cli.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Step(rewriteTicket(t, tok, k.Keytab, withInfo)); err != nil {
				t.Fatal(err)
			}
			checkToken(t, srv)
		})
	}
}

func checkToken(t *testing.T, srv *sspi.ServerContext) {
	t.Helper()
	id, err := srv.Identity()
	if err != nil {
		t.Fatal(err)
	}
	const dom = "S-1-5-21-1000-2000-3000"
	wantGroups := []string{dom + "-513", dom + "-512", "S-1-18-1"}
	if id.Authorization != sspi.AuthzPAC || id.UserSID != dom+"-1104" || strings.Join(id.GroupSIDs(), ",") != strings.Join(wantGroups, ",") {
		t.Fatalf("identity: %v %q %v", id.Authorization, id.UserSID, id.GroupSIDs())
	}
	var tok sspi.AccessToken
	if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.UserName != "alice" || tok.FullName != "Alice Example" || tok.LogonDomain != "GOSSPI" || tok.LogonServer != "DC1" ||
		tok.DomainSID != dom || tok.PrimaryGroupSID != dom+"-513" || tok.UPN != "alice@gosspi.test" || tok.DNSDomain != "GOSSPI.TEST" ||
		!tok.IsMember(dom+"-512") || tok.IsMember(dom+"-519") || !tok.KickoffTime.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	// The token is a copy: changing it changes nothing the next query sees.
	tok.Groups[0].SID = "S-1-1-0"
	var again sspi.AccessToken
	if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &again); err != nil || again.Groups[0].SID != dom+"-513" {
		t.Fatalf("second query: %v %v", err, again.Groups)
	}
	var logoff time.Time
	if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrLogoffTime, &logoff); err != nil || !logoff.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("logoff time %v, %v", logoff, err)
	}
	var names sspi.Names
	if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrNames, &names); err != nil || names.UserName != testUser+"@"+testRealm {
		t.Fatalf("names %+v, %v", names, err)
	}
	var wrong sspi.Names
	if err := sspi.QueryContextAttributes(srv.Handle(), sspi.AttrAccessToken, &wrong); !errors.Is(err, sspi.ErrInvalidParameter) {
		t.Fatalf("wrong out type: %v", err)
	}
}
