package krbclient

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// The fake KDC makes the faults a real KDC never makes; everything it does right is
// checked against MIT in interop_test.go.

const fakeRealm = "FAKE.TEST"

// asReply answers an AS-REQ without preauth for user "u" with password "pw", as a KDC
// would, then lets mutate spoil it.
func asReply(t testing.TB, req []byte, mutate func(*wire.KDCRep, *wire.EncKDCRepPart)) []byte {
	var r wire.KDCReq
	if err := r.Unmarshal(req); err != nil {
		t.Errorf("fake KDC: %v", err)
		return nil
	}
	userKey, err := krbcrypto.StringToKey(krbcrypto.AES256CTSHMACSHA196, "pw", fakeRealm+"u", nil)
	if err != nil {
		t.Fatal(err)
	}
	sk := make([]byte, 32)
	rand.Read(sk)
	now := time.Now().Truncate(time.Second)
	enc := wire.EncKDCRepPart{
		Tag: 25, Key: wire.EncryptionKey{Type: 18, Value: sk}, LastReq: []wire.LastReq{{Type: 0, Value: now}},
		Nonce: r.Body.Nonce, Flags: wire.FlagInitial, AuthTime: now, EndTime: now.Add(time.Hour),
		SRealm: fakeRealm, SName: tgsName(fakeRealm),
	}
	rep := wire.KDCRep{
		MsgType: wire.MsgASRep, CRealm: fakeRealm, CName: *r.Body.CName,
		Ticket: wire.Ticket{Realm: fakeRealm, SName: tgsName(fakeRealm), EncPart: wire.EncryptedData{EType: 18, KVNO: 1, HasKVNO: true, Cipher: make([]byte, 64)}},
	}
	if mutate != nil {
		mutate(&rep, &enc)
	}
	plain, err := enc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := userKey.Encrypt(nil, plain, usageASRepEncPart, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rep.EncPart = wire.EncryptedData{EType: 18, Cipher: ct}
	b, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func krbError(code int32) []byte {
	k := wire.KRBError{STime: time.Now().Truncate(time.Second), Code: code, Realm: fakeRealm, SName: tgsName(fakeRealm)}
	b, _ := k.Marshal()
	return b
}

// fakeKDC serves UDP and TCP on one loopback port; handle returns the reply (nil: none).
// tcpRaw, when set, writes its bytes instead of a framed reply.
type fakeKDC struct {
	addr          string
	udpN, tcpN    atomic.Int32
	handle        func(req []byte, tcp bool) []byte
	tcpRaw        func(req []byte) []byte
	replyFromElse bool // UDP replies come from another socket
}

func startFake(t *testing.T, f *fakeKDC) *fakeKDC {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = tl.Addr().String()
	ul, err := net.ListenPacket("udp", f.addr)
	if err != nil {
		tl.Close()
		t.Fatal(err)
	}
	other, _ := net.ListenPacket("udp", "127.0.0.1:0")
	t.Cleanup(func() { tl.Close(); ul.Close(); other.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			f.udpN.Add(1)
			if reply := f.handle(append([]byte(nil), buf[:n]...), false); reply != nil {
				if f.replyFromElse {
					other.WriteTo(reply, from)
				} else {
					ul.WriteTo(reply, from)
				}
			}
		}
	}()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			f.tcpN.Add(1)
			go func() {
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				if f.tcpRaw != nil {
					c.Write(f.tcpRaw(req))
					return
				}
				if reply := f.handle(req, true); reply != nil {
					binary.BigEndian.PutUint32(hdr[:], uint32(len(reply)))
					c.Write(append(hdr[:], reply...))
				}
			}()
		}
	}()
	return f
}

