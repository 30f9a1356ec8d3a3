// Package domaininterop tests NTLM pass-through authentication against a Samba AD domain
// controller: domain users log on with our NTLM client to our acceptor, whose verifier is
// the DC over Netlogon or the DC's winbindd through ntlm_auth. One DC serves the whole
// package (started on first use, stopped by TestMain).
package domaininterop

import (
	"os"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testpeers.StopSharedADDC()
	os.Exit(code)
}
