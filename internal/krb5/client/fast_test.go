package krbclient

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/testpeers"
)

// fastKDCConf makes the MIT KDC of the FAST tests mark tickets got with the encrypted
// challenge, which it accepts only inside FAST, with the auth indicator "fast", which the
// service fast/svc requires (require_auth): so the KDC itself says whether a logon was
// armored. (MIT 1.20's KDC has no switch that refuses unarmored logons outright, as an
// AD domain that fails unarmored authentication requests does; this is its equivalent
// for one service.)
const fastKDCConf = `[realms]
	GOSSPI.TEST = {
		encrypted_challenge_indicator = fast
	}
`

const fastOnlyService = "fast/svc"

// fastKDC starts the MIT KDC of the FAST tests: bob (preauth required) and carol (no
// preauth), the armor host host/localhost, and fast/svc, which only FAST logons reach.
func fastKDC(t *testing.T) (*testpeers.KDC, string) {
	t.Helper()
	k := testpeers.StartKDC(t, testpeers.KDCOptions{
		Users:    map[string]string{preauthUser: password, noPreauth: password},
		Services: []string{testpeers.KDCService, fastOnlyService},
		KDCConf:  fastKDCConf,
	})
	k.Kadmin(t, "modprinc +requires_preauth "+preauthUser)
	k.Kadmin(t, "setstr "+fastOnlyService+" require_auth fast")
	k.Kadmin(t, "modprinc -maxrenewlife 7d krbtgt/"+k.Realm)
	k.Kadmin(t, "modprinc -maxrenewlife 7d "+preauthUser)
	return k, k.KeytabFor(t, testpeers.KDCService)
}

// armorTGT is the TGT of host/localhost got with its keytab by our own client: the
// armor of the FAST tests, as a host's TGT armors its users' logons.
func armorTGT(t *testing.T, k *testpeers.KDC, ktPath string) *Credential {
	t.Helper()
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithKeytab(&Options{Config: confFor(t, k, "")}, host(t, k.Realm), kt)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := c.Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

func fastClient(t *testing.T, k *testpeers.KDC, armor *Credential, user, pw string, kdcs ...string) *Client {
	t.Helper()
	p, err := ParsePrincipal(user, k.Realm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithPassword(&Options{Config: confFor(t, k, "", kdcs...), Armor: armor}, p, pw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMITFAST runs armored AS exchanges (RFC 6113) against MIT 1.20's KDC.
func TestMITFAST(t *testing.T) {
	x := &fastEnv{}
	var hostKT string
	x.k, hostKT = fastKDC(t)
	x.armor = armorTGT(t, x.k, hostKT)
	x.fastSvc = Principal{Name: wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"fast", "svc"}}, Realm: x.k.Realm}
	t.Run("armored logon", x.armoredLogon)
	t.Run("unarmored logon", x.unarmoredLogon)
	t.Run("wrong password", x.wrongPassword)
	t.Run("armor of another realm", x.otherRealm)
	t.Run("armor the KDC cannot read", x.badArmor)
	// An attacker between client and KDC strips FAST from the KDC's answers: the client
	// must stop rather than accept or act on an unarmored answer.
	for _, mode := range []string{"reply", "error", "tgs"} {
		t.Run("stripped FAST "+mode, func(t *testing.T) { x.stripped(t, mode) })
	}
	t.Run("forged TGS error", x.forgedTGSError)
	t.Run("renewed TGT", x.renewedTGT)
	t.Run("MIT kinit -T", func(t *testing.T) { x.mitKinit(t, hostKT) })
}

// fastEnv is what TestMITFAST's subtests share.
type fastEnv struct {
	k       *testpeers.KDC
	armor   *Credential
	fastSvc Principal
}

func (x *fastEnv) armoredLogon(t *testing.T) {
	k, ctx := x.k, context.Background()
	for _, user := range []string{preauthUser, noPreauth} {
		c := fastClient(t, k, x.armor, user, password)
		tgt, err := c.Login(ctx)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if user == preauthUser && tgt.Flags&wire.FlagPreAuthent == 0 {
			t.Errorf("%s: the TGT lacks the pre-authent flag", user)
		}
		// The KDC issues tickets for fast/svc only to TGTs whose logon used the
		// encrypted challenge, which it accepts only inside FAST.
		_, err = c.ServiceTicket(ctx, x.fastSvc, nil)
		if user == preauthUser && err != nil {
			t.Errorf("%s: the KDC refuses the FAST-only service to the armored logon's TGT: %v", user, err)
		}
		if user == noPreauth && err == nil {
			t.Errorf("%s: a logon without preauthentication reached the FAST-only service", user)
		}
		// The KDC's error to an armored TGS request comes inside FAST; the client
		// reports the inner error as it would an unarmored one.
		_, err = c.ServiceTicket(ctx, Principal{Name: wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"nosuch", "svc"}}, Realm: k.Realm}, nil)
		if sspi.StatusOf(err) != sspi.ErrTargetUnknown || !strings.Contains(err.Error(), "KDC_ERR_S_PRINCIPAL_UNKNOWN") || strings.Contains(err.Error(), "not FAST-protected") {
			t.Errorf("%s: armored request for an unknown service: %v, want SEC_E_TARGET_UNKNOWN", user, err)
		}
	}
}

