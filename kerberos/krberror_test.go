package kerberos

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestAcceptorKRBError: every refusal of a decoded AP-REQ from a client waiting for an
// answer comes with the GSS-framed KRB-ERROR (TOK_ID 03 00) of its code when the server
// asked for ASC_REQ_EXTENDED_ERROR, and our client, given it, fails with the status the
// code maps to and says the code.
func TestAcceptorKRBError(t *testing.T) {
	const et = krbcrypto.AES256CTSHMACSHA196
	l := newLocalKDC(t, et)
	svcKey := l.svc.Bytes()
	host := wire.PrincipalName{Type: 2, Components: []string{"host", "localhost"}}
	ktWith := func(name wire.PrincipalName, kvno uint32, typ krbcrypto.EType, key []byte) []byte {
		kt := keytab.Keytab{Entries: []keytab.Entry{{Principal: name, Realm: testRealm, KVNO: kvno, Timestamp: time.Now(),
			Key: wire.EncryptionKey{Type: int32(typ), Value: key}}}}
		b, err := kt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherKey := make([]byte, 32)
	rand.Read(otherKey)
	now := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	for _, tc := range []struct {
		name   string
		cfg    ServerConfig
		replay bool
		code   int32
		status sspi.Status
		pac    localPAC // the ticket's PAC, noPAC for l's tickets
	}{
		{"skew", ServerConfig{KeytabData: l.keytab, Time: at(10 * time.Minute)}, false, errSkew, sspi.ErrTimeSkew, noPAC},
		{"replay", ServerConfig{KeytabData: l.keytab}, true, errRepeat, sspi.ErrLogonDenied, noPAC},
		{"wrong key", ServerConfig{KeytabData: ktWith(host, 1, et, otherKey)}, false, errBadIntegrity, sspi.ErrLogonDenied, noPAC},
		{"wrong kvno", ServerConfig{KeytabData: ktWith(host, 2, et, svcKey)}, false, errBadKeyVer, sspi.ErrWrongPrincipal, noPAC},
		{"no key of the type", ServerConfig{KeytabData: ktWith(host, 1, krbcrypto.AES128CTSHMACSHA196, svcKey[:16])}, false, errNoKey, sspi.ErrWrongPrincipal, noPAC},
		{"unknown service", ServerConfig{KeytabData: ktWith(wire.PrincipalName{Type: 2, Components: []string{"host", "other"}}, 1, et, svcKey)}, false, errNotUs, sspi.ErrWrongPrincipal, noPAC},
		{"another service asked", ServerConfig{KeytabData: l.keytab, ServicePrincipal: "HTTP/localhost"}, false, errNotUs, sspi.ErrWrongPrincipal, noPAC},
		{"ticket expired", ServerConfig{KeytabData: l.keytab, Time: at(11 * time.Hour)}, false, errTktExpired, sspi.ErrContextExpired, noPAC},
		{"ticket not yet valid", ServerConfig{KeytabData: l.keytab, Time: at(-time.Hour)}, false, errTktNYV, sspi.ErrTimeSkew, noPAC},
		{"no PAC, one required", ServerConfig{KeytabData: l.keytab, RequirePAC: true}, false, errGeneric, sspi.ErrLogonDenied, noPAC},
		{"PAC not signed with the service key", ServerConfig{}, false, errBadIntegrity, sspi.ErrLogonDenied, forgedPAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.ServicePrincipal != "" {
				// The keytab must hold the asked-for service: add it beside the ticket's.
				kt, _ := keytab.Parse(l.keytab)
				kt.Entries = append(kt.Entries, keytab.Entry{Principal: wire.PrincipalName{Type: 2, Components: []string{"HTTP", "localhost"}},
					Realm: testRealm, KVNO: 1, Timestamp: time.Now(), Key: wire.EncryptionKey{Type: int32(et), Value: otherKey}})
				tc.cfg.KeytabData, _ = kt.Marshal()
			}
			l := l
			if tc.pac != noPAC {
				l = newLocalKDCAuthData(t, et, tc.pac)
				tc.cfg.KeytabData = l.keytab
			}
			tc.cfg.ReplayCache = NewMemoryReplayCache(0)
			scred := acquire(t, sspi.CredInbound, &tc.cfg)
			cs, toks := l.apReqs(t, 1)
			in := []sspi.Buffer{{Type: sspi.BufferToken, Data: toks[0]}}
			if tc.replay {
				out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
				sctx, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
				if err != nil {
					t.Fatal(err)
				}
				sspi.DeleteSecurityContext(sctx)
			}
			// Without ASC_REQ_EXTENDED_ERROR: the failure alone.
			out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
			_, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
			if !errors.Is(err, tc.status) {
				t.Fatalf("without EXTENDED_ERROR: %v, want %v", err, tc.status)
			}
			if len(out[0].Data) > 0 && out[0].Data[0] == 0x60 {
				t.Fatalf("a token without EXTENDED_ERROR: % x", out[0].Data[:16])
			}
			// A refusal remembers nothing: the same AP-REQ again, now asking for the token.
			out[0].Data = make([]byte, MaxToken)
			_, _, err = sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq|sspi.ASCReqExtendedError, sspi.NativeDataRep, in, out)
			if !errors.Is(err, tc.status) {
				t.Fatalf("with EXTENDED_ERROR: %v, want %v", err, tc.status)
			}
			tok := out[0].Data
			id, msg, perr := parseGSSFramed(tok)
			if perr != nil || id != tokError {
				t.Fatalf("failure token % x: TOK_ID % x, %v", tok[:min(len(tok), 20)], id, perr)
			}
			var ke wire.KRBError
			if err := ke.Unmarshal(msg); err != nil {
				t.Fatal(err)
			}
			if ke.Code != tc.code || ke.Realm != testRealm || !ke.SName.Equal(host) || ke.EText != eTexts[tc.code] {
				t.Fatalf("KRB-ERROR code %d realm %q sname %v e-text %q, want code %d", ke.Code, ke.Realm, ke.SName, ke.EText, tc.code)
			}
			if tc.cfg.Time != nil {
				if d := ke.STime.Sub(tc.cfg.Time()); d > time.Second || d < -time.Second {
					t.Fatalf("stime %v, the server's clock says %v", ke.STime, tc.cfg.Time())
				}
			}
			// Our client, given the token, fails with the code's status and names it.
			_, cerr := cs[0].Step(&sspi.StepParams{In: []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}})
			if !errors.Is(cerr, tc.status) || !strings.Contains(cerr.Error(), codeNames[tc.code]) || !strings.Contains(cerr.Error(), eTexts[tc.code]) {
				t.Fatalf("client: %v, want %v naming %s", cerr, tc.status, codeNames[tc.code])
			}
		})
	}
}

// TestAcceptorKRBErrorNotMutual: a client that asked for no mutual authentication waits
// for no answer, and gets none (as from MIT's acceptor); a token that does not decode
// has no service to name, and gets none either.
func TestAcceptorKRBErrorNotMutual(t *testing.T) {
	l := newLocalKDC(t, krbcrypto.AES256CTSHMACSHA196)
	scred := acquire(t, sspi.CredInbound, &ServerConfig{KeytabData: l.keytab, Time: func() time.Time { return time.Now().Add(time.Hour) }})
	c := &clientContext{creds: l.client}
	p := sspi.StepParams{Target: "host/localhost", Req: sspi.DefaultClientReq &^ sspi.ISCReqMutualAuth}
	if _, err := c.Step(&p); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string][]byte{"not mutual": p.Out, "garbage": appendGSSFramed(nil, tokAPReq, []byte{0x6e, 0x01, 0x00})} {
		out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
		_, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq|sspi.ASCReqExtendedError, sspi.NativeDataRep,
			[]sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}, out)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if len(out[0].Data) > 0 && out[0].Data[0] == 0x60 {
			t.Fatalf("%s: a failure token % x", name, out[0].Data[:16])
		}
	}
}
