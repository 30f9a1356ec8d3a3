package kerberos

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/cryptofloor"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// The engine's costs without a KDC: a ticket made here with the service's key (as a KDC
// would) lets the initiator and the acceptor run their whole handshake, replay cache and
// AP-REP included, and the message calls run on established contexts. Each has a
// "floor" beside it: the same cryptography done with the standard library alone.
//
//	go test -run=X -bench='Accept|Initiator|Messages' -benchmem ./kerberos/
//
// BenchmarkCompareMIT (compare_test.go) sets these beside MIT's in one run.

// localTickets is a ticketSource holding one ticket, made for the service key given.
type localTickets struct {
	der []byte
	key *krbcrypto.Key
	end time.Time
}

func (l *localTickets) serviceTicket(context.Context, string) ([]byte, *krbcrypto.Key, time.Time, error) {
	return l.der, l.key, l.end, nil
}

// localKDC is a service key, its keytab, and a client holding a ticket for it.
type localKDC struct {
	keytab []byte
	svc    *krbcrypto.Key
	client *clientCreds
}

func newLocalKDC(tb testing.TB, et krbcrypto.EType) *localKDC {
	tb.Helper()
	return newLocalKDCAuthData(tb, et, noPAC)
}

// mitShapedPAC is authorization data as MIT krb5 1.20's KDC puts in every ticket:
// AD-IF-RELEVANT holding AD-WIN2K-PAC with the client info, the ticket checksum (taken
// from internal/krb5/wire's recording of a real one, not checked by acceptors) and the
// server and KDC signatures, signed here with svc so that the acceptor's verification
// passes and its cost is measured.
func mitShapedPAC(tb testing.TB, svc *krbcrypto.Key, client string, authTime time.Time) []wire.AuthorizationData {
	tb.Helper()
	der, err := os.ReadFile("../internal/krb5/wire/testdata/mit-enc-ticket-part.der")
	if err != nil {
		tb.Fatal(err)
	}
	var part wire.EncTicketPart
	if err := part.Unmarshal(der); err != nil {
		tb.Fatal(err)
	}
	raw, ok, err := pac.Find(part.AuthData)
	if err != nil || !ok {
		tb.Fatalf("the recorded MIT ticket has no PAC: %v", err)
	}
	recorded, err := pac.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	ticketSig := recorded.Buffer(pac.TypeTicketChecksum)
	if ticketSig == nil {
		tb.Fatal("the recorded MIT PAC has no ticket checksum")
	}
	kdcBytes := make([]byte, svc.EType().KeySize())
	rand.Read(kdcBytes)
	kdc, err := krbcrypto.NewKey(svc.EType(), kdcBytes)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := pac.Build(&pac.Contents{ClientName: client, AuthTime: authTime,
		Extra: []pac.Buffer{{Type: pac.TypeTicketChecksum, Data: ticketSig}}}, svc, kdc)
	if err != nil {
		tb.Fatal(err)
	}
	ad, err := pac.AuthorizationData(b)
	if err != nil {
		tb.Fatal(err)
	}
	return []wire.AuthorizationData{ad}
}

// localPAC is what a localKDC's ticket carries: no PAC, an MIT-shaped PAC signed with the
// service key (mitShapedPAC), or one signed with another key, as a forger without the
// service key would make it.
type localPAC int

const (
	noPAC localPAC = iota
	signedPAC
	forgedPAC
)

// newLocalKDCAuthData is newLocalKDC whose ticket carries the PAC p says.
func newLocalKDCAuthData(tb testing.TB, et krbcrypto.EType, p localPAC) *localKDC {
	tb.Helper()
	svcBytes := make([]byte, et.KeySize())
	rand.Read(svcBytes)
	sname := wire.PrincipalName{Type: 2, Components: []string{"host", "localhost"}}
	kt := keytab.Keytab{Entries: []keytab.Entry{{Principal: sname, Realm: testRealm, KVNO: 1,
		Timestamp: time.Now(), Key: wire.EncryptionKey{Type: int32(et), Value: svcBytes}}}}
	ktb, err := kt.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	svc, _ := krbcrypto.NewKey(et, svcBytes)
	now := time.Now().UTC().Truncate(time.Second)
	var ad []wire.AuthorizationData
	switch p {
	case signedPAC:
		ad = mitShapedPAC(tb, svc, "alice", now)
	case forgedPAC:
		other := make([]byte, et.KeySize())
		rand.Read(other)
		forger, err := krbcrypto.NewKey(et, other)
		if err != nil {
			tb.Fatal(err)
		}
		ad = mitShapedPAC(tb, forger, "alice", now)
	}
	l := &localKDC{keytab: ktb, svc: svc}
	l.client = l.newClient(tb, now, ad)
	return l
}

