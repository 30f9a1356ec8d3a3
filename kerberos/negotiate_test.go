package kerberos

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/ntlm"

	"github.com/gosspi/sspi/negotiate"
)

func negotiated(t *testing.T, h *sspi.Context) string {
	t.Helper()
	var ni sspi.NegotiationInfo
	if err := sspi.QueryContextAttributes(h, sspi.AttrNegotiationInfo, &ni); err != nil {
		t.Fatal(err)
	}
	return ni.PackageInfo.Name
}

// Negotiate with Kerberos and NTLM on both sides picks Kerberos, and the mechListMIC
// exchange (our MechListMICer) goes through.
func TestNegotiateChoosesKerberos(t *testing.T) {
	k := getKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	store, err := ntlm.ParseAccounts(strings.NewReader(testRealm + ":" + testUser + ":" + testPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: testUser + "@" + testRealm, Password: testPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cc)
	for _, mechs := range [][]string{nil, {"NTLM", "Kerberos"}} {
		sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
			Mechanisms: mechs, Credentials: map[string]any{"Kerberos": &ServerConfig{Keytab: k.Keytab}, "NTLM": &ntlm.ServerConfig{Accounts: store}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		if _, err := handshake(t, cli, srv); err != nil {
			t.Fatalf("mechs %v: %v", mechs, err)
		}
		if n := negotiated(t, cli.Handle()); n != PackageName {
			t.Errorf("client negotiated %s", n)
		}
		if n := negotiated(t, srv.Handle()); n != PackageName {
			t.Errorf("server negotiated %s", n)
		}
		id, _ := srv.Identity()
		if id.Principal != "alice@"+testRealm {
			t.Errorf("identity %+v", id)
		}
		exchangeMessages(t, cli, srv)
		cli.Close()
		srv.Close()
		sspi.FreeCredentialsHandle(sc)
	}
}

// Without a KDC Negotiate falls back to NTLM.
func TestNegotiateFallsBackToNTLM(t *testing.T) {
	k := getKDC(t)
	conf := t.TempDir() + "/fallback.conf"
	port, _ := freePort()
	writeFile(t, conf, "[libdefaults]\n\tdefault_realm = NOWHERE.TEST\n[realms]\n\tNOWHERE.TEST = {\n\t\tkdc = 127.0.0.1:"+itoa(port)+"\n\t}\n")
	t.Setenv("KRB5_CONFIG", conf)
	store, _ := ntlm.ParseAccounts(strings.NewReader("NOWHERE.TEST:" + testUser + ":" + testPassword + "\n"))
	cc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: testUser, Domain: "NOWHERE.TEST", Password: testPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cc)
	sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
		Credentials: map[string]any{"Kerberos": &ServerConfig{Keytab: k.Keytab}, "NTLM": &ntlm.ServerConfig{Accounts: store}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
	defer cli.Close()
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err != nil {
		t.Fatal(err)
	}
	if n := negotiated(t, cli.Handle()); n != "NTLM" {
		t.Errorf("negotiated %s, want NTLM", n)
	}
}

// Default client credentials: a ccache made by MIT's kinit, through KRB5CCNAME; then our
// client through SPNEGO against MIT's SPNEGO acceptor.
func TestCCacheAndMITSPNEGO(t *testing.T) {
	k := getMITKDC(t)
	cc := k.Kinit(t, testUser, testPassword)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+cc)
	creds := acquire(t, sspi.CredOutbound, nil)
	var names sspi.CredentialNames
	if err := sspi.QueryCredentialsAttributes(creds, sspi.CredAttrNames, &names); err != nil || names.UserName != "alice@"+testRealm {
		t.Errorf("names %+v %v", names, err)
	}
	cli := sspi.NewClientContext(creds, sspi.ClientOptions{Target: testSPN})
	defer cli.Close()
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err != nil {
		t.Fatal(err)
	}

	testpeers.RequireGSSPython(t)
	neg, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(neg)
	acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Acceptor, Mech: testpeers.MechSPNEGO, AcceptorName: "host@localhost",
		NegMechs: []string{testpeers.MechKerberos},
		Env:      k.ServerEnv(),
	})
	ncli := sspi.NewClientContext(neg, sspi.ClientOptions{Target: testSPN})
	defer ncli.Close()
	var in []byte
	for i := 0; i < 4 && !ncli.Established(); i++ {
		out, err := ncli.Step(in)
		if err != nil {
			t.Fatalf("our Negotiate client: %v", err)
		}
		if len(out) == 0 {
			break
		}
		if in, _, err = acc.Step(out); err != nil {
			t.Fatalf("MIT SPNEGO acceptor: %v\n%s", err, acc.Stderr())
		}
	}
	if !ncli.Established() || !acc.Established() {
		t.Fatalf("not established: ours %v, MIT %v", ncli.Established(), acc.Established())
	}
	if n := negotiated(t, ncli.Handle()); n != PackageName {
		t.Errorf("negotiated %s", n)
	}
	w, err := ncli.Wrap([]byte("through SPNEGO"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := acc.Unwrap(w); err != nil || !bytes.Equal(got, []byte("through SPNEGO")) {
		t.Errorf("MIT unwrap: %q %v", got, err)
	}
	if errors.Is(err, sspi.ErrInvalidToken) {
		t.Fail()
	}
}
