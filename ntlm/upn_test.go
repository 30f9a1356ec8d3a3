package ntlm

// Issue 9 item 2: clients that send "alice@EXAMPLE" as UserName with an empty DomainName
// (curl -u alice@EXAMPLE:..., requests-ntlm, go-ntlmssp, Impacket given such a name) log on
// as EXAMPLE\alice, as they do against Windows and Samba.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
	"github.com/gosspi/sspi/internal/testpeers"
)

func TestResolveName(t *testing.T) {
	for _, tc := range []struct{ domain, user, wantDomain, wantUser string }{
		{"", "alice@EXAMPLE", "EXAMPLE", "alice"},
		{"", "alice@example.com", "example.com", "alice"},
		{"", "a@b@EXAMPLE", "EXAMPLE", "a@b"},
		{"EXAMPLE", "alice@OTHER", "EXAMPLE", "alice@OTHER"}, // a DomainName wins
		{"", "alice", "", "alice"},
		{"", "@EXAMPLE", "", "@EXAMPLE"},
		{"", "alice@", "", "alice@"},
	} {
		d, u := resolveName(tc.domain, tc.user)
		if d != tc.wantDomain || u != tc.wantUser {
			t.Errorf("resolveName(%q, %q) = %q, %q; want %q, %q", tc.domain, tc.user, d, u, tc.wantDomain, tc.wantUser)
		}
	}
}

// upnServerCreds is our acceptor over the given account file.
func upnServerCreds(t testing.TB, accounts string) *sspi.Credentials {
	t.Helper()
	store, err := ParseAccounts(strings.NewReader(accounts))
	if err != nil {
		t.Fatal(err)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil,
		&ServerConfig{Accounts: store, NetBIOSDomain: "EXAMPLE", NetBIOSComputer: "SERVER"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sspi.FreeCredentialsHandle(cred) })
	return cred
}

