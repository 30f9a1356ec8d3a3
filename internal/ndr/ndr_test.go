package ndr

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPrimitivesAlign(t *testing.T) {
	// A byte, then a short (1 pad), a long (0 pad), a byte, a hyper (7 pad) and a
	// FILETIME (4-aligned: 0 pad after the hyper).
	in, _ := hex.DecodeString("aa" + "00" + "3412" + "78563412" + "bb" + "00000000000000" + "efcdab8967452301" + "44332211" + "88776655")
	d := NewDecoder(in)
	got := []uint64{uint64(d.Uint8()), uint64(d.Uint16()), uint64(d.Uint32()), uint64(d.Uint8()), d.Uint64(), d.FileTime()}
	want := []uint64{0xaa, 0x1234, 0x12345678, 0xbb, 0x0123456789abcdef, 0x5566778811223344}
	if d.Err() != nil || !reflect.DeepEqual(got, want) || d.Remaining() != 0 {
		t.Fatalf("got %x (err %v, %d left), want %x", got, d.Err(), d.Remaining(), want)
	}
	var e Encoder
	e.Uint8(0xaa)
	e.Uint16(0x1234)
	e.Uint32(0x12345678)
	e.Uint8(0xbb)
	e.Uint64(0x0123456789abcdef)
	e.FileTime(0x5566778811223344)
	if !bytes.Equal(e.Bytes(), in) {
		t.Fatalf("encoded %x\nwant    %x", e.Bytes(), in)
	}
}

// sample is a construct with the pointer shapes of a KERB_VALIDATION_INFO: strings, a
// pointer to a conformant array of structures that hold pointers, and a SID pointer.
type sample struct {
	Name   string
	Extra  []sidAttr
	Domain *SID
	Tail   string
	Count  uint32
}

type sidAttr struct {
	SID  *SID
	Attr uint32
}

func (s *sample) decode(d *Decoder) {
	d.UnicodeString(&s.Name)
	n := d.Uint32()
	d.Pointer(func(d *Decoder) {
		c := d.Count(8)
		if d.err == nil && uint32(c) != n {
			d.Failf("count %d, array of %d", n, c)
			return
		}
		s.Extra = make([]sidAttr, c)
		for i := range s.Extra {
			d.SIDPointer(&s.Extra[i].SID)
			s.Extra[i].Attr = d.Uint32()
		}
	})
	d.SIDPointer(&s.Domain)
	d.UnicodeString(&s.Tail)
	s.Count = d.Uint32()
}

func (s *sample) encode(e *Encoder) {
	e.UnicodeString(s.Name)
	e.Uint32(uint32(len(s.Extra)))
	e.Pointer(s.Extra != nil, func(e *Encoder) {
		e.Uint32(uint32(len(s.Extra)))
		for i := range s.Extra {
			e.SIDPointer(s.Extra[i].SID)
			e.Uint32(s.Extra[i].Attr)
		}
	})
	e.SIDPointer(s.Domain)
	e.UnicodeString(s.Tail)
	e.Uint32(s.Count)
}

func decodeSample(b []byte) (*sample, error) {
	var s sample
	d := NewDecoder(b)
	d.RefPointer(s.decode) // top-level pointer, as in a type-serialized PAC buffer
	return &s, d.Flush()
}

