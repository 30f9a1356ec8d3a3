package wire

import (
	"encoding/binary"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/der"
	"github.com/gosspi/sspi/internal/testpeers"
	gkclient "github.com/jcmturner/gokrb5/v8/client"
	gkconfig "github.com/jcmturner/gokrb5/v8/config"
	gkcrypto "github.com/jcmturner/gokrb5/v8/crypto"
	gkkeytab "github.com/jcmturner/gokrb5/v8/keytab"
	gktypes "github.com/jcmturner/gokrb5/v8/types"
)

var update = flag.Bool("update", false, "re-record testdata/mit-*.der from a live MIT KDC, kinit, kvno and python3-gssapi")

// recordings are the messages recorded from MIT krb5 1.20 (KDC, kinit, kvno, python3-gssapi),
// with the type each decodes as. The encrypted parts were decrypted with the test keys at
// recording time (by gokrb5, test-only), so their plaintext DER is checked too.
var recordings = []struct{ file, kind string }{
	{"mit-as-req-nopreauth.der", "AS-REQ"},
	{"mit-krb-error-preauth-required.der", "KRB-ERROR"},
	{"mit-as-req.der", "AS-REQ"},
	{"mit-pa-enc-ts-enc.der", "PA-ENC-TS-ENC"},
	{"mit-as-rep.der", "AS-REP"},
	{"mit-enc-as-rep-part.der", "EncKDCRepPart"},
	{"mit-tgt-enc-ticket-part.der", "EncTicketPart"},
	{"mit-tgs-req-fast.der", "TGS-REQ"},
	{"mit-tgs-authenticator.der", "Authenticator"},
	{"mit-tgs-rep-fast.der", "TGS-REP"},
	{"gokrb5-tgs-req.der", "TGS-REQ"},
	{"mit-tgs-rep.der", "TGS-REP"},
	{"mit-enc-tgs-rep-part.der", "EncKDCRepPart"},
	{"mit-ap-req.der", "AP-REQ"},
	{"mit-enc-ticket-part.der", "EncTicketPart"},
	{"mit-authenticator.der", "Authenticator"},
	{"mit-krb-cred.der", "KRB-CRED"},
	{"mit-enc-krb-cred-part.der", "EncKrbCredPart"},
	{"mit-ap-rep.der", "AP-REP"},
	{"mit-enc-ap-rep-part.der", "EncAPRepPart"},
}

// decoded is a decoded message of one of the kinds above.
type message interface {
	Unmarshal([]byte) error
	Marshal() ([]byte, error)
}

func newMessage(kind string) message {
	switch kind {
	case "AS-REQ", "TGS-REQ", "KDC-REQ":
		return new(KDCReq)
	case "AS-REP", "TGS-REP", "KDC-REP":
		return new(KDCRep)
	case "KRB-ERROR":
		return new(KRBError)
	case "PA-ENC-TS-ENC":
		return new(PAEncTSEnc)
	case "EncKDCRepPart":
		return new(EncKDCRepPart)
	case "EncTicketPart":
		return new(EncTicketPart)
	case "Authenticator":
		return new(Authenticator)
	case "AP-REQ":
		return new(APReq)
	case "AP-REP":
		return new(APRep)
	case "EncAPRepPart":
		return new(EncAPRepPart)
	case "KRB-CRED":
		return new(KRBCred)
	case "EncKrbCredPart":
		return new(EncKrbCredPart)
	case "Ticket":
		return new(Ticket)
	}
	panic("unknown kind " + kind)
}

func readRecording(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("%v (regenerate with go test -run TestRecordedMIT -update)", err)
	}
	return b
}

// TestRecordedMIT decodes every recorded MIT message and encodes it again byte for byte;
// a decoder that accepted non-DER or lost a field, or an encoder that wrote a field
// differently from MIT, fails here.
func TestRecordedMIT(t *testing.T) {
	if *update {
		recordMIT(t, "testdata", filepath.Join("..", "keytab", "testdata", "mit-services.keytab"),
			filepath.Join("..", "ccache", "testdata", "mit-kinit-kvno.ccache"))
	}
	checkRecordings(t, "testdata")
}

