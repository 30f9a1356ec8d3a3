package kerberos

import (
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
)

// TestNegotiateDCEStyle: DCE style through SPNEGO (MS-SPNG: the Kerberos tokens inside
// NegTokenInit/NegTokenResp are DCE style's bare ones, three legs, and mechListMICs are
// always exchanged): our Negotiate client and server settle on Kerberos and both report
// USED_DCE_STYLE.
func TestNegotiateDCEStyle(t *testing.T) {
	k := getKDC(t)
	t.Setenv("KRB5_CONFIG", k.Krb5Conf)
	cc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil,
		&sspi.AuthIdentity{User: testUser + "@" + testRealm, Password: testPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(cc)
	sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
		Mechanisms: []string{"Kerberos"}, Credentials: map[string]any{"Kerberos": &ServerConfig{Keytab: k.Keytab}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)
	cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: dceReq})
	srv := sspi.NewServerContext(sc, sspi.ServerOptions{Req: sspi.ASCReqUseDCEStyle | sspi.ASCReqMutualAuth})
	defer cli.Close()
	defer srv.Close()
	toks, err := handshake(t, cli, srv)
	if err != nil {
		t.Fatalf("after %d tokens: %v", len(toks), err)
	}
	if n := negotiated(t, cli.Handle()); n != PackageName {
		t.Errorf("client negotiated %s", n)
	}
	if cli.Attributes()&sspi.ISCRetUsedDCEStyle == 0 || srv.Attributes()&sspi.ASCRetUsedDCEStyle == 0 {
		t.Errorf("attributes %s / %s", cli.Attributes().Format(false), srv.Attributes().Format(true))
	}
	t.Logf("%d tokens", len(toks))
	dceMessages(t, cli, srv)
}
