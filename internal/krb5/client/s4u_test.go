package krbclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// s4uKDC is a fake KDC for the S4U exchanges: it logs the service "u" on, then checks
// each TGS-REQ as a KDC would (the PA-FOR-USER checksum with the TGT's session key, the
// options, the additional ticket, PA-PAC-OPTIONS) and answers for the user, after
// mutate has spoiled the reply. The exchanges' success against real KDCs is tested in
// kerberos (MIT) and kerberos/adinterop (Samba AD).
type s4uKDC struct {
	t      *testing.T
	mu     sync.Mutex
	tgtKey []byte
	got    *wire.KDCReq
	mutate func(*wire.KDCRep, *wire.EncKDCRepPart)
	refuse int32 // a KRB-ERROR code to answer with instead
}

func (k *s4uKDC) handle(req []byte, _ bool) []byte {
	if wire.MessageType(req) == wire.MsgASReq {
		return asReply(k.t, req, func(_ *wire.KDCRep, e *wire.EncKDCRepPart) {
			k.mu.Lock()
			k.tgtKey = append([]byte(nil), e.Key.Value...)
			k.mu.Unlock()
		})
	}
	var r wire.KDCReq
	if err := r.Unmarshal(req); err != nil {
		k.t.Errorf("fake KDC: %v", err)
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = &r
	if k.refuse != 0 {
		return krbError(k.refuse)
	}
	sk, _ := krbcrypto.NewKey(krbcrypto.AES256CTSHMACSHA196, k.tgtKey)
	var ap wire.APReq
	if err := ap.Unmarshal(r.PAData[0].Value); err != nil {
		k.t.Errorf("fake KDC: PA-TGS-REQ: %v", err)
		return nil
	}
	plain, err := sk.Decrypt(nil, ap.Authenticator.Cipher, usageTGSReqAuth)
	if err != nil {
		k.t.Errorf("fake KDC: authenticator: %v", err)
		return nil
	}
	var auth wire.Authenticator
	if err := auth.Unmarshal(plain); err != nil || auth.SubKey == nil {
		k.t.Errorf("fake KDC: authenticator %v, subkey %v", err, auth.SubKey)
		return nil
	}
	user := wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{"alice"}}
	now := time.Now().Truncate(time.Second)
	ssk := make([]byte, 32)
	rand.Read(ssk)
	enc := wire.EncKDCRepPart{Tag: 26, Key: wire.EncryptionKey{Type: 18, Value: ssk}, LastReq: []wire.LastReq{{Type: 0, Value: now}},
		Nonce: r.Body.Nonce, Flags: wire.FlagForwardable, AuthTime: now, EndTime: now.Add(time.Hour), SRealm: fakeRealm, SName: *r.Body.SName}
	rep := wire.KDCRep{MsgType: wire.MsgTGSRep, CRealm: fakeRealm, CName: user,
		Ticket: wire.Ticket{Realm: fakeRealm, SName: *r.Body.SName, EncPart: wire.EncryptedData{EType: 18, KVNO: 1, HasKVNO: true, Cipher: make([]byte, 64)}}}
	if k.mutate != nil {
		k.mutate(&rep, &enc)
	}
	encDER, err := enc.Marshal()
	if err != nil {
		k.t.Fatal(err)
	}
	subkey, _ := krbcrypto.NewKey(krbcrypto.EType(auth.SubKey.Type), auth.SubKey.Value)
	ct, _ := subkey.Encrypt(nil, encDER, usageTGSRepSubkey, rand.Reader)
	rep.EncPart = wire.EncryptedData{EType: 18, Cipher: ct}
	b, err := rep.Marshal()
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

func (k *s4uKDC) request() *wire.KDCReq {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.got
}

func padata(r *wire.KDCReq, typ int32) []byte {
	for _, p := range r.PAData {
		if p.Type == typ {
			return p.Value
		}
	}
	return nil
}

var alice = Principal{Name: wire.PrincipalName{Type: wire.NamePrincipal, Components: []string{"alice"}}, Realm: fakeRealm}

// TestS4URequests: what S4U2Self and S4U2Proxy send, as MS-SFU and MS-KILE define it.
func TestS4URequests(t *testing.T) {
	k := &s4uKDC{t: t}
	f := startFake(t, &fakeKDC{handle: k.handle})
	c := fakeClient(t, fakeConf(t, "", f.addr), Options{})
	checkS4U2SelfRequest(t, k, c)
	checkS4U2ProxyRequest(t, k, f, c)
}

// checkS4U2SelfRequest checks S4U2Self's TGS-REQ (MS-SFU 2.2.1: PA-FOR-USER with its
// checksum in the TGT's session key) and the ticket it gives.
func checkS4U2SelfRequest(t *testing.T, k *s4uKDC, c *Client) {
	t.Helper()
	self, err := c.S4U2Self(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	r := k.request()
	if r.Body.SName.String() != "u" || r.Body.Realm != fakeRealm || r.Body.Options&wire.KDCOptRenewable != 0 || r.Body.Options&wire.KDCOptForwardable == 0 {
		t.Errorf("S4U2Self asks for %s@%s with options %#x", r.Body.SName, r.Body.Realm, r.Body.Options)
	}
	var fu wire.PAForUserData
	if err := fu.Unmarshal(padata(r, wire.PAForUser)); err != nil {
		t.Fatalf("PA-FOR-USER: %v", err)
	}
	k.mu.Lock()
	want := krbcrypto.HMACMD5Checksum(k.tgtKey, fu.ChecksumData(), 17)
	k.mu.Unlock()
	if fu.UserName.String() != "alice" || fu.UserRealm != fakeRealm || fu.AuthPackage != "Kerberos" ||
		fu.Cksum.Type != wire.ChecksumTypeHMACMD5 || !bytes.Equal(fu.Cksum.Value, want) {
		t.Errorf("PA-FOR-USER %+v, checksum want %x", fu, want)
	}
	if self.Client.String() != "alice@"+fakeRealm || self.Server.String() != "u@"+fakeRealm {
		t.Errorf("S4U2Self gave %s -> %s", self.Client, self.Server)
	}
}

// checkS4U2ProxyRequest checks S4U2Proxy's TGS-REQ (the evidence ticket as an additional
// ticket, cname-in-addl-tkt, PA-PAC-OPTIONS) and that its ticket is kept.
func checkS4U2ProxyRequest(t *testing.T, k *s4uKDC, f *fakeKDC, c *Client) {
	t.Helper()
	target := Principal{Name: wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"cifs", "back"}}}
	evidence := wire.Ticket{Realm: fakeRealm, SName: wire.PrincipalName{Type: 1, Components: []string{"u"}},
		EncPart: wire.EncryptedData{EType: 18, KVNO: 2, HasKVNO: true, Cipher: []byte("sealed in u's key, opaque here")}}
	proxy, err := c.S4U2Proxy(context.Background(), evidence, alice, target)
	if err != nil {
		t.Fatal(err)
	}
	r := k.request()
	if r.Body.Options&wire.KDCOptCNameInAddlTkt == 0 || r.Body.Options&wire.KDCOptForwardable == 0 || r.Body.SName.String() != "cifs/back" || r.Body.Realm != fakeRealm {
		t.Errorf("S4U2Proxy asks for %s@%s with options %#x", r.Body.SName, r.Body.Realm, r.Body.Options)
	}
	if len(r.Body.AdditionalTickets) != 1 || !bytes.Equal(r.Body.AdditionalTickets[0].EncPart.Cipher, evidence.EncPart.Cipher) {
		t.Errorf("additional tickets %+v", r.Body.AdditionalTickets)
	}
	if v, err := wire.ParsePACOptions(padata(r, wire.PAPACOptions)); err != nil || v != wire.PACOptionResourceBasedDelegn {
		t.Errorf("PA-PAC-OPTIONS %#x (%v)", v, err)
	}
	if proxy.Client.String() != "alice@"+fakeRealm || proxy.Server.String() != "cifs/back@"+fakeRealm {
		t.Errorf("S4U2Proxy gave %s -> %s", proxy.Client, proxy.Server)
	}
	// Kept: a second context to the same target asks no KDC.
	n := f.udpN.Load() + f.tcpN.Load()
	if again, err := c.S4U2Proxy(context.Background(), evidence, alice, target); err != nil || again != proxy || f.udpN.Load()+f.tcpN.Load() != n {
		t.Errorf("the S4U2Proxy ticket was not kept: %v", err)
	}
}