// TestLiveMIT records the same exchanges from the MIT krb5 installed now into a temporary
// directory and checks them the same way, so that a newer MIT's encodings are caught before
// anyone re-records.
func TestLiveMIT(t *testing.T) {
	if *update {
		t.Skip("TestRecordedMIT -update records")
	}
	dir := t.TempDir()
	recordMIT(t, dir, "", "")
	checkRecordings(t, dir)
}

func checkRecordings(t *testing.T, dir string) {
	for _, r := range recordings {
		t.Run(r.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, r.file))
			if err != nil {
				t.Fatalf("%v (regenerate with go test -run TestRecordedMIT -update)", err)
			}
			m := newMessage(r.kind)
			if err := m.Unmarshal(b); err != nil {
				t.Fatalf("decode %s: %v", r.kind, err)
			}
			out, err := m.Marshal()
			if err != nil {
				t.Fatalf("encode %s: %v", r.kind, err)
			}
			if string(out) != string(b) {
				t.Fatalf("re-encoded %s differs:\n got %x\nwant %x", r.kind, out, b)
			}
		})
	}
}

// TestRecordedMITFields checks what the recordings say, so that a decoder that put a field
// in the wrong place, or dropped it, fails even though it re-encodes.
func TestRecordedMITFields(t *testing.T) {
	asreq := checkRecordedASReq(t)
	checkRecordedPreauthRequired(t)
	asrep := checkRecordedASRep(t, asreq)
	checkRecordedTGS(t, asrep)
	checkRecordedAP(t)
}

// checkRecordedASReq checks kinit -f's AS-REQ with encrypted timestamp.
func checkRecordedASReq(t *testing.T) KDCReq {
	const realm = testpeers.KDCRealm
	var asreq KDCReq
	mustDecode(t, "mit-as-req.der", &asreq)
	if asreq.MsgType != MsgASReq || asreq.Body.Realm != realm || asreq.Body.CName == nil ||
		asreq.Body.CName.String() != testpeers.KDCUser || asreq.Body.SName.String() != "krbtgt/"+realm {
		t.Errorf("AS-REQ: %+v", asreq.Body)
	}
	if asreq.Body.Options&KDCOptForwardable == 0 {
		t.Errorf("AS-REQ kdc-options %#x: kinit -f asked for a forwardable TGT", asreq.Body.Options)
	}
	if findPA(asreq.PAData, PAEncTimestamp) == nil {
		t.Errorf("AS-REQ padata: %+v", asreq.PAData)
	}
	if string(asreq.Body.Raw) != string(readRecording(t, "mit-as-req.der")[len(readRecording(t, "mit-as-req.der"))-len(asreq.Body.Raw):]) {
		t.Errorf("KDC-REQ-BODY.Raw is not the tail of the AS-REQ")
	}
	return asreq
}

// checkRecordedPreauthRequired checks the KDC's KDC_ERR_PREAUTH_REQUIRED and the salt in
// its ETYPE-INFO2.
func checkRecordedPreauthRequired(t *testing.T) {
	const realm = testpeers.KDCRealm
	var kerr KRBError
	mustDecode(t, "mit-krb-error-preauth-required.der", &kerr)
	if kerr.Code != KDCErrPreauthRequired || kerr.Realm != realm || kerr.SName.String() != "krbtgt/"+realm {
		t.Errorf("KRB-ERROR: %+v", kerr)
	}
	md, err := ParseMethodData(kerr.EData)
	if err != nil {
		t.Fatal(err)
	}
	var info2 []ETypeInfo2Entry
	for _, pa := range md {
		if pa.Type == PAETypeInfo2 {
			if info2, err = ParseETypeInfo2(pa.Value); err != nil {
				t.Fatal(err)
			}
			again, err := MarshalETypeInfo2(info2)
			if err != nil || string(again) != string(pa.Value) {
				t.Errorf("ETYPE-INFO2 re-encoded %x, want %x (%v)", again, pa.Value, err)
			}
		}
	}
	if len(info2) == 0 || !info2[0].HasSalt || info2[0].Salt != realm+testpeers.KDCUser {
		t.Errorf("ETYPE-INFO2: %+v", info2)
	}
	if again, err := MarshalMethodData(md); err != nil || string(again) != string(kerr.EData) {
		t.Errorf("METHOD-DATA re-encoded %x, want %x (%v)", again, kerr.EData, err)
	}
}

