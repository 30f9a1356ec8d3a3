package httpauth

import (
	"fmt"
	"net/http"
	"testing"
)

// TestIdentityAuthorization (issue 14): the handler's IdentityFromContext carries the
// whole identity, its authorization data included: with Negotiate/Kerberos from the
// in-process KDC, a verified PAC with the user's SID and groups; with NTLM, plainly none.
func TestIdentityAuthorization(t *testing.T) {
	for _, tc := range []struct {
		e2eCase
		want string
	}{
		{e2eCases[2], "authz=PAC token=true user=alice pac=true sid=" + ownKDCDomainSID + "-1105 admins=true"},
		{e2eCases[1], "authz=none (the package carries no group information) token=false user= pac=false sid= admins=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, tr, _ := e2eSetup(t, tc.e2eCase, nil)
			ts.Config.Handler = ts.auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, _ := IdentityFromContext(r.Context())
				var user string
				var pac, admins bool
				if id.Token != nil {
					user, pac = id.Token.UserName, len(id.Token.PAC) > 0
					admins = id.Token.IsMember(ownKDCDomainSID + "-512") // Domain Admins
				}
				fmt.Fprintf(w, "authz=%v token=%v user=%s pac=%v sid=%s admins=%v", id.Authorization, id.Token != nil, user, pac, id.UserSID, admins)
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
