package gss

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/testpeers"
)

// MIT krb5 1.20 (through python3-gssapi) establishes a context with itself; its session key
// (GSS_C_INQ_SSPI_SESSION_KEY) then keys this package on the acceptor's side, and tokens
// go both ways between MIT's initiator and this package: MIT's gss_get_mic and gss_wrap
// (sealed and not) are verified and unwrapped here, and ours are checked by MIT's
// gss_verify_mic and gss_unwrap. MIT refuses Windows' EncryptMessage rotation (RRC+EC
// with EC = 16); it reads gosspi's default split (EC = 0). The "rc4/localhost" service's session_enctypes make the
// KDC issue an rc4-hmac session key, so MIT uses its RFC 4757 tokens there.

func mitContext(t *testing.T, k *testpeers.KDC, service string, flags uint32) (ini *testpeers.GSSPeer, key []byte, mic []byte) {
	t.Helper()
	ini = testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Initiator, Mech: testpeers.MechKerberos,
		User: testpeers.KDCUser + "@" + k.Realm, UserType: "principal", Password: testpeers.KDCPassword,
		Target: service + "@localhost", Flags: flags,
		Env: k.Env(),
	})
	acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: service + "@localhost", Env: k.ServerEnv(),
	})
	if _, err := testpeers.Handshake(ini, acc, 4); err != nil {
		t.Fatalf("MIT with itself: %v\n%s\n%s", err, ini.Stderr(), acc.Stderr())
	}
	info, err := ini.Info()
	if err != nil || len(info.SessionKey) == 0 {
		t.Fatalf("MIT session key: %v", err)
	}
	mic, err = ini.GetMIC([]byte("which key?"))
	if err != nil {
		t.Fatal(err)
	}
	return ini, info.SessionKey, mic
}

// TestMITInterop runs one MIT context per case (AES with mutual authentication, AES in
// DCE style, rc4-hmac) and exchanges tokens both ways with it.
func TestMITInterop(t *testing.T) {
	testpeers.RequireGSSPython(t)
	k := testpeers.StartKDC(t, testpeers.KDCOptions{
		Services:             []string{testpeers.KDCService, "rc4/localhost"},
		AllowWeakSessionKeys: true,
	})
	k.Kadmin(t, "setstr rc4/localhost session_enctypes arcfour-hmac")

	t.Run("aes", func(t *testing.T) { testMITAES(t, k) })
	t.Run("aes-dce", func(t *testing.T) { testMITAESDCE(t, k) })
	t.Run("rc4", func(t *testing.T) { testMITRC4(t, k) })
}

func testMITAES(t *testing.T, k *testpeers.KDC) {
	ini, kb, mic := mitContext(t, k, "host", testpeers.GSSMutualFlag|testpeers.GSSIntegFlag|testpeers.GSSConfFlag)
	c := mitCFX(t, kb, mic)
	for _, n := range []int{0, 1, 16, 31, 1000} {
		msg := make([]byte, n)
		rand.Read(msg)
		for _, conf := range []bool{true, false} {
			cf := make([]byte, 16)
			rand.Read(cf)
			checkMITWrapCFX(t, ini, c, n, msg, conf, cf)
			checkMITEncryptMessage(t, ini, c, n, msg, conf, cf)
		}
		checkMITMICCFX(t, ini, c, n, msg)
	}
}

// mitCFX finds the key MIT's session key stands for. The key length leaves two
// candidates; MIT's MIC tells which (and whether the acceptor-subkey flag is set: MIT's
// acceptor sends a subkey with mutual auth).
func mitCFX(t *testing.T, kb, mic []byte) *CFX {
	t.Helper()
	for _, e := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES256CTSHMACSHA384192, krbcrypto.AES128CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		key, err := krbcrypto.NewKey(e, kb)
		if err != nil {
			continue
		}
		cand, _ := NewCFX(key, true, len(mic) > 2 && mic[2]&FlagAcceptorSubkey != 0)
		if _, err := cand.VerifyMIC(mic, []byte("which key?")); err == nil {
			t.Logf("MIT session key: %v, acceptor subkey %v", e, cand.subkey)
			return cand
		}
	}
	t.Fatalf("MIT's MIC %x verifies under no AES type with its session key", mic)
	return nil
}

