package ntlm

import (
	"testing"

	"github.com/gosspi/sspi"
)

// TestIdentityHasNoGroups (issue 14): an NTLM identity checked against an account store
// says plainly that it carries no SIDs or groups, and SECPKG_ATTR_ACCESS_TOKEN answers a
// token with the names and that source, no SIDs.
func TestIdentityHasNoGroups(t *testing.T) {
	client := sspi.NewClientContext(clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}), sspi.ClientOptions{Target: "host/localhost"})
	server := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{})
	defer client.Close()
	defer server.Close()
	neg, _ := client.Step(nil)
	chal, err := server.Step(neg)
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := client.Step(chal)
	if _, err := server.Step(auth); err != nil {
		t.Fatal(err)
	}
	id, err := server.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if id.Authorization != sspi.AuthzNone || id.Authorization.HasGroups() || id.Token != nil || id.UserSID != "" || id.GroupSIDs() != nil {
		t.Fatalf("identity %+v", id)
	}
	var tok sspi.AccessToken
	if err := sspi.QueryContextAttributes(server.Handle(), sspi.AttrAccessToken, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Source != sspi.AuthzNone || tok.UserName != "alice" || tok.LogonDomain != "EXAMPLE" || tok.UserSID != "" || tok.Groups != nil || tok.IsMember("S-1-1-0") {
		t.Fatalf("token %+v", tok)
	}
}
