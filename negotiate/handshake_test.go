package negotiate

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/der"
	"github.com/gosspi/sspi/ntlm"
)

// mechCreds builds a Config for the named mechanisms with test credentials for each:
// NTLM as client or server, TestKerb with a shared secret.
func mechConfig(t testing.TB, server bool, names []string, kerb testKerbConfig) *Config {
	cfg := &Config{Mechanisms: names, Credentials: map[string]any{}}
	if kerb.Secret == "" {
		kerb.Secret = "shared secret"
	}
	for _, n := range names {
		switch n {
		case NTLM:
			if server {
				cfg.Credentials[NTLM] = ntlmServerConfig(t)
			} else {
				cfg.Credentials[NTLM] = &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", Workstation: "WS"}
			}
		case testKerbName:
			k := kerb
			cfg.Credentials[testKerbName] = &k
		}
	}
	return cfg
}

// tokenState returns the negState of a NegTokenResp, and whether it carries a MIC.
func respInfo(t testing.TB, tok []byte) (negTokenResp, bool) {
	t.Helper()
	var r negTokenResp
	if err := parseNegTokenResp(tok, &r); err != nil {
		return r, false
	}
	return r, true
}

func negotiated(t testing.TB, h *sspi.Context) (string, sspi.NegotiationState) {
	t.Helper()
	var ni sspi.NegotiationInfo
	if err := sspi.QueryContextAttributes(h, sspi.AttrNegotiationInfo, &ni); err != nil {
		t.Fatal(err)
	}
	return ni.PackageInfo.Name, ni.State
}

// TestMatrix runs our client against our server for every combination of offered and
// available mechanisms, with and without the optimistic token.
func TestMatrix(t *testing.T) {
	lists := [][]string{
		{testKerbName, NTLM},
		{NTLM, testKerbName},
		{NTLM},
		{testKerbName},
		{Kerberos, NTLM}, // Kerberos is not registered in this binary: left out
		{Kerberos, testKerbName, NTLM},
	}
	available := func(l []string) []string { // what acquires here
		var out []string
		for _, n := range l {
			if n != Kerberos {
				out = append(out, n)
			}
		}
		return out
	}
	for _, cl := range lists {
		for _, sl := range lists {
			for _, optimistic := range []bool{true, false} {
				name := fmt.Sprintf("client=%s/server=%s/optimistic=%v", strings.Join(cl, ","), strings.Join(sl, ","), optimistic)
				t.Run(name, func(t *testing.T) {
					ccfg := mechConfig(t, false, cl, testKerbConfig{})
					ccfg.NoOptimisticToken = !optimistic
					ccred := acquire(t, sspi.CredOutbound, ccfg)
					scred := acquire(t, sspi.CredInbound, mechConfig(t, true, sl, testKerbConfig{}))
					offered, served := available(cl), available(sl)
					want := ""
					for _, c := range offered {
						for _, s := range served {
							if c == s && want == "" {
								want = c
							}
						}
					}
					x, err := handshake(t, ccred, scred, sspi.ClientOptions{Target: "host/server"}, sspi.ServerOptions{}, nil)
					if want == "" {
						wantErr(t, err, sspi.ErrSecPkgNotFound, "no mechanism in common")
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					checkEstablished(t, x, want)
					// The first reply says request-mic exactly when the choice is not the
					// client's first; then both sides sent a MIC.
					first, _ := respInfo(t, x.tokens[1])
					protect := want != offered[0]
					if (first.negState == requestMIC) != protect {
						t.Errorf("first reply negState %v, want request-mic=%v", first.negState, protect)
					}
					cm, sm := micsSent(t, x.tokens)
					if protect && (!cm || !sm) {
						t.Errorf("choice not protected: client MIC %v, server MIC %v", cm, sm)
					}
					if want == NTLM && (!cm || !sm) {
						t.Errorf("NTLM without mechListMICs: client %v, server %v", cm, sm)
					}
					if want == testKerbName && !protect && (cm || sm) {
						t.Errorf("first-choice TestKerb exchanged MICs (client %v, server %v); Windows does not", cm, sm)
					}
				})
			}
		}
	}
}

// micsSent reports whether the client's and the server's tokens carried a mechListMIC.
func micsSent(t testing.TB, tokens [][]byte) (client, server bool) {
	for i, tok := range tokens {
		if i == 0 {
			continue
		}
		r, ok := respInfo(t, tok)
		if ok && r.hasMIC {
			if i%2 == 0 {
				client = true
			} else {
				server = true
			}
		}
	}
	return
}

func checkEstablished(t testing.TB, x *transcript, mech string) {
	t.Helper()
	for _, side := range []struct {
		name string
		h    *sspi.Context
	}{{"client", x.client.Handle()}, {"server", x.server.Handle()}} {
		if n, st := negotiated(t, side.h); n != mech || st != sspi.NegotiationComplete {
			t.Errorf("%s: NegotiationInfo %s state %d, want %s complete", side.name, n, st, mech)
		}
	}
	if x.client.Package() != mech || x.server.Package() != mech {
		t.Errorf("Package() = %s / %s", x.client.Package(), x.server.Package())
	}
	ck, err1 := x.client.SessionKey()
	sk, err2 := x.server.SessionKey()
	if err1 != nil || err2 != nil || !bytes.Equal(ck, sk) || len(ck) == 0 {
		t.Errorf("session keys %x (%v) / %x (%v)", ck, err1, sk, err2)
	}
	id, err := x.server.Identity()
	if err != nil || id.Package != mech || !strings.Contains(strings.ToLower(id.Principal), "alice") {
		t.Errorf("server identity %+v, %v", id, err)
	}
	if mech == NTLM {
		checkMessages(t, x)
	}
}

// checkMessages sends sealed and signed messages both ways, several times: the messages
// right after the mechListMIC exchange are where an RC4 state out of step would show.
func checkMessages(t testing.TB, x *transcript) {
	t.Helper()
	if x.client.Attributes()&sspi.ISCRetConfidentiality == 0 {
		return
	}
	for i := range 3 {
		msg := []byte(fmt.Sprintf("message %d", i))
		w, err := x.client.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := x.server.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("server unwrap %d: %q %v", i, got, err)
		}
		w, err = x.server.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := x.client.Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("client unwrap %d: %q %v", i, got, err)
		}
		sig, err := x.server.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.client.Verify(msg, sig); err != nil {
			t.Fatalf("client verify %d: %v", i, err)
		}
		sig, err = x.client.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.server.Verify(msg, sig); err != nil {
			t.Fatalf("server verify %d: %v", i, err)
		}
	}
}