// checkRecordedASRep checks the AS-REP answering asreq and the TGT in it.
func checkRecordedASRep(t *testing.T, asreq KDCReq) KDCRep {
	const realm = testpeers.KDCRealm
	var asrep KDCRep
	mustDecode(t, "mit-as-rep.der", &asrep)
	var encAS EncKDCRepPart
	mustDecode(t, "mit-enc-as-rep-part.der", &encAS)
	// MIT's KDC tags the AS reply's part EncTGSRepPart (26), as RFC 4120 5.4.2's note allows.
	if encAS.Tag != appEncTGSRepPart || encAS.Nonce != asreq.Body.Nonce || encAS.SName.String() != "krbtgt/"+realm ||
		encAS.Flags&FlagInitial == 0 || encAS.Flags&FlagForwardable == 0 || len(encAS.Key.Value) == 0 {
		t.Errorf("EncASRepPart: %+v", encAS)
	}
	var tgt EncTicketPart
	mustDecode(t, "mit-tgt-enc-ticket-part.der", &tgt)
	if string(tgt.Key.Value) != string(encAS.Key.Value) || tgt.CName.String() != testpeers.KDCUser || !tgt.EndTime.Equal(encAS.EndTime) {
		t.Errorf("TGT EncTicketPart does not match the EncASRepPart: %+v", tgt)
	}
	return asrep
}

// checkRecordedTGS checks a TGS-REQ (armoured with FAST) presenting asrep's TGT, and a
// TGS reply's encrypted part.
func checkRecordedTGS(t *testing.T, asrep KDCRep) {
	var tgsreq KDCReq
	mustDecode(t, "mit-tgs-req-fast.der", &tgsreq)
	if tgsreq.MsgType != MsgTGSReq || tgsreq.Body.SName == nil || tgsreq.Body.SName.String() != testpeers.KDCService ||
		len(tgsreq.PAData) == 0 || tgsreq.PAData[0].Type != PATGSReq || findPA(tgsreq.PAData, PAFXFast) == nil {
		t.Fatalf("TGS-REQ: %+v", tgsreq)
	}
	var patgs APReq
	if err := patgs.Unmarshal(tgsreq.PAData[0].Value); err != nil {
		t.Fatal(err)
	}
	// The TGT in the PA-TGS-REQ is the one from the AS-REP, byte for byte.
	if string(patgs.Ticket.Raw) != string(asrep.Ticket.Raw) {
		t.Errorf("PA-TGS-REQ ticket differs from the AS-REP's")
	}
	var tgsAuth Authenticator
	mustDecode(t, "mit-tgs-authenticator.der", &tgsAuth)
	if tgsAuth.Checksum == nil || tgsAuth.CName.String() != testpeers.KDCUser {
		t.Errorf("TGS authenticator: %+v", tgsAuth)
	}
	var gtgsreq KDCReq
	mustDecode(t, "gokrb5-tgs-req.der", &gtgsreq)
	var encTGS EncKDCRepPart
	mustDecode(t, "mit-enc-tgs-rep-part.der", &encTGS)
	if encTGS.Tag != appEncTGSRepPart || encTGS.Nonce != gtgsreq.Body.Nonce || encTGS.SName.String() != testpeers.KDCService {
		t.Errorf("EncTGSRepPart: %+v", encTGS)
	}
}

