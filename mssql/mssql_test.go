package mssql

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testkdc"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
	"github.com/microsoft/go-mssqldb/integratedauth"
	"github.com/microsoft/go-mssqldb/msdsn"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testkdc.StopShared()
	os.Exit(code)
}

const (
	sqlSPN   = "MSSQLSvc/localhost:1433"
	password = "Passw0rd!"
)

// ntlmAcceptor is a Negotiate server that knows EXAMPLE\alice from an account file in
// gss-ntlmssp's format, as a SQL Server joined to a domain knows its users through the DC.
func ntlmAcceptor(t *testing.T) *sspi.Credentials {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ntlm_users")
	if err := os.WriteFile(path, []byte("EXAMPLE:alice:"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := ntlm.LoadAccountFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return acceptor(t, map[string]any{negotiate.NTLM: &ntlm.ServerConfig{Accounts: store}})
}

func acceptor(t *testing.T, creds map[string]any) *sspi.Credentials {
	t.Helper()
	cred, _, err := sspi.AcquireCredentialsHandle("", negotiate.PackageName, sspi.CredInbound, nil, &negotiate.Config{Credentials: creds}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// dsn is a go-mssqldb URL connection string for the local instance with these parameters.
func dsn(params map[string]string) string {
	q := url.Values{"authenticator": {ProviderName}}
	for k, v := range params {
		q.Set(k, v)
	}
	return (&url.URL{Scheme: "sqlserver", Host: "localhost:1433", RawQuery: q.Encode()}).String()
}

type loginResult struct {
	auth      *Authenticator
	server    *sspi.ServerContext
	legs      int
	clientErr error
	serverErr error
}

// login runs what go-mssqldb's login does with an integrated authenticator (parse the
// connection string, look the provider up by its authenticator parameter, hand it the
// channel bindings, send InitialBytes in LOGIN7, feed every server SSPI token to
// NextBytes), with gosspi's acceptor in SQL Server's place.
func login(t *testing.T, connStr string, cred *sspi.Credentials, clientCB *integratedauth.ChannelBindings, serverCB []byte) loginResult {
	t.Helper()
	cfg, err := msdsn.Parse(connStr)
	if err != nil {
		t.Fatal(err)
	}
	ia, err := integratedauth.GetIntegratedAuthenticator(cfg)
	if err != nil {
		return loginResult{clientErr: err}
	}
	auth, ok := ia.(*Authenticator)
	if !ok {
		t.Fatalf("authenticator=%s gave a %T", ProviderName, ia)
	}
	t.Cleanup(auth.Free)
	if clientCB != nil {
		var epa integratedauth.AuthenticatorWithEPA = auth
		epa.SetChannelBinding(clientCB)
	}
	server := sspi.NewServerContext(cred, sspi.ServerOptions{ChannelBindings: serverCB})
	t.Cleanup(func() { server.Close() })
	r := loginResult{auth: auth, server: server}
	tok, err := auth.InitialBytes()
	for err == nil && len(tok) > 0 && r.legs < 10 {
		r.legs++
		if tok, r.serverErr = server.Step(tok); r.serverErr != nil || len(tok) == 0 {
			break
		}
		tok, err = auth.NextBytes(tok)
	}
	r.clientErr = err
	return r
}

func TestNTLM(t *testing.T) {
	cred := ntlmAcceptor(t)
	for _, tt := range []struct {
		name   string
		params map[string]string
		want   error // the server's refusal, nil for success
	}{
		{name: "Negotiate falls back to NTLM", params: map[string]string{"user id": `EXAMPLE\alice`, "password": password}},
		{name: "NTLM by parameter", params: map[string]string{"user id": `EXAMPLE\alice`, "password": password, PackageParameter: "NTLM"}},
		{name: "wrong password", params: map[string]string{"user id": `EXAMPLE\alice`, "password": "wrong"}, want: sspi.ErrLogonDenied},
		{name: "unknown user", params: map[string]string{"user id": `EXAMPLE\mallory`, "password": password}, want: sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := login(t, dsn(tt.params), cred, nil, nil)
			if r.clientErr != nil {
				t.Fatalf("client: %v", r.clientErr)
			}
			if tt.want != nil {
				if !errors.Is(r.serverErr, tt.want) {
					t.Fatalf("server error %v, want %v", r.serverErr, tt.want)
				}
				return
			}
			if r.serverErr != nil {
				t.Fatalf("server: %v", r.serverErr)
			}
			id, err := r.server.Identity()
			if err != nil || id.Principal != `EXAMPLE\alice` || r.server.Package() != "NTLM" {
				t.Fatalf("server authenticated %+v (%v) with %s, want EXAMPLE\\alice with NTLM", id, err, r.server.Package())
			}
			if !r.auth.Established() || r.auth.Package() != "NTLM" {
				t.Fatalf("client established %v with %q", r.auth.Established(), r.auth.Package())
			}
		})
	}
}

// TestEPA: the TLS channel bindings go-mssqldb computes (tls-unique for TLS 1.2) reach the
// NTLM AUTHENTICATE message, and an acceptor whose TLS channel differs, as when a man in the
// middle relays the login, refuses it.
func TestEPA(t *testing.T) {
	cred := ntlmAcceptor(t)
	params := map[string]string{"user id": `EXAMPLE\alice`, "password": password}
	unique := []byte("0123456789ab") // a TLS 1.2 Finished message's verify_data is 12 bytes
	cb, err := integratedauth.GenerateCBTFromTLSUnique(unique)
	if err != nil {
		t.Fatal(err)
	}
	same := (&sspi.ChannelBindings{ApplicationData: append([]byte("tls-unique:"), unique...)}).Marshal()
	other := (&sspi.ChannelBindings{ApplicationData: []byte("tls-unique:relayed-chan")}).Marshal()
	for _, tt := range []struct {
		name     string
		client   *integratedauth.ChannelBindings
		serverCB []byte
		want     error
	}{
		{name: "same channel", client: cb, serverCB: same},
		{name: "relayed to another channel", client: cb, serverCB: other, want: sspi.ErrBadBindings},
		{name: "empty bindings type sends none", client: integratedauth.EmptyChannelBindings, serverCB: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := login(t, dsn(params), cred, tt.client, tt.serverCB)
			if r.clientErr != nil {
				t.Fatal(r.clientErr)
			}
			if !errors.Is(r.serverErr, tt.want) && !(tt.want == nil && r.serverErr == nil) {
				t.Fatalf("server error %v, want %v", r.serverErr, tt.want)
			}
		})
	}
}

// TestKerberos: Negotiate picks Kerberos for MSSQLSvc/localhost:1433 with a ticket from an
// in-process KDC (kerberos/kdctest), the acceptor decrypts it with the service's keytab,
// and the client checks the server's AP-REP (mutual authentication), as a login to SQL
// Server does.
func TestKerberos(t *testing.T) {
	kdc := testkdc.Shared(t, testpeers.KDCOptions{Services: []string{sqlSPN}})
	t.Setenv("KRB5_CONFIG", kdc.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "no-cache"))
	cred := acceptor(t, map[string]any{negotiate.Kerberos: &kerberos.ServerConfig{Keytab: kdc.Keytab}})
	user := kdc.Principal(testpeers.KDCUser)
	for _, tt := range []struct {
		name     string
		params   map[string]string
		clientOK bool
		wantErr  error // on the client: Kerberos fails before the server sees anything
	}{
		{name: "Negotiate", params: map[string]string{"user id": user, "password": testpeers.KDCPassword}, clientOK: true},
		{name: "Kerberos by parameter", params: map[string]string{"user id": user, "password": testpeers.KDCPassword, PackageParameter: "Kerberos"}, clientOK: true},
		{name: "SPN from the connection string", params: map[string]string{"user id": user, "password": testpeers.KDCPassword, PackageParameter: "Kerberos", "ServerSPN": sqlSPN}, clientOK: true},
		{name: "unknown SPN", params: map[string]string{"user id": user, "password": testpeers.KDCPassword, PackageParameter: "Kerberos", "ServerSPN": "MSSQLSvc/localhost:1444"}, wantErr: sspi.ErrTargetUnknown},
		{name: "wrong password", params: map[string]string{"user id": user, "password": "wrong", PackageParameter: "Kerberos"}, wantErr: sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := login(t, dsn(tt.params), cred, nil, nil)
			if tt.wantErr != nil {
				if !errors.Is(r.clientErr, tt.wantErr) {
					t.Fatalf("client error %v, want %v", r.clientErr, tt.wantErr)
				}
				return
			}
			if r.clientErr != nil || r.serverErr != nil {
				t.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
			}
			id, err := r.server.Identity()
			if err != nil || id.Principal != user || r.server.Package() != "Kerberos" {
				t.Fatalf("server authenticated %+v (%v) with %s, want %s with Kerberos", id, err, r.server.Package(), user)
			}
			if want := sqlSPN + "@" + kdc.Realm; id.Server != want {
				t.Fatalf("ticket for %q, want %q", id.Server, want)
			}
			if !r.auth.Established() || r.auth.Package() != "Kerberos" {
				t.Fatalf("client established %v with %q", r.auth.Established(), r.auth.Package())
			}
			if r.auth.ctx.Attributes()&sspi.ISCRetMutualAuth == 0 {
				t.Fatalf("client attributes %v lack mutual authentication", r.auth.ctx.Attributes())
			}
		})
	}
}

