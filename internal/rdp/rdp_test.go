package rdp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gosspi/sspi"
)

// Recorded from FreeRDP 2.11.7 (xfreerdp /u:alice ... +auth-only, to a socket that only
// listened; freerdp-shadow-cli /sec:nla answering a bare RDP_NEG_REQ).
const (
	freerdpCRNLA      = "0300002b26e00000000000436f6f6b69653a206d737473686173683d616c6963650d0a0100080003000000"
	freerdpCRExt      = "0300002b26e00000000000436f6f6b69653a206d737473686173683d616c6963650d0a010008000b000000"
	shadowCCHybrid    = "030000130ed000000000000203080002000000"
	shadowCCFailureEx = "030000130ed000000000000300080005000000"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConnectionRequestFreeRDP(t *testing.T) {
	for _, tt := range []struct {
		rec   string
		proto uint32
	}{{freerdpCRNLA, ProtocolSSL | ProtocolHybrid}, {freerdpCRExt, ProtocolSSL | ProtocolHybrid | ProtocolHybridEx}} {
		pdu := unhex(t, tt.rec)
		got, err := ReadTPKT(bytes.NewReader(pdu), MaxConnectionPDU)
		if err != nil || !bytes.Equal(got, pdu) {
			t.Fatalf("ReadTPKT: %x, %v", got, err)
		}
		cr, err := ParseConnectionRequest(pdu)
		if err != nil {
			t.Fatal(err)
		}
		if cr.Cookie != "Cookie: mstshash=alice" || !cr.NegReq || cr.Flags != 0 || cr.RequestedProtocols != tt.proto {
			t.Fatalf("parsed %+v", cr)
		}
		if out := cr.Marshal(); !bytes.Equal(out, pdu) {
			t.Fatalf("marshal:\n got %x\nwant %x", out, pdu)
		}
	}
}

func TestConnectionConfirmFreeRDP(t *testing.T) {
	cc, err := ParseConnectionConfirm(unhex(t, shadowCCHybrid))
	if err != nil || cc.Failure || cc.Protocol != ProtocolHybrid || cc.Flags != ExtendedClientDataSupported|DynVCGFXProtocolSupported {
		t.Fatalf("%+v %v", cc, err)
	}
	cc, err = ParseConnectionConfirm(unhex(t, shadowCCFailureEx))
	if err != nil || !cc.Failure || cc.Protocol != HybridRequiredByServer {
		t.Fatalf("%+v %v", cc, err)
	}
	// Ours differs from FreeRDP's only in SRC-REF (0x1234, as Windows sends).
	out := (&ConnectionConfirm{Flags: 3, Protocol: ProtocolHybrid}).Marshal()
	want := unhex(t, shadowCCHybrid)
	want[8], want[9] = 0x12, 0x34
	if !bytes.Equal(out, want) {
		t.Fatalf("marshal: %x want %x", out, want)
	}
	for _, c := range []*ConnectionConfirm{{NoNegotiation: true}, {Failure: true, Protocol: SSLRequiredByServer}, {Flags: 1, Protocol: ProtocolHybridEx}} {
		got, err := ParseConnectionConfirm(c.Marshal())
		if err != nil || *got != *c {
			t.Fatalf("round trip %+v: %+v %v", c, got, err)
		}
	}
}

func TestConnectionRequestForms(t *testing.T) {
	corr := make([]byte, correlationLen)
	corr[0], corr[2] = 0x06, correlationLen
	corr[5] = 0xaa
	for _, c := range []*ConnectionRequest{
		{},
		{Cookie: "Cookie: mstshash=x"},
		{NegReq: true, RequestedProtocols: ProtocolHybrid},
		{NegReq: true, Flags: CorrelationInfoPresent | RestrictedAdminModeRequired, RequestedProtocols: ProtocolHybridEx, Correlation: corr},
	} {
		got, err := ParseConnectionRequest(c.Marshal())
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got.Cookie != c.Cookie || got.NegReq != c.NegReq || got.Flags != c.Flags || got.RequestedProtocols != c.RequestedProtocols || !bytes.Equal(got.Correlation, c.Correlation) {
			t.Fatalf("round trip %+v -> %+v", c, got)
		}
	}
}

func TestRejects(t *testing.T) {
	good := unhex(t, freerdpCRNLA)
	mod := func(i int, v byte) []byte { b := append([]byte{}, good...); b[i] = v; return b }
	for _, tt := range []struct {
		name string
		pdu  []byte
		want string
	}{
		{"short", good[:8], "not an X.224"},
		{"TPKT length lies", mod(3, 0x2a), "TPKT header"},
		{"length indicator lies", mod(4, 0x25), "length indicator"},
		{"confirm code", mod(5, 0xd0), "TPDU code"},
		{"class 4", mod(10, 0x40), "class option"},
		{"cookie without CRLF", mod(0x22, 'x'), "without CR LF"},
		{"bad neg type", append(append([]byte{}, good[:len(good)-8]...), 0x02, 0, 8, 0, 3, 0, 0, 0), "RDP_NEG_REQ"},
		{"too long", make([]byte, MaxConnectionPDU+1), "not an X.224"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConnectionRequest(tt.pdu)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, sspi.ErrIllegalMessage) {
				t.Fatalf("err = %v, want SEC_E_ILLEGAL_MESSAGE with %q", err, tt.want)
			}
		})
	}
	if _, err := ReadTPKT(bytes.NewReader([]byte{0x16, 3, 1, 0, 5}), 100); err == nil || !strings.Contains(err.Error(), "does not speak RDP") {
		t.Fatalf("TLS instead of TPKT: %v", err)
	}
	if _, err := ReadTPKT(bytes.NewReader([]byte{3, 0, 0xff, 0xff}), MaxConnectionPDU); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized TPKT: %v", err)
	}
	if _, err := ReadTPKT(bytes.NewReader(good[:10]), MaxConnectionPDU); !errors.Is(err, sspi.ErrIncompleteMessage) {
		t.Fatalf("cut TPKT: %v", err)
	}
	if _, err := ReadTPKT(bytes.NewReader(nil), MaxConnectionPDU); err != io.EOF {
		t.Fatalf("clean end: %v", err)
	}
}

