package kerberos

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// dceDelegReq is DCE style with delegation, as a DCE/RPC client that delegates asks.
const dceDelegReq = dceReq | sspi.ISCReqDelegate

// TestDCEDelegation: our client delegates to our server in DCE style (MS-KILE 3.4.5.1;
// what DCE/RPC servers use to get a caller's TGT), directly and through Negotiate, with
// MIT's KDC: the AP-REQ's checksum carries both GSS_C_DCE_STYLE and GSS_C_DELEG_FLAG;
// the server reports ASC_RET_DELEGATE only once the third leg has established the
// context (not on its CONTINUE_NEEDED leg, where DelegatedCredentials is refused), the
// client ISC_RET_DELEGATE; and the delegated TGT takes the server to a third service
// as the user.
func TestDCEDelegation(t *testing.T) {
	k, ktPath := delegKDC(t)
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"Kerberos", "Negotiate"} {
		t.Run(pkg, func(t *testing.T) {
			cc := delegClient(t, k, true, false)
			sc := testServerCreds(t, k, ServerConfig{Keytab: ktPath})
			if pkg == "Negotiate" {
				cc = acquireNegotiate(t, sspi.CredOutbound, &ClientConfig{Principal: testUser + "@" + testRealm, Password: testPassword, Config: k.Krb5Conf, Forwardable: true})
				sc = acquireNegotiate(t, sspi.CredInbound, &ServerConfig{Keytab: ktPath})
			}
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: delegSPN, Req: dceDelegReq})
			defer cli.Close()
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{Req: sspi.ASCReqUseDCEStyle | sspi.ASCReqMutualAuth})
			defer srv.Close()
			toks := dceDelegHandshake(t, cli, srv)
			if pkg == "Kerberos" {
				checkBareTokens(t, toks...)
				if len(toks) != 3 {
					t.Fatalf("%d tokens, want 3", len(toks))
				}
				ck := apReqChecksum(t, kt, toks[0])
				if ck.flags&(gssDCEStyle|gssDeleg|gssMutual) != gssDCEStyle|gssDeleg|gssMutual || len(ck.deleg) == 0 {
					t.Errorf("checksum flags %#x, %d-byte KRB-CRED: want DCE style, delegation and mutual authentication", ck.flags, len(ck.deleg))
				}
			}
			if pkg == "Negotiate" {
				if n := negotiated(t, cli.Handle()); n != PackageName {
					t.Errorf("negotiated %s", n)
				}
			}
			if ca, sa := cli.Attributes(), srv.Attributes(); !ca.Has(sspi.ISCRetDelegate|sspi.ISCRetUsedDCEStyle|sspi.ISCRetMutualAuth) ||
				!sa.Has(sspi.ASCRetDelegate|sspi.ASCRetUsedDCEStyle|sspi.ASCRetMutualAuth) {
				t.Errorf("client %s, server %s: want DELEGATE, USED_DCE_STYLE and MUTUAL_AUTH on both", ca.Format(false), sa.Format(true))
			}
			thirdService(t, k, srv.Handle(), otherSPN)
			dceMessages(t, cli, srv)
		})
	}
}

// dceDelegHandshake runs the handshake and returns the tokens, failing the test if
// either side reports DELEGATE, or the server hands out the delegated credentials,
// before its context is established.
func dceDelegHandshake(t *testing.T, cli *sspi.ClientContext, srv *sspi.ServerContext) [][]byte {
	t.Helper()
	var toks [][]byte
	var in []byte
	for i := 0; !cli.Established() || !srv.Established(); i++ {
		if i == 4 {
			t.Fatalf("handshake did not finish after %d tokens", len(toks))
		}
		out, err := cli.Step(in)
		if err != nil {
			t.Fatal(err)
		}
		// Negotiate's client passes on Kerberos's attributes once Kerberos is done, while
		// SPNEGO's mechListMIC exchange still continues.
		if !cli.Established() && cli.Attributes().Has(sspi.ISCRetDelegate) && cli.Handle().Package() == PackageName {
			t.Errorf("ISC_RET_DELEGATE on the client's CONTINUE_NEEDED leg (%s)", cli.Attributes().Format(false))
		}
		if len(out) == 0 {
			continue
		}
		toks = append(toks, out)
		if in, err = srv.Step(out); err != nil {
			t.Fatal(err)
		}
		if len(in) > 0 {
			toks = append(toks, in)
		}
		if !srv.Established() {
			if srv.Attributes().Has(sspi.ASCRetDelegate) {
				t.Errorf("ASC_RET_DELEGATE on the server's CONTINUE_NEEDED leg (%s)", srv.Attributes().Format(true))
			}
			if _, err := DelegatedCredentials(srv.Handle(), nil); !errors.Is(err, sspi.ErrNoContext) {
				t.Errorf("DelegatedCredentials before the third leg: %v", err)
			}
		}
	}
	return toks
}

