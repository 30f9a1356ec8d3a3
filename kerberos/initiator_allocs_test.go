package kerberos

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestInitiatorAllocs bounds what the initiator allocates for one context with the ticket
// in hand, into the caller's output buffers: the context, the AP-REQ, the AP-REP checked
// (acceptor subkey), and the first EncryptMessage with its RFC 4121 set-up. The acceptor's
// step between is not counted. When written: 8 allocations and 2.8 KB for aes256-sha1 (7
// and 2.2 KB for aes128-sha256), from 15 and 6.6 KB (13 and 6.0 KB) before: a Key with a
// slot per usage number, a CBC mode per usage key, an AP-REQ buffer of twice the ticket
// with the authenticator's plaintext copied, a Key for the initiator subkey the
// acceptor's replaced, the CFX on its own, a hash for each HMAC key's first MAC.
func TestInitiatorAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun does
	for _, c := range []struct {
		et            krbcrypto.EType
		allocs, bytes float64
	}{
		{krbcrypto.AES256CTSHMACSHA196, 10, 3200},
		{krbcrypto.AES128CTSHMACSHA256128, 9, 2700},
	} {
		l := newLocalKDC(t, c.et)
		sc := l.serverCreds(t, NewMemoryReplayCache(0))
		out := make([]byte, 0, MaxToken)
		var ms runtime.MemStats
		var mallocs, bytes uint64
		measure := func(f func()) {
			runtime.ReadMemStats(&ms)
			m0, b0 := ms.Mallocs, ms.TotalAlloc
			f()
			runtime.ReadMemStats(&ms)
			mallocs += ms.Mallocs - m0
			bytes += ms.TotalAlloc - b0
		}
		const runs = 50
		for i := range runs + 1 {
			if i == 1 { // the first run warms up the ticket's session key
				mallocs, bytes = 0, 0
			}
			var cc *clientContext
			p := clientStep
			p.Out = out[:0]
			sp := &sspi.StepParams{Server: true, In: make([]sspi.Buffer, 1), Out: make([]byte, 0, 512)}
			cp := &sspi.StepParams{In: make([]sspi.Buffer, 1), Out: make([]byte, 0, 512)}
			data, tok := make([]byte, 100), make([]byte, 64)
			bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}, {Type: sspi.BufferData, Data: data}}
			measure(func() {
				cc = &clientContext{creds: l.client}
				if _, err := cc.Step(&p); err != nil {
					t.Fatal(err)
				}
			})
			sp.In[0] = sspi.Buffer{Type: sspi.BufferToken, Data: p.Out}
			s := &serverContext{creds: sc}
			if _, err := s.Step(sp); err != nil {
				t.Fatal(err)
			}
			cp.In[0] = sspi.Buffer{Type: sspi.BufferToken, Data: sp.Out}
			measure(func() {
				if _, err := cc.Step(cp); err != nil {
					t.Fatal(err)
				}
				if err := cc.EncryptMessage(0, bufs, 0); err != nil {
					t.Fatal(err)
				}
			})
			if _, err := s.DecryptMessage(bufs, 0); err != nil {
				t.Fatal(err)
			}
			cc.Close()
			s.Close()
		}
		a, b := float64(mallocs)/runs, float64(bytes)/runs
		if a > c.allocs || b > c.bytes {
			t.Errorf("%v: the initiator made %v allocations, %v bytes; want at most %v, %v", c.et, a, b, c.allocs, c.bytes)
		}
	}
}

