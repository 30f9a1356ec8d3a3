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

// A net/http server that authenticates its clients with Negotiate and NTLM, and greets
// them by name. The client side is done by hand here, leg by leg, to show the exchange.
func ExampleServer() {
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
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.IdentityFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Principal)
	})
	srv := httptest.NewUnstartedServer(auth.Handler(hello))
	auth.Install(srv.Config) // per-connection state: ConnContext and ConnState
	srv.Start()
	defer srv.Close()

	// The client: NTLM is connection-bound, so one connection for the whole exchange.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	cred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil,
		&ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cred)
	cctx := sspi.NewClientContext(cred, sspi.ClientOptions{Target: "HTTP/localhost"})
	defer cctx.Close()

	resp := get(client, srv.URL, "")
	fmt.Println(resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	var in []byte
	for resp.StatusCode == http.StatusUnauthorized {
		out, err := cctx.Step(in)
		if err != nil {
			log.Fatal(err)
		}
		resp = get(client, srv.URL, httpauth.FormatHeader("NTLM", out))
		challenges, _ := httpauth.ParseChallenges(resp.Header, httpauth.HeaderWWWAuthenticate)
		fmt.Println(resp.StatusCode, len(challenges))
		if len(challenges) != 1 {
			break
		}
		if in, err = challenges[0].Token(); err != nil {
			log.Fatal(err)
		}
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// 401 [Negotiate NTLM]
	// 401 1
	// 200 0
	// hello EXAMPLE\alice
}

func get(c *http.Client, url, authorization string) *http.Response {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}
