package kerberos

import (
	"bytes"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
)

// rc4SPN is a service whose tickets carry RC4 session keys (session_enctypes) and whose
// only key is RC4, which is what MIT 1.20's acceptor needs to keep RC4 tokens.
const rc4SPN = "rc4/localhost"

// rc4KDC starts a KDC that issues RC4 session keys for rc4SPN, and writes the service's
// keys into the KDC's keytab.
func rc4KDC(t *testing.T) *testpeers.KDC {
	t.Helper()
	k := testpeers.StartKDC(t, testpeers.KDCOptions{
		Realm:    testRealm,
		Users:    map[string]string{testUser: testPassword},
		Services: []string{testSPN, rc4SPN},
		// MIT 1.20 issues RC4 session keys only when allowed.
		AllowWeakSessionKeys: true,
	})
	k.Kadmin(t, "cpw -randkey -e arcfour-hmac:normal "+rc4SPN)
	k.Kadmin(t, "setstr "+rc4SPN+" session_enctypes arcfour-hmac")
	k.Kadmin(t, "ktadd -k "+k.Keytab+" -norandkey "+rc4SPN)
	return k
}

// TestInteropRC4 runs RC4 contexts against MIT both ways, with and without mutual
// authentication, and exchanges sealed and integrity-only Wrap tokens and MICs. Without
// mutual authentication the context key is the RC4 session key (or our RC4 subkey), so
// the tokens are RFC 4757's; with it MIT's acceptor answers with an AES acceptor subkey
// and the tokens are RFC 4121's, which is checked too.
func TestInteropRC4(t *testing.T) {
	testpeers.RequireGSSPython(t)
	k := rc4KDC(t)
	const base = testpeers.GSSIntegFlag | testpeers.GSSConfFlag | testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag
	t.Run("MIT-initiator", func(t *testing.T) {
		for _, mutual := range []bool{false, true} {
			flags := uint32(base)
			if mutual {
				flags |= testpeers.GSSMutualFlag
			}
			ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
				Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
				Password: testPassword, Target: "rc4@localhost", Flags: flags, Env: k.Env(),
			})
			srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
			defer srv.Close()
			tok, done, err := ini.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := srv.Step(tok)
			if err != nil {
				t.Fatalf("mutual %v: %v", mutual, err)
			}
			if !done {
				if _, done, err = ini.Step(rep); err != nil || !done {
					t.Fatalf("MIT initiator on our AP-REP: %v %v", done, err)
				}
			}
			sk, _ := srv.SessionKey()
			info, err := ini.Info()
			if err != nil {
				t.Fatal(err)
			}
			// With mutual authentication MIT's initiator offers AES (RFC 4537) and our
			// acceptor answers with an AES subkey, as MIT's does: RFC 4121 tokens.
			if want := map[bool]int{false: 16, true: 32}[mutual]; !bytes.Equal(sk, info.SessionKey) || len(sk) != want {
				t.Fatalf("mutual %v: session keys ours %x, MIT %x (want %d bytes)", mutual, sk, info.SessionKey, want)
			}
			if a := srv.Attributes(); !a.Has(sspi.ASCRetIntegrity) || !a.Has(sspi.ASCRetConfidentiality) {
				t.Errorf("RC4 context attributes %s", a.Format(true))
			}
			peerMessages(t, ini, srv)
		}
	})
	t.Run("MIT-acceptor", func(t *testing.T) {
		cc := testClientCreds(t, k, testPassword)
		for _, mutual := range []bool{false, true} {
			req := sspi.ISCReqIntegrity | sspi.ISCReqConfidentiality | sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect
			if mutual {
				req |= sspi.ISCReqMutualAuth
			}
			acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
				Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, AcceptorName: "rc4@localhost", Env: k.ServerEnv(),
			})
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: rc4SPN, Req: req})
			defer cli.Close()
			tok, err := cli.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			rep, done, err := acc.Step(tok)
			if err != nil || !done {
				t.Fatalf("MIT acceptor (mutual %v): %v %v\n%s", mutual, done, err, acc.Stderr())
			}
			if mutual {
				if _, err := cli.Step(rep); err != nil {
					t.Fatal(err)
				}
			}
			sk, _ := cli.SessionKey()
			info, err := acc.Info()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sk, info.SessionKey) {
				t.Fatalf("mutual %v: session keys ours %x, MIT %x", mutual, sk, info.SessionKey)
			}
			// MIT's acceptor answers an RC4 initiator with an AES subkey only when the
			// authenticator offers AES (RFC 4537), which ours does not: RC4 throughout.
			if len(sk) != 16 {
				t.Errorf("mutual %v: context key of %d bytes, want 16 (RC4)", mutual, len(sk))
			}
			peerMessages(t, acc, cli)
		}
	})
}
