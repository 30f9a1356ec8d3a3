package testpeers

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

const testRealm = KDCRealm

// The GSS driver with Kerberos: a password-made initiator (gss_acquire_cred_with_password gets
// the TGT from the KDC) against a keytab acceptor, with mutual authentication, directly and
// through SPNEGO.
func TestGSSPeerKerberos(t *testing.T) {
	RequireGSSPython(t)
	kdc := StartKDC(t, KDCOptions{Users: map[string]string{"alice": testPassword}})
	for _, mech := range []string{MechKerberos, MechSPNEGO} {
		t.Run(mech, func(t *testing.T) {
			ini := NewGSSPeer(t, GSSPeerOptions{
				Role: Initiator, Mech: mech, User: "alice@" + testRealm, UserType: "principal",
				Password: testPassword, NegMechs: []string{MechKerberos},
				Flags: GSSMutualFlag | GSSIntegFlag | GSSConfFlag, Env: kdc.Env(),
			})
			acc := NewGSSPeer(t, GSSPeerOptions{
				Role: Acceptor, Mech: mech, AcceptorName: "host@localhost", NegMechs: []string{MechKerberos},
				Env: kdc.ServerEnv(),
			})
			tokens, err := Handshake(ini, acc, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Mutual authentication: AP-REQ, then AP-REP (SPNEGO may add a MIC leg).
			if len(tokens) < 2 {
				t.Errorf("%d tokens, want AP-REQ and AP-REP", len(tokens))
			}
			ai, err := acc.Info()
			if err != nil {
				t.Fatal(err)
			}
			if ai.PeerName != "alice@"+testRealm || ai.Mech != MechKerberos {
				t.Errorf("acceptor info %+v", ai)
			}
			ii, err := ini.Info()
			if err != nil {
				t.Fatal(err)
			}
			if ii.Flags&GSSMutualFlag == 0 || ii.PeerName != "host/localhost@"+testRealm {
				t.Errorf("initiator info %+v", ii)
			}
			if len(ai.SessionKey) == 0 || !bytes.Equal(ai.SessionKey, ii.SessionKey) {
				t.Errorf("session keys: acceptor %x, initiator %x", ai.SessionKey, ii.SessionKey)
			}
			for _, conf := range []bool{true, false} {
				tok, applied, err := ini.Wrap([]byte("kerberos message"), conf)
				if err != nil {
					t.Fatal(err)
				}
				// Unlike gss-ntlmssp, krb5 honours conf_req_flag.
				if applied != conf || bytes.Contains(tok, []byte("kerberos message")) == conf {
					t.Errorf("wrap(conf=%v): applied %v", conf, applied)
				}
				msg, enc, err := acc.Unwrap(tok)
				if err != nil || string(msg) != "kerberos message" || enc != conf {
					t.Errorf("unwrap: %q %v %v", msg, enc, err)
				}
			}
		})
	}
}

// The KDC helper: its files, Kinit into a fresh ccache, KeytabFor without changing keys, and
// MIT's gss-client with that ccache against gss-server with the service keytab, with krb5
// directly and through SPNEGO.
func TestKDCWithGSSSample(t *testing.T) {
	kdc := StartKDC(t, KDCOptions{Users: map[string]string{"alice": testPassword, "bob": ""}})
	for _, f := range []string{kdc.Krb5Conf, kdc.KDCConf, kdc.Keytab} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	if kdc.Principal("alice") != "alice@"+KDCRealm {
		t.Errorf("Principal: %s", kdc.Principal("alice"))
	}
	bobKT := kdc.KeytabFor(t, "bob")
	if st, err := os.Stat(bobKT); err != nil || st.Size() == 0 {
		t.Fatalf("bob's keytab: %v", err)
	}
	cc := kdc.Kinit(t, "alice", testPassword)
	gs := StartGSSServer(t, GSSServerOptions{Keytab: kdc.Keytab, Env: kdc.Env()})
	for _, spnego := range []bool{false, true} {
		msg := "hello over Kerberos"
		if spnego {
			msg += " through SPNEGO"
		}
		res, err := RunGSSClient(t, gs.Addr, GSSClientOptions{
			SPNEGO: spnego, Message: msg, Env: append(kdc.Env(), "KRB5CCNAME=FILE:"+cc),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 {
			t.Fatalf("gss-client exit %d:\n%s\ngss-server log:\n%s\nKDC log:\n%s", res.ExitCode, res.Output, gs.Log(), kdc.Log())
		}
		if !gs.ReceivedMessage(msg) || !gs.AcceptedMech(MechKerberos) {
			t.Errorf("gss-server log:\n%s", gs.Log())
		}
	}
	// Without a ticket the client fails, and says why.
	res, err := RunGSSClient(t, gs.Addr, GSSClientOptions{Env: kdc.Env()})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Output, "credentials cache") && !strings.Contains(res.Output, "No credentials") {
		t.Errorf("gss-client without a ticket: exit %d\n%s", res.ExitCode, res.Output)
	}
}
