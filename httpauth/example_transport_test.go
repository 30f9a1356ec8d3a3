package httpauth_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/httpauth"
	"github.com/gosspi/sspi/ntlm"
)

// An HTTP client that authenticates with Negotiate (here with NTLM inside, as IIS without
// a keytab does) just by using a Transport: the 401, the legs of the handshake on one
// connection and the replay of the request body are the Transport's business.
func ExampleTransport() {
	// A server with the middleware and one NTLM account, to talk to.
	accounts, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := httpauth.NewServer(httpauth.Config{
		NTLM:   &ntlm.ServerConfig{Accounts: accounts},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	srv := httptest.NewUnstartedServer(auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.IdentityFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "hello %s, you sent %q", id.Principal, body)
	})))
	auth.Install(srv.Config)
	srv.Start()
	defer srv.Close()

	// The client.
	tr := &httpauth.Transport{Identity: &sspi.AuthIdentity{
		User: "alice", Domain: "EXAMPLE", Password: "Passw0rd!",
		PackageList: "NTLM", // no Kerberos here: Negotiate goes straight to NTLM
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("some data"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 hello EXAMPLE\alice, you sent "some data"
}
