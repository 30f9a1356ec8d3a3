package httpauth_test

import (
	"io"
	"log"
	"net/http"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
	"github.com/gosspi/sspi/kerberos"
)

// The "double hop" as IIS does it: a web front end calls a back-end service as the user
// who signed in, with the Kerberos TGT the user's browser delegated. The realm must trust
// the front end's service account for delegation (OK-AS-DELEGATE; "Trust this computer
// for delegation" in Active Directory), and the client must ask for it (Transport.Delegate,
// a browser's delegation whitelist). (It needs a KDC, so it is compiled, not run.)
func Example_doubleHop() {
	auth, err := httpauth.NewServer(httpauth.Config{
		Kerberos:            &kerberos.ServerConfig{Keytab: "/etc/http.keytab"},
		KeepSecurityContext: true, // the handler needs the context, not only the identity
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sctx, ok := httpauth.SecurityContextFromContext(r.Context())
		if !ok || !sctx.Attributes().Has(sspi.ASCRetDelegate) {
			http.Error(w, "sign in with delegation to see the report", http.StatusForbidden)
			return
		}
		user, err := kerberos.DelegatedCredentials(sctx.Handle(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer sspi.FreeCredentialsHandle(user)
		// The back-end sees the user, not the front end: its own access checks apply.
		// A Kerberos handle answers a back-end's Negotiate challenge too.
		back := &http.Client{Transport: &httpauth.Transport{Credentials: []*sspi.Credentials{user}}}
		resp, err := back.Get("https://reports.example.com/q3")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	srv := &http.Server{Addr: ":443", Handler: auth.Handler(report)}
	auth.Install(srv)
	log.Fatal(srv.ListenAndServeTLS("cert.pem", "key.pem"))
}

// The client side of the double hop: a forwardable TGT, and Delegate on the Transport. The
// Kerberos handle answers Negotiate challenges with bare Kerberos tokens.
func ExampleTransport_delegate() {
	user, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredOutbound, nil,
		&kerberos.ClientConfig{Principal: "alice@EXAMPLE.COM", Password: "...", Forwardable: true}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(user)
	c := &http.Client{Transport: &httpauth.Transport{Credentials: []*sspi.Credentials{user}, Delegate: true}}
	resp, err := c.Get("https://intranet.example.com/report")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}