// TestNTLMInsideSPNEGO covers NTLM alone with and without the optimistic token and with
// the request flags that change NTLM's wire (sealing, signing only, nothing).
func TestNTLMInsideSPNEGO(t *testing.T) {
	for _, optimistic := range []bool{true, false} {
		for _, req := range []struct {
			name string
			req  sspi.ContextReq
		}{
			{"default", 0},
			{"integrity", sspi.ISCReqIntegrity | sspi.ISCReqConnection},
			{"connection only", sspi.ISCReqConnection},
		} {
			t.Run(fmt.Sprintf("optimistic=%v/%s", optimistic, req.name), func(t *testing.T) {
				ccfg := mechConfig(t, false, []string{NTLM}, testKerbConfig{})
				ccfg.NoOptimisticToken = !optimistic
				x, err := handshake(t, acquire(t, sspi.CredOutbound, ccfg), serverCreds(t, Config{}),
					sspi.ClientOptions{Target: "HTTP/server", Req: req.req}, sspi.ServerOptions{}, nil)
				if err != nil {
					t.Fatal(err)
				}
				wantTokens := 4
				if !optimistic {
					wantTokens = 6 // the list alone, then the server's pick, then NTLM's three
				}
				if len(x.tokens) != wantTokens {
					t.Errorf("%d tokens, want %d", len(x.tokens), wantTokens)
				}
				checkEstablished(t, x, NTLM)
				// Negotiate asks NTLM for integrity whatever the caller asked, so that the
				// mechListMIC is real: the client reports it.
				if x.client.Attributes()&sspi.ISCRetIntegrity == 0 {
					t.Errorf("client attributes %s lack integrity", x.client.Attributes().Format(false))
				}
				// Confidentiality is reported only when asked for and granted (NTLM still
				// seals on request over its signing keys, as gss-ntlmssp does).
				if conf := x.client.Attributes()&sspi.ISCRetConfidentiality != 0; conf != (req.req != sspi.ISCReqConnection && req.req != sspi.ISCReqIntegrity|sspi.ISCReqConnection) {
					t.Errorf("client attributes %s for request %#x", x.client.Attributes().Format(false), uint64(req.req))
				}
				// Token shapes: a framed NegTokenInit, then bare NegTokenResps; the
				// client's replies have no negState (as Windows sends them).
				if x.tokens[0][0] != 0x60 {
					t.Errorf("first token %x", x.tokens[0][:2])
				}
				for i, tok := range x.tokens[1:] {
					r, ok := respInfo(t, tok)
					if !ok {
						t.Fatalf("token %d is not a NegTokenResp: %x", i+1, tok)
					}
					if (i+1)%2 == 0 && r.negState != stateAbsent {
						t.Errorf("client token %d has negState %v", i+1, r.negState)
					}
					if (i+1)%2 == 1 && r.negState == stateAbsent {
						t.Errorf("server token %d has no negState", i+1)
					}
				}
				last, _ := respInfo(t, x.tokens[len(x.tokens)-1])
				if last.negState != acceptCompleted || !last.hasMIC {
					t.Errorf("final server token: negState %v, MIC %v", last.negState, last.hasMIC)
				}
			})
		}
	}
}

// TestChannelBindingsThroughNegotiate: the bindings buffer reaches NTLM on both sides.
func TestChannelBindingsThroughNegotiate(t *testing.T) {
	cb := func(s string) []byte {
		// SEC_CHANNEL_BINDINGS with only application data (32-byte header).
		b := make([]byte, 32+len(s))
		b[24] = byte(len(s))
		b[28] = 32
		copy(b[32:], s)
		return b
	}
	good := cb("tls-server-end-point:0123456789abcdef")
	if _, err := handshake(t, clientCreds(t, nil), serverCreds(t, Config{}),
		sspi.ClientOptions{ChannelBindings: good}, sspi.ServerOptions{ChannelBindings: good}, nil); err != nil {
		t.Fatalf("matching bindings: %v", err)
	}
	_, err := handshake(t, clientCreds(t, nil), serverCreds(t, Config{}),
		sspi.ClientOptions{ChannelBindings: good}, sspi.ServerOptions{ChannelBindings: cb("tls-server-end-point:something else")}, nil)
	wantErr(t, err, sspi.ErrBadBindings, "negotiate: NTLM: ntlm: channel bindings do not match")
}

