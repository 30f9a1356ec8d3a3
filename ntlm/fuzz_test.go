package ntlm

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
)

// FuzzServer feeds hostile bytes to the acceptor as the first and as the second token:
// it must refuse them with a status, never panic, and never authenticate.
func FuzzServer(f *testing.F) {
	scred := serverCreds(f, ServerConfig{})
	ccred := clientCredsFor(f, ClientConfig{User: `EXAMPLE\alice`, Password: "wrong"})
	x, _ := run(f, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	f.Add(x.negotiate, x.authMsg)
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"), []byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		s := sspi.NewServerContext(scred, sspi.ServerOptions{})
		if _, err := s.Step(first); err != nil {
			checkRefusal(t, err)
			return
		}
		_, err := s.Step(second)
		if err == nil {
			t.Fatalf("hostile AUTHENTICATE authenticated: %x", second)
		}
		checkRefusal(t, err)
	})
}

// FuzzClient feeds hostile bytes to the initiator as the CHALLENGE.
func FuzzClient(f *testing.F) {
	scred := serverCreds(f, ServerConfig{})
	ccred := clientCredsFor(f, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	x, _ := run(f, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	f.Add(x.challenge)
	f.Add([]byte("NTLMSSP\x00\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, chal []byte) {
		c := sspi.NewClientContext(ccred, sspi.ClientOptions{})
		if _, err := c.Step(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Step(chal); err != nil {
			checkRefusal(t, err)
		}
	})
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	for _, s := range []sspi.Status{sspi.ErrInvalidToken, sspi.ErrLogonDenied, sspi.ErrMessageAltered, sspi.ErrTimeSkew, sspi.ErrUnsupportedFunction, sspi.ErrBadBindings} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("refused with an unexpected status: %v", err)
}
