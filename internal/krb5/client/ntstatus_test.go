package krbclient

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/krb5/wire"
)

// TestExtendedStatus reads the NTSTATUS of a KRB-ERROR's e-data: Samba 4.17's METHOD-DATA
// (recorded from the AD DC: ETYPE-INFO2, then PA-PW-SALT holding the KERB-EXT-ERROR),
// Windows' KERB-ERROR-DATA, and what must give none.
func TestExtendedStatus(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const sambaDisabled = "304c3033a103020113a22c042a30283026a003020112a1171b1553414d444f4d2e54455354616464697361626c6564a2060404000010003015a103020103a20e040c720000c00000000001000000"
	const sambaExpired = "304b3032a103020113a22b042930273025a003020112a1161b1453414d444f4d2e54455354616465787069726564a2060404000010003015a103020103a20e040c930100c00000000001000000"
	const sambaMustChange = "304e3035a103020113a22e042c302a3028a003020112a1191b1753414d444f4d2e5445535461646d7573746368616e6765a2060404000010003015a103020103a20e040c240200c00000000001000000"
	// Samba's KDC_ERR_PREAUTH_FAILED: ETYPE-INFO2 only.
	const sambaPreauth = "3031302fa103020113a228042630243022a003020112a1131b1153414d444f4d2e54455354616475736572a206040400001000"
	for _, tc := range []struct {
		name  string
		edata []byte
		want  uint32
	}{
		{"Samba disabled", h(sambaDisabled), StatusAccountDisabled},
		{"Samba expired", h(sambaExpired), StatusAccountExpired},
		{"Samba must change", h(sambaMustChange), StatusPasswordMustChange},
		{"Samba preauth failed", h(sambaPreauth), 0},
		// KERB-ERROR-DATA { [1] 3, [2] OCTET STRING(34 02 00 c0 00000000 01000000) }
		{"Windows locked out", h("3015a103020103a20e040c340200c00000000001000000"), StatusAccountLockedOut},
		{"a real PW-SALT", h("3018" + "3016a103020103a20f040d" + hex.EncodeToString([]byte("EXAMPLE.COMbob"))[:26]), 0},
		{"a success status", h("3015a103020103a20e040c000000000000000001000000"), 0},
		{"empty", nil, 0},
		{"garbage", []byte{0x30, 0x80, 0xff}, 0},
	} {
		if got := extendedStatus(tc.edata); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
	e := kdcError(&wire.KRBError{Code: errClientRevoked, EData: h(sambaExpired)}, "SAMDOM.TEST")
	if msg := failure("logging on", e).Error(); !strings.Contains(msg, "STATUS_ACCOUNT_EXPIRED") || !strings.Contains(msg, "the account has expired") {
		t.Errorf("error text %q", msg)
	}
}

// FuzzExtendedStatus: any e-data gives a status or 0, never a panic.
func FuzzExtendedStatus(f *testing.F) {
	f.Add([]byte("3015a103020103a20e040c340200c00000000001000000"))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := extendedStatus(b); s != 0 && s&ntStatusSeverityMask != ntStatusSeverityMask {
			t.Fatalf("status %#x is not an error status", s)
		}
	})
}
