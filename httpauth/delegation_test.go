package httpauth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
)

// doubleHop is a front service's handler that calls a back-end as the user, with the
// credentials the user delegated (IIS's "double hop"): it answers with what the back-end
// answered, or 403 when the user delegated nothing.
func doubleHop(backURL, backSPN, krb5conf string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sctx, ok := SecurityContextFromContext(r.Context())
		if !ok {
			http.Error(w, "no security context: set Config.KeepSecurityContext", http.StatusInternalServerError)
			return
		}
		user, err := kerberos.DelegatedCredentials(sctx.Handle(), &kerberos.DelegationOptions{Config: krb5conf})
		if errors.Is(err, sspi.ErrNoCredentials) {
			http.Error(w, "delegated nothing: "+err.Error(), http.StatusForbidden)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer sspi.FreeCredentialsHandle(user)
		tr := &Transport{Credentials: []*sspi.Credentials{user}, SPN: backSPN, MutualAuth: MutualRequired}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(backURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		fmt.Fprintf(w, "back-end %d: %s", resp.StatusCode, body)
	})
}

// TestTransportDelegationDoubleHop: our Transport with Delegate authenticates to a front
// service (our middleware with KeepSecurityContext) that the realm trusts for delegation;
// the front's handler gets the user's delegated credentials and reaches a back-end, which
// offers only Negotiate, as the user. Without Delegate, or without a forwardable TGT, or
// to a front the realm does not trust (unless the client ignores that), the handler gets
// no credentials, and the back-end is never reached as the user.
func TestTransportDelegationDoubleHop(t *testing.T) {
	const front, untrusted, back = "HTTP/localhost", "HTTP/untrusted.test", "HTTP/back.test"
	// A KDC of its own: the package's shared one must not trust anyone for delegation.
	k := testkdc.Start(t, testpeers.KDCOptions{Services: []string{front, untrusted, back}})
	if err := k.Server.SetOKAsDelegate(front, true); err != nil {
		t.Fatal(err)
	}
	acceptor := &kerberos.ServerConfig{Keytab: k.Keytab}
	backSrv := startServer(t, Config{Kerberos: acceptor}, nil)
	a, err := NewServer(Config{Kerberos: acceptor, KeepSecurityContext: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	frontSrv := httptestServer(t, a.Handler(doubleHop(backSrv.URL, back, k.Krb5Conf)), a)

	alice := k.Principal(testpeers.KDCUser)
	for _, tc := range []struct {
		name                  string
		delegate, forwardable bool
		spn                   string
		ignoreOK              bool
		want                  string
		bare                  bool // a Kerberos handle: bare Kerberos tokens under Negotiate
	}{
		{"delegated", true, true, front, false, "back-end 200: hello " + alice, false},
		{"not-asked", false, true, front, false, "delegated nothing", false},
		{"not-forwardable", true, false, front, false, "delegated nothing", false},
		{"not-ok-as-delegate", true, true, untrusted, false, "delegated nothing", false},
		{"not-ok-as-delegate-ignored", true, true, untrusted, true, "back-end 200: hello " + alice, false},
		{"bare-kerberos", true, true, front, false, "back-end 200: hello " + alice, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			krb := &kerberos.ClientConfig{Principal: alice, Password: testpeers.KDCPassword, Config: k.Krb5Conf,
				Forwardable: tc.forwardable, IgnoreOKAsDelegate: tc.ignoreOK}
			var creds *sspi.Credentials
			if tc.bare {
				creds = clientCreds(t, kerberos.PackageName, krb)
			} else {
				creds = clientCreds(t, negotiate.PackageName, &negotiate.Config{
					Mechanisms: []string{negotiate.Kerberos}, Credentials: map[string]any{negotiate.Kerberos: krb}})
			}
			tr := &Transport{Credentials: []*sspi.Credentials{creds}, SPN: tc.spn, Delegate: tc.delegate}
			defer tr.CloseIdleConnections()
			resp, body, err := get(t, tr, http.MethodGet, frontSrv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("front answered %d %q, want %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}
