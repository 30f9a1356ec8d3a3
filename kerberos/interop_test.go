package kerberos

import (
	"bytes"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// MIT krb5 (python3-gssapi) as initiator, our server as acceptor.
func TestInteropMITInitiator(t *testing.T) {
	k := getKDC(t)
	testpeers.RequireGSSPython(t)
	for _, flags := range []uint32{
		testpeers.GSSMutualFlag | testpeers.GSSIntegFlag | testpeers.GSSConfFlag | testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag,
		testpeers.GSSIntegFlag | testpeers.GSSConfFlag,
	} {
		ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
			Password: testPassword, Target: "host@localhost", Flags: flags, Env: k.Env(),
		})
		srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
		defer srv.Close()
		tok, done, err := ini.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := srv.Step(tok)
		if err != nil {
			t.Fatal(err)
		}
		mutual := flags&testpeers.GSSMutualFlag != 0
		if !done {
			if !mutual || len(rep) == 0 {
				t.Fatalf("initiator wants more (mutual %v, AP-REP %d bytes)", mutual, len(rep))
			}
			if _, done, err = ini.Step(rep); err != nil || !done {
				t.Fatalf("initiator on our AP-REP: %v %v", done, err)
			}
		} else if mutual || len(rep) != 0 {
			t.Fatalf("done without mutual: %v, AP-REP %d bytes", mutual, len(rep))
		}
		id, _ := srv.Identity()
		if id.Principal != "alice@"+testRealm {
			t.Errorf("identity %+v", id)
		}
		// MIT 1.20's KDC puts a PAC without logon information in the ticket; it verified.
		if id.Authorization != sspi.AuthzPACWithoutLogonInfo || id.Token == nil || id.Token.UserName != testUser {
			t.Errorf("authorization %v, token %+v", id.Authorization, id.Token)
		}
		info, err := ini.Info()
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := srv.SessionKey()
		if !bytes.Equal(sk, info.SessionKey) {
			t.Errorf("session keys: ours %x, MIT %x", sk, info.SessionKey)
		}
		peerMessages(t, ini, srv)
	}
}

// Our client as initiator, MIT krb5 (python3-gssapi) as acceptor.
func TestInteropMITAcceptor(t *testing.T) {
	k := getKDC(t)
	testpeers.RequireGSSPython(t)
	cc := testClientCreds(t, k, testPassword)
	for _, req := range []sspi.ContextReq{sspi.DefaultClientReq, sspi.ISCReqIntegrity | sspi.ISCReqConfidentiality} {
		acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: "host@localhost",
			Env: k.ServerEnv(),
		})
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: "host/localhost", Req: req})
		defer cli.Close()
		tok, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		rep, done, err := acc.Step(tok)
		if err != nil {
			t.Fatalf("MIT acceptor: %v\n%s", err, acc.Stderr())
		}
		if !done {
			t.Fatal("MIT acceptor not done")
		}
		mutual := req&sspi.ISCReqMutualAuth != 0
		if mutual {
			if _, err := cli.Step(rep); err != nil {
				t.Fatal(err)
			}
		} else if len(rep) != 0 {
			t.Fatalf("AP-REP without mutual")
		}
		if !cli.Established() {
			t.Fatal("client not established")
		}
		info, err := acc.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.PeerName != "alice@"+testRealm {
			t.Errorf("MIT acceptor saw %+v", info)
		}
		sk, _ := cli.SessionKey()
		if !bytes.Equal(sk, info.SessionKey) {
			t.Errorf("session keys: ours %x, MIT %x", sk, info.SessionKey)
		}
		peerMessages(t, acc, cli)
	}
}

// peerMessages seals and signs both ways between a MIT peer and our context.
func peerMessages(t *testing.T, peer *testpeers.GSSPeer, ours session) {
	t.Helper()
	msg := []byte("kerberos message that is long enough for every split")
	for _, conf := range []bool{true, false} {
		tok, applied, err := peer.Wrap(msg, conf)
		if err != nil {
			t.Fatal(err)
		}
		if applied != conf {
			t.Errorf("MIT wrap conf %v applied %v", conf, applied)
		}
		got, err := ours.Unwrap(tok)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("our unwrap of MIT's wrap(conf=%v): %q %v", conf, got, err)
		}
	}
	w, err := ours.Wrap(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, enc, err := peer.Unwrap(w)
	if err != nil || !enc || !bytes.Equal(got, msg) {
		t.Fatalf("MIT unwrap of our wrap: %q %v %v", got, enc, err)
	}
	w, err = ours.WrapIntegrityOnly(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, enc, err = peer.Unwrap(w)
	if err != nil || enc || !bytes.Equal(got, msg) {
		t.Fatalf("MIT unwrap of our integrity-only wrap: %q %v %v", got, enc, err)
	}
	mic, err := peer.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ours.Verify(msg, mic); err != nil {
		t.Fatalf("our verify of MIT's MIC: %v", err)
	}
	mic, err = ours.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.VerifyMIC(msg, mic); err != nil {
		t.Fatalf("MIT verify of our MIC: %v", err)
	}
}

// Channel bindings agree with MIT's in both directions; MIT refuses ours when they differ.
func TestInteropChannelBindings(t *testing.T) {
	k := getKDC(t)
	testpeers.RequireGSSPython(t)
	app := []byte("tls-server-end-point:0123456789abcdef")
	cbs := (&sspi.ChannelBindings{ApplicationData: app}).Marshal()
	// MIT initiator → our acceptor.
	ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
		Password: testPassword, Flags: testpeers.GSSMutualFlag | testpeers.GSSIntegFlag, ChannelBindings: app, Env: k.Env(),
	})
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{ChannelBindings: cbs})
	defer srv.Close()
	tok, _, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Step(tok); err != nil {
		t.Fatalf("our acceptor with MIT's bindings: %v", err)
	}
	// Our initiator → MIT acceptor, matching and not.
	cc := testClientCreds(t, k, testPassword)
	for _, peerApp := range [][]byte{app, []byte("tls-server-end-point:other")} {
		acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: "host@localhost", ChannelBindings: peerApp,
			Env: k.ServerEnv(),
		})
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, ChannelBindings: cbs})
		tok, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = acc.Step(tok)
		if same := bytes.Equal(peerApp, app); same != (err == nil) {
			t.Errorf("MIT acceptor, same bindings %v: %v", same, err)
		}
		cli.Close()
	}
}
