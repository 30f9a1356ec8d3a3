package winrm_test

import (
	"fmt"
	"log"

	"github.com/gosspi/sspi"
	sspiwinrm "github.com/gosspi/sspi/winrm"
	"github.com/masterzen/winrm"
)

// Run a command on a Windows host over plain HTTP, authenticated with NTLM or Kerberos
// (Negotiate) and every message sealed.
func Example() {
	params := *winrm.DefaultParameters
	params.TransportDecorator = func() winrm.Transporter {
		return &sspiwinrm.Transport{Identity: &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}}
	}
	endpoint := winrm.NewEndpoint("host.example.com", 5985, false, false, nil, nil, nil, 0)
	client, err := winrm.NewClientWithParameters(endpoint, "", "", &params)
	if err != nil {
		log.Fatal(err)
	}
	stdout, _, code, err := client.RunWithString("hostname", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(code, " ", stdout)
}
