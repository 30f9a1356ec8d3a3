package kerberos

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/testpeers"
)

func acquire(t testing.TB, use sspi.CredentialUse, authData any) *sspi.Credentials {
	t.Helper()
	c, _, err := sspi.AcquireCredentialsHandle("", PackageName, use, nil, authData, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sspi.FreeCredentialsHandle(c) })
	return c
}

func testClientCreds(t *testing.T, k *testpeers.KDC, password string) *sspi.Credentials {
	return acquire(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: password, Config: k.Krb5Conf})
}

func testServerCreds(t *testing.T, k *testpeers.KDC, cfg ServerConfig) *sspi.Credentials {
	if cfg.Keytab == "" && cfg.KeytabData == nil {
		cfg.Keytab = k.Keytab
	}
	return acquire(t, sspi.CredInbound, &cfg)
}

// handshake runs our client against our server and returns the tokens exchanged.
func handshake(t *testing.T, cli *sspi.ClientContext, srv *sspi.ServerContext) ([][]byte, error) {
	t.Helper()
	var toks [][]byte
	var in []byte
	for i := 0; i < 4; i++ {
		out, err := cli.Step(in)
		if err != nil {
			return toks, err
		}
		if len(out) > 0 {
			toks = append(toks, out)
			if in, err = srv.Step(out); err != nil {
				return toks, err
			}
			if len(in) > 0 {
				toks = append(toks, in)
			}
		}
		if cli.Established() && srv.Established() {
			return toks, nil
		}
	}
	return toks, errors.New("handshake did not finish")
}

func TestInfo(t *testing.T) {
	info, err := sspi.QuerySecurityPackageInfo("Kerberos")
	if err != nil {
		t.Fatal(err)
	}
	if info.RPCID != 16 || info.Capabilities != 0x000F3BB7 || info.MaxToken != 48000 || info.Comment != "Kerberos Security Package" {
		t.Errorf("%+v", info)
	}
	// Capabilities say what the package does: it delegates (a forwarded TGT) but has no
	// datagram contexts.
	if !info.Capabilities.Has(sspi.CapDelegation) || info.Capabilities.Has(sspi.CapDatagram) {
		t.Errorf("capabilities %#x: want DELEGATION, not DATAGRAM", uint32(info.Capabilities))
	}
}

func TestOwnClientServer(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	for _, mutual := range []bool{true, false} {
		t.Run(map[bool]string{true: "mutual", false: "nomutual"}[mutual], func(t *testing.T) {
			req := sspi.DefaultClientReq
			if !mutual {
				req &^= sspi.ISCReqMutualAuth
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: req})
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer cli.Close()
			defer srv.Close()
			toks, err := handshake(t, cli, srv)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if mutual {
				want = 2
			}
			if len(toks) != want {
				t.Fatalf("%d tokens, want %d", len(toks), want)
			}
			if !bytes.HasPrefix(toks[0][2:], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00}) &&
				!bytes.HasPrefix(toks[0][3:], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00}) &&
				!bytes.HasPrefix(toks[0][4:], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00}) {
				t.Errorf("AP-REQ framing % x", toks[0][:20])
			}
			id, err := srv.Identity()
			if err != nil {
				t.Fatal(err)
			}
			if id.Principal != "alice@"+testRealm || id.User != "alice" || id.Domain != testRealm || id.Server != testSPN+"@"+testRealm {
				t.Errorf("server identity %+v", id)
			}
			cid, _ := cli.Identity()
			if mutual && cid.Server != testSPN {
				t.Errorf("client identity %+v", cid)
			}
			if cli.Attributes()&sspi.ISCRetIntegrity == 0 || srv.Attributes()&sspi.ASCRetIntegrity == 0 {
				t.Errorf("attributes %v / %v", cli.Attributes(), srv.Attributes())
			}
			if (cli.Attributes()&sspi.ISCRetMutualAuth != 0) != mutual {
				t.Errorf("client attributes %v", cli.Attributes())
			}
			k1, _ := cli.SessionKey()
			k2, _ := srv.SessionKey()
			if len(k1) == 0 || !bytes.Equal(k1, k2) {
				t.Errorf("session keys %x %x", k1, k2)
			}
			// Both sides expire with the ticket, as on Windows (ptsExpiry).
			ce, se := cli.Handle().Expiry(), srv.Handle().Expiry()
			if ce.IsZero() || !ce.Equal(se) || ce.Before(time.Now()) {
				t.Errorf("expiry: client %v, server %v; want the ticket's end on both", ce, se)
			}
			exchangeMessages(t, cli, srv)
		})
	}
}