// TestUPNUserNameFromImpacket: Impacket, an independent client, sends the UPN form as it is
// given (UserName "alice@EXAMPLE", DomainName "") and hashes NTLMv2 over those names.
func TestUPNUserNameFromImpacket(t *testing.T) {
	const exact = "EXAMPLE:alice:Passw0rd!\n"
	const wildcard = ":carol:Passw0rd!\n" + exact
	for _, tc := range []struct {
		name, accounts, user, password string
		want                           string // principal, or "" for a refusal
	}{
		{"UPN", exact, "alice@EXAMPLE", "Passw0rd!", `EXAMPLE\alice`},
		{"UPN in other case", exact, "ALICE@example", "Passw0rd!", `example\ALICE`},
		{"UPN, wrong password", exact, "alice@EXAMPLE", "wrong", ""},
		{"UPN, other domain", exact, "alice@OTHER", "Passw0rd!", ""},
		{"UPN, account for any domain", wildcard, "carol@OTHER", "Passw0rd!", `OTHER\carol`},
		{"no user part", exact, "@EXAMPLE", "Passw0rd!", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &testpeers.ImpacketClient{TB: t, Opts: testpeers.ImpacketNTLMOptions{User: tc.user, Password: tc.password, Workstation: "IMPKT"}}
			srv := sspi.NewServerContext(upnServerCreds(t, tc.accounts), sspi.ServerOptions{})
			defer srv.Close()
			tokens, err := testpeers.Handshake(c, &ourAcceptor{s: srv}, 0)
			if len(tokens) >= 3 {
				auth, perr := ntlmssp.ParseAuthenticate(tokens[2])
				if perr != nil || auth.UserName != tc.user || auth.DomainName != "" {
					t.Fatalf("Impacket sent UserName %q DomainName %q (%v); the test needs %q and no domain", auth.UserName, auth.DomainName, perr, tc.user)
				}
			}
			if tc.want == "" {
				if !errors.Is(err, sspi.ErrLogonDenied) {
					t.Fatalf("got %v, want SEC_E_LOGON_DENIED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := srv.Identity()
			if err != nil || id.Principal != tc.want || id.Principal != id.Domain+`\`+id.User {
				t.Errorf("identity %+v (%v), want %s", id, err, tc.want)
			}
		})
	}
}

// ntlmHTTPServer drives our NTLM acceptor through HTTP's WWW-Authenticate/Authorization
// headers: one security context per TCP connection, as NTLM over HTTP requires. The body
// of a 200 is the authenticated principal; a refusal is a 401 whose body is the status.
type ntlmHTTPServer struct {
	cred *sspi.Credentials
	mu   sync.Mutex
	ctxs map[net.Conn]*sspi.ServerContext
	// sent is the DomainName\UserName of the last AUTHENTICATE, as it came.
	sent string
}

type connKey struct{}

func (h *ntlmHTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn := r.Context().Value(connKey{}).(net.Conn)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "NTLM ")
	if !ok {
		w.Header().Set("WWW-Authenticate", "NTLM")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	in, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		http.Error(w, "bad base64", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if auth, err := ntlmssp.ParseAuthenticate(in); err == nil {
		h.sent = auth.DomainName + `\` + auth.UserName
	}
	ctx := h.ctxs[conn]
	if ctx == nil || ctx.Established() {
		ctx = sspi.NewServerContext(h.cred, sspi.ServerOptions{})
		h.ctxs[conn] = ctx
	}
	h.mu.Unlock()
	out, err := ctx.Step(in)
	switch {
	case err != nil:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, sspi.StatusOf(err))
	case !ctx.Established():
		w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(out))
		w.WriteHeader(http.StatusUnauthorized)
	default:
		id, _ := ctx.Identity()
		fmt.Fprint(w, id.Principal)
	}
}

// TestUPNUserNameFromCurl: curl's NTLM, the client of the issue, against our acceptor.
func TestUPNUserNameFromCurl(t *testing.T) {
	curl := testpeers.Require(t, "curl", "curl")
	h := &ntlmHTTPServer{cred: upnServerCreds(t, "EXAMPLE:alice:Passw0rd!\n"), ctxs: map[net.Conn]*sspi.ServerContext{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/"

	for _, tc := range []struct{ name, user, sent, want string }{
		{"UPN", "alice@EXAMPLE:Passw0rd!", `\alice@EXAMPLE`, `200 EXAMPLE\alice`},
		{"UPN in other case", "Alice@example:Passw0rd!", `\Alice@example`, `200 example\Alice`},
		{"down-level name", `EXAMPLE\alice:Passw0rd!`, `EXAMPLE\alice`, `200 EXAMPLE\alice`},
		{"UPN, wrong password", "alice@EXAMPLE:wrong", `\alice@EXAMPLE`, "401 SEC_E_LOGON_DENIED"},
		{"UPN, other domain", "alice@OTHER:Passw0rd!", `\alice@OTHER`, "401 SEC_E_LOGON_DENIED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// -q: no ~/.curlrc; no proxy; the status code after the body.
			cmd := exec.Command(curl, "-q", "-sS", "--noproxy", "*", "--max-time", "20", "--ntlm", "-u", tc.user,
				"-w", " %{http_code}", "-o", "-", url)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v: %s", err, out)
			}
			text := strings.TrimSpace(string(out))
			i := strings.LastIndexByte(text, ' ')
			body, code := text[:max(i, 0)], text[i+1:]
			// curl prints the last response; a 401 after AUTHENTICATE carries our status.
			h.mu.Lock()
			sent := h.sent
			h.mu.Unlock()
			if sent != tc.sent {
				t.Errorf("curl sent DomainName\\UserName %q, the test needs %q", sent, tc.sent)
			}
			if got := code + " " + body; got != tc.want {
				t.Errorf("curl -u %s: got %q, want %q", strings.SplitN(tc.user, ":", 2)[0], got, tc.want)
			}
		})
	}
}
