package kdctest_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	krbclient "github.com/gosspi/sspi/internal/krb5/client"
	krbconf "github.com/gosspi/sspi/internal/krb5/config"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/kerberos/kdctest"
)

// client returns our Kerberos engine's client for name with password, against the KDC of
// conf (plus extra libdefaults lines), with clock now (nil: time.Now).
func client(t *testing.T, conf, name, pw, extra string, now func() time.Time) *krbclient.Client {
	t.Helper()
	cfgText := readFile(t, conf)
	if extra != "" {
		cfgText = strings.Replace(cfgText, "[libdefaults]\n", "[libdefaults]\n"+extra, 1)
	}
	cfg, err := krbconf.Parse([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	p, err := krbclient.ParsePrincipal(name, cfg.LibDefaults.DefaultRealm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := krbclient.NewWithPassword(&krbclient.Options{Config: cfg, Time: now}, p, pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Destroy)
	return c
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kdcCode returns the KRB-ERROR code inside err, 0 if none.
func kdcCode(err error) int32 {
	var ke *krbclient.KDCError
	if errors.As(err, &ke) {
		return ke.Code
	}
	return 0
}

// TestErrorCodes: the KRB-ERROR codes of the issue, as our client receives them.
func TestErrorCodes(t *testing.T) {
	var offset atomic.Int64
	_, conf, _ := startKDC(t, &kdctest.Options{Time: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	ctx := context.Background()
	for _, tc := range []struct {
		name, user, pw, service string
		skew                    time.Duration
		want                    int32
	}{
		{"unknown client", "mallory", password, "", 0, wire.KDCErrCPrincipalUnknown},
		{"wrong password", user, "wrong", "", 0, wire.KDCErrPreauthFailed},
		{"skew", user, password, "", 10 * time.Minute, wire.KRBAPErrSkew},
		{"skew within bounds", user, password, "", 4 * time.Minute, 0},
		{"unknown server", user, password, "HTTP/nowhere.test", 0, wire.KDCErrSPrincipalUnknown},
		{"unknown cross-realm server", user, password, "krbtgt/OTHER.TEST", 0, wire.KDCErrSPrincipalUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offset.Store(int64(tc.skew))
			defer offset.Store(0)
			c := client(t, conf, tc.user, tc.pw, "", nil)
			_, err := c.Login(ctx)
			if err == nil && tc.service != "" {
				p, _ := krbclient.ParsePrincipal(tc.service, realm)
				_, err = c.ServiceTicket(ctx, p, nil)
			}
			if got := kdcCode(err); got != tc.want {
				t.Errorf("KRB-ERROR %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}

// TestPreauthRequired: an AS-REQ without PA-ENC-TIMESTAMP gets KDC_ERR_PREAUTH_REQUIRED
// whose METHOD-DATA names PA-ENC-TIMESTAMP and, in ETYPE-INFO2, each requested type the
// user has a key of, in the client's order, with the salt realm+name.
func TestPreauthRequired(t *testing.T) {
	k, _, _ := startKDC(t, nil)
	req := wire.KDCReq{MsgType: wire.MsgASReq, Body: wire.KDCReqBody{
		CName: &wire.PrincipalName{Type: 1, Components: []string{user}}, Realm: realm,
		SName: &wire.PrincipalName{Type: 2, Components: []string{"krbtgt", realm}},
		Till:  time.Now().Add(time.Hour).Truncate(time.Second), Nonce: 7, ETypes: []int32{23, 17, 20, 99},
	}}
	ke := krbError(t, exchangeUDP(t, k.Addr(), marshal(t, &req)))
	if ke.Code != wire.KDCErrPreauthRequired {
		t.Fatalf("code %d", ke.Code)
	}
	md, err := wire.ParseMethodData(ke.EData)
	if err != nil {
		t.Fatal(err)
	}
	var info []wire.ETypeInfo2Entry
	encTS := false
	for _, pa := range md {
		switch pa.Type {
		case wire.PAEncTimestamp:
			encTS = true
		case wire.PAETypeInfo2:
			if info, err = wire.ParseETypeInfo2(pa.Value); err != nil {
				t.Fatal(err)
			}
		}
	}
	// RC4 (23) and 99 are not keys of a default KDC.
	if !encTS || len(info) != 2 || info[0].EType != 17 || info[1].EType != 20 || info[0].Salt != realm+user || !info[0].HasSalt {
		t.Errorf("PA-ENC-TIMESTAMP %v, ETYPE-INFO2 %+v", encTS, info)
	}
}

// TestLifetimesRenewForward: ticket lifetimes are bounded by the KDC's maximum and the
// TGT's end; a renewable TGT is renewed with the same renew-till and a new end; a
// forwardable TGT is forwarded (FORWARDED set), and service tickets got with a forwarded
// TGT say FORWARDED too; NoForwardable refuses all of it.
func TestLifetimesRenewForward(t *testing.T) {
	var now atomic.Int64
	base := time.Now().Truncate(time.Second)
	now.Store(base.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	_, conf, _ := startKDC(t, &kdctest.Options{MaxTicketLife: time.Hour, MaxRenewableLife: 5 * time.Hour, Time: clock})
	ctx := context.Background()
	c := client(t, conf, user, password, "\tforwardable = true\n\trenew_lifetime = 10d\n", clock)
	tgt, err := c.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !tgt.EndTime.Equal(base.Add(time.Hour)) || !tgt.RenewTill.Equal(base.Add(5*time.Hour)) {
		t.Errorf("TGT ends %v, renewable till %v; want +1h and +5h", tgt.EndTime.Sub(base), tgt.RenewTill.Sub(base))
	}
	if tgt.Flags != wire.FlagForwardable|wire.FlagRenewable|wire.FlagInitial|wire.FlagPreAuthent {
		t.Errorf("TGT flags %#x", tgt.Flags)
	}

	now.Store(base.Add(50 * time.Minute).UnixNano())
	renewed, err := c.Renew(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.EndTime.Equal(base.Add(110*time.Minute)) || !renewed.RenewTill.Equal(tgt.RenewTill) || !renewed.AuthTime.Equal(tgt.AuthTime) || !renewed.Key.Equal(tgt.Key) {
		t.Errorf("renewed: end %v, renew-till %v, authtime %v", renewed.EndTime.Sub(base), renewed.RenewTill.Sub(base), renewed.AuthTime.Sub(base))
	}

	fwd, err := c.ForwardedTGT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fwd.Flags&wire.FlagForwarded == 0 || fwd.Flags&wire.FlagForwardable == 0 || fwd.Flags&wire.FlagInitial != 0 {
		t.Errorf("forwarded TGT flags %#x", fwd.Flags)
	}
	if !fwd.EndTime.After(clock()) || fwd.EndTime.After(renewed.EndTime) {
		t.Errorf("forwarded TGT ends %v, after its TGT", fwd.EndTime.Sub(base))
	}

	// The TGT has expired past its end (and renewal is refused), though not past renew-till.
	now.Store(base.Add(2 * time.Hour).UnixNano())
	if _, err := c.Renew(ctx, renewed); kdcCode(err) != 32 {
		t.Errorf("renewing an expired TGT: %v, want KRB_AP_ERR_TKT_EXPIRED", err)
	}

	t.Run("NoForwardable", func(t *testing.T) {
		_, conf, _ := startKDC(t, &kdctest.Options{NoForwardable: true})
		c := client(t, conf, user, password, "\tforwardable = true\n", nil)
		tgt, err := c.Login(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tgt.Flags&wire.FlagForwardable != 0 {
			t.Errorf("TGT flags %#x", tgt.Flags)
		}
		if _, err := c.ForwardedTGT(ctx); err == nil {
			t.Error("a TGT that is not forwardable was forwarded")
		}
	})
}

// TestCanonicalize: with canonicalize, a realm named in lower case is accepted and the
// reply names the realm as the KDC spells it; without it the KDC refuses the realm.
func TestCanonicalize(t *testing.T) {
	k, _, _ := startKDC(t, nil)
	lower := strings.ToLower(realm)
	conf := "[libdefaults]\n\tdefault_realm = " + lower + "\n\tdns_lookup_kdc = false\n[realms]\n\t" + lower + " = {\n\t\tkdc = " + k.Addr() + "\n\t}\n"
	ctx := context.Background()
	for _, canon := range []bool{true, false} {
		cfg, err := krbconf.Parse([]byte(strings.Replace(conf, "[libdefaults]\n", "[libdefaults]\n\tcanonicalize = "+map[bool]string{true: "true", false: "false"}[canon]+"\n", 1)))
		if err != nil {
			t.Fatal(err)
		}
		c, err := krbclient.NewWithPassword(&krbclient.Options{Config: cfg}, krbclient.Principal{Name: wire.PrincipalName{Type: 1, Components: []string{user}}, Realm: lower}, password)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Destroy()
		tgt, err := c.Login(ctx)
		switch {
		case canon && err != nil:
			t.Fatalf("canonicalize: %v", err)
		case canon && (tgt.Client.Realm != realm || tgt.Server.Name.Components[1] != realm):
			t.Errorf("canonicalize: client %v, server %v", tgt.Client, tgt.Server)
		case !canon && kdcCode(err) != wire.KDCErrWrongRealm:
			t.Errorf("without canonicalize: %v, want KDC_ERR_WRONG_REALM", err)
		}
	}
}

// TestUDPTooBig: replies longer than MaxUDPReply come back as KRB_ERR_RESPONSE_TOO_BIG
// and our client asks again over TCP (each of its requests: the preauthentication error is
// too big as well); a default KDC answers the same client over UDP only.
func TestUDPTooBig(t *testing.T) {
	for _, max := range []int{0, 200} {
		k, conf, _ := startKDC(t, &kdctest.Options{MaxUDPReply: max})
		c := client(t, conf, user, password, "", nil)
		if _, err := c.Login(context.Background()); err != nil {
			t.Fatal(err)
		}
		n := k.Counts()
		if max == 0 && (n.TCP != 0 || n.TooBig != 0) || max != 0 && (n.TooBig == 0 || n.TCP != n.TooBig || n.UDP != n.TCP) {
			t.Errorf("MaxUDPReply %d: counts %+v", max, n)
		}
	}
}

// TestTCPFraming: a length with the reserved high bit, or beyond MaxRequestSize, gets
// KRB_ERR_FIELD_TOOLONG and the connection is closed; requests that do not decode get a
// KRB-ERROR; the KDC still serves afterwards.
func TestTCPFraming(t *testing.T) {
	k, conf, _ := startKDC(t, nil)
	for _, tc := range []struct {
		name string
		msg  []byte
		code int32
	}{
		{"high bit", binary.BigEndian.AppendUint32(nil, 0x80000000|4), 54},
		{"too long", binary.BigEndian.AppendUint32(nil, kdctest.MaxRequestSize+1), 54},
		{"garbage", append(binary.BigEndian.AppendUint32(nil, 3), 1, 2, 3), 40},
		{"bad AS-REQ", append(binary.BigEndian.AppendUint32(nil, 4), 0x6a, 2, 0x30, 0), wire.KRBErrGeneric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", k.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			conn.Write(tc.msg)
			var hdr [4]byte
			if _, err := io.ReadFull(conn, hdr[:]); err != nil {
				t.Fatal(err)
			}
			reply := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(conn, reply); err != nil {
				t.Fatal(err)
			}
			if ke := krbError(t, reply); ke.Code != tc.code {
				t.Errorf("code %d, want %d", ke.Code, tc.code)
			}
		})
	}
	if _, err := client(t, conf, user, password, "", nil).Login(context.Background()); err != nil {
		t.Errorf("after hostile requests: %v", err)
	}
}

// TestTGSRequestAltered (an attacker in the middle of a TGS exchange): the body of a
// TGS-REQ changed after the client made its authenticator (another service asked for)
// is refused with KRB_AP_ERR_MODIFIED; a TGT the KDC did not encrypt, with
// KRB_AP_ERR_BAD_INTEGRITY. The unaltered request is answered.
func TestTGSRequestAltered(t *testing.T) {
	k, conf, _ := startKDC(t, nil)
	if _, err := k.AddService("HTTP/localhost"); err != nil {
		t.Fatal(err)
	}
	tgt, err := client(t, conf, user, password, "", nil).Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(body *wire.KDCReqBody, tkt *wire.Ticket)
		code int32
	}{
		{"unaltered", nil, 0},
		{"another service", func(b *wire.KDCReqBody, _ *wire.Ticket) { b.SName.Components[0] = "HTTP" }, 41},
		{"options added", func(b *wire.KDCReqBody, _ *wire.Ticket) { b.Options |= wire.KDCOptForwardable }, 41},
		{"forged TGT", func(_ *wire.KDCReqBody, tk *wire.Ticket) {
			tk.EncPart.Cipher = append([]byte(nil), tk.EncPart.Cipher...)
			tk.EncPart.Cipher[20] ^= 1
			tk.Raw = nil
		}, 31},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := exchangeUDP(t, k.Addr(), tgsReq(t, tgt, tc.edit))
			if wire.MessageType(reply) == wire.MsgTGSRep {
				if tc.code != 0 {
					t.Fatalf("the altered request was answered")
				}
				return
			}
			if ke := krbError(t, reply); ke.Code != tc.code {
				t.Errorf("code %d (%s), want %d", ke.Code, ke.EText, tc.code)
			}
		})
	}
}

// tgsReq makes a TGS-REQ for host/localhost with tgt as our client does, then lets edit
// change the body (after the authenticator's checksum was made) or the ticket.
func tgsReq(t *testing.T, tgt *krbclient.Credential, edit func(*wire.KDCReqBody, *wire.Ticket)) []byte {
	return tgsReqSum(t, tgt, func(body []byte) *wire.Checksum {
		return &wire.Checksum{Type: tgt.Key.EType().ChecksumType(), Value: tgt.Key.Checksum(nil, body, 6)}
	}, edit)
}

// tgsReqSum is tgsReq with the authenticator's checksum of the body made by sum.
func tgsReqSum(t *testing.T, tgt *krbclient.Credential, sum func(body []byte) *wire.Checksum, edit func(*wire.KDCReqBody, *wire.Ticket)) []byte {
	body := wire.KDCReqBody{
		Realm: realm, SName: &wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"host", "localhost"}},
		Till: tgt.EndTime, Nonce: 42, ETypes: []int32{int32(tgt.Key.EType())},
	}
	bodyDER, err := body.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	auth := wire.Authenticator{
		CRealm: tgt.Client.Realm, CName: tgt.Client.Name, CTime: now.Truncate(time.Second),
		Checksum: sum(bodyDER),
	}
	plain, err := auth.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ct, err := tgt.Key.Encrypt(nil, plain, 7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tkt := tgt.Ticket
	if tkt.Raw != nil {
		if err := tkt.Unmarshal(tkt.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(&body, &tkt)
	}
	ap := wire.APReq{Ticket: tkt, Authenticator: wire.EncryptedData{EType: int32(tgt.Key.EType()), Cipher: ct}}
	apDER, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return marshal(t, &wire.KDCReq{MsgType: wire.MsgTGSReq, PAData: []wire.PAData{{Type: wire.PATGSReq, Value: apDER}}, Body: body})
}

func marshal(t *testing.T, r *wire.KDCReq) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func krbError(t *testing.T, b []byte) *wire.KRBError {
	t.Helper()
	var ke wire.KRBError
	if err := ke.Unmarshal(b); err != nil {
		t.Fatalf("not a KRB-ERROR (%v): %x", err, b)
	}
	return &ke
}

func exchangeUDP(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// TestOKAsDelegate: SetOKAsDelegate marks the service's tickets OK-AS-DELEGATE, and only
// its.
func TestOKAsDelegate(t *testing.T) {
	k, conf, _ := startKDC(t, nil)
	if _, err := k.AddService("HTTP/localhost"); err != nil {
		t.Fatal(err)
	}
	if err := k.SetOKAsDelegate("HTTP/localhost", true); err != nil {
		t.Fatal(err)
	}
	if err := k.SetOKAsDelegate(user, true); err == nil {
		t.Error("SetOKAsDelegate for a user accepted")
	}
	c := client(t, conf, user, password, "", nil)
	for _, tc := range []struct {
		spn  string
		want bool
	}{{"HTTP/localhost", true}, {spn, false}} {
		p, _ := krbclient.ParsePrincipal(tc.spn, realm)
		cr, err := c.ServiceTicket(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := cr.Flags&wire.FlagOKAsDelegate != 0; got != tc.want {
			t.Errorf("%s: flags %#x", tc.spn, cr.Flags)
		}
	}
}

// TestClose: Close ends the connections clients hold open, releases the port and can be
// called again; NewKDC's KDC serves until then.
func TestClose(t *testing.T) {
	k := kdctest.NewKDC(realm)
	idle, err := net.Dial("tcp", k.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the idle connection after Close: %d bytes, %v", n, err)
	}
	if c, err := net.Dial("tcp", k.Addr()); err == nil {
		c.Close()
		t.Error("the KDC still accepts connections after Close")
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTGSRequestRSAMD5: with an RC4 session key the KDC takes the unkeyed RSA-MD5 checksum
// Windows and Heimdal clients send (as MIT's KDC does), and still refuses a body altered
// after it was made; with an AES session key an unkeyed checksum is refused.
func TestTGSRequestRSAMD5(t *testing.T) {
	md5sum := func(body []byte) *wire.Checksum { s := md5.Sum(body); return &wire.Checksum{Type: 7, Value: s[:]} }
	for _, tc := range []struct {
		name    string
		etype   string
		altered bool
		code    int32
	}{
		{"rc4", "rc4-hmac", false, 0},
		{"rc4 altered", "rc4-hmac", true, 41},
		{"aes", "aes256-cts-hmac-sha1-96", false, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, conf, _ := startKDC(t, &kdctest.Options{Enctypes: []string{tc.etype}})
			tgt, err := client(t, conf, user, password, "", nil).Login(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var edit func(*wire.KDCReqBody, *wire.Ticket)
			if tc.altered {
				edit = func(b *wire.KDCReqBody, _ *wire.Ticket) { b.Till = b.Till.Add(-time.Minute) }
			}
			reply := exchangeUDP(t, k.Addr(), tgsReqSum(t, tgt, md5sum, edit))
			if wire.MessageType(reply) == wire.MsgTGSRep {
				if tc.code != 0 {
					t.Fatal("answered")
				}
				return
			}
			if ke := krbError(t, reply); ke.Code != tc.code {
				t.Errorf("code %d (%s), want %d", ke.Code, ke.EText, tc.code)
			}
		})
	}
}