type session interface {
	Wrap([]byte) ([]byte, error)
	WrapIntegrityOnly([]byte) ([]byte, error)
	Unwrap([]byte) ([]byte, error)
	Sign([]byte) ([]byte, error)
	Verify(msg, sig []byte) error
}

func exchangeMessages(t *testing.T, a, b session) {
	t.Helper()
	msg := []byte("a message of some length, longer than 32 bytes at least")
	for i, pair := range [][2]session{{a, b}, {b, a}, {a, b}} {
		w, err := pair[0].Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) <= len(msg) || len(w) > len(msg)+60 || bytes.Contains(w, msg) {
			t.Errorf("%d: wrap of %d bytes is %d bytes, or holds the plaintext", i, len(msg), len(w))
		}
		got, err := pair[1].Unwrap(w)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d: unwrap: %q %v", i, got, err)
		}
		w, err = pair[0].WrapIntegrityOnly(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := pair[1].Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d: unwrap integrity-only: %q %v", i, got, err)
		}
		sig, err := pair[0].Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := pair[1].Verify(msg, sig); err != nil {
			t.Fatalf("%d: verify: %v", i, err)
		}
	}
	// Tampering.
	w, _ := a.Wrap(msg)
	w[len(w)-1] ^= 1
	if _, err := b.Unwrap(w); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("tampered wrap: %v", err)
	}
	sig, _ := a.Sign(msg)
	if err := b.Verify(append([]byte("x"), msg...), sig); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("tampered MIC: %v", err)
	}
}