func mustSID(t testing.TB, s string) *SID {
	v, err := ParseSID(s)
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// sampleWire is the layout worked out by hand from C706 14.3.12: fixed parts first,
// referents in pointer order, and the referents of the array elements' pointers right
// after the array, before the next referent of the outer structure.
const sampleWire = "00000200" + // top-level referent ID
	"0400" + "0400" + "04000200" + // Name: Length 4, MaximumLength 4, pointer
	"02000000" + "08000200" + // count 2, Extra pointer
	"0c000200" + // Domain pointer
	"0000" + "0000" + "00000000" + // Tail: empty, null
	"07000000" + // Count
	// Name's referent: max 2, offset 0, actual 2, "hi"
	"02000000" + "00000000" + "02000000" + "68006900" +
	// Extra's referent: max 2, then {ptr, attr} x2 (the second SID null)
	"02000000" + "10000200" + "07000000" + "00000000" + "01000020" +
	// the first element's SID: S-1-5-32-544
	"02000000" + "01" + "02" + "000000000005" + "20000000" + "20020000" +
	// Domain's SID: S-1-5-21-1-2-3
	"04000000" + "01" + "04" + "000000000005" + "15000000" + "01000000" + "02000000" + "03000000"

func TestDeferredReferents(t *testing.T) {
	want := &sample{
		Name:   "hi",
		Extra:  []sidAttr{{SID: mustSID(t, "S-1-5-32-544"), Attr: 7}, {Attr: 0x20000001}},
		Domain: mustSID(t, "S-1-5-21-1-2-3"),
		Count:  7,
	}
	wire, _ := hex.DecodeString(sampleWire)
	var e Encoder
	e.Pointer(true, want.encode)
	e.Flush()
	if !bytes.Equal(e.Bytes(), wire) {
		t.Fatalf("encoded\n%x\nwant\n%x", e.Bytes(), wire)
	}
	got, err := decodeSample(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v\nwant %+v", got, want)
	}
	if got.Extra[0].SID.String() != "S-1-5-32-544" || got.Domain.String() != "S-1-5-21-1-2-3" {
		t.Fatalf("SIDs %v %v", got.Extra[0].SID, got.Domain)
	}
}

func TestTruncatedNeverPanics(t *testing.T) {
	wire, _ := hex.DecodeString(sampleWire)
	for n := range len(wire) {
		if _, err := decodeSample(wire[:n]); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(wire))
		}
	}
}