// newClient is a client holding a new ticket of alice's for the localKDC's service, with
// a session key of its own, issued at now and carrying ad.
func (l *localKDC) newClient(tb testing.TB, now time.Time, ad []wire.AuthorizationData) *clientCreds {
	tb.Helper()
	et := l.svc.EType()
	sessBytes := make([]byte, et.KeySize())
	rand.Read(sessBytes)
	sess, _ := krbcrypto.NewKey(et, sessBytes)
	cname := wire.PrincipalName{Type: 1, Components: []string{"alice"}}
	sname := wire.PrincipalName{Type: 2, Components: []string{"host", "localhost"}}
	part := wire.EncTicketPart{Flags: wire.FlagInitial | wire.FlagPreAuthent, Key: wire.EncryptionKey{Type: int32(et), Value: sessBytes},
		CRealm: testRealm, CName: cname, Transited: wire.TransitedEncoding{Type: 1},
		AuthTime: now, StartTime: now, EndTime: now.Add(10 * time.Hour), AuthData: ad}
	plain, err := part.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	conf := make([]byte, et.ConfounderSize())
	rand.Read(conf)
	ct, err := l.svc.Usage(usageTicket).Seal(nil, plain, conf)
	if err != nil {
		tb.Fatal(err)
	}
	t := wire.Ticket{Realm: testRealm, SName: sname, EncPart: wire.EncryptedData{EType: int32(et), KVNO: 1, HasKVNO: true, Cipher: ct}}
	der, err := t.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return &clientCreds{user: "alice", realm: testRealm, name: "alice@" + testRealm, cname: cname,
		tickets: &localTickets{der: der, key: sess, end: part.EndTime}}
}

func (l *localKDC) serverCreds(tb testing.TB, replays ReplayCache) *serverCreds {
	tb.Helper()
	return l.serverCredsConfig(tb, &ServerConfig{KeytabData: l.keytab, ReplayCache: replays})
}

func (l *localKDC) serverCredsConfig(tb testing.TB, cfg *ServerConfig) *serverCreds {
	tb.Helper()
	s, err := newServerCreds(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var clientStep = sspi.StepParams{Target: "host/localhost", Req: sspi.DefaultClientReq}

// apReqs makes n AP-REQs (mutual authentication) and the client contexts waiting for the
// AP-REPs.
func (l *localKDC) apReqs(tb testing.TB, n int) ([]*clientContext, [][]byte) {
	cs, toks := make([]*clientContext, n), make([][]byte, n)
	for i := range n {
		cs[i] = &clientContext{creds: l.client}
		p := clientStep
		if _, err := cs[i].Step(&p); err != nil {
			tb.Fatal(err)
		}
		toks[i] = p.Out
	}
	return cs, toks
}

// TestLocalKDCHandshake checks the benchmarks' set-up: the handshake completes, the
// contexts agree, and the acceptor refuses the same AP-REQ twice.
func TestLocalKDCHandshake(t *testing.T) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.RC4HMAC} {
		l := newLocalKDC(t, et)
		sc := l.serverCreds(t, NewMemoryReplayCache(0))
		cs, toks := l.apReqs(t, 1)
		s := &serverContext{creds: sc}
		sp := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: toks[0]}}}
		if _, err := s.Step(sp); err != nil {
			t.Fatal(err)
		}
		cp := &sspi.StepParams{In: []sspi.Buffer{{Type: sspi.BufferToken, Data: sp.Out}}}
		if st, err := cs[0].Step(cp); err != nil || st != sspi.OK {
			t.Fatal(st, err)
		}
		if !cs[0].key.Equal(l.client.tickets.(*localTickets).key) || !cs[0].established.key.Equal(s.key) {
			t.Fatalf("%v: context keys differ", et)
		}
		exchangeMessagesPkg(t, &cs[0].established, &s.established)
		s2 := &serverContext{creds: sc}
		if _, err := s2.Step(&sspi.StepParams{Server: true, In: sp.In}); err == nil {
			t.Fatalf("%v: replayed AP-REQ accepted", et)
		}
	}
}