// TestS4UHostileReplies: a reply for another user or request is refused, and the KDC's
// refusals say that delegation is not allowed.
func TestS4UHostileReplies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*wire.KDCRep, *wire.EncKDCRepPart)
		refuse int32
		status sspi.Status
	}{
		{"another user", func(r *wire.KDCRep, _ *wire.EncKDCRepPart) { r.CName.Components = []string{"mallory"} }, 0, sspi.ErrIllegalMessage},
		{"another request", func(_ *wire.KDCRep, e *wire.EncKDCRepPart) { e.Nonce++ }, 0, sspi.ErrIllegalMessage},
		{"another service", func(r *wire.KDCRep, _ *wire.EncKDCRepPart) { r.Ticket.SName.Components = []string{"x"} }, 0, sspi.ErrIllegalMessage},
		{"KDC_ERR_BADOPTION", nil, errBadOption, sspi.ErrDelegationPolicy},
		{"KDC_ERR_POLICY", nil, errPolicy, sspi.ErrDelegationPolicy},
		{"KDC_ERR_C_PRINCIPAL_UNKNOWN", nil, wire.KDCErrCPrincipalUnknown, sspi.ErrLogonDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &s4uKDC{t: t}
			f := startFake(t, &fakeKDC{handle: k.handle})
			c := fakeClient(t, fakeConf(t, "", f.addr), Options{})
			if _, err := c.TGT(context.Background()); err != nil {
				t.Fatal(err)
			}
			k.mu.Lock()
			k.mutate, k.refuse = tc.mutate, tc.refuse
			k.mu.Unlock()
			_, err := c.S4U2Self(context.Background(), alice)
			if !errors.Is(err, tc.status) {
				t.Fatalf("err = %v, want %v", err, tc.status)
			}
			if tc.status == sspi.ErrDelegationPolicy && !errors.Is(err, ErrDelegationNotAllowed) {
				t.Errorf("refusal without ErrDelegationNotAllowed: %v", err)
			}
		})
	}
}
