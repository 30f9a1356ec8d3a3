package sshgss

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/gosspi/sspi"
	_ "github.com/gosspi/sspi/ntlm"
)

// tamperingClient is a man in the middle on the client's side of gssapi-with-mic: it
// rewrites the MIC field or the MIC token the real Client produces.
type tamperingClient struct {
	*Client
	field func([]byte) []byte
	token func([]byte) []byte
}

func (c *tamperingClient) GetMIC(micField []byte) ([]byte, error) {
	if c.field != nil {
		micField = c.field(append([]byte(nil), micField...))
	}
	mic, err := c.Client.GetMIC(micField)
	if err == nil && c.token != nil {
		mic = c.token(mic)
	}
	return mic, err
}

// Our Client against our Server through x/crypto/ssh: the login works, the server sees
// the client's principal, and every rewrite of the MIC, a login as another user and a
// ticket for a principal the server has no key for are refused.
func TestClientServer(t *testing.T) {
	kdc := ownKDC(t)
	ccred := clientCred(t, kdc.KDC)
	srv := startGoServer(t, serverCred(t, kdc.KeytabFor(t, "host/localhost")), nil)
	principal := kdc.Principal(sshUser)

	newClient := func(cfg *ClientConfig) *Client {
		c, err := NewClient(ccred, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name      string
		user      string
		client    ssh.GSSAPIClient
		wantOut   string
		serverErr string // in NewServerConn's error, when the login must fail
	}{
		{name: "login", user: sshUser, client: newClient(nil), wantOut: principal + " ran whoami\n"},
		{name: "delegation asked", user: sshUser, client: newClient(&ClientConfig{Delegate: true}), wantOut: principal + " ran whoami\n"},
		{name: "explicit target", user: sshUser, client: newClient(&ClientConfig{Target: "host/localhost@" + kdc.Realm}), wantOut: principal + " ran whoami\n"},
		{name: "AllowLogin refuses another user", user: "root", client: newClient(nil), serverErr: "may not log in as root"},
		{name: "MIC over another session's data", user: sshUser, serverErr: "SEC_E_MESSAGE_ALTERED",
			client: &tamperingClient{Client: newClient(nil), field: func(b []byte) []byte { b[4] ^= 1; return b }}},
		{name: "MIC token altered", user: sshUser, serverErr: "SEC_E_",
			client: &tamperingClient{Client: newClient(nil), token: func(b []byte) []byte { b[len(b)-1] ^= 1; return b }}},
		{name: "ticket for a principal the server has no key for", user: sshUser, serverErr: "SEC_E_",
			client: newClient(&ClientConfig{Target: "host/otherhost"})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCommand(srv.addr, tt.user, ssh.GSSAPIWithMICAuthMethod(tt.client, "localhost"), srv.hostKey.PublicKey(), "whoami")
			serr := srv.result(t)
			if tt.serverErr == "" {
				if err != nil {
					t.Fatalf("login: %v (server: %v)", err, serr)
				}
				if out != tt.wantOut {
					t.Fatalf("output %q, want %q", out, tt.wantOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("login succeeded with output %q; want a refusal", out)
			}
			if serr == nil || !strings.Contains(serr.Error(), tt.serverErr) {
				t.Fatalf("server: %v; want an error containing %q", serr, tt.serverErr)
			}
		})
	}
	if got := srv.loginNames(); len(got) == 0 || got[0] != principal {
		t.Fatalf("AllowLogin saw %q; want %q first", got, principal)
	}
}

// The GSSAPIClient and GSSAPIServer methods directly, as x/crypto/ssh calls them: the
// handshake, the MIC both ways round, the refusals of calls out of order and of a second
// connection sharing one Server, and reuse after DeleteSecContext.
func TestDirect(t *testing.T) {
	kdc := ownKDC(t)
	ccred := clientCred(t, kdc.KDC)
	scred := serverCred(t, kdc.KeytabFor(t, "host/localhost"))
	c1, err := NewClient(ccred, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := NewClient(ccred, nil)
	s, err := NewServer(scred)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.GetMIC([]byte("x")); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("GetMIC before the handshake: %v, want SEC_E_INVALID_HANDLE", err)
	}
	if err := s.VerifyMIC([]byte("x"), []byte("y")); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("VerifyMIC before the handshake: %v, want SEC_E_INVALID_HANDLE", err)
	}
	if _, _, err := c1.InitSecContext("host@localhost", []byte{1}, false); !errors.Is(err, sspi.ErrInvalidToken) {
		t.Fatalf("a reply with no handshake: %v, want SEC_E_INVALID_TOKEN", err)
	}
	for round := 0; round < 2; round++ { // the second round reuses all three after DeleteSecContext
		directRound(t, kdc.Principal(sshUser), c1, c2, s)
	}
}

// directRound is one handshake of TestDirect: c1 with s, with c2 trying to share s.
func directRound(t *testing.T, principal string, c1, c2 *Client, s *Server) {
	t.Helper()
	apReq, more, err := c1.InitSecContext("host@localhost", nil, false)
	if err != nil || !more || len(apReq) == 0 || apReq[0] != 0x60 {
		t.Fatalf("first InitSecContext: %d bytes, continue %v, %v", len(apReq), more, err)
	}
	apRep, name, more, err := s.AcceptSecContext(apReq)
	if err != nil || more || name != principal {
		t.Fatalf("AcceptSecContext: name %q, continue %v, %v", name, more, err)
	}
	// A second connection sharing the Server is refused, and the first one's context
	// survives it.
	other, _, _ := c2.InitSecContext("host@localhost", nil, false)
	if _, _, _, err := s.AcceptSecContext(other); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("second handshake on a busy Server: %v, want SEC_E_INVALID_HANDLE", err)
	}
	c2.DeleteSecContext()
	out, more, err := c1.InitSecContext("host@localhost", apRep, false)
	if err != nil || more || len(out) != 0 {
		t.Fatalf("second InitSecContext: %d bytes, continue %v, %v", len(out), more, err)
	}
	field := []byte("\x00\x00\x00\x04sess2\x05alice")
	mic, err := c1.GetMIC(field)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyMIC(field, mic); err != nil {
		t.Fatalf("VerifyMIC: %v", err)
	}
	if id, ok := s.Identity(); !ok || id.Principal != name || !strings.HasPrefix(id.Server, "host/localhost@") {
		t.Fatalf("Identity %+v, %v", id, ok)
	}
	for _, del := range []func() error{c1.DeleteSecContext, c1.DeleteSecContext, s.DeleteSecContext, s.DeleteSecContext} {
		if err := del(); err != nil {
			t.Fatalf("DeleteSecContext: %v", err)
		}
	}
	if err := s.VerifyMIC(field, mic); !errors.Is(err, sspi.ErrInvalidHandle) {
		t.Fatalf("VerifyMIC after DeleteSecContext: %v", err)
	}
}

// Credentials of another package are refused up front: an SSH peer offered the Kerberos
// mechanism would not understand their tokens.
func TestWrongCredentials(t *testing.T) {
	ntlmCred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(ntlmCred)
	if _, err := NewClient(ntlmCred, nil); !errors.Is(err, sspi.ErrSecPkgNotFound) {
		t.Fatalf("NewClient with NTLM credentials: %v", err)
	}
	if _, err := NewServer(ntlmCred); !errors.Is(err, sspi.ErrSecPkgNotFound) {
		t.Fatalf("NewServer with NTLM credentials: %v", err)
	}
	if _, err := NewClient(nil, nil); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Fatalf("NewClient(nil): %v", err)
	}
	if testing.Short() {
		return
	}
	kdc := ownKDC(t)
	if _, err := NewServer(clientCred(t, kdc.KDC)); !errors.Is(err, sspi.ErrNoCredentials) {
		t.Fatalf("NewServer with outbound credentials: %v", err)
	}
}
