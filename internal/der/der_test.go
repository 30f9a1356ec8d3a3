package der

import (
	"bytes"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

func TestOIDs(t *testing.T) {
	// DER of shared/spec/spnego-credssp.md §1, without the 06 tag and length.
	for _, tc := range []struct{ dotted, hex string }{
		{"1.3.6.1.5.5.2", "2b0601050502"},
		{"1.2.840.113554.1.2.2", "2a864886f712010202"},
		{"1.2.840.48018.1.2.2", "2a864882f712010202"},
		{"1.2.840.113554.1.2.2.3", "2a864886f71201020203"},
		{"1.3.6.1.4.1.311.2.2.10", "2b0601040182370202" + "0a"},
		{"1.3.6.1.4.1.311.2.2.30", "2b06010401823702021e"},
		{"2.999.3", "883703"},
	} {
		o, err := ParseOID(tc.dotted)
		if err != nil {
			t.Fatalf("%s: %v", tc.dotted, err)
		}
		if got := hex.EncodeToString(o); got != tc.hex {
			t.Errorf("%s encodes as %s, want %s", tc.dotted, got, tc.hex)
		}
		if o.String() != tc.dotted {
			t.Errorf("%s prints as %s", tc.dotted, o)
		}
		if !o.Valid() {
			t.Errorf("%s not valid", tc.dotted)
		}
	}
	for _, bad := range []string{"", "1", "3.1", "1.40", "1.x", "1..2"} {
		if _, err := ParseOID(bad); err == nil {
			t.Errorf("ParseOID(%q) succeeded", bad)
		}
	}
	for _, bad := range [][]byte{nil, {0x2a, 0x86}, {0x2a, 0x80, 0x01}, {0x80, 0x01}} {
		if OID(bad).Valid() {
			t.Errorf("%x reported valid", bad)
		}
		_ = OID(bad).String() // must not panic
	}
}

func TestHeaders(t *testing.T) {
	for _, n := range []int{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000} {
		h := AppendHeader(nil, TagOctetString, n)
		if len(h) != HeaderLen(n) {
			t.Fatalf("length %d: header %x is %d bytes, HeaderLen says %d", n, h, len(h), HeaderLen(n))
		}
		if n > 0x10000 {
			continue // do not build huge elements
		}
		el := append(h, make([]byte, n)...)
		s := cryptobyte.String(el)
		var c cryptobyte.String
		if !s.ReadASN1(&c, asn1.OCTET_STRING) || len(c) != n || !s.Empty() {
			t.Fatalf("length %d: cryptobyte cannot read back %x...", n, h)
		}
	}
}

func TestGSSToken(t *testing.T) {
	spnego := MustOID("1.3.6.1.5.5.2")
	inner := []byte{0xa0, 0x02, 0x30, 0x00}
	tok := AppendGSSToken(nil, spnego, inner)
	if len(tok) != GSSTokenSize(spnego, len(inner)) {
		t.Fatalf("size mismatch")
	}
	if want, _ := hex.DecodeString("600c06062b0601050502a0023000"); !bytes.Equal(tok, want) {
		t.Fatalf("got %x", tok)
	}
	mech, in, err := ParseGSSToken(tok)
	if err != nil || !mech.Equal(spnego) || !bytes.Equal(in, inner) {
		t.Fatalf("ParseGSSToken: %v %v %x", err, mech, in)
	}
	if _, _, err := ParseGSSToken(append(tok, 0)); err != ErrTrailing {
		t.Fatalf("trailing byte: %v", err)
	}
	for i := range tok {
		if _, _, err := ParseGSSToken(tok[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}
