package sspi_test

import (
	"fmt"
	"log"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// A client and a server authenticate with NTLM through the Go-shaped layer, then
// exchange a sealed message. The README shows this function's body as its program, and
// TestREADMEGoSnippets keeps the two the same.
func Example() {
	// The server's side: an account store and inbound credentials.
	var accounts ntlm.FileAccountStore
	if err := accounts.Add(ntlm.AccountFromPassword("EXAMPLE", "alice", "Passw0rd!")); err != nil {
		log.Fatal(err)
	}
	// The server goes by server.example.com, the name the client targets: an NTLM client
	// answers a challenge from a server in its own process only then (reflection check).
	serverCred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredInbound, nil,
		&ntlm.ServerConfig{Accounts: &accounts, NetBIOSDomain: "EXAMPLE", NetBIOSComputer: "SERVER", DNSDomain: "example.com"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	server := sspi.NewServerContext(serverCred, sspi.ServerOptions{})

	// The client's side: a user name and password, and the server's SPN.
	clientCred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	client := sspi.NewClientContext(clientCred, sspi.ClientOptions{Target: "host/server.example.com"})

	// The token loop. In a real program each token travels over a connection.
	var toServer, toClient []byte
	for !client.Established() || !server.Established() {
		if toServer, err = client.Step(toClient); err != nil {
			log.Fatal(err)
		}
		if len(toServer) == 0 {
			break
		}
		if toClient, err = server.Step(toServer); err != nil {
			log.Fatal(err)
		}
	}
	id, _ := server.Identity()
	fmt.Println("server sees:", id.Principal, "via", id.Package)
	fmt.Println("confidentiality:", server.Attributes().Has(sspi.ASCRetConfidentiality))

	// A sealed message, from the server to the client.
	sealed, err := server.Wrap([]byte("welcome, alice"))
	if err != nil {
		log.Fatal(err)
	}
	plain, err := client.Unwrap(sealed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("client reads: %s\n", plain)
	// Output:
	// server sees: EXAMPLE\alice via NTLM
	// confidentiality: true
	// client reads: welcome, alice
}

// The SSPI-shaped calls, as code ported from Windows makes them: caller-sized buffers,
// statuses as values, failures as errors carrying their SEC_E_ code.
func ExampleInitializeSecurityContext() {
	cred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: "alice", Domain: "EXAMPLE", Password: "Passw0rd!"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	info, _ := sspi.QuerySecurityPackageInfo("NTLM")
	out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, info.MaxToken)}}
	ctx, status, err := sspi.InitializeSecurityContext(cred, nil, "host/server.example.com",
		sspi.ISCReqConfidentiality|sspi.ISCReqIntegrity, sspi.NativeDataRep, nil, out)
	if err != nil {
		log.Fatal(err)
	}
	defer sspi.DeleteSecurityContext(ctx)
	fmt.Println(status, len(out[0].Data), "bytes to send")

	// A garbled reply is refused with SEC_E_INVALID_TOKEN.
	in := []sspi.Buffer{{Type: sspi.BufferToken, Data: []byte("not a CHALLENGE")}}
	_, _, err = sspi.InitializeSecurityContext(cred, ctx, "host/server.example.com", 0, sspi.NativeDataRep, in, out)
	fmt.Println(sspi.StatusOf(err))
	// Output:
	// SEC_I_CONTINUE_NEEDED 40 bytes to send
	// SEC_E_INVALID_TOKEN
}