// TestCredentials covers what AcquireCredentialsHandle makes of each kind of authData.
func TestCredentials(t *testing.T) {
	// A password serves every mechanism; Kerberos is not registered and is left out.
	c := acquire(t, sspi.CredOutbound, alice())
	var names sspi.CredentialNames
	if err := sspi.QueryCredentialsAttributes(c, sspi.CredAttrNames, &names); err != nil || names.UserName != `EXAMPLE\alice` {
		t.Errorf("CredAttrNames %q, %v", names.UserName, err)
	}
	info, err := sspi.QuerySecurityPackageInfo(PackageName)
	if err != nil || info.Capabilities != 0x00083BB3 || info.RPCID != 9 || info.MaxToken != 12256 || info.Comment != "Microsoft Package Negotiator" {
		t.Errorf("package info %+v, %v", info, err)
	}

	for _, tc := range []struct {
		name     string
		authData any
		use      sspi.CredentialUse
		status   sspi.Status
		text     string
	}{
		{"PackageList keeps only Kerberos", &sspi.AuthIdentity{User: "alice", Password: "x", PackageList: "Kerberos"}, sspi.CredOutbound,
			sspi.ErrNoCredentials, `Kerberos: SEC_E_SECPKG_NOT_FOUND`},
		{"PackageList drops NTLM", &sspi.AuthIdentity{User: "alice", Password: "x", PackageList: "!NTLM"}, sspi.CredOutbound,
			sspi.ErrNoCredentials, "no mechanism has credentials"},
		{"PackageList drops everything", &sspi.AuthIdentity{User: "alice", Password: "x", PackageList: "!NTLM,!Kerberos,!TestKerb"}, sspi.CredOutbound,
			sspi.ErrSecPkgNotFound, "no mechanism is left"},
		{"identity cannot accept", alice(), sspi.CredInbound,
			sspi.ErrNoCredentials, "NTLM: SEC_E_NO_CREDENTIALS: ntlm: inbound use needs"},
		{"unknown mechanism", &Config{Mechanisms: []string{"Digest"}}, sspi.CredOutbound,
			sspi.ErrSecPkgNotFound, `cannot negotiate "Digest"`},
		{"unknown credentials key", &Config{Credentials: map[string]any{"Digest": 1}}, sspi.CredOutbound,
			sspi.ErrSecPkgNotFound, `names "Digest"`},
		{"wrong authData", "alice", sspi.CredOutbound,
			sspi.ErrUnknownCredentials, "cannot use string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := sspi.AcquireCredentialsHandle("", PackageName, tc.use, nil, tc.authData, nil)
			wantErr(t, err, tc.status, tc.text)
		})
	}

	// When nothing is left, the error unwraps to one MechanismError per mechanism.
	_, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &Config{Mechanisms: []string{Kerberos, NTLM}, Credentials: map[string]any{NTLM: &ntlm.ServerConfig{}}}, nil)
	wantErr(t, err, sspi.ErrNoCredentials, "")
	var agg interface{ Unwrap() []error }
	if !errors.As(err, &agg) || len(agg.Unwrap()) != 2 {
		t.Fatalf("error %v does not unwrap to two causes", err)
	}
	var me *MechanismError
	if !errors.As(agg.Unwrap()[0], &me) || me.Mechanism != Kerberos || !errors.Is(me, sspi.ErrSecPkgNotFound) {
		t.Errorf("first cause %v", agg.Unwrap()[0])
	}
	if !errors.As(agg.Unwrap()[1], &me) || me.Mechanism != NTLM || !errors.Is(me, sspi.ErrNoCredentials) {
		t.Errorf("second cause %v", agg.Unwrap()[1])
	}

	// PackageList with names Negotiate does not know (as Windows callers pass) keeps NTLM.
	x, err := handshake(t, acquire(t, sspi.CredOutbound, &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "Passw0rd!", PackageList: "!pku2u, NTLM"}),
		serverCreds(t, Config{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkEstablished(t, x, NTLM)
}

// TestDowngrade tampers with the negotiation in flight. Every attempt to make the peers
// settle on a mechanism that is not the client's first choice, or to alter the MICs that
// prove the choice, must fail on the side that can tell.
func TestDowngrade(t *testing.T) {
	both := []string{testKerbName, NTLM}
	// retokenInit re-encodes the client's first token with another list and no
	// optimistic token, as an attacker who can rewrite it would.
	retokenInit := func(t testing.TB, tok []byte, names ...string) []byte {
		var ti negTokenInit
		if err := parseInitialToken(tok, &ti); err != nil {
			t.Fatal(err)
		}
		var oids []der.OID
		for _, n := range names {
			oids = append(oids, mechByName(n).oids...)
		}
		return appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, oids)})
	}
	editResp := func(t testing.TB, tok []byte, f func(r *negTokenResp)) []byte {
		var r negTokenResp
		if err := parseNegTokenResp(tok, &r); err != nil {
			t.Fatal(err)
		}
		f(&r)
		return appendNegTokenResp(nil, &r)
	}
	flip := func(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)-1] ^= 1; return c }

	for _, tc := range []struct {
		name           string
		client, server []string
		serverKerb     testKerbConfig
		tamper         func(t testing.TB, i int, tok []byte) []byte
		status         sspi.Status // zero: the handshake must succeed
		text           string
	}{
		{
			name: "Kerberos struck from the offer", client: both, server: both,
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 0 {
					return retokenInit(t, tok, NTLM)
				}
				return tok
			},
			status: sspi.ErrMessageAltered, text: "mechListMIC from the client does not match (NTLM)",
		},
		{
			name: "offer reordered", client: both, server: both,
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 0 {
					return retokenInit(t, tok, NTLM, testKerbName)
				}
				return tok
			},
			status: sspi.ErrMessageAltered, text: "mechListMIC from the client does not match",
		},
		{
			name: "offer struck and client MIC stripped", client: both, server: both,
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				switch i {
				case 0:
					return retokenInit(t, tok, NTLM)
				case 4: // the client's AUTHENTICATE
					return editResp(t, tok, func(r *negTokenResp) { r.hasMIC, r.mechListMIC = false, nil })
				}
				return tok
			},
			// The server catches it first: NTLM's AUTHENTICATE carried a MIC, so the
			// mechListMIC was mandatory whatever the server believed the offer was.
			status: sspi.ErrDowngradeDetected, text: "the client's last NTLM token came without a mechListMIC",
		},
		{
			name: "first choice NTLM, client MIC stripped", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 2 {
					return editResp(t, tok, func(r *negTokenResp) { r.hasMIC, r.mechListMIC = false, nil })
				}
				return tok
			},
			status: sspi.ErrDowngradeDetected, text: "NTLM requires it (MS-SPNG 3.3.5.1",
		},
		{
			name: "client MIC altered", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 2 {
					return editResp(t, tok, func(r *negTokenResp) { r.mechListMIC = flip(r.mechListMIC) })
				}
				return tok
			},
			status: sspi.ErrMessageAltered, text: "mechListMIC from the client does not match (NTLM)",
		},
		{
			name: "server MIC altered", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 3 {
					return editResp(t, tok, func(r *negTokenResp) { r.mechListMIC = flip(r.mechListMIC) })
				}
				return tok
			},
			status: sspi.ErrMessageAltered, text: "mechListMIC from the server does not match (NTLM)",
		},
		{
			name: "server MIC stripped where it is required", client: both, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 5 {
					return editResp(t, tok, func(r *negTokenResp) { r.hasMIC, r.mechListMIC = false, nil })
				}
				return tok
			},
			status: sspi.ErrDowngradeDetected, text: "NTLM is not the client's first choice (TestKerb)",
		},
		{
			name: "client MIC stripped where it is required", client: both, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 4 {
					return editResp(t, tok, func(r *negTokenResp) { r.hasMIC, r.mechListMIC = false, nil })
				}
				return tok
			},
			status: sspi.ErrDowngradeDetected, text: "the client's last NTLM token came without a mechListMIC",
		},
		{
			name: "server MIC stripped where it may be (first choice)", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 3 {
					return editResp(t, tok, func(r *negTokenResp) { r.hasMIC, r.mechListMIC = false, nil })
				}
				return tok
			},
		},
		{
			name: "server MIC echoing the response token (Windows 2000), first choice", client: []string{testKerbName}, server: []string{testKerbName},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 1 {
					return editResp(t, tok, func(r *negTokenResp) { r.mechListMIC, r.hasMIC = r.responseToken, true })
				}
				return tok
			},
		},
		{
			name: "server MIC echoing the response token where a MIC is required", client: []string{NTLM, testKerbName}, server: []string{testKerbName},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 3 {
					return editResp(t, tok, func(r *negTokenResp) { r.mechListMIC = r.responseToken })
				}
				return tok
			},
			status: sspi.ErrMessageAltered, text: "mechListMIC from the server does not match (TestKerb)",
		},
		{
			name: "supportedMech not offered", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 1 {
					return editResp(t, tok, func(r *negTokenResp) { r.supportedMech = oidTestKerb })
				}
				return tok
			},
			status: sspi.ErrInvalidToken, text: "the server chose TestKerb, which the client did not offer (NTLM)",
		},
		{
			name: "accept-completed forged before the mechanism finished", client: []string{NTLM}, server: []string{NTLM},
			tamper: func(t testing.TB, i int, tok []byte) []byte {
				if i == 1 {
					return editResp(t, tok, func(r *negTokenResp) { r.negState = acceptCompleted })
				}
				return tok
			},
			status: sspi.ErrInvalidToken, text: "accept-completed but NTLM still has a token to send",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccred := acquire(t, sspi.CredOutbound, mechConfig(t, false, tc.client, testKerbConfig{}))
			scred := acquire(t, sspi.CredInbound, mechConfig(t, true, tc.server, tc.serverKerb))
			x, err := handshake(t, ccred, scred, sspi.ClientOptions{}, sspi.ServerOptions{},
				func(i int, tok []byte) []byte { return tc.tamper(t, i, tok) })
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if x.client.Package() != tc.client[0] {
					t.Errorf("chose %s", x.client.Package())
				}
				return
			}
			wantErr(t, err, tc.status, tc.text)
		})
	}
}