// checkMITWrapCFX: MIT's gss_wrap unwraps here, and ours unwraps there.
func checkMITWrapCFX(t *testing.T, ini *testpeers.GSSPeer, c *CFX, n int, msg []byte, conf bool, cf []byte) {
	t.Helper()
	tok, applied, err := ini.Wrap(msg, conf)
	if err != nil || applied != conf {
		t.Fatalf("MIT wrap: %v", err)
	}
	got, _, sealed, err := c.UnwrapInPlace(tok)
	if err != nil || sealed != conf || !bytes.Equal(got, msg) {
		t.Errorf("n=%d conf=%v: MIT's Wrap: %v", n, conf, err)
	}
	ours, _ := c.AppendWrap(nil, uint64(n), msg, conf, cf)
	back, enc, err := ini.Unwrap(ours)
	if err != nil || enc != conf || !bytes.Equal(back, msg) {
		t.Errorf("n=%d conf=%v: MIT refuses our Wrap: %v", n, conf, err)
	}
}

// checkMITEncryptMessage joins the SSPI split: RFC 4121's rotation is read by MIT;
// Windows' (EC 16 counted into the rotation) is checked and reported.
func checkMITEncryptMessage(t *testing.T, ini *testpeers.GSSPeer, c *CFX, n int, msg []byte, conf bool, cf []byte) {
	t.Helper()
	for _, win := range []bool{false, true} {
		d := append([]byte(nil), msg...)
		tb := make([]byte, 128)
		used, err := c.WrapSSPI(tb, [][]byte{d}, 1, WrapOptions{Seal: conf, Windows: win}, cf)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := ini.Unwrap(append(tb[:used:used], d...))
		switch {
		case !win || !conf:
			if err != nil || !bytes.Equal(back, msg) {
				t.Errorf("n=%d conf=%v: MIT refuses our EncryptMessage token: %v", n, conf, err)
			}
		case err == nil:
			// A fact to notice if it changes: MIT 1.20 (outside DCE style)
			// rotates by RRC alone, so Windows' EC=16 layout fails there.
			t.Errorf("n=%d: MIT now reads the Windows-style rotation (RRC+EC)", n)
		}
	}
}

// checkMITMICCFX: MIT's gss_get_mic verifies here, and ours there.
func checkMITMICCFX(t *testing.T, ini *testpeers.GSSPeer, c *CFX, n int, msg []byte) {
	t.Helper()
	m, err := ini.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyMIC(m, msg); err != nil {
		t.Errorf("n=%d: MIT's MIC: %v", n, err)
	}
	if err := ini.VerifyMIC(msg, c.AppendMIC(nil, uint64(n), msg)); err != nil {
		t.Errorf("n=%d: MIT refuses our MIC: %v", n, err)
	}
}

// testMITAESDCE: with GSS_C_DCE_STYLE (0x1000), MIT's gss_wrap still sends EC = 0,
// RRC = 0, and its gss_unwrap still rotates by RRC alone; our default split is read,
// Windows' is not.
func testMITAESDCE(t *testing.T, k *testpeers.KDC) {
	ini, kb, mic := mitContext(t, k, "host", 0x1000|testpeers.GSSMutualFlag|testpeers.GSSIntegFlag|testpeers.GSSConfFlag)
	key, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, kb)
	c, _ := NewCFX(key, true, mic[2]&FlagAcceptorSubkey != 0)
	msg := []byte("a DCE/RPC stub, 8-byte aligned..")
	tok, _, err := ini.Wrap(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("MIT's DCE-style Wrap has EC/RRC % x, want 00 00 00 00", tok[4:8])
	}
	if got, _, _, err := c.UnwrapInPlace(tok); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("MIT's DCE-style Wrap: %v", err)
	}
	for _, win := range []bool{false, true} {
		d := append([]byte(nil), msg...)
		tb := make([]byte, 128)
		used, _ := c.WrapSSPI(tb, [][]byte{d}, 1, WrapOptions{Seal: true, Windows: win}, make([]byte, 16))
		back, _, err := ini.Unwrap(append(tb[:used:used], d...))
		if ok := err == nil && bytes.Equal(back, msg); ok == win {
			t.Errorf("windows=%v: MIT (DCE style) reads our split: %v, %v", win, ok, err)
		}
	}
}

