package credssp

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

func TestMessageLayerHandshake(t *testing.T) {
	for _, tt := range []struct {
		name       string
		cmax, smax int
		inner      string
	}{
		{"v6 Negotiate", 0, 0, ""},
		{"v6 client, v5 server", 0, 5, ""},
		{"v4 both", 4, 4, ""},
		{"v3 client v6 server", 3, 0, ""},
		{"v2 both", 2, 2, ""},
		{"v6 bare NTLM", 0, 0, "NTLM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig(t)
			ccfg.MaxVersion, scfg.MaxVersion = tt.cmax, tt.smax
			if min(ccfg.maxVersion(), scfg.maxVersion()) < 5 {
				ccfg.MinVersion, scfg.MinVersion = 2, 2
			}
			if tt.inner != "" {
				ccfg.Package, scfg.Package = tt.inner, tt.inner

				scfg.Negotiate = ntlmServerConfig(t)
			}
			p := newMsgPair(t, ccfg, scfg, defaultReq)
			cerr, serr := p.run(t, nil)
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
			want := &PasswordCredentials{Domain: testDomain, User: testUser, Password: testPassword}
			if !reflect.DeepEqual(p.s.delegated, want) {
				t.Fatalf("server got %+v, want %+v", p.s.delegated, want)
			}
			if p.s.id.User != testUser {
				t.Fatalf("server identity %+v", p.s.id)
			}
			if got := p.s.negotiated(); got != min(ccfg.maxVersion(), scfg.maxVersion()) {
				t.Fatalf("negotiated %d", got)
			}
			if (p.c.nonce != nil) != (p.c.negotiated() >= 5) {
				t.Fatalf("nonce %x at version %d", p.c.nonce, p.c.negotiated())
			}
		})
	}
}

func TestMessageLayerStatuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mod     func(c, s *Config)
		req     sspi.ContextReq
		target  string
		client  sspi.Status // want on the client, or 0
		server  sspi.Status // want on the server, or 0
		errCode bool        // a TSRequest with errorCode is produced for the peer
	}{
		{name: "wrong password", mod: func(c, s *Config) { c.Negotiate.(*sspi.AuthIdentity).Password = "wrong" }, server: sspi.ErrLogonDenied, errCode: true},
		{name: "unknown user", mod: func(c, s *Config) {
			c.Negotiate = &sspi.AuthIdentity{User: `EXAMPLE\mallory`, Password: "x"}
			c.Delegate = nil
		}, server: sspi.ErrLogonDenied, errCode: true},
		{name: "NTLM-only delegation refused by default", mod: func(c, s *Config) { c.DelegateToNTLMOnly = nil }, client: sspi.ErrPolicyNLTMOnly},
		{name: "NTLM-only delegation to another service", mod: func(c, s *Config) {}, target: "HTTP/rdp.example.com", client: sspi.ErrPolicyNLTMOnly},
		{name: "mutual auth asked, NTLM inside", req: defaultReq | sspi.ISCReqMutualAuth, client: sspi.ErrMutualAuthFailed},
		{name: "no delegation needs no policy", mod: func(c, s *Config) { c.DelegateToNTLMOnly = nil }, req: sspi.ISCReqConnection},
		{name: "nothing to delegate", mod: func(c, s *Config) {
			// NTLM's own client configuration: Negotiate can use it, CredSSP has no
			// password to delegate.
			c.Negotiate = &negotiate.Config{Credentials: map[string]any{negotiate.NTLM: &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: testPassword}}}
		}, client: sspi.ErrNoCredentials},
		{name: "supplied creds without PKG_PARAMS", req: defaultReq | sspi.ISCReqUseSuppliedCreds, client: sspi.ErrNoCredentials},
		{name: "v2 refused by default", mod: func(c, s *Config) { s.MaxVersion, s.MinVersion = 2, 2 }, client: sspi.ErrDowngradeDetected},
		{name: "v4 client refused by a default server", mod: func(c, s *Config) { c.MaxVersion, c.MinVersion = 4, 2 }, server: sspi.ErrDowngradeDetected},
		{name: "authorization refused", mod: func(c, s *Config) { s.Authorize = func(sspi.Identity, Delegated) bool { return false } }, server: sspi.ErrLogonDenied, errCode: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig(t)
			ccfg.Negotiate = &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: testPassword}
			if tt.mod != nil {
				tt.mod(&ccfg, &scfg)
			}
			req := tt.req
			if req == 0 {
				req = defaultReq
			}
			c, err := newClientHandshake(innerCreds(t, sspi.CredOutbound, ccfg), testTarget, req, testSPK)
			if tt.target != "" {
				c.target = tt.target
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := newServerHandshake(innerCreds(t, sspi.CredInbound, scfg), testSPK)
			if err != nil {
				t.Fatal(err)
			}
			p := &msgPair{c: c, s: s}
			p.c.gctx, p.s.gctx = t.Context(), t.Context()
			cerr, serr := p.run(t, nil)
			check := func(side string, err error, want sspi.Status) {
				t.Helper()
				if want == 0 {
					if err != nil {
						t.Fatalf("%s: %v", side, err)
					}
					return
				}
				if !errors.Is(err, want) {
					t.Fatalf("%s: err = %v, want %v", side, err, want)
				}
			}
			check("client", cerr, tt.client)
			check("server", serr, tt.server)
			if tt.errCode {
				r, err := parseTSRequest(p.s.errToken)
				if err != nil || !r.hasErrorCode {
					t.Fatalf("server produced no errorCode TSRequest: %x %v", p.s.errToken, err)
				}
				// What a client makes of it: the same status.
				if got := fromNTStatus(r.errorCode); got != tt.server {
					t.Fatalf("errorCode %#x maps back to %v, want %v", r.errorCode, got, tt.server)
				}
			}
		})
	}
}
