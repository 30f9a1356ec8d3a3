package netlogon

import (
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/ndr"
	"github.com/gosspi/sspi/internal/nrpc"
)

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{DomainControllers: []string{"dc"}, Computer: "WEB1", Password: "x"},
		{DomainControllers: []string{"dc"}, Domain: "D", Password: "x"},
		{Domain: "D", Computer: "WEB1", Password: "x"},
		{DomainControllers: []string{"dc"}, Domain: "D", Computer: "WEB1"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	v, err := New(Config{DNSDomain: "samdom.test", Domain: "samdom", Computer: "web1$", Password: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if d, c := v.TargetNames(); d != "SAMDOM" || c != "WEB1" {
		t.Errorf("TargetNames %q %q", d, c)
	}
	if v.cfg.Password != "" {
		t.Error("the verifier keeps the password")
	}
}

// Validation information becomes the token: the user's SID from the domain SID and RID,
// the groups by RID and the extra SIDs, each once.
func TestResult(t *testing.T) {
	dom, _ := ndr.ParseSID("S-1-5-21-1-2-3")
	extra, _ := ndr.ParseSID("S-1-18-1")
	v := &nrpc.Validation{UPN: "alice@samdom.test", DNSLogonDomainName: "samdom.test"}
	v.EffectiveName, v.LogonDomainName, v.LogonServer = "alice", "SAMDOM", "DC1"
	v.UserID, v.PrimaryGroupID, v.LogonDomainID = 1104, 513, &dom
	v.UserSessionKey = [16]byte{7}
	v.GroupIDs = []pac.GroupMembership{{RID: 513, Attributes: 7}, {RID: 1107, Attributes: 7}, {RID: 513, Attributes: 7}}
	v.ExtraSIDs = []pac.SIDAndAttributes{{SID: extra, Attributes: 7}}
	r := result(v)
	tok := r.Token
	if r.SessionBaseKey[0] != 7 || r.User != "alice" || r.Domain != "SAMDOM" || tok.Source != sspi.AuthzDomainLogon {
		t.Fatalf("%+v", r)
	}
	if tok.UserSID != "S-1-5-21-1-2-3-1104" || tok.PrimaryGroupSID != "S-1-5-21-1-2-3-513" || tok.UPN != "alice@samdom.test" {
		t.Fatalf("token %+v", tok)
	}
	want := []string{"S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-1107", "S-1-18-1"}
	if len(tok.Groups) != len(want) {
		t.Fatalf("groups %+v", tok.Groups)
	}
	for i, g := range tok.Groups {
		if g.SID != want[i] {
			t.Errorf("group %d = %s, want %s", i, g.SID, want[i])
		}
	}
}
