package kerberos

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// rejectToken is the NegTokenResp {negState reject} an acceptor such as MIT's sends when the
// mechanism fails (RFC 4178 4.2.2); ours returns the error and sends nothing, so the test
// delivers what a rejecting peer would.
var rejectToken = []byte{0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02}

// mechFailures collects every MechanismError in err's tree, by mechanism.
func mechFailures(err error) map[string][]*negotiate.MechanismError {
	out := map[string][]*negotiate.MechanismError{}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if me, ok := e.(*negotiate.MechanismError); ok {
			out[me.Mechanism] = append(out[me.Mechanism], me)
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// TestNegotiateReportsEveryMechanism (issue 9 item 3): whichever way Kerberos failed (no
// credentials at AcquireCredentialsHandle, no KDC at the first token, the KDC refusing the
// password), when NTLM is then refused by the server the client's error names both
// mechanisms, carries the NTLM refusal's status, and errors.Is finds each cause.
func TestNegotiateReportsEveryMechanism(t *testing.T) {
	k := getKDC(t)
	noKDC := t.TempDir() + "/nokdc.conf"
	port, _ := freePort()
	writeFile(t, noKDC, "[libdefaults]\n\tdefault_realm = NOWHERE.TEST\n\tudp_preference_limit = 1\n[realms]\n\tNOWHERE.TEST = {\n\t\tkdc = 127.0.0.1:"+itoa(port)+"\n\t}\n")
	store, err := ntlm.ParseAccounts(strings.NewReader("EXAMPLE:alice:" + testPassword + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredInbound, nil, &negotiate.Config{
		Credentials: map[string]any{"Kerberos": &ServerConfig{Keytab: k.Keytab}, "NTLM": &ntlm.ServerConfig{Accounts: store}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sspi.FreeCredentialsHandle(sc)
	for _, tc := range []struct {
		name     string
		kerberos *ClientConfig
		want     sspi.Status // Kerberos' cause
		text     string
	}{
		{"at AcquireCredentialsHandle", &ClientConfig{CCache: t.TempDir() + "/none", Config: k.Krb5Conf}, sspi.ErrNoCredentials, "credential cache"},
		{"at the first token, no KDC", &ClientConfig{Principal: "alice@NOWHERE.TEST", Password: testPassword, Config: noKDC}, sspi.ErrNoAuthenticatingAuthority, "getting a TGT"},
		{"at the KDC, wrong password", &ClientConfig{Principal: testUser + "@" + testRealm, Password: "wrong", Config: k.Krb5Conf}, sspi.ErrLogonDenied, "getting a TGT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, _, err := sspi.AcquireCredentialsHandle("", "Negotiate", sspi.CredOutbound, nil, &negotiate.Config{Credentials: map[string]any{
				"Kerberos": tc.kerberos,
				"NTLM":     &ntlm.ClientConfig{User: `EXAMPLE\alice`, Password: "not the password", Workstation: "WS"},
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sspi.FreeCredentialsHandle(cc)
			cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN})
			defer cli.Close()
			srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
			defer srv.Close()
			var tok []byte
			var cerr, serr error
			for i := 0; i < 4; i++ {
				if tok, cerr = cli.Step(tok); cerr != nil {
					break
				}
				if tok, serr = srv.Step(tok); serr != nil {
					tok = rejectToken
				}
			}
			if !errors.Is(serr, sspi.ErrLogonDenied) {
				t.Fatalf("the server did not refuse NTLM: %v", serr)
			}
			if cerr == nil {
				t.Fatal("the client did not fail")
			}
			t.Log(cerr)
			if sspi.StatusOf(cerr) != sspi.ErrLogonDenied {
				t.Errorf("status %v, want the NTLM refusal's", sspi.StatusOf(cerr))
			}
			msg := cerr.Error()
			if !strings.Contains(msg, "Kerberos: ") || !strings.Contains(msg, tc.text) || !strings.Contains(msg, "NTLM") {
				t.Errorf("the error does not name both mechanisms' causes: %s", msg)
			}
			f := mechFailures(cerr)
			if len(f["Kerberos"]) == 0 || !errors.Is(f["Kerberos"][0], tc.want) {
				t.Errorf("Kerberos' cause: %v, want %v", f["Kerberos"], tc.want)
			}
			if len(f["NTLM"]) == 0 || !errors.Is(f["NTLM"][0], sspi.ErrLogonDenied) {
				t.Errorf("NTLM's cause: %v", f["NTLM"])
			}
			if !errors.Is(cerr, tc.want) || !errors.Is(cerr, sspi.ErrLogonDenied) {
				t.Errorf("errors.Is misses a cause: %v", cerr)
			}
		})
	}
}
