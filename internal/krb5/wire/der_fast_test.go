package wire

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// TestReadASN1MatchesCryptobyte checks the inlined fast path against cryptobyte's
// ReadASN1 on every identifier octet, every short-form and the interesting long-form
// length octets, inputs too short, exact and with trailing bytes: the same result, the
// same contents and the same remainder.
func TestReadASN1MatchesCryptobyte(t *testing.T) {
	tags := []asn1.Tag{tagInteger, tagOctetString, tagGeneralStr, tagGenTime, tagSequence, tagBitString, tagBoolean,
		ctx(0), ctx(1), ctx(10), ctx(30), app(1), app(14), app(30)}
	var heads [][]byte
	for id := 0; id < 256; id++ {
		for l := 0; l < 256; l++ {
			heads = append(heads, []byte{byte(id), byte(l)})
		}
		for _, long := range [][]byte{{0x81, 0x7f}, {0x81, 0x80}, {0x81, 0xff}, {0x82, 0x00, 0x80}, {0x82, 0x01, 0x00},
			{0x82, 0x00, 0xff}, {0x82, 0x01, 0x2c}, {0x82, 0x01, 0x2d}, {0x82, 0x00, 0x00}, {0x82, 0xff, 0xff}, {0x81, 0x00},
			{0x83, 0x00, 0x01, 0x00}, {0x83, 0x01, 0x00, 0x00}, {0x84, 0, 0, 1, 0}, {0x85, 0, 0, 0, 1, 0}, {0x80}} {
			heads = append(heads, append([]byte{byte(id)}, long...))
		}
	}
	body := bytes.Repeat([]byte{0x5a}, 300)
	n := 0
	for _, h := range heads {
		for _, extra := range []int{-1, 0, 1, 3} {
			want := lengthOf(h)
			size := want + extra
			if size < 0 || size > len(body) {
				size = 0
			}
			in := append(append([]byte(nil), h...), body[:size]...)
			for _, tag := range tags {
				n++
				ref, fast := cryptobyte.String(in), cryptobyte.String(in)
				var refOut, fastOut cryptobyte.String
				refOK := ref.ReadASN1(&refOut, tag)
				fastOK := readASN1(&fast, &fastOut, tag)
				if refOK != fastOK || (refOK && (!bytes.Equal(refOut, fastOut) || !bytes.Equal(ref, fast))) {
					t.Fatalf("tag %#x input % x: cryptobyte %v (%d bytes, rest %d), fast %v (%d bytes, rest %d)",
						tag, in[:min(len(in), 8)], refOK, len(refOut), len(ref), fastOK, len(fastOut), len(fast))
				}
			}
		}
	}
	if n < 1_000_000 {
		t.Fatalf("only %d cases", n)
	}
}

// lengthOf is the content length a header announces, as far as a test needs it.
func lengthOf(h []byte) int {
	if h[1] < 0x80 {
		return int(h[1])
	}
	v := 0
	for _, b := range h[2:] {
		v = v<<8 | int(b)
	}
	return v
}

// readTimeFieldDate is the general path readTimeField replaced: the fields through
// time.Date, a date past its month's end caught by the normalisation.
func readTimeFieldDate(s *cryptobyte.String, n int, out *time.Time) bool {
	var c, o cryptobyte.String
	if !s.ReadASN1(&c, ctx(n)) || !c.ReadASN1(&o, tagGenTime) || !c.Empty() || len(o) != 15 || o[14] != 'Z' {
		return false
	}
	var v [6]int
	widths := [6]int{4, 2, 2, 2, 2, 2}
	p := 0
	for i, w := range widths {
		for j := 0; j < w; j++ {
			d := o[p]
			if d < '0' || d > '9' {
				return false
			}
			v[i] = v[i]*10 + int(d-'0')
			p++
		}
	}
	year, month, day, hour, minute, sec := v[0], v[1], v[2], v[3], v[4], v[5]
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day {
		return false
	}
	*out = t
	return true
}