// TestProviderCredentials: a Provider registered under another name with a handle of its
// own uses it and ignores the connection string's user.
func TestProviderCredentials(t *testing.T) {
	ccred, _, err := sspi.AcquireCredentialsHandle("", "NTLM", sspi.CredOutbound, nil, &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(ccred)
	if err := Register("gosspi-fixed", &Provider{Credentials: ccred}); err != nil {
		t.Fatal(err)
	}
	connStr := "sqlserver://localhost?authenticator=gosspi-fixed&user+id=EXAMPLE%5Cmallory&password=x"
	r := login(t, connStr, ntlmAcceptor(t), nil, nil)
	if r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("client: %v; server: %v", r.clientErr, r.serverErr)
	}
	if id, _ := r.server.Identity(); id.Principal != `EXAMPLE\alice` {
		t.Fatalf("server authenticated %q, want the provider's EXAMPLE\\alice", id.Principal)
	}
	r.auth.Free()
	r.auth.Free() // idempotent, and leaves the provider's handle alone
	if r := login(t, connStr, ntlmAcceptor(t), nil, nil); r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("second login with the provider's handle: client: %v; server: %v", r.clientErr, r.serverErr)
	}
}

func TestTargetName(t *testing.T) {
	for _, tt := range []struct {
		cfg  msdsn.Config
		want string
	}{
		{msdsn.Config{Host: "sql.example.com", Port: 1433}, "MSSQLSvc/sql.example.com:1433"},
		{msdsn.Config{Host: "sql.example.com", Instance: "SQLEXPRESS"}, "MSSQLSvc/sql.example.com:SQLEXPRESS"},
		{msdsn.Config{Host: "sql", ServerSPN: "MSSQLSvc/sql.example.com"}, "MSSQLSvc/sql.example.com"},
		{msdsn.Config{}, "MSSQLSvc/localhost:1433"},
	} {
		if got := targetName(tt.cfg); got != tt.want {
			t.Errorf("targetName(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestNextBytesFirst(t *testing.T) {
	a := &Authenticator{}
	if _, err := a.NextBytes([]byte{1}); !errors.Is(err, errNoHandshake) {
		t.Fatalf("NextBytes before InitialBytes: %v", err)
	}
}