func TestEarlyUserAuthResult(t *testing.T) {
	b := AppendEarlyUserAuthResult(nil, AuthzAccessDenied)
	if hex.EncodeToString(b) != "05000000" {
		t.Fatalf("%x", b)
	}
	if v, err := ParseEarlyUserAuthResult(b); err != nil || v != AuthzAccessDenied {
		t.Fatal(v, err)
	}
	if _, err := ParseEarlyUserAuthResult(b[:3]); err == nil {
		t.Fatal("3 bytes accepted")
	}
	if v, err := ReadEarlyUserAuthResult(bytes.NewReader([]byte{0, 0, 0, 0})); err != nil || v != AuthzSuccess {
		t.Fatal(v, err)
	}
	if _, err := ReadEarlyUserAuthResult(bytes.NewReader([]byte{0})); !errors.Is(err, sspi.ErrIncompleteMessage) {
		t.Fatal(err)
	}
}

func TestReadDERMessage(t *testing.T) {
	long := append([]byte{0x30, 0x82, 0x01, 0x00}, make([]byte, 256)...)
	for _, tt := range []struct {
		name string
		in   []byte
		max  int
		ok   bool
		want string
	}{
		{"short form", []byte{0x30, 0x02, 1, 2, 9}, 100, true, ""},
		{"long form", long, 1000, true, ""},
		{"over limit", long, 200, false, "limit"},
		{"indefinite", []byte{0x30, 0x80, 0, 0}, 100, false, "indefinite"},
		{"non-minimal", []byte{0x30, 0x81, 0x05, 1, 2, 3, 4, 5}, 100, false, "minimal"},
		{"leading zero", []byte{0x30, 0x82, 0x00, 0x85}, 1000, false, "minimal"},
		{"not a sequence", []byte{0x04, 0x01, 0}, 100, false, "SEQUENCE"},
		{"cut", []byte{0x30, 0x05, 1}, 100, false, "INCOMPLETE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := ReadDERMessage(bytes.NewReader(tt.in), tt.max)
			if tt.ok {
				if err != nil || !bytes.HasPrefix(tt.in, msg) || len(msg) != int(len(tt.in))-boolInt(tt.name == "short form") {
					t.Fatalf("%x %v", msg, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func FuzzConnectionRequest(f *testing.F) {
	f.Add(unhex(f, freerdpCRNLA))
	f.Add(unhex(f, freerdpCRExt))
	f.Add((&ConnectionRequest{NegReq: true, Flags: CorrelationInfoPresent, Correlation: []byte{6, 0, 36}}).Marshal())
	f.Fuzz(func(t *testing.T, pdu []byte) {
		if got, err := ReadTPKT(bytes.NewReader(pdu), MaxConnectionPDU); err == nil && len(got) > len(pdu) {
			t.Fatal("ReadTPKT returned more than it read")
		}
		cr, err := ParseConnectionRequest(pdu)
		if err != nil {
			if !errors.Is(err, sspi.ErrIllegalMessage) {
				t.Fatalf("error without SEC_E_ILLEGAL_MESSAGE: %v", err)
			}
			return
		}
		// TPKT's reserved octet and the X.224 references are not checked (peers vary);
		// everything parsed must survive a round trip.
		again, err := ParseConnectionRequest(cr.Marshal())
		if err != nil || again.Cookie != cr.Cookie || again.NegReq != cr.NegReq || again.Flags != cr.Flags ||
			again.RequestedProtocols != cr.RequestedProtocols || !bytes.Equal(again.Correlation, cr.Correlation) {
			t.Fatalf("accepted %x as %+v; its re-encoding parses as %+v, %v", pdu, cr, again, err)
		}
	})
}

func FuzzConnectionConfirm(f *testing.F) {
	f.Add(unhex(f, shadowCCHybrid))
	f.Add(unhex(f, shadowCCFailureEx))
	f.Fuzz(func(t *testing.T, pdu []byte) {
		cc, err := ParseConnectionConfirm(pdu)
		if err != nil {
			return
		}
		if _, err := ParseConnectionConfirm(cc.Marshal()); err != nil {
			t.Fatal(err)
		}
	})
}
