package credssp

import (
	"errors"
	"testing"

	"github.com/gosspi/sspi"
)

// edit returns a rewrite that changes message n of direction dir through f.
func edit(t testing.TB, dir string, n int, f func(r *tsRequest)) rewrite {
	return func(d string, i int, msg []byte) []byte {
		if d != dir || i != n {
			return msg
		}
		r, err := parseTSRequest(msg)
		if err != nil {
			t.Fatalf("mitm: %v", err)
		}
		f(r)
		return r.marshal()
	}
}

func flip(b []byte) []byte {
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 0x01
	return b
}

// The client's messages with NTLM in Negotiate: 0 NEGOTIATE, 1 AUTHENTICATE (+ pubKeyAuth
// once Negotiate is done, else alone), ...; the tests find the right one by content.
func onPubKeyAuth(t testing.TB, dir string, f func(r *tsRequest)) rewrite {
	done := false
	return func(d string, i int, msg []byte) []byte {
		if d != dir || done {
			return msg
		}
		r, err := parseTSRequest(msg)
		if err != nil {
			t.Fatalf("mitm: %v", err)
		}
		if r.pubKeyAuth == nil {
			return msg
		}
		done = true
		f(r)
		return r.marshal()
	}
}

func TestAttacks(t *testing.T) {
	// A pubKeyAuth and clientNonce recorded from an earlier, honest exchange.
	rec := newMsgPair(t, clientConfig(), serverConfig(t), defaultReq)
	var oldPubKeyAuth, oldNonce []byte
	if cerr, serr := rec.run(t, func(d string, i int, msg []byte) []byte {
		if r, _ := parseTSRequest(msg); d == "c2s" && r != nil && r.pubKeyAuth != nil {
			oldPubKeyAuth, oldNonce = r.pubKeyAuth, r.clientNonce
		}
		return msg
	}); cerr != nil || serr != nil || oldPubKeyAuth == nil {
		t.Fatalf("recording: %v %v", cerr, serr)
	}

	for _, tt := range []struct {
		name           string
		mod            func(c, s *Config)
		clientSPK      []byte
		mitm           func(t *testing.T) rewrite
		client, server sspi.Status
	}{
		{name: "tampered client pubKeyAuth", server: sspi.ErrMessageAltered,
			mitm: func(t *testing.T) rewrite {
				return onPubKeyAuth(t, "c2s", func(r *tsRequest) { r.pubKeyAuth = flip(r.pubKeyAuth) })
			}},
		{name: "tampered server pubKeyAuth", client: sspi.ErrMessageAltered,
			mitm: func(t *testing.T) rewrite {
				return onPubKeyAuth(t, "s2c", func(r *tsRequest) { r.pubKeyAuth = flip(r.pubKeyAuth) })
			}},
		{name: "replayed clientNonce and pubKeyAuth", server: sspi.ErrMessageAltered,
			mitm: func(t *testing.T) rewrite {
				return onPubKeyAuth(t, "c2s", func(r *tsRequest) { r.pubKeyAuth, r.clientNonce = oldPubKeyAuth, oldNonce })
			}},
		{name: "replayed clientNonce alone", server: sspi.ErrBadBindings,
			mitm: func(t *testing.T) rewrite {
				return onPubKeyAuth(t, "c2s", func(r *tsRequest) { r.clientNonce = oldNonce })
			}},
		{name: "clientNonce stripped", server: sspi.ErrBadBindings,
			mitm: func(t *testing.T) rewrite {
				return onPubKeyAuth(t, "c2s", func(r *tsRequest) { r.clientNonce = nil })
			}},
		{name: "nonce changed before authInfo", server: sspi.ErrBadBindings,
			mitm: func(t *testing.T) rewrite {
				return func(d string, i int, msg []byte) []byte {
					r, _ := parseTSRequest(msg)
					if d == "c2s" && r != nil && r.authInfo != nil {
						r.clientNonce = oldNonce
						return r.marshal()
					}
					return msg
				}
			}},
		{name: "server version rolled back to 2", client: sspi.ErrDowngradeDetected,
			mitm: func(t *testing.T) rewrite { return edit(t, "s2c", 0, func(r *tsRequest) { r.version = 2 }) }},
		{name: "client version rolled back to 4", server: sspi.ErrDowngradeDetected,
			mitm: func(t *testing.T) rewrite { return edit(t, "c2s", 0, func(r *tsRequest) { r.version = 4 }) }},
		{name: "rollback seen by the client only, v2 allowed", mod: func(c, s *Config) { c.MinVersion, s.MinVersion = 2, 2 },
			server: sspi.ErrBadBindings,
			mitm: func(t *testing.T) rewrite {
				return func(d string, i int, msg []byte) []byte {
					if d != "s2c" {
						return msg
					}
					r, _ := parseTSRequest(msg)
					r.version = 2
					r.clientNonce = nil
					return r.marshal()
				}
			}},
		{name: "version changed mid-exchange", server: sspi.ErrDowngradeDetected,
			mitm: func(t *testing.T) rewrite { return edit(t, "c2s", 1, func(r *tsRequest) { r.version = 5 }) }},
		{name: "certificate swapped (client saw another key)", clientSPK: []byte("\x30\x03\x02\x01\x07 the man in the middle's key"), server: sspi.ErrBadBindings},
		{name: "TSCredentials naming another user", mod: func(c, s *Config) {
			c.Delegate = &PasswordCredentials{Domain: testDomain, User: "bob", Password: "Bobs-Passw0rd"}
		}, server: sspi.ErrLogonDenied},
		{name: "TSCredentials naming another domain", mod: func(c, s *Config) {
			c.Delegate = &PasswordCredentials{Domain: "OTHER", User: testUser, Password: testPassword}
		}, server: sspi.ErrLogonDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ccfg, scfg := clientConfig(), serverConfig(t)
			if tt.mod != nil {
				tt.mod(&ccfg, &scfg)
			}
			p := newMsgPair(t, ccfg, scfg, defaultReq)
			if tt.clientSPK != nil {
				p.c.spk = tt.clientSPK
			}
			var m rewrite
			if tt.mitm != nil {
				m = tt.mitm(t)
			}
			cerr, serr := p.run(t, m)
			if tt.client != 0 && !errors.Is(cerr, tt.client) {
				t.Fatalf("client: %v, want %v (server: %v)", cerr, tt.client, serr)
			}
			if tt.server != 0 && !errors.Is(serr, tt.server) {
				t.Fatalf("server: %v, want %v (client: %v)", serr, tt.server, cerr)
			}
			if p.s.delegated != nil {
				t.Fatalf("the server took delegated credentials %v", p.s.delegated)
			}
		})
	}
}

func TestDelegatedUserMismatchAllowed(t *testing.T) {
	ccfg, scfg := clientConfig(), serverConfig(t)
	ccfg.Delegate = &PasswordCredentials{Domain: testDomain, User: "bob", Password: "Bobs-Passw0rd"}
	scfg.AllowDelegatedUserMismatch = true
	p := newMsgPair(t, ccfg, scfg, defaultReq)
	if cerr, serr := p.run(t, nil); cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if pw := p.s.delegated.(*PasswordCredentials); pw.User != "bob" || p.s.id.User != testUser {
		t.Fatalf("delegated %v, identity %v", pw, p.s.id)
	}
}

func TestNoDelegationSendsEmptyCredentials(t *testing.T) {
	p := newMsgPair(t, clientConfig(), serverConfig(t), sspi.ISCReqConnection)
	if cerr, serr := p.run(t, nil); cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if pw, ok := p.s.delegated.(*PasswordCredentials); !ok || !pw.Empty() {
		t.Fatalf("delegated %#v, want the empty TSPasswordCreds", p.s.delegated)
	}
}
