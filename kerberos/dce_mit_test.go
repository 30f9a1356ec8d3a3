package kerberos

import (
	"bytes"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// TestDCEStyleMIT: DCE style between MIT krb5 1.20 (python3-gssapi, GSS_C_DCE_STYLE) and
// ours, both ways: three bare tokens; MIT's sealed messages and MICs to us, and ours to
// MIT. Our sealed tokens are in Windows' layout (EC = 16, RRC = 28), which MIT reads with
// gss_unwrap_iov, as DCE/RPC peers do (its plain gss_unwrap refuses that layout).
func TestDCEStyleMIT(t *testing.T) {
	k := getKDC(t)
	testpeers.RequireGSSPython(t)
	const flags = testpeers.GSSDCEStyleFlag | testpeers.GSSMutualFlag | testpeers.GSSIntegFlag | testpeers.GSSConfFlag |
		testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag
	t.Run("mit-initiator", func(t *testing.T) {
		ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
			Password: testPassword, Target: "host@localhost", Flags: flags, Env: k.Env(),
		})
		srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
		defer srv.Close()
		apReq, _, err := ini.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatalf("our acceptor on MIT's AP-REQ: %v", err)
		}
		third, done, err := ini.Step(apRep)
		if err != nil || !done {
			t.Fatalf("MIT on our AP-REP: done %v, %v\n%s", done, err, ini.Stderr())
		}
		if out, err := srv.Step(third); err != nil || len(out) != 0 || !srv.Established() {
			t.Fatalf("our acceptor on MIT's third leg: %v", err)
		}
		checkBareTokens(t, apReq, apRep, third)
		info, err := ini.Info()
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := srv.SessionKey()
		if info.Flags&testpeers.GSSDCEStyleFlag == 0 || !bytes.Equal(sk, info.SessionKey) {
			t.Errorf("MIT flags %#x, session keys ours %x MIT %x", info.Flags, sk, info.SessionKey)
		}
		if srv.Attributes()&sspi.ASCRetUsedDCEStyle == 0 {
			t.Errorf("attributes %s", srv.Attributes().Format(true))
		}
		mitDCEMessages(t, ini, srv)
		mitSignOnly(t, ini, srv.Handle())
	})
	t.Run("mit-acceptor", func(t *testing.T) {
		cli, acc := dceToMITAcceptor(t, k, testClientCreds(t, k, testPassword), "host/localhost", dceReq)
		info, err := acc.Info()
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := cli.SessionKey()
		if info.PeerName != testUser+"@"+testRealm || info.Flags&testpeers.GSSDCEStyleFlag == 0 || !bytes.Equal(sk, info.SessionKey) {
			t.Errorf("MIT acceptor: %+v; our session key %x", info, sk)
		}
		mitDCEMessages(t, acc, cli)
		mitSignOnly(t, acc, cli.Handle())
	})
}

func checkBareTokens(t *testing.T, toks ...[]byte) {
	t.Helper()
	for i, tok := range toks {
		if want := []int{wire.MsgAPReq, wire.MsgAPRep, wire.MsgAPRep}[i]; wire.MessageType(tok) != want {
			t.Errorf("token %d is not the bare Kerberos message %d: % x", i, want, tok[:min(4, len(tok))])
		}
	}
}

func mitDCEMessages(t *testing.T, peer *testpeers.GSSPeer, us session) {
	t.Helper()
	msg := []byte("DCE/RPC stub data through MIT and back, longer than a block")
	for i := 0; i < 2; i++ {
		tok, _, err := peer.Wrap(msg, true)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := us.Unwrap(tok); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("our Unwrap of MIT's gss_wrap: %q %v", got, err)
		}
		w, err := us.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, sealed, err := peer.UnwrapIOV(w[:76], nil, w[76:], nil); err != nil || !sealed || !bytes.Equal(got, msg) {
			t.Fatalf("MIT's gss_unwrap_iov of our sealed token (Windows layout): %q sealed %v, %v", got, sealed, err)
		}
		mic, err := peer.GetMIC(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := us.Verify(msg, mic); err != nil {
			t.Errorf("our Verify of MIT's MIC: %v", err)
		}
		if mic, err = us.Sign(msg); err != nil {
			t.Fatal(err)
		}
		if err := peer.VerifyMIC(msg, mic); err != nil {
			t.Errorf("MIT's gss_verify_mic of our MIC: %v", err)
		}
	}
}

// mitSignOnly exchanges DCE/RPC-shaped messages (sign-only PDU header and trailer around
// sealed stub data) with MIT's gss_wrap_iov and gss_unwrap_iov, both ways.
func mitSignOnly(t *testing.T, peer *testpeers.GSSPeer, us *sspi.Context) {
	t.Helper()
	const hdr, stub, trl = "\x05\x00\x00\x83pdu-header", "stub data of the request", "\x10\x06\x00\x00trailer"
	msg := dcePDU(76, hdr, stub, trl)
	if err := sspi.EncryptMessage(us, 0, msg, 0); err != nil {
		t.Fatal(err)
	}
	got, sealed, err := peer.UnwrapIOV(msg[0].Data, msg[1].Data, msg[2].Data, msg[3].Data)
	if err != nil || !sealed || string(got) != stub {
		t.Fatalf("MIT's gss_unwrap_iov of our sign-only PDU: %q sealed %v, %v", got, sealed, err)
	}
	header, data, err := peer.WrapIOV([]byte(hdr), []byte(stub), []byte(trl), true)
	if err != nil {
		t.Fatal(err)
	}
	msg = dcePDU(0, hdr, string(data), trl)
	msg[0].Data = header
	if _, _, err := sspi.DecryptMessage(us, msg, 0); err != nil || string(msg[2].Data) != stub {
		t.Fatalf("our DecryptMessage of MIT's gss_wrap_iov PDU (%d-byte header): %q %v", len(header), msg[2].Data, err)
	}
}

// dceToMITAcceptor runs a DCE-style handshake of our initiator (creds, target, req)
// against MIT's acceptor (python-gssapi, host@localhost): three bare legs, each side done
// exactly when it should be. The client context is closed when the test ends.
func dceToMITAcceptor(t *testing.T, k *testpeers.KDC, creds *sspi.Credentials, target string, req sspi.ContextReq) (*sspi.ClientContext, *testpeers.GSSPeer) {
	t.Helper()
	acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: "host@localhost", Env: k.ServerEnv(),
	})
	cli := sspi.NewClientContext(creds, sspi.ClientOptions{Target: target, Req: req})
	t.Cleanup(func() { cli.Close() })
	apReq, err := cli.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	apRep, done, err := acc.Step(apReq)
	if err != nil || done {
		t.Fatalf("MIT acceptor on our AP-REQ: done %v, %v\n%s", done, err, acc.Stderr())
	}
	third, err := cli.Step(apRep)
	if err != nil || !cli.Established() {
		t.Fatalf("our initiator on MIT's AP-REP: %v", err)
	}
	if out, done, err := acc.Step(third); err != nil || !done || len(out) != 0 {
		t.Fatalf("MIT acceptor on our third leg: done %v, %d bytes, %v\n%s", done, len(out), err, acc.Stderr())
	}
	checkBareTokens(t, apReq, apRep, third)
	return cli, acc
}