// apReqChecksum opens a bare AP-REQ with the service's keytab and returns its
// authenticator's 0x8003 checksum.
func apReqChecksum(t *testing.T, kt *keytab.Keytab, apReq []byte) gssChecksum {
	t.Helper()
	session := ticketSessionKey(t, kt, apReq)
	defer session.Destroy()
	var req wire.APReq
	if err := req.Unmarshal(apReq); err != nil {
		t.Fatal(err)
	}
	plain, err := session.Decrypt(nil, req.Authenticator.Cipher, usageAuthenticator)
	if err != nil {
		t.Fatal(err)
	}
	var auth wire.Authenticator
	if err := auth.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if auth.Checksum == nil || auth.Checksum.Type != checksumType8003 {
		t.Fatalf("authenticator checksum %+v", auth.Checksum)
	}
	ck, err := parseGSSChecksum(auth.Checksum.Value)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// thirdService takes the TGT delegated to srv to target (a service of testRealm) as the
// user.
func thirdService(t *testing.T, k *testpeers.KDC, srv *sspi.Context, target string) {
	t.Helper()
	dc, err := DelegatedCredentials(srv, &DelegationOptions{Config: k.Krb5Conf})
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(dc)
	third := sspi.NewClientContext(dc, sspi.ClientOptions{Target: target})
	defer third.Close()
	thirdSrv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer thirdSrv.Close()
	if _, err := handshake(t, third, thirdSrv); err != nil {
		t.Fatal(err)
	}
	if id, _ := thirdSrv.Identity(); id.Principal != testUser+"@"+testRealm || id.Server != target+"@"+testRealm {
		t.Errorf("third service saw %+v", id)
	}
}

// TestDCEDelegationMIT: delegation in DCE style between MIT krb5 (python3-gssapi,
// GSS_C_DCE_STYLE|GSS_C_DELEG_FLAG) and ours, both ways. MIT's initiator delegates to our
// acceptor, which reports ASC_RET_DELEGATE only once established and reaches a third
// service with the TGT; our initiator delegates to MIT's acceptor, which reports
// GSS_C_DELEG_FLAG (it opened and stored our KRB-CRED).
func TestDCEDelegationMIT(t *testing.T) {
	k, kt := delegKDC(t)
	testpeers.RequireGSSPython(t)
	const flags = testpeers.GSSDCEStyleFlag | testpeers.GSSDelegFlag | testpeers.GSSMutualFlag | testpeers.GSSIntegFlag |
		testpeers.GSSConfFlag | testpeers.GSSSequenceFlag | testpeers.GSSReplayFlag
	t.Run("mit-initiator", func(t *testing.T) {
		ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
			Role: testpeers.Initiator, Mech: testpeers.MechKerberos, User: testUser + "@" + testRealm, UserType: "principal",
			Password: testPassword, Target: "host@localhost", Flags: flags,
			Env: append(k.Env(), "KRB5_CONFIG="+forwardableConf(t, k)),
		})
		srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{Keytab: kt}), sspi.ServerOptions{})
		defer srv.Close()
		apReq, _, err := ini.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatalf("our acceptor on MIT's AP-REQ: %v", err)
		}
		if srv.Established() || srv.Attributes().Has(sspi.ASCRetDelegate) {
			t.Errorf("after the AP-REQ: established %v, attributes %s", srv.Established(), srv.Attributes().Format(true))
		}
		third, done, err := ini.Step(apRep)
		if err != nil || !done {
			t.Fatalf("MIT on our AP-REP: done %v, %v\n%s", done, err, ini.Stderr())
		}
		if out, err := srv.Step(third); err != nil || len(out) != 0 || !srv.Established() {
			t.Fatalf("our acceptor on MIT's third leg: %v", err)
		}
		checkBareTokens(t, apReq, apRep, third)
		if !srv.Attributes().Has(sspi.ASCRetDelegate | sspi.ASCRetUsedDCEStyle) {
			t.Fatalf("MIT's delegation in DCE style not granted: %s", srv.Attributes().Format(true))
		}
		info, err := ini.Info()
		if err != nil || info.Flags&(testpeers.GSSDelegFlag|testpeers.GSSDCEStyleFlag) != testpeers.GSSDelegFlag|testpeers.GSSDCEStyleFlag {
			t.Errorf("MIT initiator flags %#x (%v)", info.Flags, err)
		}
		thirdService(t, k, srv.Handle(), otherSPN)
		mitDCEMessages(t, ini, srv)
	})
	t.Run("mit-acceptor", func(t *testing.T) {
		cli, acc := dceToMITAcceptor(t, k, delegClient(t, k, true, true), testSPN, dceDelegReq)
		info, err := acc.Info()
		if err != nil || info.Flags&(testpeers.GSSDelegFlag|testpeers.GSSDCEStyleFlag) != testpeers.GSSDelegFlag|testpeers.GSSDCEStyleFlag {
			t.Errorf("MIT acceptor flags %#x, want GSS_C_DELEG_FLAG and GSS_C_DCE_STYLE (%v)", info.Flags, err)
		}
		if !cli.Attributes().Has(sspi.ISCRetDelegate | sspi.ISCRetUsedDCEStyle) {
			t.Errorf("client attributes %s", cli.Attributes().Format(false))
		}
		mitDCEMessages(t, acc, cli)
	})
}

