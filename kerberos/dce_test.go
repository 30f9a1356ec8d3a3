package kerberos

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/gosspi/sspi"
	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/keytab"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

const dceReq = sspi.ISCReqUseDCEStyle | sspi.ISCReqMutualAuth | sspi.ISCReqConfidentiality | sspi.ISCReqIntegrity |
	sspi.ISCReqSequenceDetect | sspi.ISCReqReplayDetect

// TestDCEStyle: our client and server in DCE style: three bare tokens (AP-REQ, AP-REP,
// AP-REP), the server not established before the third, both sides reporting
// USED_DCE_STYLE and mutual authentication, the 0x8003 checksum carrying GSS_C_DCE_STYLE,
// and sealed messages in Windows' layout (EC = 16, RRC = 28: a 76-byte trailer for
// aes-sha1) both ways, with MICs.
func TestDCEStyle(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	// DCE style implies mutual authentication: asked for or not, it happens.
	for _, req := range []sspi.ContextReq{dceReq, sspi.ISCReqUseDCEStyle | sspi.ISCReqConfidentiality} {
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: req})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		defer cli.Close()
		defer srv.Close()
		apReq, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatal(err)
		}
		if srv.Established() || len(apRep) == 0 {
			t.Fatalf("server established %v after the AP-REQ, AP-REP %d bytes", srv.Established(), len(apRep))
		}
		third, err := cli.Step(apRep)
		if err != nil {
			t.Fatal(err)
		}
		if !cli.Established() || len(third) == 0 {
			t.Fatalf("client established %v, third leg %d bytes", cli.Established(), len(third))
		}
		if out, err := srv.Step(third); err != nil || len(out) != 0 || !srv.Established() {
			t.Fatalf("server on the third leg: %d bytes, %v, established %v", len(out), err, srv.Established())
		}
		for i, tok := range [][]byte{apReq, apRep, third} {
			if want := []int{wire.MsgAPReq, wire.MsgAPRep, wire.MsgAPRep}[i]; wire.MessageType(tok) != want {
				t.Errorf("token %d is not a bare message %d: % x", i, want, tok[:4])
			}
		}
		const want = sspi.ISCRetUsedDCEStyle | sspi.ISCRetMutualAuth | sspi.ISCRetConfidentiality | sspi.ISCRetIntegrity
		if cli.Attributes()&want != want || srv.Attributes()&(sspi.ASCRetUsedDCEStyle|sspi.ASCRetMutualAuth) != sspi.ASCRetUsedDCEStyle|sspi.ASCRetMutualAuth {
			t.Errorf("attributes %s / %s", cli.Attributes().Format(false), srv.Attributes().Format(true))
		}
		if id, _ := srv.Identity(); id.Principal != testUser+"@"+testRealm {
			t.Errorf("server identity %+v", id)
		}
		k1, _ := cli.SessionKey()
		k2, _ := srv.SessionKey()
		if len(k1) != 32 || !bytes.Equal(k1, k2) {
			t.Errorf("session keys %x / %x", k1, k2)
		}
		checkWindowsLayout(t, cli.Handle(), srv.Handle())
		dceMessages(t, cli, srv)
	}
}

// checkWindowsLayout seals through EncryptMessage and checks the header of the token
// buffer: sealed, EC = 16, RRC = 28, a 76-byte trailer, as Windows makes it; the peer
// decrypts it in place.
func checkWindowsLayout(t *testing.T, h, peer *sspi.Context) {
	t.Helper()
	var sizes sspi.Sizes
	if err := sspi.QueryContextAttributes(h, sspi.AttrSizes, &sizes); err != nil {
		t.Fatal(err)
	}
	if sizes.SecurityTrailer != 76 {
		t.Errorf("SecurityTrailer %d, want 76 (Windows' DCE layout for aes-sha1)", sizes.SecurityTrailer)
	}
	msg := []sspi.Buffer{{Type: sspi.BufferToken, Data: make([]byte, sizes.SecurityTrailer)}, {Type: sspi.BufferData, Data: []byte("dce rpc stub data")}}
	if err := sspi.EncryptMessage(h, 0, msg, 0); err != nil {
		t.Fatal(err)
	}
	tok := msg[0].Data
	if len(tok) != 76 || tok[0] != 0x05 || tok[1] != 0x04 || tok[2]&0x02 == 0 ||
		binary.BigEndian.Uint16(tok[4:]) != 16 || binary.BigEndian.Uint16(tok[6:]) != 28 {
		t.Errorf("Wrap token buffer % x (%d bytes), want sealed, EC 16, RRC 28", tok[:min(len(tok), 16)], len(tok))
	}
	if _, _, err := sspi.DecryptMessage(peer, msg, 0); err != nil || string(msg[1].Data) != "dce rpc stub data" {
		t.Fatalf("DecryptMessage: %q %v", msg[1].Data, err)
	}
}

