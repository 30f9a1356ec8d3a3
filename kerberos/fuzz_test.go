package kerberos

import (
	"errors"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzParseGSSFramed checks that the handshake framing parser never panics and stays
// within its input.
func FuzzParseGSSFramed(f *testing.F) {
	f.Add(appendGSSFramed(nil, tokAPReq, []byte{0x6e, 0x00}))
	f.Add([]byte{0x60, 0x82, 0x00, 0x0d})
	f.Add([]byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, msg, err := parseGSSFramed(b)
		if err == nil && len(msg) > len(b) {
			t.Fatalf("message longer than input (%x)", id)
		}
	})
}

// FuzzServerStep feeds arbitrary tokens to an acceptor: errors only, never a panic.
func FuzzServerStep(f *testing.F) {
	f.Add(appendGSSFramed(nil, tokAPReq, []byte{0x6e, 0x03, 0x30, 0x01, 0x00}))
	f.Add([]byte{0x60})
	kt := keytab.New()
	if err := kt.AddEntry("host/localhost", testRealm, "pw", fixedTime, 1, 18); err != nil {
		f.Fatal(err)
	}
	f.Add(validAPReq(f, kt))
	keys := ktKeys(f, kt)
	// One ticket cache for every input, so that mutated AP-REQs around a valid ticket
	// also take the path where the ticket is found opened.
	tickets := newTicketCache(4)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &serverContext{creds: &serverCreds{kt: keys, skew: 300e9, now: fixedNow, replays: NewMemoryReplayCache(0), tickets: tickets}}
		p := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: b}}}
		if _, err := s.Step(p); err == nil && !s.done {
			t.Fatal("no error, yet not established")
		}
	})
}

// FuzzUnwrap feeds arbitrary per-message tokens, whole and split at every trailer size,
// to established AES and RC4 contexts: errors only, never a panic.
func FuzzUnwrap(f *testing.F) {
	type pair struct{ ini, acc *established }
	var pairs []pair
	for _, et := range []krbcrypto.EType{krbcrypto.AES128CTSHMACSHA196, krbcrypto.RC4HMAC} {
		ini, acc := protPair(f, et, make([]byte, et.KeySize()), false, false, 0)
		pairs = append(pairs, pair{ini, acc})
		for _, qop := range []uint32{0, sspi.QOPWrapNoEncrypt} {
			tok := make([]byte, 64)
			data := []byte("hello")
			pad := make([]byte, 1)
			msg := []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}, {Type: sspi.BufferData, Data: data}, {Type: sspi.BufferPadding, Data: pad}}
			if err := acc.EncryptMessage(qop, msg, 0); err != nil {
				f.Fatal(err)
			}
			f.Add(append(append(append([]byte(nil), msg[0].Data...), msg[1].Data...), msg[2].Data...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range pairs {
			for _, cut := range []int{0, 28, 45, 49, 60, len(b)} {
				cut = min(cut, len(b))
				in := append([]byte(nil), b...)
				msg := []sspi.Buffer{{Type: sspi.BufferToken, Data: in[:cut]}, {Type: sspi.BufferData, Data: in[cut:]}}
				_, _ = p.ini.DecryptMessage(msg, 0)
			}
			_, _ = p.ini.VerifySignature([]sspi.Buffer{{Type: sspi.BufferData}, {Type: sspi.BufferToken, Data: b}}, 0)
		}
	})
}

// validAPReq makes a GSS-framed AP-REQ for host/localhost at fixedTime, without a KDC.
func validAPReq(tb testing.TB, kt *keytab.Keytab) []byte {
	cname := types.NewPrincipalName(1, "alice")
	sname := types.NewPrincipalName(2, "host/localhost")
	tkt, skey, err := messages.NewTicket(cname, testRealm, sname, testRealm, types.NewKrbFlags(), kt, 18, 1,
		fixedTime, fixedTime, fixedTime.Add(time.Hour), fixedTime.Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	auth, err := types.NewAuthenticator(testRealm, cname)
	if err != nil {
		tb.Fatal(err)
	}
	auth.CTime, auth.Cusec = fixedTime, 0
	ck := gssChecksum{flags: gssMutual | gssInteg}
	auth.Cksum = types.Checksum{CksumType: checksumType8003, Checksum: ck.marshal()}
	req, err := messages.NewAPReq(tkt, skey, auth)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := req.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return appendGSSFramed(nil, tokAPReq, der)
}

// The KDC-less AP-REQ is accepted once and then refused as a replay.
func TestValidAPReqWithoutKDC(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry("host/localhost", testRealm, "pw", fixedTime, 1, 18); err != nil {
		t.Fatal(err)
	}
	tok := validAPReq(t, kt)
	cr := &serverCreds{kt: ktKeys(t, kt), skew: 300e9, now: fixedNow, replays: NewMemoryReplayCache(0)}
	for i := range 2 {
		s := &serverContext{creds: cr}
		p := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}}
		_, err := s.Step(p)
		if i == 0 && (err != nil || len(p.Out) == 0 || s.identity.Principal != "alice@"+testRealm) {
			t.Fatalf("first: %v, %d bytes out, %+v", err, len(p.Out), s.identity)
		}
		if i == 1 && !errors.Is(err, ErrReplay) {
			t.Fatalf("replay: %v", err)
		}
	}
}
