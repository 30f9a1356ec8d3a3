package adinterop

import (
	"testing"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/gosspi/sspi/kerberos"
)

// rc4Token reports whether a sealed token is RFC 4757's (GSS framing, TOK_ID 02 01), not
// RFC 4121's (05 04).
func rc4Token(tok []byte) bool {
	// 60 len 06 09 <krb5 OID> 02 01: the framing's length is one byte for these sizes.
	return len(tok) > 15 && tok[0] == 0x60 && tok[2] == 0x06 && tok[13] == 0x02 && tok[14] == 0x01
}

// TestADServiceTickets: our client and our acceptor with the DC's tickets for an AES
// (default) service account and an RC4-only one (msDS-SupportedEncryptionTypes = 4): the
// acceptor takes the ticket with the keytab samba-tool exported, both sides name each
// other, and sealing and signing work both ways with the ticket's kind of key (RFC 4121
// tokens with AES, RFC 4757 tokens with RC4, whose session key is RC4 only for the
// RC4-only account).
func TestADServiceTickets(t *testing.T) {
	d := domain(t)
	for _, tc := range []struct {
		name, spn string
		keyLen    int
		rc4       bool
	}{
		{"AES", svcSPN, 32, false},
		{"RC4-only", rc4SPN, 16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, req := range []sspi.ContextReq{sspi.DefaultClientReq, sspi.ISCReqIntegrity | sspi.ISCReqConfidentiality | sspi.ISCReqSequenceDetect} {
				cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(userName), Password: userPass, Config: d.Krb5Conf})
				sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[tc.spn]})
				cli, srv := connect(t, cc, sc, sspi.ClientOptions{Target: tc.spn, Req: req})
				id, err := srv.Identity()
				if err != nil || id.Principal != "aduser@SAMDOM.TEST" || id.Server != tc.spn+"@SAMDOM.TEST" {
					t.Errorf("server identity %+v, %v", id, err)
				}
				ck, _ := cli.SessionKey()
				sk, _ := srv.SessionKey()
				if len(sk) != tc.keyLen || string(ck) != string(sk) {
					t.Errorf("session keys: client %d bytes, server %d bytes, want %d equal ones", len(ck), len(sk), tc.keyLen)
				}
				if tok := exchange(t, cli, srv); rc4Token(tok) != tc.rc4 {
					t.Errorf("sealed token %x...: RFC 4757 %v, want %v", tok[:16], rc4Token(tok), tc.rc4)
				}
			}
		})
	}
}

// TestADPasswordLogon: our client logs on with a password (an AS exchange with
// preauthentication) and uses the TGT for a service ticket, as an *sspi.AuthIdentity
// (Windows' form) and a ClientConfig; the salt comes from the DC (ETYPE-INFO2): AD keeps the
// case an account was created with ("SAMDOM.TESTAdMixed"), which a client that made the salt
// from the name it was given ("admixed") would get wrong.
func TestADPasswordLogon(t *testing.T) {
	d := domain(t)
	t.Setenv("KRB5_CONFIG", d.Krb5Conf)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[svcSPN]})
	for _, tc := range []struct {
		name     string
		authData any
		want     string
	}{
		{"AuthIdentity", &sspi.AuthIdentity{User: userName, Domain: "SAMDOM.TEST", Password: userPass}, "aduser@SAMDOM.TEST"},
		{"ClientConfig", &kerberos.ClientConfig{Principal: "aduser@SAMDOM.TEST", Password: userPass}, "aduser@SAMDOM.TEST"},
		{"salt with the account's case", &kerberos.ClientConfig{Principal: "AdMixed@SAMDOM.TEST", Password: mixedPass}, "AdMixed@SAMDOM.TEST"},
		{"name in another case", &sspi.AuthIdentity{User: "admixed", Domain: "SAMDOM.TEST", Password: mixedPass}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := acquire(t, sspi.CredOutbound, tc.authData)
			_, srv := connect(t, cc, sc, sspi.ClientOptions{Target: svcSPN})
			id, _ := srv.Identity()
			if tc.want != "" && id.Principal != tc.want {
				t.Errorf("server identity %+v, want %s", id, tc.want)
			}
			if tc.want == "" && id.User == "" {
				t.Errorf("server identity %+v", id)
			}
		})
	}
}