// checkRecordedAP checks an AP-REQ with a delegated TGT in its checksum, and the AP-REP
// that echoes its authenticator.
func checkRecordedAP(t *testing.T) {
	const realm = testpeers.KDCRealm
	var apreq APReq
	mustDecode(t, "mit-ap-req.der", &apreq)
	if apreq.Ticket.Realm != realm || apreq.Ticket.SName.String() != testpeers.KDCService ||
		apreq.Options&APOptionMutualRequired == 0 || apreq.Ticket.EncPart.HasKVNO != true {
		t.Errorf("AP-REQ: %+v", apreq)
	}
	var auth Authenticator
	mustDecode(t, "mit-authenticator.der", &auth)
	if auth.Checksum == nil || auth.Checksum.Type != 0x8003 || auth.SubKey == nil || !auth.HasSeq {
		t.Errorf("AP-REQ authenticator: %+v", auth)
	}
	var cred KRBCred
	mustDecode(t, "mit-krb-cred.der", &cred)
	if len(cred.Tickets) != 1 || cred.Tickets[0].SName.String() != "krbtgt/"+realm {
		t.Errorf("KRB-CRED: %+v", cred)
	}
	if i := strings.Index(string(auth.Checksum.Value), string(readRecording(t, "mit-krb-cred.der"))); i != 28 {
		t.Errorf("KRB-CRED at offset %d of the 0x8003 checksum, want 28", i)
	}
	var credPart EncKrbCredPart
	mustDecode(t, "mit-enc-krb-cred-part.der", &credPart)
	if len(credPart.TicketInfo) != 1 || credPart.TicketInfo[0].Flags&FlagForwarded == 0 ||
		credPart.TicketInfo[0].PName == nil || credPart.TicketInfo[0].PName.String() != testpeers.KDCUser {
		t.Errorf("EncKrbCredPart: %+v", credPart)
	}
	var aprepPart EncAPRepPart
	mustDecode(t, "mit-enc-ap-rep-part.der", &aprepPart)
	if !aprepPart.CTime.Equal(auth.CTime) || aprepPart.CUsec != auth.CUsec || !aprepPart.HasSeq {
		t.Errorf("EncAPRepPart %+v does not echo the authenticator's time %v.%d", aprepPart, auth.CTime, auth.CUsec)
	}
}

func findPA(list []PAData, typ int32) []byte {
	for _, pa := range list {
		if pa.Type == typ {
			return pa.Value
		}
	}
	return nil
}

func mustDecode(t *testing.T, file string, m message) {
	t.Helper()
	if err := m.Unmarshal(readRecording(t, file)); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// kdcRelay forwards MIT's TCP KDC exchanges (4-byte length, message) to the KDC and
// records each request and reply.
type kdcRelay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frames [][]byte // request, reply, request, reply, ...
}

func startRelay(t *testing.T, target string) *kdcRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &kdcRelay{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func readFrame(c net.Conn) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > MaxMessageSize {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	return b, err
}

func writeFrame(c net.Conn, b []byte) error {
	_, err := c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	if err == nil {
		_, err = c.Write(b)
	}
	return err
}

func (r *kdcRelay) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	for {
		req, err := readFrame(c)
		if err != nil {
			return
		}
		k, err := net.Dial("tcp", r.target)
		if err != nil {
			return
		}
		k.SetDeadline(time.Now().Add(30 * time.Second))
		var rep []byte
		if err = writeFrame(k, req); err == nil {
			rep, err = readFrame(k)
		}
		k.Close()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.frames = append(r.frames, req, rep)
		r.mu.Unlock()
		if writeFrame(c, rep) != nil {
			return
		}
	}
}

func (r *kdcRelay) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.frames
	r.frames = nil
	return f
}