func TestMalformed(t *testing.T) {
	wire, _ := hex.DecodeString(sampleWire)
	tests := []struct {
		name string
		off  int    // where to write
		val  string // hex
		want string
	}{
		{"string longer than maximum", 4, "0600", "RPC_UNICODE_STRING length"},
		{"odd string length", 4, "0300", "RPC_UNICODE_STRING length"},
		{"string array disagrees", 36, "03000000", "disagrees"},
		{"varying beyond maximum", 40, "01000000", "exceeds its maximum"},
		{"huge array count", 52, "ffffff0f", "does not fit"},
		{"SID count mismatch", 72, "03000000", "SID with"},
		{"null top-level ref pointer", 0, "00000000", "null reference pointer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(wire)
			v, _ := hex.DecodeString(tc.val)
			copy(b[tc.off:], v)
			_, err := decodeSample(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCountBoundedByInput(t *testing.T) {
	// A count of a million 8-byte elements in 8 bytes of input is refused before anything
	// is allocated for it.
	d := NewDecoder([]byte{0x40, 0x42, 0x0f, 0, 0, 0, 0, 0})
	if n := d.Count(8); n != 0 || d.Err() == nil {
		t.Fatalf("Count = %d, err %v", n, d.Err())
	}
	d = NewDecoder([]byte{0xff, 0xff, 0xff, 0xff})
	if n := d.ConformantVarying(1); n != 0 || d.Err() == nil {
		t.Fatalf("ConformantVarying = %d, err %v", n, d.Err())
	}
	// Reads after an error return zero values and keep the first error.
	if d.Uint32() != 0 || d.Uint64() != 0 || d.Bytes(1) != nil || !strings.Contains(d.Err().Error(), "too large") {
		t.Fatalf("reads after an error: %v", d.Err())
	}
}

func TestSIDTooLong(t *testing.T) {
	b := append([]byte{16, 0, 0, 0, 1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64)...)
	d := NewDecoder(b)
	if d.SID(); d.Err() == nil || !strings.Contains(d.Err().Error(), "SID with 16") {
		t.Fatalf("err = %v", d.Err())
	}
}

func TestFullPointerAliases(t *testing.T) {
	// Two full pointers with the same referent ID: one referent follows.
	b, _ := hex.DecodeString("04000200" + "04000200" + "2a000000")
	d := NewDecoder(b)
	var reads int
	var v uint32
	id1 := d.FullPointer(func(d *Decoder, id uint32) { reads++; v = d.Uint32() })
	id2 := d.FullPointer(func(d *Decoder, id uint32) { reads++; v = d.Uint32() })
	if err := d.Flush(); err != nil || reads != 1 || v != 42 || id1 != id2 || d.Remaining() != 0 {
		t.Fatalf("reads %d, v %d, ids %x %x, err %v", reads, v, id1, id2, err)
	}
}

func TestNestingBounded(t *testing.T) {
	// A self-referential list: each node a pointer to the next. The depth limit stops it
	// before MaxDepth+1 levels whatever the input holds.
	var b []byte
	for range MaxDepth + 4 {
		b = append(b, 4, 0, 2, 0)
	}
	d := NewDecoder(b)
	var node func(*Decoder)
	node = func(d *Decoder) { d.Pointer(node) }
	node(d)
	if err := d.Flush(); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("err = %v", err)
	}
}

func TestSIDForms(t *testing.T) {
	for _, s := range []string{"S-1-5-21-397955417-626881126-188441444-512", "S-1-5-32-544", "S-1-1-0", "S-1-0x123456789abc-1"} {
		v, err := ParseSID(s)
		if err != nil {
			t.Fatal(err)
		}
		if v.String() != s {
			t.Errorf("%s round trips to %s", s, v)
		}
		bin, err := ParseBinarySID(v.AppendBinary(nil))
		if err != nil || !bin.Equal(v) {
			t.Errorf("%s: binary form: %v %v", s, bin, err)
		}
	}
	for _, s := range []string{"", "S-1", "X-1-5", "S-1-5-x", "S-256-5", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"} {
		if _, err := ParseSID(s); err == nil {
			t.Errorf("ParseSID(%q) succeeded", s)
		}
	}
	for _, b := range [][]byte{nil, {1, 1, 0, 0, 0, 0, 0, 5}, {1, 16, 0, 0, 0, 0, 0, 5}} {
		if _, err := ParseBinarySID(b); err == nil {
			t.Errorf("ParseBinarySID(%x) succeeded", b)
		}
	}
	dom := mustSID(t, "S-1-5-21-1-2-3")
	if u := dom.Append(1104); u.String() != "S-1-5-21-1-2-3-1104" || dom.String() != "S-1-5-21-1-2-3" {
		t.Fatalf("Append: %v, domain now %v", u, dom)
	}
}

func TestSerialization1(t *testing.T) {
	data := []byte{1, 2, 3}
	b := AppendSerialization1(nil, data)
	want, _ := hex.DecodeString("01100800cccccccc" + "0800000000000000" + "0102030000000000")
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x", b)
	}
	body, err := ParseSerialization1(b)
	if err != nil || !bytes.Equal(body, want[16:]) {
		t.Fatalf("body %x, err %v", body, err)
	}
	for _, bad := range []string{"01100800cccccccc", "00100800cccccccc0000000000000000", "01000800cccccccc0000000000000000", "01100800cccccccc1000000000000000"} {
		b, _ := hex.DecodeString(bad)
		if _, err := ParseSerialization1(b); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestTruncatedIsErrTruncated(t *testing.T) {
	d := NewDecoder([]byte{1, 2})
	d.Uint32()
	if !errors.Is(d.Err(), ErrTruncated) {
		t.Fatal(d.Err())
	}
}

// FuzzDecode checks that decoding never panics, and that what decodes re-encodes to a
// value that decodes the same.
func FuzzDecode(f *testing.F) {
	wire, _ := hex.DecodeString(sampleWire)
	f.Add(wire)
	f.Add([]byte{0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSample(b)
		if err != nil {
			return
		}
		var e Encoder
		e.Pointer(true, s.encode)
		e.Flush()
		s2, err := decodeSample(e.Bytes())
		if err != nil {
			t.Fatalf("re-decoding our encoding: %v\n%x", err, e.Bytes())
		}
		if !reflect.DeepEqual(norm(s), norm(s2)) {
			t.Fatalf("round trip changed the value:\n%+v\n%+v", s, s2)
		}
	})
}

// norm maps an empty Extra array to nil: the encoder writes an empty slice as a pointer to
// zero elements and nil as null, so both survive, but a decoded empty array is non-nil.
func norm(s *sample) *sample {
	c := *s
	if len(c.Extra) == 0 {
		c.Extra = nil
	}
	return &c
}
