package httpauth

import (
	"fmt"
	"net/http"
	"testing"
)

// TestIdentityAuthorization (issue 14): the handler's IdentityFromContext carries the
// whole identity, its authorization data included: with Negotiate/Kerberos from the
// package's KDC, a verified PAC with alice's SID and groups (ownPAC) and its token; with
// NTLM, plainly none. (MIT's PAC without logon information: kerberos's TestPACVerified.)
func TestIdentityAuthorization(t *testing.T) {
	for _, tc := range []struct {
		e2eCase
		want string
	}{
		{e2eCases[2], "authz=PAC token=true user=alice pac=true sid=" + ownPAC.DomainSID + "-1105 admins=true users=true"},
		{e2eCases[1], "authz=none (the package carries no group information) token=false user= pac=false sid= admins=false users=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, tr, _ := e2eSetup(t, tc.e2eCase, nil)
			ts.Config.Handler = ts.auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, _ := IdentityFromContext(r.Context())
				var user string
				var pac bool
				if id.Token != nil {
					user, pac = id.Token.UserName, len(id.Token.PAC) > 0
				}
				fmt.Fprintf(w, "authz=%v token=%v user=%s pac=%v sid=%s admins=%v users=%v", id.Authorization, id.Token != nil, user, pac,
					id.UserSID, id.Token.IsMember(ownPAC.DomainSID+"-512"), id.Token.IsMember(ownPAC.DomainSID+"-513"))
			}))
			resp, got, err := get(t, tr, "GET", localURL(ts), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || got != tc.want {
				t.Fatalf("status %d, body %q, want %q", resp.StatusCode, got, tc.want)
			}
		})
	}
}