// TestSealAuthenticator: the authenticator sealed where it was encoded opens to its
// encoding for every layout (RC4's checksum in front), with a right size bound and with
// one too short (the buffer then grows before sealing, never while).
func TestSealAuthenticator(t *testing.T) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.AES256CTSHMACSHA384192, krbcrypto.RC4HMAC} {
		key, err := krbcrypto.NewKey(et, make([]byte, et.KeySize()))
		if err != nil {
			t.Fatal(err)
		}
		l := newLocalKDC(t, krbcrypto.AES256CTSHMACSHA196)
		ck := make([]byte, 24)
		auth := wire.Authenticator{
			CRealm: l.client.realm, CName: l.client.cname,
			Checksum: &wire.Checksum{Type: checksumType8003, Value: ck},
			CTime:    time.Unix(1700000000, 0).UTC(), CUsec: 999999,
			SubKey:    &wire.EncryptionKey{Type: int32(et), Value: make([]byte, et.KeySize())},
			SeqNumber: 0x3fffffff, HasSeq: true,
		}
		want, err := auth.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		bound := authenticatorBound(l.client, len(ck), et.KeySize())
		if bound < len(want) {
			t.Errorf("%v: bound %d for an authenticator of %d bytes", et, bound, len(want))
		}
		for _, b := range []int{bound, 0} {
			sealed, err := sealAuthenticator(key, &auth, b, make([]byte, et.ConfounderSize()))
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(want)+et.Overhead() {
				t.Errorf("%v bound %d: %d bytes sealed, want %d", et, b, len(sealed), len(want)+et.Overhead())
			}
			got, err := key.Usage(usageAuthenticator).Open(nil, sealed)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%v bound %d: opened %x, %v; want %x", et, b, got, err, want)
			}
		}
	}
}

// TestInitiatorAPRep rewrites the acceptor's AP-REP as an attacker holding the session key
// could, and checks what the initiator makes of it: the time must echo the
// authenticator's to the microsecond; without an acceptor subkey the messages are
// protected with the subkey the AP-REQ carried, with one, with the acceptor's.
func TestInitiatorAPRep(t *testing.T) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		l := newLocalKDC(t, et)
		sess := l.client.tickets.(*localTickets).key
		accSub := bytes.Repeat([]byte{0x5a}, et.KeySize())
		for _, tc := range []struct {
			name    string
			dsec    int64
			dusec   int32
			subkey  bool
			wantErr bool
		}{
			{"echo", 0, 0, false, false},
			{"echo+acceptor subkey", 0, 0, true, false},
			{"cusec off by one", 0, 1, true, true},
			{"ctime off by a second", 1, 0, true, true},
		} {
			c := &clientContext{creds: l.client}
			p := clientStep
			if _, err := c.Step(&p); err != nil {
				t.Fatal(err)
			}
			_, msg, err := parseGSSFramed(p.Out)
			if err != nil {
				t.Fatal(err)
			}
			var req wire.APReq
			if err := req.Unmarshal(msg); err != nil {
				t.Fatal(err)
			}
			plain, err := sess.Usage(usageAuthenticator).Open(nil, req.Authenticator.Cipher)
			if err != nil {
				t.Fatal(err)
			}
			var auth wire.Authenticator
			if err := auth.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			part := wire.EncAPRepPart{CTime: auth.CTime.Add(time.Duration(tc.dsec) * time.Second), CUsec: auth.CUsec + tc.dusec, SeqNumber: 7, HasSeq: true}
			want := auth.SubKey.Value
			if tc.subkey {
				part.SubKey = &wire.EncryptionKey{Type: int32(et), Value: accSub}
				want = accSub
			}
			pb, err := part.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := sess.Usage(usageAPRepPart).Seal(nil, pb, make([]byte, et.ConfounderSize()))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := (&wire.APRep{EncPart: wire.EncryptedData{EType: int32(et), Cipher: sealed}}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Step(&sspi.StepParams{In: []sspi.Buffer{{Type: sspi.BufferToken, Data: appendGSSFramed(nil, tokAPRep, rep)}}})
			if tc.wantErr {
				if !errors.Is(err, sspi.ErrMutualAuthFailed) {
					t.Errorf("%v %s: %v, want ErrMutualAuthFailed", et, tc.name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%v %s: %v", et, tc.name, err)
			}
			if got, _ := c.SessionKey(); !bytes.Equal(got, want) {
				t.Errorf("%v %s: messages protected with %x, want %x", et, tc.name, got, want)
			}
			if c.recvSeq != 7 {
				t.Errorf("%v %s: the acceptor's sequence number starts at %d, want 7", et, tc.name, c.recvSeq)
			}
			c.Close()
		}
	}
}