// TestServerRequiresMICAfterNTLMTimestamp: the attacker strikes Kerberos from the offer
// and the client's mechListMIC from its last token, facing a client whose NTLM sends no
// MIC (NoMIC, as some old clients). The client refuses, NTLM not being its first choice;
// the server, which believes NTLM was, must not be left holding an established context:
// it sent a timestamp that the client echoed, so it requires the mechListMIC.
func TestServerRequiresMICAfterNTLMTimestamp(t *testing.T) {
	both := []string{testKerbName, NTLM}
	ccfg := mechConfig(t, false, both, testKerbConfig{})
	ccfg.Credentials[NTLM] = &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: "Passw0rd!", Workstation: "WS", NoMIC: true}
	cli := sspi.NewClientContext(acquire(t, sspi.CredOutbound, ccfg), sspi.ClientOptions{Target: "host/localhost"})
	srv := sspi.NewServerContext(acquire(t, sspi.CredInbound, mechConfig(t, true, both, testKerbConfig{})), sspi.ServerOptions{})
	tamper := func(i int, tok []byte) []byte {
		switch i {
		case 0: // NTLM alone on the offer, without the optimistic Kerberos token
			return appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, mechByName(NTLM).oids)})
		case 4: // the AUTHENTICATE, without the client's mechListMIC
			var r negTokenResp
			if err := parseNegTokenResp(tok, &r); err != nil {
				t.Fatal(err)
			}
			if !r.hasMIC {
				t.Fatal("the client sent no mechListMIC to strip")
			}
			r.hasMIC, r.mechListMIC = false, nil
			return appendNegTokenResp(nil, &r)
		}
		return tok
	}
	var tok []byte
	var err error
	for i := 0; i < 8 && err == nil; i++ {
		if i%2 == 0 {
			tok, err = cli.Step(tok)
		} else {
			tok, err = srv.Step(tok)
			if srv.Established() {
				t.Fatalf("server established after a downgrade (token %d)", i)
			}
		}
		if err == nil {
			if len(tok) == 0 {
				break
			}
			tok = tamper(i, tok)
		} else if i%2 == 0 {
			t.Fatalf("the client caught it first (token %d: %v); the server must not rely on that", i, err)
		}
	}
	wantErr(t, err, sspi.ErrDowngradeDetected, "the client's last NTLM token came without a mechListMIC")
}