// recordMIT runs kinit -f and kvno through the relay, then a python3-gssapi initiator with
// delegation against a python3-gssapi acceptor, decrypts every encrypted part with the
// test keys and writes all of it to testdata/.
func recordMIT(t *testing.T, dir, keytabOut, ccacheOut string) {
	kdc := testpeers.StartKDC(t, testpeers.KDCOptions{})
	// Preauthentication required, so that kinit's first AS-REQ meets KDC_ERR_PREAUTH_REQUIRED
	// with ETYPE-INFO2 and its second carries PA-ENC-TIMESTAMP.
	kdc.Kadmin(t, "modprinc +requires_preauth "+testpeers.KDCUser)
	kinit := testpeers.Require(t, "krb5-user", "kinit")
	kvno := testpeers.Require(t, "krb5-user", "kvno")
	relay := startRelay(t, "127.0.0.1:"+strconv.Itoa(kdc.Port))
	conf, err := os.ReadFile(kdc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	relayConf := filepath.Join(tmp, "krb5.conf")
	c := strings.ReplaceAll(string(conf), "127.0.0.1:"+strconv.Itoa(kdc.Port), relay.ln.Addr().String())
	if err := os.WriteFile(relayConf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	cc := filepath.Join(tmp, "ccache")
	env := testpeers.Environ(t, testpeers.NTLMEnv{}, "KRB5_CONFIG="+relayConf, "KRB5CCNAME=FILE:"+cc)
	run := func(stdin string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run(testpeers.KDCPassword+"\n", kinit, "-f", kdc.Principal(testpeers.KDCUser))
	run("", kvno, kdc.Principal(testpeers.KDCService))
	frames := relay.take()
	for i, f := range frames {
		t.Logf("frame %d: type %d, %d bytes", i, MessageType(f), len(f))
	}
	if len(frames) != 6 {
		t.Fatalf("recorded %d frames, want AS-REQ, KRB-ERROR, AS-REQ, AS-REP, TGS-REQ, TGS-REP", len(frames))
	}
	files := map[string][]byte{
		"mit-as-req-nopreauth.der":           frames[0],
		"mit-krb-error-preauth-required.der": frames[1],
		"mit-as-req.der":                     frames[2],
		"mit-as-rep.der":                     frames[3],
		"mit-tgs-req-fast.der":               frames[4],
		"mit-tgs-rep-fast.der":               frames[5],
	}

	// The user's key, from the salt the KDC announced.
	var kerr KRBError
	must(t, kerr.Unmarshal(frames[1]))
	md, err := ParseMethodData(kerr.EData)
	must(t, err)
	var userKey gktypes.EncryptionKey
	for _, pa := range md {
		if pa.Type != PAETypeInfo2 {
			continue
		}
		info, err := ParseETypeInfo2(pa.Value)
		must(t, err)
		et, err := gkcrypto.GetEtype(info[0].EType)
		must(t, err)
		params := et.GetDefaultStringToKeyParams()
		if info[0].S2KParams != nil {
			params = string(info[0].S2KParams)
		}
		kv, err := et.StringToKey(testpeers.KDCPassword, info[0].Salt, params)
		must(t, err)
		userKey = gktypes.EncryptionKey{KeyType: info[0].EType, KeyValue: kv}
	}
	var asreq KDCReq
	must(t, asreq.Unmarshal(frames[2]))
	var ts EncryptedData
	var s []byte
	for _, pa := range asreq.PAData {
		t.Logf("AS-REQ PA-DATA type %d", pa.Type)
		if pa.Type == PAEncTimestamp {
			s = pa.Value
		}
	}
	{
		cs := cryptobyteString(s)
		must(t, parseEncryptedData(&cs, &ts))
	}
	files["mit-pa-enc-ts-enc.der"] = decrypt(t, userKey, ts, 1)
	var asrep KDCRep
	must(t, asrep.Unmarshal(frames[3]))
	files["mit-enc-as-rep-part.der"] = decrypt(t, userKey, asrep.EncPart, 3)
	var encAS EncKDCRepPart
	must(t, encAS.Unmarshal(files["mit-enc-as-rep-part.der"]))
	tgtKey := gktypes.EncryptionKey{KeyType: encAS.Key.Type, KeyValue: encAS.Key.Value}

	krbtgtKT := kdc.KeytabFor(t, "krbtgt/"+kdc.Realm)
	files["mit-tgt-enc-ticket-part.der"] = decrypt(t, keytabKey(t, krbtgtKT, asrep.Ticket.EncPart.EType), asrep.Ticket.EncPart, 2)

	var tgsreq KDCReq
	must(t, tgsreq.Unmarshal(frames[4]))
	var patgs APReq
	must(t, patgs.Unmarshal(tgsreq.PAData[0].Value))
	files["mit-tgs-authenticator.der"] = decrypt(t, tgtKey, patgs.Authenticator, 7)
	var tgsAuth Authenticator
	must(t, tgsAuth.Unmarshal(files["mit-tgs-authenticator.der"]))
	// MIT's client armors its TGS-REQ with FAST (PA-FX-FAST with the TGT as armor) once the
	// KDC has shown FAST support, so the reply is under a strengthened key; the EncTGSRepPart
	// is recorded from MIT's KDC answering gokrb5's plain TGS-REQ instead.
	gokrb5TGS(t, kdc, relayConf, relay, files, userKey)
	// An AP-REQ with a delegated TGT, and the AP-REP, from python3-gssapi.
	ini := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Initiator, Mech: testpeers.MechKerberos, Target: "host@localhost",
		Flags: testpeers.GSSMutualFlag | testpeers.GSSDelegFlag | testpeers.GSSIntegFlag,
		Env:   []string{"KRB5_CONFIG=" + kdc.Krb5Conf, "KRB5CCNAME=FILE:" + cc},
	})
	acc := testpeers.NewGSSPeer(t, testpeers.GSSPeerOptions{
		Role: testpeers.Acceptor, Mech: testpeers.MechKerberos, Env: kdc.ServerEnv(),
	})
	tok1, _, err := ini.Step(nil)
	must(t, err)
	tok2, _, err := acc.Step(tok1)
	must(t, err)
	if _, _, err := ini.Step(tok2); err != nil {
		t.Fatal(err)
	}
	files["mit-ap-req.der"] = gssInner(t, tok1, 0x0100)
	files["mit-ap-rep.der"] = gssInner(t, tok2, 0x0200)
	var apreq APReq
	must(t, apreq.Unmarshal(files["mit-ap-req.der"]))
	files["mit-enc-ticket-part.der"] = decrypt(t, keytabKey(t, kdc.Keytab, apreq.Ticket.EncPart.EType), apreq.Ticket.EncPart, 2)
	var etp EncTicketPart
	must(t, etp.Unmarshal(files["mit-enc-ticket-part.der"]))
	sessKey := gktypes.EncryptionKey{KeyType: etp.Key.Type, KeyValue: etp.Key.Value}
	files["mit-authenticator.der"] = decrypt(t, sessKey, apreq.Authenticator, 11)
	var auth Authenticator
	must(t, auth.Unmarshal(files["mit-authenticator.der"]))
	if auth.Checksum == nil || len(auth.Checksum.Value) < 32 {
		t.Fatal("no delegation in the authenticator checksum")
	}
	n := int(binary.LittleEndian.Uint16(auth.Checksum.Value[26:]))
	files["mit-krb-cred.der"] = auth.Checksum.Value[28 : 28+n]
	var cred KRBCred
	must(t, cred.Unmarshal(files["mit-krb-cred.der"]))
	files["mit-enc-krb-cred-part.der"] = decrypt(t, sessKey, cred.EncPart, 14)
	var aprep APRep
	must(t, aprep.Unmarshal(files["mit-ap-rep.der"]))
	files["mit-enc-ap-rep-part.der"] = decrypt(t, sessKey, aprep.EncPart, 12)

	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The keytab and a ccache, for the keytab and ccache packages' tests.
	if keytabOut != "" {
		copyFile(t, kdc.Keytab, keytabOut)
		copyFile(t, cc, ccacheOut)
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.MkdirAll(filepath.Dir(to), 0o755))
	must(t, os.WriteFile(to, b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func decrypt(t *testing.T, key gktypes.EncryptionKey, ed EncryptedData, usage uint32) []byte {
	t.Helper()
	if key.KeyType != ed.EType {
		t.Fatalf("key type %d for etype %d", key.KeyType, ed.EType)
	}
	pt, err := gkcrypto.DecryptMessage(ed.Cipher, key, usage)
	if err != nil {
		t.Fatalf("decrypt usage %d: %v", usage, err)
	}
	return pt
}

func keytabKey(t *testing.T, path string, etype int32) gktypes.EncryptionKey {
	t.Helper()
	kt, err := gkkeytab.Load(path)
	must(t, err)
	for _, e := range kt.Entries {
		if e.Key.KeyType == etype {
			return e.Key
		}
	}
	t.Fatalf("no key of etype %d in %s", etype, path)
	return gktypes.EncryptionKey{}
}

// gssInner strips RFC 2743's framing and RFC 4121's TOK_ID from a Kerberos context token.
func gssInner(t *testing.T, tok []byte, tokID uint16) []byte {
	t.Helper()
	_, inner, err := der.ParseGSSToken(tok)
	must(t, err)
	if len(inner) < 2 || binary.BigEndian.Uint16(inner) != tokID {
		t.Fatalf("token id %x, want %04x", inner[:2], tokID)
	}
	return inner[2:]
}

// gokrb5TGS logs in with gokrb5 through the relay and gets a service ticket, recording its
// TGS-REQ and MIT's reply, decrypted.
func gokrb5TGS(t *testing.T, kdc *testpeers.KDC, relayConf string, relay *kdcRelay, files map[string][]byte, userKey gktypes.EncryptionKey) {
	conf, err := gkconfig.Load(relayConf)
	must(t, err)
	cl := gkclient.NewWithPassword(testpeers.KDCUser, kdc.Realm, testpeers.KDCPassword, conf, gkclient.DisablePAFXFAST(true))
	must(t, cl.Login())
	_, _, err = cl.GetServiceTicket(testpeers.KDCService)
	must(t, err)
	frames := relay.take()
	if len(frames) < 2 || MessageType(frames[len(frames)-2]) != MsgTGSReq {
		t.Fatalf("gokrb5 exchanges: %d frames", len(frames))
	}
	req, rep := frames[len(frames)-2], frames[len(frames)-1]
	files["gokrb5-tgs-req.der"], files["mit-tgs-rep.der"] = req, rep
	var tgsreq KDCReq
	must(t, tgsreq.Unmarshal(req))
	var tgsrep KDCRep
	must(t, tgsrep.Unmarshal(rep))
	var asrep KDCRep
	for i := 0; i+1 < len(frames); i += 2 {
		if MessageType(frames[i+1]) == MsgASRep {
			must(t, asrep.Unmarshal(frames[i+1]))
		}
	}
	var encAS EncKDCRepPart
	must(t, encAS.Unmarshal(decrypt(t, userKey, asrep.EncPart, 3)))
	sess := gktypes.EncryptionKey{KeyType: encAS.Key.Type, KeyValue: encAS.Key.Value}
	var patgs APReq
	must(t, patgs.Unmarshal(findPA(tgsreq.PAData, PATGSReq)))
	var auth Authenticator
	must(t, auth.Unmarshal(decrypt(t, sess, patgs.Authenticator, 7)))
	if auth.SubKey != nil {
		files["mit-enc-tgs-rep-part.der"] = decrypt(t, gktypes.EncryptionKey{KeyType: auth.SubKey.Type, KeyValue: auth.SubKey.Value}, tgsrep.EncPart, 9)
	} else {
		files["mit-enc-tgs-rep-part.der"] = decrypt(t, sess, tgsrep.EncPart, 8)
	}
}