// exchangeMessagesPkg wraps, unwraps, signs and verifies both ways on package contexts.
func exchangeMessagesPkg(t *testing.T, a, b *established) {
	t.Helper()
	for _, pr := range [][2]*established{{a, b}, {b, a}} {
		msg := []byte("a message for the benchmarks' contexts")
		data := append([]byte(nil), msg...)
		bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, 64)}, {Type: sspi.BufferData, Data: data}, {Type: sspi.BufferPadding, Data: make([]byte, 1)}}
		if err := pr[0].EncryptMessage(0, bufs, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := pr[1].DecryptMessage(bufs, 0); err != nil || string(bufs[1].Data) != string(msg) {
			t.Fatalf("%q %v", bufs[1].Data, err)
		}
		sig := []sspi.Buffer{{Type: sspi.BufferData, Data: msg}, {Type: sspi.BufferToken, Data: make([]byte, 64)}}
		if err := pr[0].MakeSignature(0, sig, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := pr[1].VerifySignature(sig, 0); err != nil {
			t.Fatal(err)
		}
	}
}

type acceptCase struct {
	name string
	et   krbcrypto.EType
	pac  localPAC // noPAC, or the ticket carries an MIT-shaped PAC
	// repeat keeps the ticket cache on: every AP-REQ carries the same ticket, as a
	// client's do, so all but the first find it opened. Without it each AP-REQ pays for
	// the ticket (decryption, PAC, session-key set-up), as a first contact does.
	repeat bool
}

// config is the server configuration of the case.
func (tc acceptCase) config(keytab []byte) *ServerConfig {
	cfg := &ServerConfig{KeytabData: keytab, ReplayCache: NewMemoryReplayCache(0), TicketCacheSize: -1}
	if tc.repeat {
		cfg.TicketCacheSize = 0
	}
	return cfg
}

// acceptCases are the accept benchmarks' tickets: each session-key type, without
// authorization data and with the PAC an MIT 1.20 KDC puts in every ticket, each opened
// for every AP-REQ and found in the ticket cache ("+repeat").
func acceptCases(tb testing.TB) []acceptCase {
	var cs []acceptCase
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		for _, repeat := range []bool{false, true} {
			suffix := ""
			if repeat {
				suffix = "+repeat"
			}
			cs = append(cs, acceptCase{et.String() + suffix, et, noPAC, repeat},
				acceptCase{et.String() + "+mit-pac" + suffix, et, signedPAC, repeat})
		}
	}
	return cs
}