// TestWrongPassword (issue 9 item 4): a wrong password fails AcquireCredentialsHandle, with
// the KDC's verdict, before any context (and so any connection) exists. With DeferLogon,
// as Negotiate asks, acquiring succeeds and the first context's first step fails instead.
func TestWrongPassword(t *testing.T) {
	k := getKDC(t)
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil,
		&ClientConfig{Principal: testUser + "@" + testRealm, Password: "wrong", Config: k.Krb5Conf}, nil)
	if !errors.Is(err, sspi.ErrLogonDenied) || !strings.Contains(err.Error(), "getting a TGT for alice@"+testRealm) {
		t.Fatalf("wrong password: %v", err)
	}
	t.Log(err)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	_, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: testRealm + `\` + testUser, Password: "wrong"}, nil)
	if !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("wrong password, AuthIdentity: %v", err)
	}

	p, err := sspi.LookupPackage(PackageName)
	if err != nil {
		t.Fatal(err)
	}
	deferred, err := p.AcquireCredentials(&sspi.CredentialsRequest{Use: sspi.CredOutbound, DeferLogon: true,
		AuthData: &ClientConfig{Principal: testUser + "@" + testRealm, Password: "wrong", Config: k.Krb5Conf}})
	if err != nil {
		t.Fatalf("DeferLogon: %v", err)
	}
	ctx, err := deferred.NewContext(false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ctx.Step(&sspi.StepParams{Target: testSPN, Req: sspi.ISCReqMutualAuth})
	if !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("DeferLogon, first step: %v", err)
	}
}

func TestUnknownUserAndService(t *testing.T) {
	k := getKDC(t)
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &ClientConfig{Principal: "nobody@" + testRealm, Password: "x", Config: k.Krb5Conf}, nil)
	if !errors.Is(err, sspi.ErrLogonDenied) {
		t.Errorf("unknown user: %v", err)
	} else {
		t.Log(err)
	}
	cli2 := sspi.NewClientContext(testClientCreds(t, k, testPassword), sspi.ClientOptions{Target: "HTTP/nowhere.invalid"})
	defer cli2.Close()
	if _, err := cli2.Step(nil); !errors.Is(err, sspi.ErrTargetUnknown) {
		t.Errorf("unknown service: %v", err)
	} else {
		t.Log(err)
	}
}

func TestNoKDC(t *testing.T) {
	k := getKDC(t)
	conf := t.TempDir() + "/nokdc.conf"
	port, _ := freePort()
	writeFile(t, conf, "[libdefaults]\n\tdefault_realm = NOWHERE.TEST\n[realms]\n\tNOWHERE.TEST = {\n\t\tkdc = 127.0.0.1:"+itoa(port)+"\n\t}\n")
	_, _, err := sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &ClientConfig{Principal: "alice@NOWHERE.TEST", Password: "x", Config: conf}, nil)
	if !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) {
		t.Errorf("no KDC: %v", err)
	} else {
		t.Log(err)
	}
	_, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredOutbound, nil, &ClientConfig{CCache: t.TempDir() + "/none", Config: k.Krb5Conf}, nil)
	if !errors.Is(err, sspi.ErrNoCredentials) {
		t.Errorf("no ccache: %v", err)
	}
	_, _, err = sspi.AcquireCredentialsHandle("", PackageName, sspi.CredInbound, nil, &ServerConfig{Keytab: t.TempDir() + "/none"}, nil)
	if !errors.Is(err, sspi.ErrNoCredentials) {
		t.Errorf("no keytab: %v", err)
	}
}

func TestReplayAndSkew(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
	defer cli.Close()
	apreq, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv.Close()
	if _, err := srv.Step(apreq); err != nil {
		t.Fatal(err)
	}
	srv2 := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv2.Close()
	if _, err := srv2.Step(apreq); !errors.Is(err, sspi.ErrLogonDenied) || !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	// A server whose clock is an hour ahead.
	skewed := testServerCreds(t, k, ServerConfig{Time: func() time.Time { return time.Now().Add(time.Hour) }})
	srv3 := sspi.NewServerContext(skewed, sspi.ServerOptions{})
	defer srv3.Close()
	if _, err := srv3.Step(apreq); !errors.Is(err, sspi.ErrTimeSkew) {
		t.Errorf("skew: %v", err)
	}
	// A bad AP-REP.
	bad := append([]byte(nil), apreq...)
	bad[len(bad)-5] ^= 0xff
	srv4 := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer srv4.Close()
	if _, err := srv4.Step(bad); err == nil {
		t.Error("tampered AP-REQ accepted")
	}
	// Wrong service principal.
	srv5 := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{ServicePrincipal: "HTTP/localhost"}), sspi.ServerOptions{})
	defer srv5.Close()
	if _, err := srv5.Step(apreq); !errors.Is(err, sspi.ErrWrongPrincipal) {
		t.Errorf("wrong principal: %v", err)
	}
}

func TestMutualAuthFailure(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
	defer cli.Close()
	apreq, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer srv.Close()
	aprep, err := srv.Step(apreq)
	if err != nil {
		t.Fatal(err)
	}
	aprep[len(aprep)-3] ^= 1
	if _, err := cli.Step(aprep); !errors.Is(err, sspi.ErrMutualAuthFailed) {
		t.Errorf("bad AP-REP: %v", err)
	}
}

// The published RFC 4121 tokens of the shared spec (section 7.4), through the context's
// message calls.
func TestCFXVectors(t *testing.T) {
	key, _ := hex.DecodeString("14f9bde6b50ec508201a97f74c4e5bd3")
	msg := []byte{0xde, 0xad, 0xbe, 0xef}
	for _, tc := range []struct {
		acceptor bool
		seq      uint64
		mic      string
		wrap     string
	}{
		{true, 0x575e85d6, "040401ffffffffff00000000575e85d6c34d12ba3e5b1b1310cd9cb3", "050401ff000c000000000000575e85d601010000853b728d5268525a1386c19f"},
		{false, 0, "040400ffffffffff00000000000000009649ca09d2f1bc51ff6e5ca3", "050400ff000c000000000000000000000101000079a033510b6f127212242b97"},
	} {
		ini, acc := protPair(t, krbcrypto.AES128CTSHMACSHA196, key, false, true, tc.seq)
		snd, rcv := ini, acc
		if tc.acceptor {
			snd, rcv = acc, ini
		}
		sig := make([]byte, 64)
		m := []sspi.Buffer{{Type: sspi.BufferData, Data: msg}, {Type: sspi.BufferToken, Data: sig}}
		if err := snd.MakeSignature(0, m, 0); err != nil || hex.EncodeToString(m[1].Data) != tc.mic {
			t.Errorf("MIC %x %v, want %s", m[1].Data, err, tc.mic)
		}
		if _, err := rcv.VerifySignature(m, 0); err != nil {
			t.Error(err)
		}
		// The published integrity-only wrap has RRC 0; ours rotates, so check by unwrapping.
		w, _ := hex.DecodeString(tc.wrap)
		rcv.recvSeq = tc.seq
		wm := []sspi.Buffer{{Type: sspi.BufferToken, Data: w}, {Type: sspi.BufferData, Data: nil}}
		qop, err := rcv.DecryptMessage(wm, 0)
		if err != nil || qop != sspi.QOPWrapNoEncrypt || !bytes.Equal(wm[1].Data, []byte{1, 1, 0, 0}) {
			t.Errorf("unwrap %x %v %v", wm[1].Data, qop, err)
		}
	}
	// The sealed examples (initiator, seq 0): plain RFC 4121 (RRC 0) and Windows' EC=16,
	// RRC=28 rotated by RRC+EC, whole and split at the trailer.
	for _, h := range []string{
		"050402ff000000000000000000000000debcb2b270f4152cfe1cde9c62f90d12ebdca10a92a797cbf78ed2b5105cdb0819bcd720e8648c7524017a100e2eaf56",
		"050402ff0010001c0000000000000000dcf00257d04041708bc1195157b2bd0263c1f34b3c4cf2ee05678d4269bd031f5815a1acbf2623020d6a0703debcb2b270f4152cfe1cde9c62f90d12c344abc4",
	} {
		for _, split := range []bool{false, true} {
			w, _ := hex.DecodeString(h)
			_, acc := protPair(t, krbcrypto.AES128CTSHMACSHA196, key, false, false, 0)
			cut := len(w)
			if split {
				cut = len(w) - len(msg)
			}
			wm := []sspi.Buffer{{Type: sspi.BufferToken, Data: w[:cut]}, {Type: sspi.BufferData, Data: w[cut:]}}
			qop, err := acc.DecryptMessage(wm, 0)
			if err != nil || qop != 0 || !bytes.Equal(wm[1].Data, msg) {
				t.Errorf("sealed unwrap (split %v) %x %v", split, wm[1].Data, err)
			}
		}
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"host/localhost": "host/localhost", "host@localhost": "host/localhost",
		"HTTP/web.example.com@EXAMPLE.COM": "HTTP/web.example.com", "server": "host/server",
	} {
		if got, _, err := parseTarget(in); err != nil || got != want {
			t.Errorf("%s: %s %v", in, got, err)
		}
	}
}

// A client with a keytab, and channel bindings checked by the server.
func TestKeytabClientAndBindings(t *testing.T) {
	k := getKDC(t)
	cc := acquire(t, sspi.CredOutbound, &ClientConfig{Principal: "bob@" + testRealm, Keytab: ownKeytab(t, "bob"), Config: k.Krb5Conf})
	sc := testServerCreds(t, k, ServerConfig{ServicePrincipal: "host/localhost@" + testRealm})
	cb := func(app string) []byte {
		return (&sspi.ChannelBindings{ApplicationData: []byte(app)}).Marshal()
	}
	for _, tc := range []struct {
		client, server string
		ok             bool
	}{{"tls-server-end-point:abc", "tls-server-end-point:abc", true}, {"tls-server-end-point:abc", "tls-server-end-point:xyz", false}, {"", "tls-server-end-point:xyz", true}} {
		var ccb, scb []byte
		if tc.client != "" {
			ccb = cb(tc.client)
		}
		scb = cb(tc.server)
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "host@localhost", ChannelBindings: ccb})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{ChannelBindings: scb})
		_, err := handshake(t, cli, srv)
		if tc.ok && err != nil {
			t.Errorf("%+v: %v", tc, err)
		}
		if !tc.ok && !errors.Is(err, sspi.ErrBadBindings) {
			t.Errorf("%+v: %v", tc, err)
		}
		if tc.ok {
			if id, _ := srv.Identity(); id.Principal != "bob@"+testRealm {
				t.Errorf("identity %+v", id)
			}
		}
		cli.Close()
		srv.Close()
	}
}
