package sockauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
	"github.com/gosspi/sspi/sockauth"
)

// A server that authenticates NTLM clients against an account store, and a client that
// authenticates to it, reads the sealed greeting, and has a message echoed back.
func Example() {
	// The server's side: an account, inbound credentials, a listener.
	var accounts ntlm.FileAccountStore
	if err := accounts.Add(ntlm.AccountFromPassword("EXAMPLE", "alice", "s3cret-Passw0rd")); err != nil {
		log.Fatal(err)
	}
	scred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredInbound, nil, &ntlm.ServerConfig{Accounts: &accounts}, nil)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &sockauth.Server{Credentials: scred, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	// The client's side.
	ccred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "s3cret-Passw0rd"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	cl := &sockauth.Client{Credentials: ccred, Messages: true}
	c, err := cl.Dial(context.Background(), l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	greeting, err := c.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s as %s, %s: %s\n", c.Package(), c.Identity().Principal, c.Protection(), greeting)
	c.WriteMessage([]byte("ping"))
	echo, _ := c.ReadMessage()
	fmt.Printf("echo: %s\n", echo)
	fmt.Println("mutual authentication:", c.Attributes().Has(sspi.ISCRetMutualAuth))
	// Output:
	// NTLM as EXAMPLE\alice, seal: This is your server speaking
	// echo: ping
	// mutual authentication: false
}
