package kerberos

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// acceptOne runs the acceptor's step on tok with the credentials sc.
func acceptOne(sc *serverCreds, tok []byte) (*serverContext, error) {
	s := &serverContext{creds: sc}
	_, err := s.Step(&sspi.StepParams{Server: true, Req: sspi.ASCReqMutualAuth, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: tok}}})
	return s, err
}

// cachedEntries returns the ticket cache's entries.
func cachedEntries(c *ticketCache) []*openedTicket {
	var out []*openedTicket
	for i := range c.slots {
		if o := c.slots[i].Load(); o != nil {
			out = append(out, o)
		}
	}
	return out
}

// TestTicketCacheHit checks that a second AP-REQ with the same ticket uses the opened
// ticket: the entry's access token (replaced here) is what the second context reports.
func TestTicketCacheHit(t *testing.T) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.RC4HMAC} {
		l := newLocalKDCAuthData(t, et, signedPAC)
		sc := l.serverCreds(t, NewMemoryReplayCache(0))
		_, toks := l.apReqs(t, 2)
		first, err := acceptOne(sc, toks[0])
		if err != nil {
			t.Fatal(err)
		}
		if first.identity.Token == nil || first.identity.Authorization != sspi.AuthzPAC && first.identity.Authorization != sspi.AuthzPACWithoutLogonInfo {
			t.Fatalf("%v: first accept: token %+v, authorization %v", et, first.identity.Token, first.identity.Authorization)
		}
		es := cachedEntries(sc.tickets)
		if len(es) != 1 {
			t.Fatalf("%v: %d cached tickets after one accept, want 1", et, len(es))
		}
		marker := &sspi.AccessToken{Source: sspi.AuthzPAC, UserName: "from the cache"}
		es[0].token = marker
		second, err := acceptOne(sc, toks[1])
		if err != nil {
			t.Fatal(err)
		}
		if second.identity.Token != marker {
			t.Fatalf("%v: the second accept opened the ticket again (token %+v)", et, second.identity.Token)
		}
		if second.identity.Principal != "alice@"+testRealm || !second.key.Equal(second.key) {
			t.Fatalf("%v: second identity %+v", et, second.identity)
		}
	}
}