// TestReadTimeMatchesDate compares readTimeField with the time.Date path on every day
// (and the days 0, 29..32 and months 0, 13..19, 99 around them) of every year 0000..9999,
// on every hour, minute and second value 00..99, and on malformed shapes: a non-digit or
// a wrong terminator in each position, fractions, offsets, other lengths and tags.
func TestReadTimeMatchesDate(t *testing.T) {
	check := func(v []byte) {
		t.Helper()
		der := append([]byte{byte(ctx(5)), byte(len(v) + 2), tagGenTime, byte(len(v))}, v...)
		ref, fast := cryptobyte.String(der), cryptobyte.String(der)
		var a, b time.Time
		okA, okB := readTimeFieldDate(&ref, 5, &a), readTimeField(&fast, 5, &b)
		if okA != okB || a != b || (okA && len(ref) != len(fast)) {
			t.Fatalf("%q: time.Date path %v %v, fast path %v %v", v, okA, a, okB, b)
		}
	}
	gt := func(y, mo, d, h, mi, s int) []byte {
		b := appendDigits(make([]byte, 0, 15), y, 4)
		for _, v := range []int{mo, d, h, mi, s} {
			b = appendDigits(b, v, 2)
		}
		return append(b, 'Z')
	}
	months := []int{0, 13, 19, 99}
	for m := 1; m <= 12; m++ {
		months = append(months, m)
	}
	for y := 0; y <= 9999; y++ {
		for _, m := range months {
			for d := 0; d <= 32; d++ {
				check(gt(y, m, d, (y+d)%24, (y*7+d)%60, (y*13+m)%60))
			}
		}
	}
	for v := 0; v <= 99; v++ {
		check(gt(2024, 2, 29, v, 0, 0))
		check(gt(2024, 12, 31, 23, v, 0))
		check(gt(1999, 12, 31, 23, 59, v))
		check(gt(v, 1, 1, 0, 0, 0))
	}
	base := gt(2026, 11, 27, 12, 34, 56)
	for i := range base {
		for _, c := range []byte{'/', ':', 'a', 'Z', ' ', '.', '+', '-', 0, 0xff, '0', '9'} {
			v := append([]byte(nil), base...)
			v[i] = c
			check(v)
		}
	}
	for _, v := range []string{"20261127123456.5Z", "20261127123456", "20261127123456+0100", "202611271234Z",
		"2026112712345Z", "202611271234567Z", "", "Z", "99991231235959Z", "00000101000000Z", "00000229000000Z",
		"19000229000000Z", "20000229000000Z", "21000229000000Z", "24000229000000Z"} {
		check([]byte(v))
	}
	// A wrong inner tag, and trailing bytes inside the [5] wrapper.
	for _, der := range [][]byte{
		append([]byte{byte(ctx(5)), 17, tagGeneralStr, 15}, base...),
		append(append([]byte{byte(ctx(5)), 18, tagGenTime, 15}, base...), 0),
	} {
		ref, fast := cryptobyte.String(der), cryptobyte.String(der)
		var a, b time.Time
		if okA, okB := readTimeFieldDate(&ref, 5, &a), readTimeField(&fast, 5, &b); okA || okB {
			t.Fatalf("% x accepted: %v %v", der, okA, okB)
		}
	}
}