// testMITRC4 runs without mutual authentication: with it, MIT's acceptor answers with an
// AES acceptor subkey (chosen from the initiator's enctype list) and the context uses
// RFC 4121 tokens after all. Without, the key is the initiator's subkey, of the session
// key's type.
func testMITRC4(t *testing.T, k *testpeers.KDC) {
	ini, kb, mic := mitContext(t, k, "rc4", testpeers.GSSIntegFlag|testpeers.GSSConfFlag)
	if len(kb) != 16 {
		t.Fatalf("session key of %d bytes: the KDC did not issue rc4-hmac\n%s", len(kb), k.Log())
	}
	key, _ := krbcrypto.NewKey(krbcrypto.RC4HMAC, kb)
	r, _ := NewRC4(key, true)
	if _, err := r.VerifyMIC(mic, []byte("which key?")); err != nil {
		t.Fatalf("MIT's RC4 MIC %x: %v", mic, err)
	}
	for _, n := range []int{0, 1, 7, 8, 9, 1000} {
		msg := make([]byte, n)
		rand.Read(msg)
		for _, conf := range []bool{true, false} {
			checkMITWrapRC4(t, ini, r, n, msg, conf)
		}
		checkMITMICRC4(t, ini, r, n, msg)
	}
}

// checkMITWrapRC4: MIT's RFC 4757 gss_wrap unwraps here, and ours unwraps there.
func checkMITWrapRC4(t *testing.T, ini *testpeers.GSSPeer, r *RC4, n int, msg []byte, conf bool) {
	t.Helper()
	tok, applied, err := ini.Wrap(msg, conf)
	if err != nil || applied != conf {
		t.Fatalf("MIT wrap: %v", err)
	}
	got, _, sealed, err := r.UnwrapInPlace(tok)
	if err != nil || sealed != conf || !bytes.Equal(got, msg) {
		t.Errorf("n=%d conf=%v: MIT's RC4 Wrap (%d bytes): %v", n, conf, len(tok), err)
	}
	cf := make([]byte, 8)
	rand.Read(cf)
	ours, _ := r.AppendWrap(nil, uint32(n), msg, conf, cf)
	back, enc, err := ini.Unwrap(ours)
	if err != nil || enc != conf || !bytes.Equal(back, msg) {
		t.Errorf("n=%d conf=%v: MIT refuses our RC4 Wrap: %v", n, conf, err)
	}
}

// checkMITMICRC4: MIT's RFC 4757 MIC verifies here and ours there; our own MIC
// reflected back at us is refused by its direction bytes.
func checkMITMICRC4(t *testing.T, ini *testpeers.GSSPeer, r *RC4, n int, msg []byte) {
	t.Helper()
	m, err := ini.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.VerifyMIC(m, msg); err != nil {
		t.Errorf("n=%d: MIT's RC4 MIC: %v", n, err)
	}
	if err := ini.VerifyMIC(msg, r.AppendMIC(nil, uint32(n), msg)); err != nil {
		t.Errorf("n=%d: MIT refuses our RC4 MIC: %v", n, err)
	}
	if _, err := r.VerifyMIC(r.AppendMIC(nil, 1, msg), msg); !errors.Is(err, ErrDirection) {
		t.Errorf("reflected RC4 MIC: %v", err)
	}
}