// TestADLogonRefused: the DC's refusals reach the caller of AcquireCredentialsHandle with
// SEC_E_LOGON_DENIED and a cause that says what is wrong with the account, taken from the
// NTSTATUS the DC puts in the KRB-ERROR's e-data (the KRB-ERROR code alone,
// KDC_ERR_CLIENT_REVOKED, does not tell a disabled account from an expired one).
func TestADLogonRefused(t *testing.T) {
	d := domain(t)
	for _, tc := range []struct {
		name, user, pass string
		status           sspi.Status
		causes           []string
	}{
		{"wrong password", userName, "Wrong-Passw0rd1!", sspi.ErrLogonDenied, []string{"KDC_ERR_PREAUTH_FAILED", "password"}},
		{"disabled account", disabledName, otherPass, sspi.ErrLogonDenied, []string{"KDC_ERR_CLIENT_REVOKED", "STATUS_ACCOUNT_DISABLED", "account is disabled"}},
		{"expired account", expiredName, otherPass, sspi.ErrLogonDenied, []string{"KDC_ERR_CLIENT_REVOKED", "STATUS_ACCOUNT_EXPIRED", "account has expired"}},
		{"password must change", mustChgName, otherPass, sspi.ErrLogonDenied, []string{"KDC_ERR_KEY_EXPIRED", "STATUS_PASSWORD_MUST_CHANGE", "must be changed"}},
		{"unknown user", "adnobody", otherPass, sspi.ErrLogonDenied, []string{"KDC_ERR_C_PRINCIPAL_UNKNOWN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := sspi.AcquireCredentialsHandle("", "Kerberos", sspi.CredOutbound, nil,
				&kerberos.ClientConfig{Principal: d.Principal(tc.user), Password: tc.pass, Config: d.Krb5Conf}, nil)
			wantStatus(t, err, tc.status, tc.causes...)
			t.Log(err)
		})
	}
}

// TestADMITInitiator: MIT's gss-client, with a TGT MIT's kinit got from the DC, to our
// acceptor (the sockets service in gss-sample framing) with the AD keytab.
func TestADMITInitiator(t *testing.T) {
	d := domain(t)
	testpeers.RequireGSSSample(t)
	sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[svcSPN]})
	srv := startGSSServer(t, sc)
	cc := d.Kinit(t, userName, userPass)
	for _, args := range [][]string{nil, {"-seq"}} {
		res, err := testpeers.RunGSSClient(t, srv.addr, testpeers.GSSClientOptions{
			Service: "host@adsvc.samdom.test", Message: "hello from MIT with an AD ticket", Args: args,
			Env: append(d.Env(), "KRB5CCNAME=FILE:"+cc),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 {
			t.Fatalf("gss-client %v: exit %d\n%s\nserver log:\n%s", args, res.ExitCode, res.Output, srv.log.String())
		}
	}
	rec := srv.waitRecord(t, 2)
	if rec["status"] != "SEC_E_OK" || rec["identity"] != "aduser@SAMDOM.TEST" || rec["service"] != svcSPN+"@SAMDOM.TEST" {
		t.Errorf("server log: %v", rec)
	}
}

// TestADMITAcceptor: our client, logged on to the DC with a password, to MIT's gss-server
// holding the AD keytab of the service: sealed messages and gss-server's MIC over them.
func TestADMITAcceptor(t *testing.T) {
	d := domain(t)
	gs := testpeers.StartGSSServer(t, testpeers.GSSServerOptions{
		Service: "host@adsvc.samdom.test", Keytab: keytabs[svcSPN], Env: d.Env(),
	})
	cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(userName), Password: userPass, Config: d.Krb5Conf})
	msg := "hello gss-server, from our client with an AD ticket"
	dialGSS(t, cc, gs.Addr, svcSPN, msg)
	if !gs.ReceivedMessage(msg) || !gs.AcceptedMech(testpeers.MechKerberos) {
		t.Errorf("gss-server log:\n%s", gs.Log())
	}
}

// TestADClockSkew: an acceptor whose clock is an hour ahead of the DC's (and the client's)
// refuses an AD ticket's authenticator with SEC_E_TIME_SKEW; ten seconds ahead is within
// the default five minutes.
func TestADClockSkew(t *testing.T) {
	d := domain(t)
	cc := acquire(t, sspi.CredOutbound, &kerberos.ClientConfig{Principal: d.Principal(userName), Password: userPass, Config: d.Krb5Conf})
	for _, tc := range []struct {
		ahead time.Duration
		ok    bool
	}{{10 * time.Second, true}, {time.Hour, false}} {
		ahead := tc.ahead
		sc := acquire(t, sspi.CredInbound, &kerberos.ServerConfig{Keytab: keytabs[svcSPN], Time: func() time.Time { return time.Now().Add(ahead) }})
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: svcSPN})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		tok, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.Step(tok)
		cli.Close()
		srv.Close()
		if tc.ok {
			if err != nil {
				t.Errorf("%v ahead: %v", ahead, err)
			}
			continue
		}
		wantStatus(t, err, sspi.ErrTimeSkew)
	}
}
