package ntlm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// testStore holds EXAMPLE\alice with "Passw0rd!" and a wildcard-domain bob with "hunter2".
func testStore(t testing.TB) AccountStore {
	t.Helper()
	s, err := ParseAccounts(strings.NewReader("EXAMPLE:alice:Passw0rd!\n:bob:hunter2\n"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serverCreds(t testing.TB, cfg ServerConfig) *sspi.Credentials {
	t.Helper()
	if cfg.Accounts == nil {
		cfg.Accounts = testStore(t)
	}
	if cfg.NetBIOSComputer == "" {
		cfg.NetBIOSComputer = "SERVER"
	}
	if cfg.NetBIOSDomain == "" {
		cfg.NetBIOSDomain = "EXAMPLE"
	}
	c, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clientCredsFor(t testing.TB, cfg ClientConfig) *sspi.Credentials {
	t.Helper()
	if cfg.Workstation == "" {
		cfg.Workstation = "WORKSTATION"
	}
	c, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run performs the three-message exchange through the Go layer and returns both sides and
// the messages, or the first error.
type exchange struct {
	client                        *sspi.ClientContext
	server                        *sspi.ServerContext
	negotiate, challenge, authMsg []byte
}

func run(t testing.TB, ccred, scred *sspi.Credentials, copts sspi.ClientOptions, sopts sspi.ServerOptions, tamper func(auth []byte)) (*exchange, error) {
	t.Helper()
	if copts.Target == "" {
		// The client and server are in one process: without a target naming the server,
		// the client takes the exchange for a reflection and refuses it.
		copts.Target = "host/localhost"
	}
	x := &exchange{client: sspi.NewClientContext(ccred, copts), server: sspi.NewServerContext(scred, sopts)}
	var err error
	if x.negotiate, err = x.client.Step(nil); err != nil {
		return x, err
	}
	if x.challenge, err = x.server.Step(x.negotiate); err != nil {
		return x, err
	}
	if x.authMsg, err = x.client.Step(x.challenge); err != nil {
		return x, err
	}
	if !x.client.Established() {
		t.Fatal("client not established after AUTHENTICATE")
	}
	if tamper != nil {
		tamper(x.authMsg)
	}
	out, err := x.server.Step(x.authMsg)
	if err == nil && len(out) != 0 {
		t.Fatal("server produced a fourth message")
	}
	return x, err
}

func wantErr(t testing.TB, err error, want sspi.Status, text string) {
	t.Helper()
	if err == nil || !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	if text != "" && !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q does not mention %q", err, text)
	}
}

func TestNegotiateIs40BytesWithVersion(t *testing.T) {
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	neg, err := sspi.NewClientContext(ccred, sspi.ClientOptions{}).Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(neg) != 40 || !bytes.HasPrefix(neg, []byte("NTLMSSP\x00\x01\x00\x00\x00")) {
		t.Fatalf("NEGOTIATE is %d bytes: %x", len(neg), neg)
	}
	flags := ntlmssp.NegotiateFlags(binary.LittleEndian.Uint32(neg[12:]))
	for _, f := range []ntlmssp.NegotiateFlags{ntlmssp.FlagVersion, ntlmssp.FlagExtendedSessionSecurity, ntlmssp.FlagKeyExch, ntlmssp.Flag128, ntlmssp.FlagUnicode, ntlmssp.FlagSign, ntlmssp.FlagSeal} {
		if flags&f == 0 {
			t.Errorf("NEGOTIATE lacks %v (flags %v)", f, flags)
		}
	}
}

func TestClientServerMatrix(t *testing.T) {
	cb := sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	cbBytes := cb.Marshal()
	other := (&sspi.ChannelBindings{ApplicationData: []byte("tls-server-end-point:ffff")}).Marshal()
	hash := ntlmssp.NTOWFv1("Passw0rd!")
	tests := []struct {
		name   string
		client ClientConfig
		server ServerConfig
		copts  sspi.ClientOptions
		sopts  sspi.ServerOptions
		want   sspi.Status // 0: success
		text   string
		seal   bool
	}{
		{name: "v2 default", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, seal: true},
		{name: "upn name", client: ClientConfig{User: "alice@EXAMPLE", Password: "Passw0rd!"}, seal: true},
		{name: "split name", client: ClientConfig{User: "alice", Domain: "example", Password: "Passw0rd!"}, seal: true},
		{name: "nt hash", client: ClientConfig{User: `EXAMPLE\alice`, NTHash: &hash}, seal: true},
		{name: "wildcard domain", client: ClientConfig{User: `ANY\bob`, Password: "hunter2"}, seal: true},
		{name: "sign only", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, copts: sspi.ClientOptions{Req: sspi.ISCReqIntegrity}, sopts: sspi.ServerOptions{Req: sspi.ASCReqIntegrity}},
		{name: "no MIC", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", NoMIC: true}, seal: true},
		{name: "no MIC, MIC required", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", NoMIC: true}, server: ServerConfig{RequireMIC: true}, want: sspi.ErrLogonDenied, text: "no MIC"},
		{name: "bindings match", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, server: ServerConfig{ChannelBindings: BindingsRequired}, copts: sspi.ClientOptions{ChannelBindings: cbBytes}, sopts: sspi.ServerOptions{ChannelBindings: cbBytes}, seal: true},
		{name: "bindings differ", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, copts: sspi.ClientOptions{ChannelBindings: other}, sopts: sspi.ServerOptions{ChannelBindings: cbBytes}, want: sspi.ErrBadBindings, text: "do not match"},
		{name: "bindings required, client has none", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, server: ServerConfig{ChannelBindings: BindingsRequired}, sopts: sspi.ServerOptions{ChannelBindings: cbBytes}, want: sspi.ErrBadBindings},
		{name: "bindings when present, client has none", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, sopts: sspi.ServerOptions{ChannelBindings: cbBytes}, seal: true},
		{name: "bindings off", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"}, server: ServerConfig{ChannelBindings: BindingsOff}, copts: sspi.ClientOptions{ChannelBindings: other}, sopts: sspi.ServerOptions{ChannelBindings: cbBytes}, seal: true},
		{name: "wrong password", client: ClientConfig{User: `EXAMPLE\alice`, Password: "wrong"}, want: sspi.ErrLogonDenied, text: `NTLMv2 response does not match for EXAMPLE\alice`},
		{name: "unknown user", client: ClientConfig{User: `EXAMPLE\mallory`, Password: "x"}, want: sspi.ErrLogonDenied, text: "unknown user"},
		{name: "wrong domain", client: ClientConfig{User: `OTHER\alice`, Password: "Passw0rd!"}, want: sspi.ErrLogonDenied, text: "unknown user"},
		{name: "v1 refused", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel2}, want: sspi.ErrLogonDenied, text: "NTLMv1"},
		{name: "v1 level 2 allowed", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel2}, server: ServerConfig{AllowNTLMv1: true}, seal: true},
		{name: "v1 level 1 allowed", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel1}, server: ServerConfig{AllowNTLMv1: true}, seal: true},
		{name: "v1 level 0 allowed", client: ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", LMCompatibilityLevel: LMLevel0}, server: ServerConfig{AllowNTLMv1: true}, seal: true},
		{name: "v1 wrong password", client: ClientConfig{User: `EXAMPLE\alice`, Password: "nope", LMCompatibilityLevel: LMLevel1}, server: ServerConfig{AllowNTLMv1: true}, want: sspi.ErrLogonDenied, text: "NTLMv1 response does not match"},
		{name: "anonymous refused", client: ClientConfig{Anonymous: true}, want: sspi.ErrLogonDenied, text: "anonymous"},
		{name: "anonymous allowed", client: ClientConfig{Anonymous: true}, server: ServerConfig{AllowAnonymous: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ccred := clientCredsFor(t, tt.client)
			scred := serverCreds(t, tt.server)
			x, err := run(t, ccred, scred, tt.copts, tt.sopts, nil)
			if tt.want != 0 {
				wantErr(t, err, tt.want, tt.text)
				if x.server.Established() {
					t.Fatal("server established after refusing")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := x.server.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.client.Anonymous && !strings.EqualFold(id.User, strings.TrimPrefix(strings.Split(tt.client.User, "@")[0], `EXAMPLE\`)) && !strings.HasSuffix(tt.client.User, id.User) {
				t.Errorf("identity %+v for %q", id, tt.client.User)
			}
			if id.Workstation != "WORKSTATION" || id.Package != PackageName {
				t.Errorf("identity %+v", id)
			}
			if tt.client.Anonymous {
				if !x.server.Attributes().Has(sspi.ASCRetNullSession) || id.User != "" {
					t.Fatalf("anonymous: %+v %s", id, x.server.Attributes().Format(true))
				}
				return
			}
			ck, err1 := x.client.SessionKey()
			sk, err2 := x.server.SessionKey()
			if err1 != nil || err2 != nil || !bytes.Equal(ck, sk) || len(ck) != 16 {
				t.Fatalf("session keys %x %x %v %v", ck, sk, err1, err2)
			}
			if x.client.Attributes().Has(sspi.ISCRetMutualAuth) {
				t.Error("NTLM claimed mutual authentication")
			}
			if tt.seal != x.server.Attributes().Has(sspi.ASCRetConfidentiality) || tt.seal != x.client.Attributes().Has(sspi.ISCRetConfidentiality) {
				t.Fatalf("confidentiality: client %s server %s", x.client.Attributes().Format(false), x.server.Attributes().Format(true))
			}
			checkProtection(t, x, tt.seal)
		})
	}
}

// checkProtection sends messages both ways and checks tampering and replay are caught.
func checkProtection(t *testing.T, x *exchange, seal bool) {
	t.Helper()
	for i, msg := range [][]byte{[]byte("hello server"), bytes.Repeat([]byte("x"), 16<<10), {}} {
		sig, err := x.client.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.server.Verify(msg, sig); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
		sig, _ = x.server.Sign(msg)
		if err := x.client.Verify(msg, sig); err != nil {
			t.Fatalf("verify back %d: %v", i, err)
		}
	}
	if seal {
		for _, msg := range [][]byte{[]byte("sealed greeting"), bytes.Repeat([]byte{0xAA}, 16<<10)} {
			w, err := x.server.Wrap(msg)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(w, msg) {
				t.Fatal("wrapped message carries the plaintext")
			}
			got, err := x.client.Unwrap(w)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("unwrap: %v", err)
			}
			if w, err = x.client.Wrap(msg); err != nil {
				t.Fatal(err)
			}
			if got, err = x.server.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("unwrap at server: %v", err)
			}
		}
	}
	// Failures last: without extended session security one RC4 stream serves both
	// directions, so a refused message leaves the two ends out of step for good.
	sig, _ := x.client.Sign([]byte("tamper"))
	wantErr(t, x.server.Verify([]byte("tampeR"), sig), sspi.ErrMessageAltered, "")
	if seal {
		w, _ := x.server.Wrap([]byte("flip"))
		w[len(w)-1] ^= 0x80
		if _, err := x.client.Unwrap(w); !errors.Is(err, sspi.ErrMessageAltered) && !errors.Is(err, sspi.ErrOutOfSequence) {
			t.Fatalf("tampered sealed message: %v", err)
		}
	}
	sig, _ = x.client.Sign([]byte("once"))
	x.server.Verify([]byte("once"), sig)
	if err := x.server.Verify([]byte("once"), sig); !errors.Is(err, sspi.ErrOutOfSequence) && !errors.Is(err, sspi.ErrMessageAltered) {
		t.Fatalf("replayed message: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	t.Run("tampered MIC", func(t *testing.T) {
		_, err := run(t, ccred, serverCreds(t, ServerConfig{}), sspi.ClientOptions{}, sspi.ServerOptions{}, func(a []byte) { a[ntlmssp.MICOffset] ^= 1 })
		wantErr(t, err, sspi.ErrMessageAltered, "MIC")
	})
	t.Run("tampered flags", func(t *testing.T) {
		// Dropping SEAL from the AUTHENTICATE is a downgrade the MIC must catch.
		_, err := run(t, ccred, serverCreds(t, ServerConfig{}), sspi.ClientOptions{}, sspi.ServerOptions{}, func(a []byte) { a[60] &^= byte(ntlmssp.FlagSeal) })
		wantErr(t, err, sspi.ErrMessageAltered, "MIC")
	})
	t.Run("replayed AUTHENTICATE", func(t *testing.T) {
		scred := serverCreds(t, ServerConfig{})
		x, err := run(t, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// An eavesdropper opens a new connection and replays the AUTHENTICATE it saw.
		srv := sspi.NewServerContext(scred, sspi.ServerOptions{})
		if _, err := srv.Step(x.negotiate); err != nil {
			t.Fatal(err)
		}
		_, err = srv.Step(x.authMsg)
		wantErr(t, err, sspi.ErrLogonDenied, "does not match")
		// The established server context takes a new token as the start of a
		// re-authentication, and an AUTHENTICATE is no NEGOTIATE.
		_, err = x.server.Step(x.authMsg)
		wantErr(t, err, sspi.ErrInvalidToken, "")
	})
	t.Run("expired timestamp", func(t *testing.T) {
		var now atomic.Int64
		now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		scred := serverCreds(t, ServerConfig{Time: clock})
		client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
		server := sspi.NewServerContext(scred, sspi.ServerOptions{})
		neg, _ := client.Step(nil)
		chal, _ := server.Step(neg)
		auth, _ := client.Step(chal)
		now.Add(int64(time.Hour)) // the AUTHENTICATE arrives an hour after the challenge
		_, err := server.Step(auth)
		wantErr(t, err, sspi.ErrTimeSkew, "timestamp")
	})
	t.Run("truncated", func(t *testing.T) {
		x, err := run(t, ccred, serverCreds(t, ServerConfig{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range []struct {
			name string
			b    []byte
			step func(*sspi.Credentials, []byte) error
		}{
			{"NEGOTIATE", x.negotiate, func(_ *sspi.Credentials, b []byte) error {
				_, err := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{}).Step(b)
				return err
			}},
			{"CHALLENGE", x.challenge, func(_ *sspi.Credentials, b []byte) error {
				c := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
				c.Step(nil)
				_, err := c.Step(b)
				return err
			}},
			{"AUTHENTICATE", x.authMsg, func(_ *sspi.Credentials, b []byte) error {
				s := sspi.NewServerContext(serverCreds(t, ServerConfig{}), sspi.ServerOptions{})
				s.Step(x.negotiate)
				_, err := s.Step(b)
				return err
			}},
		} {
			lengths := []int{0, 7, 8, 12, 16, 31}
			if msg.name != "NEGOTIATE" { // a 32-byte NEGOTIATE without VERSION is valid
				lengths = append(lengths, len(msg.b)/2, len(msg.b)-1)
			}
			for _, n := range lengths {
				if err := msg.step(nil, msg.b[:n]); !errors.Is(err, sspi.ErrInvalidToken) {
					if n == 0 && msg.name != "AUTHENTICATE" && err == nil {
						continue
					}
					t.Errorf("%s truncated to %d: %v", msg.name, n, err)
				}
			}
		}
	})
}

func TestFailClosed(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  any
	}{
		{"nil server config", (*ServerConfig)(nil)},
		{"no account store", &ServerConfig{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, tt.cfg, nil)
			wantErr(t, err, sspi.ErrNoCredentials, "")
		})
	}
	// An account whose password is empty never authenticates, even with the right (empty) answer.
	store := AccountStoreFunc(func(_ context.Context, d, u string) (Account, error) {
		return Account{Domain: d, User: u, NTHash: ntlmssp.NTOWFv1("")}, nil
	})
	scred := serverCreds(t, ServerConfig{Accounts: store})
	for _, pw := range []string{"", "x"} {
		cfg := ClientConfig{User: `EXAMPLE\empty`, Password: pw}
		if pw == "" {
			h := ntlmssp.NTOWFv1("")
			cfg = ClientConfig{User: `EXAMPLE\empty`, NTHash: &h}
		}
		_, err := run(t, clientCredsFor(t, cfg), scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		wantErr(t, err, sspi.ErrLogonDenied, "")
		if !errors.Is(err, ErrNoSuchUser) {
			t.Fatalf("empty-password account: %v", err)
		}
	}
	// A client without a password is refused before it sends anything.
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &sspi.AuthIdentity{User: "alice"}, nil)
	wantErr(t, err, sspi.ErrNoCredentials, "")
}

func TestAccountStoreFailureIsNotADenial(t *testing.T) {
	store := AccountStoreFunc(func(context.Context, string, string) (Account, error) {
		return Account{}, errors.New("directory unreachable")
	})
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	_, err := run(t, ccred, serverCreds(t, ServerConfig{Accounts: store}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	wantErr(t, err, sspi.ErrNoAuthenticatingAuthority, "directory unreachable")
}

// The account look-up is where a server waits; StepContext runs it on the scheduler and
// honours the caller's deadline.
func TestAsyncAccountLookup(t *testing.T) {
	slow := AccountStoreFunc(func(ctx context.Context, d, u string) (Account, error) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return Account{}, ctx.Err()
		}
		return Account{Domain: d, User: u, NTHash: ntlmssp.NTOWFv1("Passw0rd!")}, nil
	})
	scred := serverCreds(t, ServerConfig{Accounts: slow})
	ccred := clientCredsFor(t, ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!"})
	sched := sspi.NewScheduler(sspi.SchedulerOptions{Workers: 2, QueueLength: 64})
	defer sched.Close()
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			client := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
			server := sspi.NewServerContext(scred, sspi.ServerOptions{Scheduler: sched})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			neg, _ := client.Step(nil)
			chal, err := server.StepContext(ctx, neg)
			if err != nil {
				errs <- err
				return
			}
			auth, _ := client.Step(chal)
			if _, err := server.StepContext(ctx, auth); err != nil {
				errs <- fmt.Errorf("handshake %d: %w", i, err)
				return
			}
			id, err := server.Identity()
			if err == nil && id.User != "alice" {
				err = fmt.Errorf("identity %+v", id)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPackageInfo(t *testing.T) {
	info, err := sspi.QuerySecurityPackageInfo("ntlm")
	if err != nil || info.Name != "NTLM" || info.RPCID != 10 || info.MaxToken != 2888 || info.Capabilities != 0x00082B37 || info.Comment != "NTLM Security Package" {
		t.Fatal(info, err)
	}
}

func TestRefusalsAreLoggedApartWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	scred := serverCreds(t, ServerConfig{Logger: logger})
	for _, c := range []ClientConfig{
		{User: `EXAMPLE\alice`, Password: "wrong-password"},
		{User: `EXAMPLE\nobody`, Password: "other-secret"},
	} {
		if _, err := run(t, clientCredsFor(t, c), scred, sspi.ClientOptions{}, sspi.ServerOptions{}, nil); !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one record per refusal, got:\n%s", buf.String())
	}
	if !strings.Contains(lines[0], `reason="NTLMv2 response does not match"`) || !strings.Contains(lines[0], `user=EXAMPLE\alice`) {
		t.Errorf("wrong-password record: %s", lines[0])
	}
	if !strings.Contains(lines[1], `reason="unknown user"`) || !strings.Contains(lines[1], "SEC_E_LOGON_DENIED") {
		t.Errorf("unknown-user record: %s", lines[1])
	}
	for _, secret := range []string{"wrong-password", "other-secret", "Passw0rd!"} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("log contains a secret: %s", buf.String())
		}
	}
}