// dceMessages seals and signs both ways; a sealed token is the 76-byte trailer and the
// data; an altered one is refused.
func dceMessages(t *testing.T, a, b session) {
	t.Helper()
	msg := []byte("a DCE/RPC request's stub data, longer than a block")
	for i, pair := range [][2]session{{a, b}, {b, a}, {a, b}} {
		w, err := pair[0].Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) != len(msg)+76 || bytes.Contains(w, msg) {
			t.Errorf("%d: sealed %d bytes into %d, or the plaintext shows", i, len(msg), len(w))
		}
		if got, err := pair[1].Unwrap(w); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d: unwrap: %q %v", i, got, err)
		}
		sig, err := pair[0].Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := pair[1].Verify(msg, sig); err != nil {
			t.Fatalf("%d: verify: %v", i, err)
		}
	}
	w, _ := a.Wrap(msg)
	w[len(w)-1] ^= 1
	if _, err := b.Unwrap(w); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("altered sealed message: %v", err)
	}
}

// TestDCEStyleAttacks rewrites DCE-style tokens between our client and server: a bare
// AP-REQ without GSS_C_DCE_STYLE, a framed one with it, the server's own AP-REP reflected
// back as the third leg (it decrypts with the same key and carries the same sequence
// number, so only its subkey gives it away), a third leg that echoes another sequence
// number (made with the ticket's session key, from the keytab; the same leg with the
// right number passes, so the forgery is sound), garbage, and a framed AP-REP to a DCE
// client. Each is refused with the status given.
func TestDCEStyleAttacks(t *testing.T) {
	k := getKDC(t)
	cc := testClientCreds(t, k, testPassword)
	sc := testServerCreds(t, k, ServerConfig{})
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		t.Fatal(err)
	}
	start := func(t *testing.T, req sspi.ContextReq) (*sspi.ClientContext, *sspi.ServerContext, []byte) {
		cli := sspi.NewClientContext(cc, sspi.ClientOptions{Target: testSPN, Req: req})
		srv := sspi.NewServerContext(sc, sspi.ServerOptions{})
		t.Cleanup(func() { cli.Close(); srv.Close() })
		apReq, err := cli.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		return cli, srv, apReq
	}
	expect := func(t *testing.T, err error, want sspi.Status) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("got %v, want %v", err, want)
		}
	}
	t.Run("bare AP-REQ without DCE style", func(t *testing.T) {
		_, srv, apReq := start(t, sspi.DefaultClientReq|sspi.ISCReqMutualAuth)
		_, bare, err := parseGSSFramed(apReq)
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.Step(bare)
		expect(t, err, sspi.ErrInvalidToken)
	})
	t.Run("framed AP-REQ in DCE style", func(t *testing.T) {
		_, srv, apReq := start(t, dceReq)
		_, err := srv.Step(appendGSSFramed(nil, tokAPReq, apReq))
		expect(t, err, sspi.ErrInvalidToken)
	})
	t.Run("server's AP-REP reflected", func(t *testing.T) {
		_, srv, apReq := start(t, dceReq)
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatal(err)
		}
		_, err = srv.Step(apRep)
		expect(t, err, sspi.ErrLogonDenied)
		if srv.Established() {
			t.Error("established on a reflected AP-REP")
		}
	})
	for _, off := range []uint32{1, 0} {
		name := map[uint32]string{1: "wrong sequence echo", 0: "forged leg with the right echo passes"}[off]
		t.Run(name, func(t *testing.T) {
			_, srv, apReq := start(t, dceReq)
			apRep, err := srv.Step(apReq)
			if err != nil {
				t.Fatal(err)
			}
			session := ticketSessionKey(t, kt, apReq)
			var rep wire.APRep
			if err := rep.Unmarshal(apRep); err != nil {
				t.Fatal(err)
			}
			plain, err := session.Decrypt(nil, rep.EncPart.Cipher, usageAPRepPart)
			if err != nil {
				t.Fatal(err)
			}
			var part wire.EncAPRepPart
			if err := part.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Second)
			echo := wire.EncAPRepPart{CTime: now, SeqNumber: part.SeqNumber + off, HasSeq: true}
			b, _ := echo.Marshal()
			c, err := session.Encrypt(nil, b, usageAPRepPart, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			third, _ := (&wire.APRep{EncPart: wire.EncryptedData{EType: int32(session.EType()), Cipher: c}}).Marshal()
			_, err = srv.Step(third)
			if off == 0 {
				if err != nil || !srv.Established() {
					t.Fatalf("hand-made third leg: %v", err)
				}
				return
			}
			expect(t, err, sspi.ErrLogonDenied)
		})
	}
	t.Run("garbage third leg", func(t *testing.T) {
		_, srv, apReq := start(t, dceReq)
		if _, err := srv.Step(apReq); err != nil {
			t.Fatal(err)
		}
		_, err := srv.Step([]byte{0x6f, 0x03, 0x30, 0x01, 0x00})
		expect(t, err, sspi.ErrInvalidToken)
	})
	t.Run("framed AP-REP to a DCE client", func(t *testing.T) {
		cli, srv, apReq := start(t, dceReq)
		apRep, err := srv.Step(apReq)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cli.Step(appendGSSFramed(nil, tokAPRep, apRep))
		expect(t, err, sspi.ErrInvalidToken)
	})
}