// TestDCEDelegationAttacks rewrites tokens between our client and server in DCE style
// with delegation: a KRB-CRED carrying carol's TGT in alice's DCE-style AP-REQ (our real
// client, its forwarder swapped) is refused on the first leg; and when the third leg is
// refused (the server's own AP-REP reflected back), the server, whose first leg already
// opened alice's TGT, reports no ASC_RET_DELEGATE and hands out no credentials.
func TestDCEDelegationAttacks(t *testing.T) {
	k, kt := ownDelegKDC(t)
	carolCl, err := krbclient.NewWithPassword(&krbclient.Options{Config: mustConfig(t, k.Krb5Conf), Forwardable: true},
		krbclient.Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{"carol"}}, Realm: testRealm}, testPassword+"x")
	if err != nil {
		t.Fatal(err)
	}
	defer carolCl.Destroy()
	sc := testServerCreds(t, k, ServerConfig{Keytab: kt})
	t.Run("another client's TGT", func(t *testing.T) {
		cc := delegClient(t, k, true, false)
		if err := withCredentials(cc, "test", func(c *credentials) error {
			c.client.tickets = &swapForwarder{clientTickets: c.client.tickets.(*clientTickets), t: t, cred: func(t *testing.T) *krbclient.Credential {
				c, err := carolCl.ForwardedTGT(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return c
			}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: delegSPN, Req: dceDelegReq})
		defer cli.Close()
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer srv.Close()
		apReq, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		if wire.MessageType(apReq) != wire.MsgAPReq {
			t.Fatalf("not a bare AP-REQ: % x", apReq[:4])
		}
		if _, err := srv.Step(apReq); !errors.Is(err, sspi.ErrLogonDenied) || !strings.Contains(err.Error(), "delegated a ticket of another client") {
			t.Fatalf("server accepted carol's TGT from alice, or refused it for another reason: %v", err)
		}
	})
	t.Run("refused third leg", func(t *testing.T) {
		cli := sspi.NewClientContext(delegClient(t, k, true, false), sspi.ClientOptions{Target: delegSPN, Req: dceDelegReq})
		defer cli.Close()
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer srv.Close()
		apReq, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Step(apRep); !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatalf("reflected AP-REP as the third leg: %v", err)
		}
		if srv.Established() || srv.Attributes().Has(sspi.ASCRetDelegate) {
			t.Errorf("after a refused third leg: established %v, attributes %s", srv.Established(), srv.Attributes().Format(true))
		}
		if _, err := DelegatedCredentials(srv.Handle(), nil); !errors.Is(err, sspi.ErrNoContext) {
			t.Errorf("DelegatedCredentials after a refused third leg: %v", err)
		}
	})
}