// TestRequestMICHonoured: a request-mic, even for the client's first choice, makes the
// client insist on the server's MIC (forged here into a reply that had none).
func TestRequestMICHonoured(t *testing.T) {
	both := []string{testKerbName, NTLM}
	cli := sspi.NewClientContext(acquire(t, sspi.CredOutbound, mechConfig(t, false, both, testKerbConfig{})), sspi.ClientOptions{Target: "host/localhost"})
	srv := sspi.NewServerContext(acquire(t, sspi.CredInbound, mechConfig(t, true, both, testKerbConfig{})), sspi.ServerOptions{})
	tok, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := srv.Step(tok)
	if err != nil || !srv.Established() {
		t.Fatalf("server: %v", err)
	}
	var r negTokenResp
	if err := parseNegTokenResp(reply, &r); err != nil || r.negState != acceptCompleted || r.hasMIC {
		t.Fatalf("server reply %+v, %v: want accept-completed without MIC (first choice)", r, err)
	}
	r.negState = requestMIC
	out, err := cli.Step(appendNegTokenResp(nil, &r))
	if err != nil || cli.Established() {
		t.Fatalf("client after request-mic: established=%v, %v; want it waiting for the server's MIC", cli.Established(), err)
	}
	if r2, _ := respInfo(t, out); !r2.hasMIC {
		t.Errorf("client answered request-mic without its MIC: %x", out)
	}
	_, err = cli.Step(unhex(t, "a1073005a0030a0100"))
	wantErr(t, err, sspi.ErrDowngradeDetected, "the server asked for mechListMICs")
}