// ticketSessionKey opens the ticket of a bare AP-REQ with the keytab: what a
// man-in-the-middle who stole the service key would have.
func ticketSessionKey(t *testing.T, kt *keytab.Keytab, apReq []byte) *krbcrypto.Key {
	t.Helper()
	var req wire.APReq
	if err := req.Unmarshal(apReq); err != nil {
		t.Fatal(err)
	}
	e := req.Ticket.EncPart
	ent, ok := kt.Find(req.Ticket.SName, req.Ticket.Realm, e.KVNO, e.EType)
	if !ok {
		t.Fatal("no keytab key for the ticket")
	}
	key, _ := krbcrypto.NewKey(krbcrypto.EType(ent.Key.Type), ent.Key.Value)
	plain, err := key.Decrypt(nil, e.Cipher, usageTicket)
	if err != nil {
		t.Fatal(err)
	}
	var part wire.EncTicketPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	s, err := krbcrypto.NewKey(krbcrypto.EType(part.Key.Type), part.Key.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dcePDU returns DCE/RPC's EncryptMessage buffers: the token, the PDU header and the
// security trailer as sign-only (SECBUFFER_READONLY_WITH_CHECKSUM), the stub data between.
func dcePDU(trailer int, hdr, stub, trl string) []sspi.Buffer {
	return []sspi.Buffer{
		{Type: sspi.BufferToken, Data: make([]byte, trailer)},
		{Type: sspi.BufferData | sspi.BufferReadOnlyWithChecksum, Data: []byte(hdr)},
		{Type: sspi.BufferData, Data: []byte(stub)},
		{Type: sspi.BufferData | sspi.BufferReadOnlyWithChecksum, Data: []byte(trl)},
	}
}

// TestDCESignOnlyBuffers: EncryptMessage and DecryptMessage with DCE/RPC's buffers: the
// sign-only header and trailer stay in the clear and are protected (altering one is
// SEC_E_MESSAGE_ALTERED), the stub data is sealed; a read-only buffer without the
// checksum bit is refused.
func TestDCESignOnlyBuffers(t *testing.T) {
	k := getKDC(t)
	cli := sspi.NewClientContext(testClientCreds(t, k, testPassword), sspi.ClientOptions{Target: testSPN, Req: dceReq})
	srv := sspi.NewServerContext(testServerCreds(t, k, ServerConfig{}), sspi.ServerOptions{})
	defer cli.Close()
	defer srv.Close()
	if _, err := handshake(t, cli, srv); err != nil {
		t.Fatal(err)
	}
	const hdr, stub, trl = "\x05\x00\x00\x83pdu-header", "stub data of the request", "\x10\x06\x00\x00trailer"
	for i, pair := range [][2]*sspi.Context{{cli.Handle(), srv.Handle()}, {srv.Handle(), cli.Handle()}} {
		msg := dcePDU(76, hdr, stub, trl)
		if err := sspi.EncryptMessage(pair[0], 0, msg, 0); err != nil {
			t.Fatal(err)
		}
		if string(msg[1].Data) != hdr || string(msg[3].Data) != trl || string(msg[2].Data) == stub {
			t.Fatalf("%d: after EncryptMessage: header %q, trailer %q, stub %q", i, msg[1].Data, msg[3].Data, msg[2].Data)
		}
		if _, _, err := sspi.DecryptMessage(pair[1], msg, 0); err != nil || string(msg[2].Data) != stub {
			t.Fatalf("%d: DecryptMessage: %q %v", i, msg[2].Data, err)
		}
	}
	msg := dcePDU(76, hdr, stub, trl)
	if err := sspi.EncryptMessage(cli.Handle(), 0, msg, 0); err != nil {
		t.Fatal(err)
	}
	msg[1].Data = []byte("\x05\x00\x00\x83pdu-headeR")
	if _, _, err := sspi.DecryptMessage(srv.Handle(), msg, 0); !errors.Is(err, sspi.ErrMessageAltered) {
		t.Errorf("altered sign-only header: %v", err)
	}
	msg = dcePDU(76, hdr, stub, trl)
	msg[1].Type = sspi.BufferData | sspi.BufferReadOnly
	if err := sspi.EncryptMessage(cli.Handle(), 0, msg, 0); !errors.Is(err, sspi.ErrUnsupportedFunction) {
		t.Errorf("read-only buffer without the checksum bit: %v", err)
	}
}