func fakeConf(t *testing.T, lib string, kdcs ...string) *krbconf.Config {
	t.Helper()
	s := "[libdefaults]\n default_realm = " + fakeRealm + "\n" + lib + "\n[realms]\n " + fakeRealm + " = {\n"
	for _, k := range kdcs {
		s += "  kdc = " + k + "\n"
	}
	s += " }\n"
	c, err := krbconf.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fakeClient(t *testing.T, conf *krbconf.Config, opts Options) *Client {
	t.Helper()
	opts.Config = conf
	if opts.AttemptTimeout == 0 {
		// Generous: a loaded CI machine must not turn a slow good answer into a failover.
		// Tests that wait on a silent KDC on purpose set a short one.
		opts.AttemptTimeout = 10 * time.Second
	}
	c, err := NewWithPassword(&opts, Principal{Name: wire.PrincipalName{Type: 1, Components: []string{"u"}}, Realm: fakeRealm}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostileReplies: each fault either fails the login with the right status, or is
// treated as no answer so that the next KDC is asked.
func TestHostileReplies(t *testing.T) {
	good := func(t *testing.T) *fakeKDC {
		return startFake(t, &fakeKDC{handle: func(req []byte, _ bool) []byte { return asReply(t, req, nil) }})
	}
	for _, tc := range []struct {
		name   string
		fault  *fakeKDC
		status sspi.Status // zero: the login must succeed through the second KDC
	}{
		{"wrong nonce", &fakeKDC{handle: func(req []byte, _ bool) []byte {
			return asReply(t, req, func(_ *wire.KDCRep, e *wire.EncKDCRepPart) { e.Nonce++ })
		}}, sspi.ErrIllegalMessage},
		{"other client", &fakeKDC{handle: func(req []byte, _ bool) []byte {
			return asReply(t, req, func(r *wire.KDCRep, _ *wire.EncKDCRepPart) { r.CName.Components = []string{"mallory"} })
		}}, sspi.ErrIllegalMessage},
		{"not a TGT", &fakeKDC{handle: func(req []byte, _ bool) []byte {
			return asReply(t, req, func(r *wire.KDCRep, e *wire.EncKDCRepPart) {
				e.SName = wire.PrincipalName{Type: 2, Components: []string{"host", "x"}}
				r.Ticket.SName = e.SName
			})
		}}, sspi.ErrIllegalMessage},
		{"expired", &fakeKDC{handle: func(req []byte, _ bool) []byte {
			return asReply(t, req, func(_ *wire.KDCRep, e *wire.EncKDCRepPart) { e.EndTime = e.AuthTime.Add(-time.Minute) })
		}}, sspi.ErrIllegalMessage},
		{"clock skew", &fakeKDC{handle: func(req []byte, _ bool) []byte {
			return asReply(t, req, func(_ *wire.KDCRep, e *wire.EncKDCRepPart) {
				e.AuthTime = e.AuthTime.Add(-time.Hour)
			})
		}}, sspi.ErrTimeSkew},
		{"truncated", &fakeKDC{handle: func(req []byte, _ bool) []byte { b := asReply(t, req, nil); return b[:len(b)/2] }}, 0},
		{"garbage", &fakeKDC{handle: func([]byte, bool) []byte { return []byte("HTTP/1.0 400 nonsense") }}, 0},
		{"silent", &fakeKDC{handle: func([]byte, bool) []byte { return nil }}, 0},
		{"reply from another address", &fakeKDC{replyFromElse: true, handle: func(req []byte, tcp bool) []byte {
			if tcp {
				return nil
			}
			return asReply(t, req, nil)
		}}, 0},
		{"oversized TCP length", &fakeKDC{handle: func([]byte, bool) []byte { return nil }, tcpRaw: func([]byte) []byte {
			return []byte{0x7f, 0xff, 0xff, 0xff, 0x6b}
		}}, 0},
		{"reserved TCP length bit", &fakeKDC{handle: func([]byte, bool) []byte { return nil }, tcpRaw: func([]byte) []byte {
			return []byte{0x80, 0, 0, 10}
		}}, 0},
		{"service unavailable", &fakeKDC{handle: func([]byte, bool) []byte { return krbError(29) }}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := startFake(t, tc.fault)
			second := good(t)
			// The first KDC is faulty on purpose; one second is long enough for a loaded
			// machine's good answers and short enough for the silent ones to fail over.
			c := fakeClient(t, fakeConf(t, "", bad.addr, second.addr), Options{AttemptTimeout: time.Second})
			_, err := c.Login(context.Background())
			if tc.status != 0 {
				if !errors.Is(err, tc.status) {
					t.Fatalf("err = %v, want %v", err, tc.status)
				}
				if second.udpN.Load()+second.tcpN.Load() != 0 {
					t.Error("a checked but wrong reply must not be retried elsewhere")
				}
				return
			}
			if err != nil {
				t.Fatalf("the second KDC should have answered: %v", err)
			}
			if second.udpN.Load()+second.tcpN.Load() == 0 {
				t.Error("the second KDC was not asked")
			}
		})
	}
}

// TestResponseTooBig: KRB_ERR_RESPONSE_TOO_BIG over UDP retries the same KDC over TCP.
func TestResponseTooBig(t *testing.T) {
	f := startFake(t, &fakeKDC{handle: func(req []byte, tcp bool) []byte {
		if !tcp {
			return krbError(wire.KRBErrResponseTooBig)
		}
		return asReply(t, req, nil)
	}})
	c := fakeClient(t, fakeConf(t, "", f.addr), Options{})
	if _, err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.udpN.Load() != 1 || f.tcpN.Load() != 1 {
		t.Errorf("udp %d tcp %d, want 1 and 1", f.udpN.Load(), f.tcpN.Load())
	}
}

// TestCancel: cancelling the context ends a wait on a silent KDC at once.
func TestCancel(t *testing.T) {
	f := startFake(t, &fakeKDC{handle: func([]byte, bool) []byte { return nil }})
	c := fakeClient(t, fakeConf(t, "", f.addr), Options{AttemptTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Login(ctx)
	if !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cause should be context.Canceled: %v", err)
	}
}

type countingResolver struct {
	n    atomic.Int32
	srvs map[string][]*net.SRV
}

func (r *countingResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	r.n.Add(1)
	if s, ok := r.srvs[proto]; ok {
		return "", s, nil
	}
	return "", nil, errors.New("no such record")
}

// TestDNSLookupKDC: SRV records are asked only when krb5.conf lists no KDC and
// dns_lookup_kdc allows; the records found are used (here: TCP only).
func TestDNSLookupKDC(t *testing.T) {
	f := startFake(t, &fakeKDC{handle: func(req []byte, _ bool) []byte { return asReply(t, req, nil) }})
	host, port, _ := net.SplitHostPort(f.addr)
	p, _ := strconv.Atoi(port)
	r := &countingResolver{srvs: map[string][]*net.SRV{"tcp": {{Target: host + ".", Port: uint16(p)}}}}

	c := fakeClient(t, fakeConf(t, " dns_lookup_kdc = true"), Options{Resolver: r})
	if _, err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.n.Load() != 2 || f.tcpN.Load() != 1 || f.udpN.Load() != 0 {
		t.Errorf("lookups %d, tcp %d, udp %d; want 2, 1, 0", r.n.Load(), f.tcpN.Load(), f.udpN.Load())
	}

	r.n.Store(0)
	c = fakeClient(t, fakeConf(t, " dns_lookup_kdc = false"), Options{Resolver: r})
	if _, err := c.Login(context.Background()); !errors.Is(err, sspi.ErrNoAuthenticatingAuthority) || r.n.Load() != 0 {
		t.Errorf("dns_lookup_kdc off: %v, %d lookups", err, r.n.Load())
	}
	r.n.Store(0)
	c = fakeClient(t, fakeConf(t, " dns_lookup_kdc = true", f.addr), Options{Resolver: r})
	if _, err := c.Login(context.Background()); err != nil || r.n.Load() != 0 {
		t.Errorf("kdc listed: %v, %d lookups", err, r.n.Load())
	}
}

func TestParseKDC(t *testing.T) {
	for in, want := range map[string]kdcAddr{
		"kdc.example.com":        {addr: "kdc.example.com:88", udp: true, tcp: true},
		"kdc.example.com:750":    {addr: "kdc.example.com:750", udp: true, tcp: true},
		"tcp/10.0.0.1":           {addr: "10.0.0.1:88", tcp: true},
		"udp/[2001:db8::1]:8888": {addr: "[2001:db8::1]:8888", udp: true},
		"[::1]":                  {addr: "[::1]:88", udp: true, tcp: true},
		"::1":                    {addr: "[::1]:88", udp: true, tcp: true},
	} {
		if got, ok := parseKDC(in); !ok || got != want {
			t.Errorf("parseKDC(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "host:0", "host:x", "[::1", "[::1]x", "https://kdc/KdcProxy", "kkdcp/x", "a b"} {
		if _, ok := parseKDC(in); ok {
			t.Errorf("parseKDC(%q) accepted", in)
		}
	}
}

func TestParsePrincipal(t *testing.T) {
	for in, want := range map[string]string{
		"alice":            "alice@DEF",
		"host/x.y@R":       "host/x.y@R",
		`a\/b@R`:           `a\/b@R`,
		`erin\@upn.test@R`: `erin\@upn.test@R`,
		"krbtgt/R@R":       "krbtgt/R@R",
	} {
		p, err := ParsePrincipal(in, "DEF")
		if err != nil || p.String() != want {
			t.Errorf("ParsePrincipal(%q) = %s, %v", in, p, err)
		}
	}
	if _, err := ParsePrincipal("a//b", "R"); err == nil {
		t.Error("empty component accepted")
	}
	if p, _ := ParsePrincipal("krbtgt/R@R", ""); p.Name.Type != wire.NameSrvInst {
		t.Errorf("krbtgt type %d", p.Name.Type)
	}
}

// FuzzASReply feeds hostile bytes to the AS reply path: decoding, the KRB-ERROR handling
// and the reply checks. It must never panic, and never accept anything but a reply
// encrypted in the user's key.
func FuzzASReply(f *testing.F) {
	conf, _ := krbconf.Parse([]byte("[libdefaults]\n default_realm = " + fakeRealm + "\n"))
	c, _ := NewWithPassword(&Options{Config: conf}, Principal{Name: wire.PrincipalName{Type: 1, Components: []string{"u"}}, Realm: fakeRealm}, "pw")
	body := wire.KDCReqBody{CName: &wire.PrincipalName{Type: 1, Components: []string{"u"}}, Realm: fakeRealm, SName: ptr(tgsName(fakeRealm)), Till: time.Now().Add(time.Hour).Truncate(time.Second), Nonce: 7, ETypes: []int32{18}}
	req, _ := (&wire.KDCReq{MsgType: wire.MsgASReq, Body: body}).Marshal()
	f.Add(asReply(f, req, nil))
	f.Add(krbError(wire.KDCErrPreauthRequired))
	md, _ := wire.MarshalMethodData([]wire.PAData{{Type: wire.PAEncTimestamp}, {Type: wire.PAETypeInfo2, Value: func() []byte {
		b, _ := wire.MarshalETypeInfo2([]wire.ETypeInfo2Entry{{EType: 18, Salt: "x", HasSalt: true, S2KParams: []byte{0, 0, 0, 1}}})
		return b
	}()}})
	k := wire.KRBError{STime: time.Now().Truncate(time.Second), Code: wire.KDCErrPreauthRequired, Realm: fakeRealm, SName: tgsName(fakeRealm), EData: md}
	kb, _ := k.Marshal()
	f.Add(kb)
	f.Add(krbError(wire.KDCErrWrongRealm))
	f.Fuzz(func(t *testing.T, b []byte) {
		x := &asExchange{c: c, cname: *body.CName, realm: fakeRealm, etypes: []krbcrypto.EType{18}, nonce: 7, till: body.Till}
		if checkReply(b, wire.MsgASRep) != nil {
			return
		}
		if wire.MessageType(b) == wire.MsgASRep {
			cr, err := x.readReply(b)
			if err == nil && cr.Client.String() != "u@"+fakeRealm {
				t.Fatalf("accepted a reply for %s", cr.Client)
			}
			return
		}
		var k wire.KRBError
		if k.Unmarshal(b) == nil {
			if err := x.handleError(&k); err != nil && !strings.Contains(err.Error(), "krbclient: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
		}
	})
}
