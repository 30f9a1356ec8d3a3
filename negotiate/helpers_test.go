package negotiate

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/ntlm"
)

// testStore holds EXAMPLE\alice with "Passw0rd!".
func testStore(t testing.TB) ntlm.AccountStore {
	t.Helper()
	s, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ntlmServerConfig(t testing.TB) *ntlm.ServerConfig {
	return &ntlm.ServerConfig{Accounts: testStore(t), NetBIOSComputer: "SERVER", NetBIOSDomain: "EXAMPLE"}
}

func acquire(t testing.TB, use sspi.CredentialUse, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", PackageName, use, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
	return c
}

// serverCreds returns Negotiate acceptor credentials with NTLM (and Kerberos, should a
// Kerberos package be registered and find a keytab).
func serverCreds(t testing.TB, cfg Config) *sspi.Credentials {
	t.Helper()
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]any{NTLM: ntlmServerConfig(t)}
	}
	return acquire(t, sspi.CredInbound, &cfg)
}

func alice() *sspi.AuthIdentity {
	return &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!"}
}

// clientCreds returns Negotiate initiator credentials for alice.
func clientCreds(t testing.TB, cfg *Config) *sspi.Credentials {
	t.Helper()
	if cfg == nil {
		return acquire(t, sspi.CredOutbound, alice())
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]any{NTLM: &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", Workstation: "WS"}}
	}
	return acquire(t, sspi.CredOutbound, cfg)
}

// transcript is one handshake: the tokens in the order sent, client first.
type transcript struct {
	client *sspi.ClientContext
	server *sspi.ServerContext
	tokens [][]byte
}

// handshake runs client against server. tamper, if set, may change each token before it
// is delivered (i counts tokens from 0, the client's first).
func handshake(t testing.TB, ccred, scred *sspi.Credentials, copts sspi.ClientOptions, sopts sspi.ServerOptions, tamper func(i int, tok []byte) []byte) (*transcript, error) {
	t.Helper()
	if copts.Target == "" {
		// Client and server share this process: NTLM's client answers the server's
		// challenge only when the target names the server (reflection protection).
		copts.Target = "host/localhost"
	}
	x := &transcript{client: sspi.NewClientContext(ccred, copts), server: sspi.NewServerContext(scred, sopts)}
	t.Cleanup(func() { x.client.Close(); x.server.Close() })
	var tok []byte
	var err error
	for i := 0; i < 12; i++ {
		if i%2 == 0 {
			if x.client.Established() {
				if len(tok) > 0 {
					t.Fatalf("server sent a token (%x) after the client finished", tok)
				}
				break
			}
			tok, err = x.client.Step(tok)
			if err != nil {
				return x, err
			}
			if len(tok) == 0 {
				if !x.client.Established() {
					t.Fatal("client produced no token but is not established")
				}
				break
			}
		} else {
			tok, err = x.server.Step(tok)
			if err != nil {
				return x, err
			}
			if len(tok) == 0 {
				if !x.server.Established() {
					t.Fatal("server produced no token but is not established")
				}
				break
			}
		}
		if tamper != nil {
			tok = tamper(i, tok)
		}
		x.tokens = append(x.tokens, tok)
	}
	if !x.client.Established() || !x.server.Established() {
		t.Fatalf("handshake ended with client established=%v, server established=%v", x.client.Established(), x.server.Established())
	}
	return x, nil
}

func wantErr(t testing.TB, err error, want sspi.Status, text string) {
	t.Helper()
	if err == nil || !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	if sspi.StatusOf(err) != want {
		t.Fatalf("StatusOf(%v) = %v, want %v", err, sspi.StatusOf(err), want)
	}
	if text != "" && !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q does not mention %q", err, text)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return r
		}
		return -1
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