// renewedTGT: a TGT renewed (RFC 4120 3.3.1) is the same logon's, so the TGS requests
// made with it stay armored.
func (x *fastEnv) renewedTGT(t *testing.T) {
	ctx := context.Background()
	p, err := ParsePrincipal(preauthUser, x.k.Realm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithPassword(&Options{Config: confFor(t, x.k, " renew_lifetime = 2d"), Armor: x.armor}, p, password)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := c.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Flags&wire.FlagRenewable == 0 {
		t.Fatalf("TGT flags %#x lack renewable", tgt.Flags)
	}
	r, err := c.Renew(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if !tgt.armored || !r.armored {
		t.Fatalf("armored: logon TGT %v, renewed TGT %v; want both", tgt.armored, r.armored)
	}
	if _, err := c.ServiceTicket(ctx, x.fastSvc, &TicketOptions{NoCache: true}); err != nil {
		t.Fatalf("the renewed TGT's request for the FAST-only service: %v", err)
	}
}

func (x *fastEnv) unarmoredLogon(t *testing.T) {
	ctx := context.Background()
	c := fastClient(t, x.k, nil, preauthUser, password)
	if _, err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	// armoredLogon's check means something only if an unarmored TGT is refused.
	if _, err := c.ServiceTicket(ctx, x.fastSvc, nil); err == nil {
		t.Fatal("the KDC issues fast/svc tickets to an unarmored logon: the indicator proves nothing")
	}
}

func (x *fastEnv) wrongPassword(t *testing.T) {
	c := fastClient(t, x.k, x.armor, preauthUser, "not-"+password)
	_, err := c.Login(context.Background())
	if sspi.StatusOf(err) != sspi.ErrLogonDenied {
		t.Fatalf("armored logon with a wrong password: %v, want SEC_E_LOGON_DENIED", err)
	}
	// MIT's KDC says which preauthentication failed: the encrypted challenge, which it
	// reads only inside FAST.
	if !strings.Contains(x.k.Log(), "preauth (encrypted_challenge) verify failure") {
		t.Errorf("the KDC's log has no failed encrypted challenge:\n%s", tail(x.k.Log()))
	}
}

func (x *fastEnv) otherRealm(t *testing.T) {
	other := *x.armor
	other.Server.Name = tgsName("OTHER.TEST")
	other.Server.Realm = "OTHER.TEST"
	c := fastClient(t, x.k, &other, preauthUser, password)
	if _, err := c.Login(context.Background()); sspi.StatusOf(err) != sspi.ErrNoCredentials {
		t.Fatalf("armor TGT of another realm: %v, want SEC_E_NO_CREDENTIALS", err)
	}
}

// badArmor armors with a session key that is not the ticket's: the KDC cannot read the
// armor, so it cannot answer inside FAST either; its error is reported, not acted upon.
func (x *fastEnv) badArmor(t *testing.T) {
	bad := *x.armor
	var err error
	if bad.Key, err = krbcrypto.NewKey(x.armor.Key.EType(), make([]byte, x.armor.Key.EType().KeySize())); err != nil {
		t.Fatal(err)
	}
	c := fastClient(t, x.k, &bad, preauthUser, password)
	_, err = c.Login(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not FAST-protected") || !strings.Contains(err.Error(), "armor") {
		t.Fatalf("armor the KDC cannot decrypt: %v, want the KDC's unprotected error naming the armor", err)
	}
	t.Log(err)
}

func (x *fastEnv) stripped(t *testing.T, mode string) {
	ctx := context.Background()
	p := startStripProxy(t, x.k, mode)
	c := fastClient(t, x.k, x.armor, preauthUser, password, "tcp/"+p.addr)
	_, err := c.Login(ctx)
	if mode == "tgs" {
		if err != nil {
			t.Fatal(err)
		}
		// The TGT of an armored logon armors its TGS requests (RFC 6113 5.4.1.1).
		_, err = c.ServiceTicket(ctx, host(t, x.k.Realm), nil)
	}
	if p.stripped() == 0 {
		t.Fatalf("the proxy stripped nothing (%v)", err)
	}
	switch mode {
	case "reply":
		if sspi.StatusOf(err) != sspi.ErrIllegalMessage || !strings.Contains(err.Error(), "without FAST") {
			t.Fatalf("AS-REP stripped of FAST: %v, want SEC_E_ILLEGAL_MESSAGE naming the missing FAST", err)
		}
	case "tgs":
		// Read as an unarmored reply (as MIT does, for KDCs that do not armor TGS
		// replies), it is refused all the same: the KDC encrypted it in the
		// strengthened subkey.
		if sspi.StatusOf(err) != sspi.ErrIllegalMessage || !strings.Contains(err.Error(), "does not decrypt") {
			t.Fatalf("TGS-REP stripped of FAST: %v, want SEC_E_ILLEGAL_MESSAGE", err)
		}
	case "error":
		// The KDC's code is reported, but the downgraded error's ENC-TIMESTAMP offer is
		// not taken up: no second request.
		if err == nil || !strings.Contains(err.Error(), "not FAST-protected") || p.requests() != 1 {
			t.Fatalf("PREAUTH_REQUIRED stripped of FAST: %v after %d requests, want a failure naming the unprotected error after one request", err, p.requests())
		}
	}
}

// forgedTGSError answers the first armored TGS request of a host-based name without a
// realm with an unarmored KDC_ERR_S_PRINCIPAL_UNKNOWN. Acting on it would send the client
// to MIT's fallback realm (one the attacker may choose through DNS TXT with
// dns_lookup_realm): the client must stop instead, as it does on an unarmored AS error.
func (x *fastEnv) forgedTGSError(t *testing.T) {
	ctx := context.Background()
	p := startStripProxy(t, x.k, "tgs-error")
	c := fastClient(t, x.k, x.armor, preauthUser, password, "tcp/"+p.addr)
	if _, err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	before := p.requests()
	svc := host(t, "")
	_, err := c.ServiceTicket(ctx, svc, nil)
	if p.stripped() != 1 {
		t.Fatalf("the proxy forged %d errors (%v)", p.stripped(), err)
	}
	if err == nil || !strings.Contains(err.Error(), "not FAST-protected") || p.requests() != before+1 {
		t.Fatalf("armored TGS request answered by a forged unarmored error: %v after %d requests, want a failure naming the unprotected error after one request (no fallback realm)", err, p.requests()-before)
	}
}

// mitKinit checks the set-up with MIT's own client: kinit -T armored with a kinit -k
// cache logs on and reaches the FAST-only service; our client armors with that cache.
func (x *fastEnv) mitKinit(t *testing.T, hostKT string) {
	k := x.k
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	kvno := testpeers.Require(t, "krb5-user", "kvno")
	run := func(stdin, prog string, args ...string) {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env = k.Env()
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(prog), args, err, out)
		}
	}
	armorCC := filepath.Join(t.TempDir(), "armor.ccache")
	run("", kinit, "-k", "-t", hostKT, "-c", "FILE:"+armorCC, k.Principal(testpeers.KDCService))
	userCC := filepath.Join(t.TempDir(), "user.ccache")
	run(password+"\n", kinit, "-T", "FILE:"+armorCC, "-c", "FILE:"+userCC, k.Principal(preauthUser))
	run("", kvno, "-c", "FILE:"+userCC, k.Principal(fastOnlyService))
	mitArmor, err := ArmorTGT(&Options{Config: confFor(t, k, "")}, armorCC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fastClient(t, k, mitArmor, preauthUser, password).Login(context.Background()); err != nil {
		t.Fatalf("armored with kinit -k's cache: %v", err)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// stripProxy is a Kerberos-over-TCP relay to the KDC that removes FAST from its answers:
// mode "reply" drops PA-FX-FAST from AS-REPs, "tgs" from TGS-REPs, and "error" replaces
// the FAST error of KDC_ERR_PREAUTH_REQUIRED with a plain one offering PA-ENC-TIMESTAMP
// (a downgrade).
type stripProxy struct {
	addr string
	mu   sync.Mutex
	n    int // replies rewritten
	reqs int // requests relayed
}

func (p *stripProxy) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reqs
}

func (p *stripProxy) stripped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func startStripProxy(t *testing.T, k *testpeers.KDC, mode string) *stripProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &stripProxy{addr: l.Addr().String()}
	kdc := "127.0.0.1:" + strconv.Itoa(k.Port)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go p.relay(conn, kdc, mode)
		}
	}()
	return p
}

