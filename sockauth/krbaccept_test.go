package sockauth

import (
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestKerberosReplayDetectionRequired (issue 8 item 10): MIT's gss-client -noreplay asks
// for neither replay nor sequence detection, so the context enforces neither and says so;
// the server's default requirement, which includes both with integrity, refuses it with
// SEC_E_SECURITY_QOS_FAILED naming the missing attributes. gss-client's default (replay
// only: the context checks sequence numbers strictly, which detects both) and -seq pass;
// AllowNoReplayDetection lets -noreplay in.
func TestKerberosReplayDetectionRequired(t *testing.T) {
	testpeers.RequireGSSSample(t)
	k := startKDC(t)
	cc := k.Kinit(t, testpeers.KDCUser, testpeers.KDCPassword)
	for _, tc := range []struct {
		name  string
		args  []string
		allow bool
		ok    bool
	}{
		{"default", nil, false, true},
		{"seq-noreplay", []string{"-seq", "-noreplay"}, false, true},
		{"noreplay-refused", []string{"-noreplay"}, false, false},
		{"noreplay-allowed", []string{"-noreplay"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: krbServerCreds(t, k, "Kerberos"), Framing: FramingGSS, AllowNoReplayDetection: tc.allow})
			res, err := testpeers.RunGSSClient(t, srv.Addr, testpeers.GSSClientOptions{
				Message: "hello", Args: tc.args, Env: append(k.Env(), "KRB5CCNAME=FILE:"+cc),
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := waitRecords(t, srv.Log, 1)[0]
			if tc.ok {
				if res.ExitCode != 0 || rec["status"] != "SEC_E_OK" {
					t.Fatalf("gss-client exit %d, server log %v\n%s", res.ExitCode, rec, res.Output)
				}
				return
			}
			cause, _ := rec["cause"].(string)
			if rec["status"] != "SEC_E_SECURITY_QOS_FAILED" || !strings.Contains(cause, "REPLAY_DETECT") || !strings.Contains(cause, "SEQUENCE_DETECT") {
				t.Errorf("server log %v", rec)
			}
			if res.ExitCode == 0 {
				t.Errorf("gss-client exit 0 although refused:\n%s", res.Output)
			}
		})
	}
}

// TestKerberosLogNamesService (issue 8 item 8): the connection's log line names the
// service principal whose key accepted the ticket.
func TestKerberosLogNamesService(t *testing.T) {
	k := startOwnKDC(t)
	srv := startServer(t, &Server{Credentials: krbServerCreds(t, k, "Kerberos")})
	cl := &Client{Credentials: krbClientCreds(t, k, "Kerberos", testpeers.KDCUser, testpeers.KDCPassword), Target: testpeers.KDCService}
	c, err := cl.Dial(testCtx(t), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	exchange(t, c, FramingSSPI, false)
	c.Close()
	rec := srv.Log.waitRecord(t, local)
	if rec["service"] != k.Principal(testpeers.KDCService) || rec["status"] != "SEC_E_OK" {
		t.Errorf("server log line: %v", rec)
	}
}

// TestKerberosHostileNameLogBounded (issue 8 item 12): an unauthenticated 64 KiB AP-REQ
// whose ticket names 32k empty components makes a log line of at most a few hundred bytes
// more than an ordinary one, not 64 KiB.
func TestKerberosHostileNameLogBounded(t *testing.T) {
	k := startOwnKDC(t)
	req := messages.APReq{
		PVNO: 5, MsgType: 14, APOptions: types.NewKrbFlags(),
		Ticket: messages.Ticket{TktVNO: 5, Realm: k.Realm,
			SName:   types.PrincipalName{NameType: 2, NameString: make([]string, 32000)},
			EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: make([]byte, 64)}},
		EncryptedAuthenticator: types.EncryptedData{EType: 18, Cipher: make([]byte, 64)},
	}
	der, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00} // krb5 OID, AP-REQ TOK_ID
	n := len(oid) + len(der)
	tok := append([]byte{0x60, 0x82, byte(n >> 8), byte(n)}, oid...)
	tok = append(tok, der...)
	if len(tok) < 60000 || len(tok) > DefaultMaxToken {
		t.Fatalf("token of %d bytes", len(tok))
	}
	for _, f := range []Framing{FramingSSPI, FramingGSS} {
		t.Run(f.String(), func(t *testing.T) {
			srv := startServer(t, &Server{Credentials: krbServerCreds(t, k, "Kerberos"), Framing: f})
			r := dialRaw(t, srv.Addr, f)
			r.send(tok, true)
			rec := srv.Log.waitRecord(t, r.local())
			// The AP-REQ decoder bounds a name at 16 components (internal/krb5/wire).
			if rec["status"] != "SEC_E_INVALID_TOKEN" {
				t.Errorf("log line %v", rec)
			}
			if size := len(srv.Log.String()); size > 2048 {
				t.Errorf("log line of %d bytes: %.300s", size, srv.Log.String())
			}
		})
	}
}