// BenchmarkAccept is the acceptor's step: AP-REQ decode, ticket and authenticator
// decryption and checks, replay cache, AP-REP with an acceptor subkey, context set-up.
func BenchmarkAccept(b *testing.B) {
	for _, tc := range acceptCases(b) {
		b.Run(tc.name, func(b *testing.B) {
			l := newLocalKDCAuthData(b, tc.et, tc.pac)
			sc := l.serverCredsConfig(b, tc.config(l.keytab))
			const batch = 512
			_, toks := l.apReqs(b, batch)
			p := &sspi.StepParams{Server: true, In: make([]sspi.Buffer, 1), Out: make([]byte, 0, 512)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%batch == 0 && i > 0 {
					b.StopTimer()
					_, toks = l.apReqs(b, batch)
					runtime.GC() // the set-up's garbage is collected outside the timer
					b.StartTimer()
				}
				s := &serverContext{creds: sc}
				p.In[0] = sspi.Buffer{Type: sspi.BufferToken, Data: toks[i%batch]}
				p.Out = p.Out[:0]
				if _, err := s.Step(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcceptFloor is the cryptography of one accept with the standard library's
// primitives through krbcrypto, keyed as the acceptor must key them: the ticket decrypted
// with the (prepared) service key, the session key's usages 11 and 12 derived, the
// authenticator decrypted, the AP-REP part encrypted, the subkey made, and the replay key
// hashed. No DER, no checks, no replay cache. (The subkey's message usages are derived on
// the context's first message call, in the acceptor as here.)
func BenchmarkAcceptFloor(b *testing.B) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		b.Run(et.String(), func(b *testing.B) {
			floor := acceptFloorOp(b, newLocalKDC(b, et))
			b.ReportAllocs()
			for b.Loop() {
				floor()
			}
		})
	}
}

// acceptFloorOp returns BenchmarkAcceptFloor's operation on one of l's AP-REQs.
func acceptFloorOp(b *testing.B, l *localKDC) func() {
	et := l.svc.EType()
	_, toks := l.apReqs(b, 1)
	_, msg, _ := parseGSSFramed(toks[0])
	var req wire.APReq
	if err := req.Unmarshal(msg); err != nil {
		b.Fatal(err)
	}
	tkt := req.Ticket.EncPart.Cipher
	auth := req.Authenticator.Cipher
	svc := l.svc.Usage(usageTicket)
	sess := l.client.tickets.(*localTickets).key.Bytes()
	buf := make([]byte, 0, 4096)
	part := make([]byte, 80)
	conf := make([]byte, 16)
	sub := make([]byte, et.KeySize())
	return func() {
		buf = append(buf[:0], tkt...)
		if _, err := svc.OpenInPlace(buf); err != nil {
			b.Fatal(err)
		}
		k, _ := krbcrypto.NewKey(et, sess)
		off := len(buf)
		buf = append(buf, auth...)
		if _, err := k.Usage(usageAuthenticator).OpenInPlace(buf[off:]); err != nil {
			b.Fatal(err)
		}
		rand.Read(conf)
		rand.Read(sub)
		if _, err := k.Usage(usageAPRepPart).Seal(buf[len(buf):], part, conf[:et.ConfounderSize()]); err != nil {
			b.Fatal(err)
		}
		if _, err := krbcrypto.RandomToKey(et, sub); err != nil {
			b.Fatal(err)
		}
		sha256.Sum256(auth)
	}
}

// BenchmarkAcceptFloorRatio times BenchmarkAccept's accept (the ticket opened, no ticket
// cache) and BenchmarkAcceptFloor's cryptography by turns, 16 of each, and reports accept
// time over floor time ("x-floor", issue 12's goal is at most 2): on a machine whose speed
// drifts, the two are then measured in the same moments.
//
//	go test -run X -bench AcceptFloorRatio ./kerberos/
func BenchmarkAcceptFloorRatio(b *testing.B) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		b.Run(et.String(), func(b *testing.B) {
			l := newLocalKDC(b, et)
			floor := acceptFloorOp(b, l)
			sc := l.serverCredsConfig(b, acceptCase{et: et}.config(l.keytab))
			const chunk, batch = 16, 512
			_, toks := l.apReqs(b, batch)
			next := 0
			p := &sspi.StepParams{Server: true, In: make([]sspi.Buffer, 1), Out: make([]byte, 0, 512)}
			var ours, fl time.Duration
			for b.Loop() {
				if next+chunk > batch {
					_, toks = l.apReqs(b, batch)
					next = 0
					runtime.GC() // the set-up's garbage, outside the timed chunks
				}
				t0 := time.Now()
				for range chunk {
					s := &serverContext{creds: sc}
					p.In[0] = sspi.Buffer{Type: sspi.BufferToken, Data: toks[next]}
					next++
					p.Out = p.Out[:0]
					if _, err := s.Step(p); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for range chunk {
					floor()
				}
				ours += t1.Sub(t0)
				fl += time.Since(t1)
			}
			b.ReportMetric(float64(ours)/float64(fl), "x-floor")
		})
	}
}

// BenchmarkInitiator is the initiator with the ticket in hand: the AP-REQ (authenticator
// with subkey and 0x8003 checksum), then the AP-REP verified. The acceptor's AP-REPs are
// made outside the timer.
func BenchmarkInitiator(b *testing.B) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		b.Run(et.String(), func(b *testing.B) {
			l := newLocalKDC(b, et)
			sc := l.serverCreds(b, NewMemoryReplayCache(0))
			b.ReportAllocs()
			var ns time.Duration
			for b.Loop() {
				c := &clientContext{creds: l.client}
				p := clientStep
				t0 := time.Now()
				if _, err := c.Step(&p); err != nil {
					b.Fatal(err)
				}
				ns += time.Since(t0)
				s := &serverContext{creds: sc}
				sp := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: p.Out}}}
				if _, err := s.Step(sp); err != nil {
					b.Fatal(err)
				}
				cp := &sspi.StepParams{In: []sspi.Buffer{{Type: sspi.BufferToken, Data: sp.Out}}}
				t0 = time.Now()
				if _, err := c.Step(cp); err != nil {
					b.Fatal(err)
				}
				ns += time.Since(t0)
			}
			b.ReportMetric(float64(ns.Nanoseconds())/float64(b.N), "initiator-ns/op")
		})
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}}

