package credssp

import (
	"context"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

const (
	testUser     = "alice"
	testDomain   = "EXAMPLE"
	testPassword = "Passw0rd!"
	testTarget   = "TERMSRV/rdp.example.com"
)

// testSPK stands for a TLS server's SubjectPublicKey in message-layer tests.
var testSPK = []byte("\x30\x82\x01\x0a\x02\x82\x01\x01\x00 a test RSA public key")

func testStore(t testing.TB) ntlm.AccountStore {
	t.Helper()
	s, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\nEXAMPLE:bob:Bobs-Passw0rd\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ntlmServerConfig(t testing.TB) *ntlm.ServerConfig {
	return &ntlm.ServerConfig{Accounts: testStore(t), NetBIOSComputer: "RDP", NetBIOSDomain: testDomain, DNSComputer: "rdp.example.com", DNSDomain: "example.com"}
}

// serverConfig is a server with NTLM inside Negotiate, as FreeRDP and Windows without a
// domain run it.
func serverConfig(t testing.TB) Config {
	return Config{Negotiate: &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: ntlmServerConfig(t)}}}
}

// clientConfig is alice with her password, allowed to delegate to the test target even
// though NTLM does not authenticate the server.
func clientConfig() Config {
	return Config{
		Negotiate:          &sspi.AuthIdentity{User: testDomain + `\` + testUser, Password: testPassword},
		DelegateToNTLMOnly: []string{"TERMSRV/*"},
	}
}

func innerCreds(t testing.TB, use sspi.CredentialUse, cfg Config) *credentials {
	t.Helper()
	c, err := acquireInner(&sspi.CredentialsRequest{Use: use, AuthData: &cfg, Context: context.Background()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// msgPair is a client and a server handshake at the message layer (no TLS), both bound
// to testSPK unless a test changes one.
type msgPair struct {
	c *clientHandshake
	s *serverHandshake
}

const defaultReq = sspi.ISCReqDelegate | sspi.ISCReqConnection | sspi.ISCReqExtendedError

func newMsgPair(t testing.TB, ccfg, scfg Config, req sspi.ContextReq) *msgPair {
	t.Helper()
	c, err := newClientHandshake(innerCreds(t, sspi.CredOutbound, ccfg), testTarget, req, testSPK)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServerHandshake(innerCreds(t, sspi.CredInbound, scfg), testSPK)
	if err != nil {
		t.Fatal(err)
	}
	c.gctx, s.gctx = context.Background(), context.Background()
	return &msgPair{c: c, s: s}
}

// rewrite lets a test play the man in the middle: it sees every message and may return
// another. dir is "c2s" or "s2c"; n counts messages in that direction from 0.
type rewrite func(dir string, n int, msg []byte) []byte

// run drives both sides to the end. It returns the last statuses and errors; a failure
// on one side stops the exchange.
func (p *msgPair) run(t testing.TB, mitm rewrite) (cerr, serr error) {
	t.Helper()
	var toServer, toClient []byte
	var cst, sst sspi.Status
	nc, ns := 0, 0
	for i := 0; i < 12; i++ {
		var err error
		toServer, cst, err = p.c.step(toClient)
		if err != nil {
			return err, nil
		}
		if toServer == nil && cst == sspi.OK {
			return nil, nil
		}
		if mitm != nil && toServer != nil {
			toServer = mitm("c2s", nc, toServer)
		}
		nc++
		if sst == sspi.OK && p.s.state == serverDone {
			t.Fatalf("client sent after the server finished")
		}
		toClient, sst, err = p.s.step(toServer)
		if err != nil {
			return nil, err
		}
		if mitm != nil && toClient != nil {
			toClient = mitm("s2c", ns, toClient)
		}
		ns++
		if cst == sspi.OK {
			if toClient != nil && !p.c.creds.cfg.EarlyUserAuthResult {
				t.Fatalf("server sent %d bytes after the client finished", len(toClient))
			}
			if toClient == nil {
				return nil, nil
			}
		}
	}
	t.Fatal("handshake did not finish in 12 round trips")
	return nil, nil
}