// TestMechanismFailures: a mechanism's failure keeps its status and names the mechanism.
func TestMechanismFailures(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		c := acquire(t, sspi.CredOutbound, &sspi.AuthIdentity{User: `EXAMPLE\alice`, Password: "wrong"})
		_, err := handshake(t, c, serverCreds(t, Config{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		wantErr(t, err, sspi.ErrLogonDenied, "SEC_E_LOGON_DENIED: negotiate: NTLM: ntlm: NTLMv2 response does not match for EXAMPLE\\alice")
		var me *MechanismError
		if !errors.As(err, &me) || me.Mechanism != NTLM {
			t.Errorf("no MechanismError in %v", err)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		c := acquire(t, sspi.CredOutbound, &sspi.AuthIdentity{User: `EXAMPLE\mallory`, Password: "x"})
		_, err := handshake(t, c, serverCreds(t, Config{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		wantErr(t, err, sspi.ErrLogonDenied, "negotiate: NTLM:")
		if !errors.Is(err, ntlm.ErrNoSuchUser) {
			t.Errorf("%v does not unwrap to ntlm.ErrNoSuchUser", err)
		}
	})
	t.Run("other mechanism refuses", func(t *testing.T) {
		c := acquire(t, sspi.CredOutbound, mechConfig(t, false, []string{testKerbName}, testKerbConfig{}))
		s := acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName}, testKerbConfig{FailAccept: true}))
		_, err := handshake(t, c, s, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		wantErr(t, err, sspi.ErrLogonDenied, "negotiate: TestKerb: testkerb: ticket refused")
	})
	t.Run("first choice cannot start", func(t *testing.T) {
		// Kerberos without a ticket: dropped before anything is sent, NTLM goes first
		// and needs no MIC protection.
		cfg := mechConfig(t, false, []string{testKerbName, NTLM}, testKerbConfig{FailStart: true})
		x, err := handshake(t, acquire(t, sspi.CredOutbound, cfg), acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName, NTLM}, testKerbConfig{})),
			sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ti negTokenInit
		if err := parseInitialToken(x.tokens[0], &ti); err != nil || oidList(ti.mechTypes) != oidNTLM.String() {
			t.Errorf("offer %s (%v), want NTLM only", oidList(ti.mechTypes), err)
		}
		checkEstablished(t, x, NTLM)
	})
	t.Run("no mechanism can start", func(t *testing.T) {
		cfg := mechConfig(t, false, []string{testKerbName}, testKerbConfig{FailStart: true})
		_, err := sspi.NewClientContext(acquire(t, sspi.CredOutbound, cfg), sspi.ClientOptions{Target: "host/x"}).Step(nil)
		wantErr(t, err, sspi.ErrNoCredentials, "negotiate: no mechanism could start: TestKerb: SEC_E_NO_CREDENTIALS: testkerb: no ticket for host/x")
	})
	t.Run("mechanism without MICs, not first choice", func(t *testing.T) {
		c := acquire(t, sspi.CredOutbound, mechConfig(t, false, []string{NTLM, testKerbName}, testKerbConfig{}))
		s := acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName}, testKerbConfig{NoMIC: true}))
		_, err := handshake(t, c, s, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		wantErr(t, err, sspi.ErrDowngradeDetected, "TestKerb cannot make the mechListMIC")
	})
	t.Run("mechanism without MICs, first choice", func(t *testing.T) {
		c := acquire(t, sspi.CredOutbound, mechConfig(t, false, []string{testKerbName}, testKerbConfig{NoMIC: true}))
		s := acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName}, testKerbConfig{NoMIC: true}))
		x, err := handshake(t, c, s, sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Forwarded interfaces the mechanism lacks are refused with its name.
		if _, err := x.client.SessionKey(); !errors.Is(err, sspi.ErrUnsupportedFunction) {
			t.Errorf("SessionKey: %v", err)
		}
		if _, err := x.client.Sign([]byte("x")); err == nil {
			t.Errorf("Sign worked on a mechanism without signing")
		}
	})
}

// TestServerSpeaksFirst: the NegTokenInit2 a server sends unasked, and a client started by it.
func TestServerSpeaksFirst(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server []string
		wantToken      bool // the client's first token carries an optimistic token
		want           string
	}{
		{"NTLM both", []string{NTLM}, []string{NTLM}, true, NTLM},
		{"server lacks the client's first", []string{testKerbName, NTLM}, []string{NTLM}, false, NTLM},
		{"server has both", []string{testKerbName, NTLM}, []string{NTLM, testKerbName}, true, testKerbName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scred := acquire(t, sspi.CredInbound, mechConfig(t, true, tc.server, testKerbConfig{}))
			ccred := acquire(t, sspi.CredOutbound, mechConfig(t, false, tc.client, testKerbConfig{}))
			srv := sspi.NewServerContext(scred, sspi.ServerOptions{})
			defer srv.Close()
			hints, err := srv.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			var ti negTokenInit
			if err := parseInitialToken(hints, &ti); err != nil || !ti.hasHints || string(ti.hintName) != hintNameValue || ti.hasMechToken {
				t.Fatalf("hints token %x: %v", hints, err)
			}
			var names []string
			for _, o := range ti.mechTypes {
				names = append(names, oidName(o))
			}
			if strings.Join(names, ",") != strings.Join(tc.server, ",") {
				t.Errorf("hints list %v, want %v", names, tc.server)
			}
			cli := sspi.NewClientContext(ccred, sspi.ClientOptions{Target: "host/localhost"})
			defer cli.Close()
			tok, err := cli.Step(hints)
			if err != nil {
				t.Fatal(err)
			}
			if err := parseInitialToken(tok, &ti); err != nil {
				t.Fatal(err)
			}
			if ti.hasMechToken != tc.wantToken {
				t.Errorf("optimistic token present=%v, want %v", ti.hasMechToken, tc.wantToken)
			}
			// The offer is never narrowed by the (unprotected) hints.
			if len(ti.mechTypes) != len(tc.client) {
				t.Errorf("offer %s narrowed", oidList(ti.mechTypes))
			}
			for !cli.Established() || !srv.Established() {
				if tok, err = srv.Step(tok); err != nil {
					t.Fatal(err)
				}
				if len(tok) == 0 {
					break
				}
				if tok, err = cli.Step(tok); err != nil {
					t.Fatal(err)
				}
				if len(tok) == 0 {
					break
				}
			}
			if !cli.Established() || !srv.Established() || cli.Package() != tc.want || srv.Package() != tc.want {
				t.Errorf("established %v/%v with %s/%s", cli.Established(), srv.Established(), cli.Package(), srv.Package())
			}
		})
	}
	t.Run("no mechanism in common", func(t *testing.T) {
		scred := acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName}, testKerbConfig{}))
		srv := sspi.NewServerContext(scred, sspi.ServerOptions{})
		defer srv.Close()
		hints, err := srv.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sspi.NewClientContext(clientCreds(t, nil), sspi.ClientOptions{Target: "host/localhost"}).Step(hints)
		wantErr(t, err, sspi.ErrSecPkgNotFound, "the server accepts TestKerb and the client has NTLM")
	})
}