// TestFieldOfMatchesGeneral checks fieldOf's one-step path against field, readASN1 and
// the wrapper's end on every pair of wrapper and inner length octets (short and long
// form), under the right and wrong wrapper and inner tags, with the input cut short,
// exact and followed by more.
func TestFieldOfMatchesGeneral(t *testing.T) {
	body := bytes.Repeat([]byte{0x31}, 300)
	n := 0
	for _, outer := range []byte{byte(ctx(3)), byte(ctx(4)), tagSequence} {
		for ol := 0; ol < 256; ol++ {
			for _, inner := range []byte{tagInteger, tagGenTime} {
				for il := 0; il < 256; il++ {
					for _, extra := range []int{-1, 0, 2} {
						size := min(ol, 0x7f) - 2 + extra
						if size < 0 {
							size = 0
						}
						in := append([]byte{outer, byte(ol), inner, byte(il)}, body[:size]...)
						n++
						ref, fast := cryptobyte.String(in), cryptobyte.String(in)
						var c, refOut, fastOut cryptobyte.String
						refOK := field(&ref, 3, &c) && readASN1(&c, &refOut, tagInteger) && c.Empty()
						fastOK := fieldOf(&fast, 3, tagInteger, &fastOut)
						if refOK != fastOK || (refOK && (!bytes.Equal(refOut, fastOut) || !bytes.Equal(ref, fast))) {
							t.Fatalf("% x: general %v (% x, rest %d), one step %v (% x, rest %d)",
								in[:4], refOK, refOut, len(ref), fastOK, fastOut, len(fast))
						}
					}
				}
			}
		}
	}
	// Long forms, built whole.
	for _, inLen := range []int{0, 1, 125, 126, 127, 128, 200, 300} {
		in := []byte{tagInteger}
		if inLen < 128 {
			in = append(in, byte(inLen))
		} else if inLen < 256 {
			in = append(in, 0x81, byte(inLen))
		} else {
			in = append(in, 0x82, byte(inLen>>8), byte(inLen))
		}
		in = append(in, bytes.Repeat([]byte{1}, inLen)...)
		var e encoder
		p := e.open(ctx(3))
		e.raw(in)
		e.close(p)
		ref, fast := cryptobyte.String(e.b), cryptobyte.String(e.b)
		var c, refOut, fastOut cryptobyte.String
		refOK := field(&ref, 3, &c) && readASN1(&c, &refOut, tagInteger) && c.Empty()
		fastOK := fieldOf(&fast, 3, tagInteger, &fastOut)
		if !refOK || !fastOK || !bytes.Equal(refOut, fastOut) || len(fastOut) != inLen {
			t.Fatalf("length %d: general %v, one step %v", inLen, refOK, fastOK)
		}
	}
	if n < 1_000_000 {
		t.Fatalf("only %d cases", n)
	}
}

// TestCalendarMatchesTime compares calendar with time's Date and Clock on a time of every
// day of the years 0000..9999 (the second moving through the day), at the ends of each
// day, outside that range, and in zones other than UTC.
func TestCalendarMatchesTime(t *testing.T) {
	check := func(tm time.Time) {
		t.Helper()
		y, mo, d, h, mi, s := calendar(tm)
		u := tm.UTC()
		wy, wmo, wd := u.Date()
		wh, wmi, ws := u.Clock()
		if y != wy || mo != wmo || d != wd || h != wh || mi != wmi || s != ws {
			t.Fatalf("%v: calendar %04d-%02d-%02d %02d:%02d:%02d", u, y, mo, d, h, mi, s)
		}
	}
	n := 0
	for u := int64(minTimeUnix); u < maxTimeUnix; u += 86400 {
		check(time.Unix(u+int64(n%86400), 0))
		n += 7919
	}
	for _, u := range []int64{minTimeUnix - 86400, minTimeUnix - 1, minTimeUnix, minTimeUnix + 86399, -1, 0, 1,
		951782400, 951868799, 4107542399, maxTimeUnix - 1, maxTimeUnix, maxTimeUnix + 86400*400} {
		check(time.Unix(u, 0))
		check(time.Unix(u, 999999999))
	}
	for _, zone := range []*time.Location{time.FixedZone("east", 14*3600), time.FixedZone("west", -12*3600)} {
		for _, u := range []int64{minTimeUnix, 0, 951782400, maxTimeUnix - 1} {
			check(time.Unix(u, 0).In(zone))
		}
	}
	if n < 3_000_000 {
		t.Fatalf("only %d days", n/7919)
	}
}
