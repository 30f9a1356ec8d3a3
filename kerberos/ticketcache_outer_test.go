package kerberos

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestTicketCacheOuterFields rewrites the unencrypted part of a ticket that is cached, as
// an attacker between client and server may: the key version, the service name, the
// encryption type. The cache is keyed by the keytab key the outer fields select, so each
// rewrite must be refused as it is without a cache (the ciphertext does not decrypt with
// the key selected), never served from the entry the genuine ticket left: here the
// keytab also holds a newer key of the same service (a rotation in progress) and another
// service, so every rewrite does select a key.
func TestTicketCacheOuterFields(t *testing.T) {
	const et = krbcrypto.AES256CTSHMACSHA196
	l := newLocalKDC(t, et)
	kt, err := keytab.Parse(l.keytab)
	if err != nil {
		t.Fatal(err)
	}
	orig := kt.Entries[0]
	fresh := func() wire.EncryptionKey {
		b := make([]byte, et.KeySize())
		rand.Read(b)
		return wire.EncryptionKey{Type: int32(et), Value: b}
	}
	httpName := wire.PrincipalName{Type: 2, Components: []string{"HTTP", "localhost"}}
	aes128 := make([]byte, 16)
	rand.Read(aes128)
	kt.Entries = append(kt.Entries,
		keytab.Entry{Principal: orig.Principal, Realm: orig.Realm, KVNO: 2, Timestamp: time.Now(), Key: fresh()},
		keytab.Entry{Principal: httpName, Realm: orig.Realm, KVNO: 1, Timestamp: time.Now(), Key: fresh()},
		keytab.Entry{Principal: orig.Principal, Realm: orig.Realm, KVNO: 1, Timestamp: time.Now(),
			Key: wire.EncryptionKey{Type: int32(krbcrypto.AES128CTSHMACSHA196), Value: aes128}})
	ktb, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sc := l.serverCredsConfig(t, &ServerConfig{KeytabData: ktb, ReplayCache: NewMemoryReplayCache(0)})
	_, toks := l.apReqs(t, 5)
	// The genuine ticket names kvno 1: kvno 0 would pick the newest key, 2.
	if _, err := acceptOne(sc, editTicketCipher(t, toks[0], func(tk *wire.Ticket) { tk.EncPart.KVNO, tk.EncPart.HasKVNO = 1, true })); err != nil {
		t.Fatal(err)
	}
	if n := len(cachedEntries(sc.tickets)); n != 1 {
		t.Fatalf("%d cached tickets, want 1", n)
	}
	for i, tc := range []struct {
		name string
		edit func(*wire.Ticket)
	}{
		{"newer key version", func(tk *wire.Ticket) { tk.EncPart.KVNO, tk.EncPart.HasKVNO = 2, true }},
		{"no key version (the newest)", func(tk *wire.Ticket) { tk.EncPart.KVNO, tk.EncPart.HasKVNO = 0, false }},
		{"another service", func(tk *wire.Ticket) { tk.SName = httpName; tk.EncPart.KVNO, tk.EncPart.HasKVNO = 1, true }},
		{"another encryption type", func(tk *wire.Ticket) {
			tk.EncPart.EType = int32(krbcrypto.AES128CTSHMACSHA196)
			tk.EncPart.KVNO, tk.EncPart.HasKVNO = 1, true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := acceptOne(sc, editTicketCipher(t, toks[i+1], tc.edit))
			var se *sspi.Error
			if !errors.As(err, &se) || se.Status != sspi.ErrLogonDenied {
				t.Fatalf("got %v, want the ticket refused (SEC_E_LOGON_DENIED: it does not decrypt)", err)
			}
		})
	}
	if n := len(cachedEntries(sc.tickets)); n != 1 {
		t.Fatalf("%d cached tickets after the rewrites, want the genuine one only", n)
	}
}