// established contexts of one enctype, for the message benchmarks.
func benchPair(b testing.TB, et krbcrypto.EType) (ini, acc *established) {
	l := newLocalKDC(b, et)
	sc := l.serverCreds(b, NewMemoryReplayCache(0))
	cs, toks := l.apReqs(b, 1)
	s := &serverContext{creds: sc}
	sp := &sspi.StepParams{Server: true, In: []sspi.Buffer{{Type: sspi.BufferToken, Data: toks[0]}}}
	if _, err := s.Step(sp); err != nil {
		b.Fatal(err)
	}
	if _, err := cs[0].Step(&sspi.StepParams{In: []sspi.Buffer{{Type: sspi.BufferToken, Data: sp.Out}}}); err != nil {
		b.Fatal(err)
	}
	return &cs[0].established, &s.established
}

// wrapUnwrap is one EncryptMessage by ini and DecryptMessage by acc, in the caller's
// buffers.
func wrapUnwrap(tb testing.TB, ini, acc *established, bufs []sspi.Buffer, tok, data []byte) {
	bufs[0] = sspi.Buffer{Type: sspi.BufferToken, Data: tok}
	bufs[1] = sspi.Buffer{Type: sspi.BufferData, Data: data}
	if err := ini.EncryptMessage(0, bufs, 0); err != nil {
		tb.Fatal(err)
	}
	if _, err := acc.DecryptMessage(bufs, 0); err != nil {
		tb.Fatal(err)
	}
}

func micVerify(tb testing.TB, ini, acc *established, bufs []sspi.Buffer, tok, data []byte) {
	bufs[0] = sspi.Buffer{Type: sspi.BufferData, Data: data}
	bufs[1] = sspi.Buffer{Type: sspi.BufferToken, Data: tok}
	if err := ini.MakeSignature(0, bufs, 0); err != nil {
		tb.Fatal(err)
	}
	if _, err := acc.VerifySignature(bufs, 0); err != nil {
		tb.Fatal(err)
	}
}

// TestMessageZeroAllocs: with the caller's buffers, EncryptMessage, DecryptMessage,
// MakeSignature and VerifySignature allocate nothing, for AES and RC4.
func TestMessageZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128, krbcrypto.RC4HMAC} {
		ini, acc := benchPair(t, et)
		data := make([]byte, 1000)
		tok := make([]byte, 64)
		bufs := make([]sspi.Buffer, 2)
		if n := testing.AllocsPerRun(100, func() {
			wrapUnwrap(t, ini, acc, bufs, tok, data)
			micVerify(t, ini, acc, bufs, tok, data)
		}); n != 0 {
			t.Errorf("%v: %v allocations per wrap+unwrap+MIC+verify", et, n)
		}
	}
}