// TestTicketCacheStillChecks rewrites AP-REQs whose ticket is cached, as an attacker who
// captured a client's AP-REQ would: everything that is not the ticket must still be
// checked when the ticket is found opened.
func TestTicketCacheStillChecks(t *testing.T) {
	const et = krbcrypto.AES256CTSHMACSHA196
	l := newLocalKDC(t, et)
	var clock time.Time
	sc := l.serverCredsConfig(t, &ServerConfig{KeytabData: l.keytab, ReplayCache: NewMemoryReplayCache(0),
		Time: func() time.Time {
			if clock.IsZero() {
				return time.Now()
			}
			return clock
		}})
	_, toks := l.apReqs(t, 3)
	if _, err := acceptOne(sc, toks[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(cachedEntries(sc.tickets)); n != 1 {
		t.Fatalf("%d cached tickets, want 1", n)
	}

	// The same ticket with an authenticator sealed in a key that is not the ticket's
	// session key: someone who holds the ticket but not its key.
	c := l.client
	thief := &clientCreds{user: c.user, realm: c.realm, name: c.name, cname: c.cname,
		tickets: &localTickets{der: c.tickets.(*localTickets).der, key: randomKey(t, et)}}
	forged := &localKDC{keytab: l.keytab, svc: l.svc, client: thief}
	_, ftoks := forged.apReqs(t, 1)

	// The ticket's ciphertext with one bit changed: not the cached ticket, and it does not
	// decrypt.
	flipped := editTicketCipher(t, toks[2], func(tk *wire.Ticket) { tk.EncPart.Cipher[len(tk.EncPart.Cipher)/2] ^= 1 })

	for _, tc := range []struct {
		name   string
		tok    []byte
		clock  time.Time
		status sspi.Status
		code   int32
	}{
		{"replayed AP-REQ", toks[0], time.Time{}, sspi.ErrLogonDenied, errRepeat},
		{"authenticator in another key", ftoks[0], time.Time{}, sspi.ErrLogonDenied, errBadIntegrity},
		{"ticket ciphertext changed", flipped, time.Time{}, sspi.ErrLogonDenied, errBadIntegrity},
		{"ticket expired since it was cached", toks[1], time.Now().Add(11 * time.Hour), sspi.ErrContextExpired, errTktExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock = tc.clock
			defer func() { clock = time.Time{} }()
			s := &serverContext{creds: sc}
			p := &sspi.StepParams{Server: true, Req: sspi.ASCReqMutualAuth | sspi.ASCReqExtendedError,
				In: []sspi.Buffer{{Type: sspi.BufferToken, Data: tc.tok}}}
			_, err := s.Step(p)
			var se *sspi.Error
			if !errors.As(err, &se) || se.Status != tc.status {
				t.Fatalf("got %v, want %v", err, tc.status)
			}
			id, msg, perr := parseGSSFramed(p.Out)
			var ke wire.KRBError
			if perr != nil || id != tokError || ke.Unmarshal(msg) != nil || ke.Code != tc.code {
				t.Fatalf("failure token % x: KRB-ERROR code %d, want %d", p.Out[:min(len(p.Out), 20)], ke.Code, tc.code)
			}
			// An expired ticket leaves the cache (and is zeroed) at once; the others stay.
			if n, want := len(cachedEntries(sc.tickets)), 1; tc.code == errTktExpired && n != 0 || tc.code != errTktExpired && n != want {
				t.Fatalf("%d tickets cached after the refusal", n)
			}
		})
	}
	// The untouched AP-REQ is still accepted: the refusals above did not spoil the entry.
	if _, err := acceptOne(sc, toks[2]); err != nil {
		t.Fatal(err)
	}
}

// TestTicketCacheEvictionZeroes fills a one-slot cache with two tickets by turns from
// several goroutines (run it with -race): every accept must succeed, so no entry is zeroed
// while an AP-REQ still uses it, and an entry that left the cache is zeroed once unused.
func TestTicketCacheEvictionZeroes(t *testing.T) {
	const et = krbcrypto.AES128CTSHMACSHA256128
	l := newLocalKDC(t, et)
	other := &localKDC{keytab: l.keytab, svc: l.svc, client: l.newClient(t, time.Now().UTC().Truncate(time.Second), nil)}
	sc := l.serverCredsConfig(t, &ServerConfig{KeytabData: l.keytab, ReplayCache: NewMemoryReplayCache(0), TicketCacheSize: 1})
	if len(sc.tickets.slots) != 1 {
		t.Fatalf("%d slots, want 1", len(sc.tickets.slots))
	}
	const workers, each = 4, 40
	toks := make([][][]byte, workers)
	for w := range toks {
		src := l
		if w%2 == 1 {
			src = other
		}
		_, toks[w] = src.apReqs(t, each)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tok := range toks[w] {
				if _, err := acceptOne(sc, tok); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Which ticket is cached now is whichever went last; the other one is evicted by the
	// next accept of the one that is not cached.
	held := cachedEntries(sc.tickets)[0]
	next := l
	if string(held.raw) == string(l.client.tickets.(*localTickets).der) {
		next = other
	}
	_, more := next.apReqs(t, 1)
	if _, err := acceptOne(sc, more[0]); err != nil {
		t.Fatal(err)
	}
	if cachedEntries(sc.tickets)[0] == held {
		t.Fatal("the other ticket did not take the slot")
	}
	assertZeroed(t, "evicted", held)

	// Freeing the credentials zeroes what is left.
	last := cachedEntries(sc.tickets)[0]
	(&credentials{server: sc}).Close()
	if n := len(cachedEntries(sc.tickets)); n != 0 {
		t.Fatalf("%d tickets cached after Close", n)
	}
	assertZeroed(t, "flushed", last)
}

func assertZeroed(t *testing.T, what string, o *openedTicket) {
	t.Helper()
	if o.refs.Load() != 0 {
		t.Fatalf("%s entry still has %d references", what, o.refs.Load())
	}
	for _, b := range o.plain {
		if b != 0 {
			t.Fatalf("%s entry's plaintext is not zeroed", what)
		}
	}
	for _, b := range o.session.Bytes() {
		if b != 0 {
			t.Fatalf("%s entry's session key is not zeroed", what)
		}
	}
}

// TestTicketCacheOff checks that TicketCacheSize < 0 keeps nothing and still accepts.
func TestTicketCacheOff(t *testing.T) {
	l := newLocalKDC(t, krbcrypto.AES256CTSHMACSHA196)
	sc := l.serverCredsConfig(t, &ServerConfig{KeytabData: l.keytab, ReplayCache: NewMemoryReplayCache(0), TicketCacheSize: -1})
	if sc.tickets != nil {
		t.Fatal("a ticket cache with TicketCacheSize -1")
	}
	_, toks := l.apReqs(t, 2)
	for _, tok := range toks {
		if _, err := acceptOne(sc, tok); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRequirePACWithBindingPolicy checks that the credentials Negotiate makes to apply its
// channel-binding policy keep RequirePAC: they lost it before, so a Negotiate server with
// a binding policy took tickets without a PAC that its Kerberos configuration refused.
func TestRequirePACWithBindingPolicy(t *testing.T) {
	l := newLocalKDC(t, krbcrypto.AES256CTSHMACSHA196) // its ticket has no PAC
	sc := l.serverCredsConfig(t, &ServerConfig{KeytabData: l.keytab, ReplayCache: NewMemoryReplayCache(0), RequirePAC: true})
	for _, p := range []sspi.ChannelBindingPolicy{sspi.BindingsOff, sspi.BindingsWhenPresent} {
		pc, err := (&credentials{server: sc}).WithChannelBindingPolicy(p)
		if err != nil {
			t.Fatal(err)
		}
		_, toks := l.apReqs(t, 1)
		if _, err := acceptOne(pc.(*credentials).server, toks[0]); !errors.Is(err, sspi.ErrLogonDenied) {
			t.Fatalf("policy %v: a ticket without a PAC: %v, want SEC_E_LOGON_DENIED", p, err)
		}
	}
}

func randomKey(t *testing.T, et krbcrypto.EType) *krbcrypto.Key {
	t.Helper()
	b := make([]byte, et.KeySize())
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	k, err := krbcrypto.NewKey(et, b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// editTicketCipher returns the framed AP-REQ tok with its ticket changed by f, the
// attacker without the service key.
func editTicketCipher(t *testing.T, tok []byte, f func(*wire.Ticket)) []byte {
	t.Helper()
	_, msg, err := parseGSSFramed(tok)
	if err != nil {
		t.Fatal(err)
	}
	var req wire.APReq
	if err := req.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	tk := req.Ticket
	tk.EncPart.Cipher = append([]byte(nil), tk.EncPart.Cipher...)
	f(&tk)
	tk.Raw = nil // or Marshal gives back the DER as received
	der, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req.Ticket = tk
	req.Ticket.Raw = der
	out, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return appendGSSFramed(nil, tokAPReq, out)
}