func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	l := binary.BigEndian.Uint32(n[:])
	if l > 1<<20 {
		return nil, errors.New("frame too long")
	}
	b := make([]byte, l)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFrame(w io.Writer, b []byte) error {
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	if err == nil {
		_, err = w.Write(b)
	}
	return err
}

func (p *stripProxy) relay(conn net.Conn, kdc, mode string) {
	defer conn.Close()
	req, err := readFrame(conn)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.reqs++
	p.mu.Unlock()
	up, err := net.Dial("tcp", kdc)
	if err != nil {
		return
	}
	defer up.Close()
	if writeFrame(up, req) != nil {
		return
	}
	reply, err := readFrame(up)
	if err != nil {
		return
	}
	if out := p.strip(reply, mode); out != nil {
		reply = out
	}
	writeFrame(conn, reply)
}

func (p *stripProxy) strip(reply []byte, mode string) []byte {
	switch {
	case mode == "reply" && wire.MessageType(reply) == wire.MsgASRep, mode == "tgs" && wire.MessageType(reply) == wire.MsgTGSRep:
		var rep wire.KDCRep
		if rep.Unmarshal(reply) != nil {
			return nil
		}
		var kept []wire.PAData
		for _, pa := range rep.PAData {
			if pa.Type != wire.PAFXFast {
				kept = append(kept, pa)
			}
		}
		rep.PAData = kept
		out, err := rep.Marshal()
		if err != nil {
			return nil
		}
		p.count()
		return out
	case mode == "tgs-error" && wire.MessageType(reply) == wire.MsgTGSRep && p.stripped() == 0:
		// An attacker answers the armored TGS request with an error of its own making.
		k := wire.KRBError{STime: time.Now().UTC().Truncate(time.Second), Code: wire.KDCErrSPrincipalUnknown,
			Realm: "GOSSPI.TEST", SName: wire.PrincipalName{Type: wire.NameSrvHost, Components: []string{"host", "localhost"}}}
		out, err := k.Marshal()
		if err != nil {
			return nil
		}
		p.count()
		return out
	case mode == "error" && wire.MessageType(reply) == wire.MsgKRBError:
		var k wire.KRBError
		if k.Unmarshal(reply) != nil || k.Code != wire.KDCErrPreauthRequired {
			return nil
		}
		info, _ := wire.MarshalETypeInfo2([]wire.ETypeInfo2Entry{{EType: 18, Salt: "GOSSPI.TEST" + preauthUser, HasSalt: true}})
		k.EData, _ = wire.MarshalMethodData([]wire.PAData{{Type: wire.PAEncTimestamp, Value: []byte{}}, {Type: wire.PAETypeInfo2, Value: info}})
		out, err := k.Marshal()
		if err != nil {
			return nil
		}
		p.count()
		return out
	}
	return nil
}

func (p *stripProxy) count() {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
}