// BenchmarkMessages runs wrap+unwrap and MIC+verify through the SSPI calls and the Go
// crypto floor alternately, in chunks, and reports "%floor" (the floor's time over ours):
// on a shared machine alternation exposes both to the same load.
//
//	go test -run=X -bench=Messages -benchtime=4000x ./kerberos/
func BenchmarkMessages(b *testing.B) {
	for _, et := range []krbcrypto.EType{krbcrypto.AES256CTSHMACSHA196, krbcrypto.AES128CTSHMACSHA256128} {
		for _, sz := range benchSizes {
			for _, op := range []string{"wrap+unwrap", "mic+verify"} {
				b.Run(et.String()+"/"+sz.name+"/"+op, func(b *testing.B) {
					ini, acc := benchPair(b, et)
					fl := cryptofloor.New(b, et)
					data := make([]byte, sz.n)
					tok := make([]byte, 64)
					bufs := make([]sspi.Buffer, 2)
					fb := make([]byte, 16+sz.n+16+15&^15)
					fmac := make([]byte, 0, 64)
					var ours, floor time.Duration
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					const chunk = 16
					for i := 0; i < b.N; i += chunk {
						t0 := time.Now()
						for range chunk {
							if op == "wrap+unwrap" {
								wrapUnwrap(b, ini, acc, bufs, tok, data)
							} else {
								micVerify(b, ini, acc, bufs, tok, data)
							}
						}
						t1 := time.Now()
						for range chunk {
							if op == "wrap+unwrap" {
								rand.Read(fb[:16])
								fmac = fl.Seal(fb, fmac)
								if !fl.Open(fb, fmac) {
									b.Fatal("floor")
								}
							} else {
								var ok bool
								if fmac, ok = fl.MICPair(data, fmac); !ok {
									b.Fatal("floor MIC")
								}
							}
						}
						ours += t1.Sub(t0)
						floor += time.Since(t1)
					}
					b.ReportMetric(100*float64(floor)/float64(ours), "%floor")
					b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ours-ns/op")
					b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
				})
			}
		}
	}
}

// BenchmarkAcceptSSPI is BenchmarkAccept through the SSPI calls, as a server makes them:
// AcceptSecurityContext into the caller's output buffer, then DeleteSecurityContext.
//
//	go test -run X -bench AcceptSSPI -benchmem ./kerberos/
func BenchmarkAcceptSSPI(b *testing.B) {
	for _, tc := range acceptCases(b) {
		b.Run(tc.name, func(b *testing.B) {
			l := newLocalKDCAuthData(b, tc.et, tc.pac)
			scred := acquire(b, sspi.CredInbound, tc.config(l.keytab))
			const batch = 512
			_, toks := l.apReqs(b, batch)
			in := []sspi.Buffer{{Type: sspi.BufferToken}}
			out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%batch == 0 && i > 0 {
					b.StopTimer()
					_, toks = l.apReqs(b, batch)
					runtime.GC() // the set-up's garbage is collected outside the timer
					b.StartTimer()
				}
				in[0].Data = toks[i%batch]
				out[0].Data = out[0].Data[:MaxToken]
				sctx, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
				if err != nil {
					b.Fatal(err)
				}
				sspi.DeleteSecurityContext(sctx)
			}
		})
	}
}

// TestAcceptAllocs bounds the allocations of one accept through the SSPI calls: 16 to 30
// when the ticket is opened (issue 12's goal is at most 60), 6 when it is found in the
// ticket cache (18 to 30 before there was one).
func TestAcceptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, tc := range acceptCases(t) {
		bound := 40.0
		if tc.repeat {
			bound = 12
		}
		l := newLocalKDCAuthData(t, tc.et, tc.pac)
		scred := acquire(t, sspi.CredInbound, tc.config(l.keytab))
		_, toks := l.apReqs(t, 120)
		in := []sspi.Buffer{{Type: sspi.BufferToken}}
		out := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, MaxToken)}}
		i := 0
		n := testing.AllocsPerRun(100, func() {
			in[0].Data = toks[i]
			i++
			out[0].Data = out[0].Data[:MaxToken]
			sctx, _, err := sspi.AcceptSecurityContext(scred, nil, sspi.DefaultServerReq, sspi.NativeDataRep, in, out)
			if err != nil {
				t.Fatal(err)
			}
			sspi.DeleteSecurityContext(sctx)
		})
		if n > bound {
			t.Errorf("%s: %v allocations per accept, want at most %v", tc.name, n, bound)
		}
	}
}