// TestRawTokens: a Negotiate server takes raw NTLMSSP and raw Kerberos tokens.
func TestRawTokens(t *testing.T) {
	ntlmClient := func(t *testing.T) *sspi.ClientContext {
		c, _, err := sspi.AcquireCredentialsHandle("", ntlm.PackageName, sspi.CredOutbound, nil, alice(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sspi.FreeCredentialsHandle(c) })
		return sspi.NewClientContext(c, sspi.ClientOptions{Target: "host/localhost"})
	}
	t.Run("NTLMSSP", func(t *testing.T) {
		cli := ntlmClient(t)
		srv := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{})
		neg, _ := cli.Step(nil)
		chal, err := srv.Step(neg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(chal, []byte("NTLMSSP\x00\x02")) {
			t.Fatalf("answer %x is not a raw CHALLENGE", chal[:8])
		}
		if n, st := negotiated(t, srv.Handle()); n != NTLM || st != sspi.NegotiationDirect {
			t.Errorf("during the handshake: %s state %d, want NTLM direct", n, st)
		}
		auth, err := cli.Step(chal)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := srv.Step(auth); err != nil || len(out) != 0 {
			t.Fatalf("AUTHENTICATE: %x %v", out, err)
		}
		x := &transcript{client: cli, server: srv}
		checkEstablished(t, x, NTLM)
	})
	t.Run("NTLMSSP refused", func(t *testing.T) {
		neg, _ := ntlmClient(t).Step(nil)
		_, err := sspi.NewServerContext(serverCreds(t, Config{RejectRawTokens: true}), sspi.ServerOptions{}).Step(neg)
		wantErr(t, err, sspi.ErrInvalidToken, "Config.RejectRawTokens")
	})
	t.Run("NTLMSSP without NTLM", func(t *testing.T) {
		neg, _ := ntlmClient(t).Step(nil)
		s := acquire(t, sspi.CredInbound, mechConfig(t, true, []string{testKerbName}, testKerbConfig{}))
		_, err := sspi.NewServerContext(s, sspi.ServerOptions{}).Step(neg)
		wantErr(t, err, sspi.ErrSecPkgNotFound, "raw NTLM token but this server does not serve NTLM")
	})
	t.Run("Kerberos without Kerberos", func(t *testing.T) {
		for _, oid := range []der.OID{oidKRB5, oidMSKRB5} {
			apreq := der.AppendGSSToken(nil, oid, []byte{1, 0, 0x6e, 0})
			_, err := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{}).Step(apreq)
			wantErr(t, err, sspi.ErrSecPkgNotFound, "raw Kerberos token but Kerberos is not available on this server: Kerberos: SEC_E_SECPKG_NOT_FOUND")
		}
	})
	t.Run("other framed mechanism", func(t *testing.T) {
		_, err := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{}).Step(der.AppendGSSToken(nil, oidNegoEx, []byte{0}))
		wantErr(t, err, sspi.ErrInvalidToken, "for mechanism NegoEx")
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{}).Step([]byte("GET / HTTP/1.1"))
		wantErr(t, err, sspi.ErrInvalidToken, "neither SPNEGO, NTLMSSP nor Kerberos")
	})
}

