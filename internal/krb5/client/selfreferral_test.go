package krbclient

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestSelfReferral: a KDC answers a referral request for a service with a TGT of its own
// realm (a "referral" to itself), which no real KDC sends (MIT's refers only to other
// realms), hence the fake. The client must refuse it, as MIT's client refuses a referral
// to a realm already seen, rather than take the TGT for the service's ticket, keep it
// as that, and send the TGT in its AP-REQs to the service.
func TestSelfReferral(t *testing.T) {
	sk := make([]byte, 32)
	rand.Read(sk)
	tgtKey, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, sk)
	f := startFake(t, &fakeKDC{handle: func(req []byte, _ bool) []byte {
		if wire.MessageType(req) == wire.MsgASReq {
			return asReply(t, req, func(_ *wire.KDCRep, e *wire.EncKDCRepPart) { e.Key.Value = sk })
		}
		return selfReferral(t, req, tgtKey)
	}})
	c := fakeClient(t, fakeConf(t, "", f.addr), Options{})
	svc, _ := ParsePrincipal("HTTP/web.fake.test", "")
	cr, err := c.ServiceTicket(context.Background(), svc, nil)
	if err == nil {
		t.Fatalf("a TGT of the KDC's own realm was taken for the service's ticket (%s)", cr.Server)
	}
	if !strings.Contains(err.Error(), "krbtgt/"+fakeRealm) {
		t.Errorf("the error does not name the TGT the KDC answered with: %v", err)
	}
}

// selfReferral answers a TGS-REQ with a ticket for krbtgt/FAKE.TEST, encrypted in the
// request's subkey.
func selfReferral(t *testing.T, req []byte, tgtKey *krbcrypto.Key) []byte {
	var r wire.KDCReq
	if err := r.Unmarshal(req); err != nil {
		t.Errorf("fake KDC: %v", err)
		return nil
	}
	pa := wire.FindPAData(r.PAData, wire.PATGSReq)
	var ap wire.APReq
	if pa == nil || ap.Unmarshal(pa.Value) != nil {
		t.Error("fake KDC: no PA-TGS-REQ")
		return nil
	}
	plain, err := tgtKey.Decrypt(nil, ap.Authenticator.Cipher, usageTGSReqAuth)
	if err != nil {
		t.Errorf("fake KDC: %v", err)
		return nil
	}
	var auth wire.Authenticator
	if err := auth.Unmarshal(plain); err != nil || auth.SubKey == nil {
		t.Errorf("fake KDC: authenticator %v", err)
		return nil
	}
	sub, err := krbcrypto.NewKey(krbcrypto.EType(auth.SubKey.Type), auth.SubKey.Value)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	now := time.Now().Truncate(time.Second)
	enc := wire.EncKDCRepPart{
		Tag: 26, Key: wire.EncryptionKey{Type: 18, Value: key}, LastReq: []wire.LastReq{{Type: 0, Value: now}},
		Nonce: r.Body.Nonce, AuthTime: now, EndTime: now.Add(30 * time.Minute),
		SRealm: fakeRealm, SName: tgsName(fakeRealm),
	}
	encDER, err := enc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sub.Encrypt(nil, encDER, usageTGSRepSubkey, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rep := wire.KDCRep{
		MsgType: wire.MsgTGSRep, CRealm: fakeRealm, CName: auth.CName,
		Ticket:  wire.Ticket{Realm: fakeRealm, SName: tgsName(fakeRealm), EncPart: wire.EncryptedData{EType: 18, KVNO: 1, HasKVNO: true, Cipher: make([]byte, 64)}},
		EncPart: wire.EncryptedData{EType: 18, Cipher: ct},
	}
	b, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