// TestServerRefusals: first tokens a server must refuse, each for its own reason.
func TestServerRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tok    []byte
		status sspi.Status
		text   string
	}{
		// gofiber/contrib#2145: an empty MechTypes crashed a Go server.
		{"empty mechTypes", appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, nil)}),
			sspi.ErrInvalidToken, "lists no mechanisms"},
		{"absent mechTypes", appendInitialToken(nil, &negTokenInit{}), sspi.ErrInvalidToken, "lists no mechanisms"},
		{"only unknown mechanisms", appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, []der.OID{oidNegoEx, oidKRB5})}),
			sspi.ErrSecPkgNotFound, "no mechanism in common: the client offers NegoEx, Kerberos; this server accepts NTLM (Kerberos: SEC_E_SECPKG_NOT_FOUND"},
		{"NegTokenResp first", unhex(t, "a1073005a0030a0100"), sspi.ErrInvalidToken, "NegTokenResp arrived where"},
		{"NTLM token that is not NTLM", appendInitialToken(nil, &negTokenInit{hasMechTypes: true, mechTypesDER: appendMechTypeList(nil, []der.OID{oidNTLM}), hasMechToken: true, mechToken: []byte("junk")}),
			sspi.ErrInvalidToken, "negotiate: NTLM: ntlm: malformed NEGOTIATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{}).Step(tc.tok)
			wantErr(t, err, tc.status, tc.text)
		})
	}
	// The recorded NegoEx+NTLM offer without a token (impacket) gets request-mic: NTLM
	// is not the client's first choice.
	srv := sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{})
	out, err := srv.Step(readVector(t, "init-negoex-ntlm-impacket"))
	if err != nil {
		t.Fatal(err)
	}
	if want := readVector(t, "resp-request-mic-ntlm"); !bytes.Equal(out, want) {
		t.Errorf("reply %x, want the recorded request-mic %x", out, want)
	}
	// The recorded NTLM offer with its NEGOTIATE gets accept-incomplete with a CHALLENGE.
	srv = sspi.NewServerContext(serverCreds(t, Config{}), sspi.ServerOptions{})
	out, err = srv.Step(readVector(t, "init-ntlm-negotiate-impacket"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := respInfo(t, out)
	if r.negState != acceptIncomplete || !r.supportedMech.Equal(oidNTLM) || !bytes.HasPrefix(r.responseToken, []byte("NTLMSSP\x00\x02")) {
		t.Errorf("reply %+v", r)
	}
}

// TestClientRefusals: server replies a client must refuse.
func TestClientRefusals(t *testing.T) {
	start := func(t *testing.T) *sspi.ClientContext {
		c := sspi.NewClientContext(clientCreds(t, nil), sspi.ClientOptions{Target: "host/localhost"})
		if _, err := c.Step(nil); err != nil {
			t.Fatal(err)
		}
		if n, st := negotiated(t, c.Handle()); n != NTLM || st != sspi.NegotiationOptimistic {
			t.Errorf("after the first token: %s state %d, want NTLM optimistic", n, st)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		reply  []byte
		status sspi.Status
		text   string
	}{
		{"reject", unhex(t, "a1073005a0030a0102"), sspi.ErrSecPkgNotFound, "the server rejected the negotiation: it accepts none of NTLM"},
		{"empty", nil, sspi.ErrInvalidToken, "reply is empty"},
		{"init instead of resp", readVector(t, "init-negoex-ntlm-impacket"), sspi.ErrInvalidToken, "malformed NegTokenResp"},
		{"no mechanism, no token", unhex(t, "a1073005a0030a0101"), sspi.ErrInvalidToken, "carries no NTLM token"},
		{"garbage NTLM token", appendNegTokenResp(nil, &negTokenResp{negState: acceptIncomplete, supportedMech: oidNTLM, responseToken: []byte("x"), hasResponseToken: true}),
			sspi.ErrInvalidToken, "negotiate: NTLM: ntlm: malformed CHALLENGE"},
		{"Kerberos chosen", appendNegTokenResp(nil, &negTokenResp{negState: requestMIC, supportedMech: oidKRB5}),
			sspi.ErrInvalidToken, "the server chose Kerberos, which the client did not offer (NTLM)"},
		{"SPNEGO chosen", appendNegTokenResp(nil, &negTokenResp{negState: acceptIncomplete, supportedMech: oidSPNEGO}),
			sspi.ErrInvalidToken, "the server chose SPNEGO"},
		{"MIC before the mechanism finished", appendNegTokenResp(nil, &negTokenResp{negState: acceptIncomplete, supportedMech: oidNTLM, hasMIC: true, mechListMIC: make([]byte, 16), responseToken: readVector(t, "resp-challenge-impacket")[:0], hasResponseToken: false}),
			sspi.ErrInvalidToken, "carries no NTLM token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(t).Step(tc.reply)
			wantErr(t, err, tc.status, tc.text)
		})
	}
}

// TestSizesAndAttributes: forwarded queries answer for the chosen mechanism.
func TestSizesAndAttributes(t *testing.T) {
	x, err := handshake(t, clientCreds(t, nil), serverCreds(t, Config{}), sspi.ClientOptions{}, sspi.ServerOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sz sspi.Sizes
	if err := sspi.QueryContextAttributes(x.client.Handle(), sspi.AttrSizes, &sz); err != nil || sz.MaxSignature != 16 || sz.SecurityTrailer != 16 {
		t.Errorf("sizes %+v, %v (want NTLM's)", sz, err)
	}
	var names sspi.Names
	if err := sspi.QueryContextAttributes(x.server.Handle(), sspi.AttrNames, &names); err != nil || names.UserName != `EXAMPLE\alice` {
		t.Errorf("names %+v, %v", names, err)
	}
	var pi sspi.PackageInfo
	if err := sspi.QueryContextAttributes(x.server.Handle(), sspi.AttrPackageInfo, &pi); err != nil || pi.Name != PackageName {
		t.Errorf("package info %+v, %v (the context's package stays Negotiate)", pi, err)
	}
	var dummy int
	if err := sspi.QueryContextAttributes(x.server.Handle(), sspi.AttrKeyInfo, &dummy); !errors.Is(err, sspi.ErrUnsupportedFunction) || !strings.Contains(err.Error(), "negotiate: NTLM does not support") {
		t.Errorf("unknown attribute: %v", err)
	}
	// Before any step there is no mechanism: the sizes are Negotiate's own.
	c := &context{creds: &credentials{}}
	if c.Sizes().MaxToken != MaxToken {
		t.Errorf("sizes before a mechanism: %+v", c.Sizes())
	}
	if _, err := c.SessionKey(); !errors.Is(err, sspi.ErrNoContext) {
		t.Errorf("session key before a mechanism: %v", err)
	}
	if info, st := c.Negotiated(); info.Name != PackageName || st != sspi.NegotiationInProgress {
		t.Errorf("Negotiated before a mechanism: %s %d", info.Name, st)
	}
}
