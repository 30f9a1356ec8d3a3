package wire

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// DER identifier octets of RFC 4120's universal types.
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagGeneralStr  = 0x1b // KerberosString and Realm (RFC 4120 5.2.1)
	tagGenTime     = 0x18 // KerberosTime (RFC 4120 5.2.3)
	tagSequence    = 0x30
)

func ctx(n int) asn1.Tag { return asn1.Tag(0xa0 | n) }

// app returns the constructed [APPLICATION n] identifier (n <= 30).
func app(n int) asn1.Tag { return asn1.Tag(0x60 | n) }

// readASN1 is cryptobyte's (*String).ReadASN1 with the common cases written out: a
// short-form length, or a minimal one- or two-octet long form (ticket and ciphertexts),
// under one of this package's tags (all one-octet). The decoders read
// a hundred or so elements per AP-REQ, and cryptobyte's general path (ReadAnyASN1,
// readASN1, ReadBytes, Skip) was a tenth of an acceptor's time. Anything else (a
// longer length, a mismatch, a short input) goes to cryptobyte, so the decisions are
// cryptobyte's in every case (TestReadASN1MatchesCryptobyte).
func readASN1(s, out *cryptobyte.String, tag asn1.Tag) bool {
	b := *s
	if len(b) < 2 || b[0] != byte(tag) {
		return s.ReadASN1(out, tag)
	}
	var h, n int
	switch l := b[1]; {
	case l < 0x80:
		h, n = 2, int(l)
	case l == 0x81 && len(b) >= 3 && b[2] >= 0x80: // DER: under 128 takes the short form
		h, n = 3, int(b[2])
	case l == 0x82 && len(b) >= 4 && b[2] != 0: // DER: no leading zero octet
		h, n = 4, int(b[2])<<8|int(b[3])
	default:
		return s.ReadASN1(out, tag)
	}
	if n > len(b)-h {
		return s.ReadASN1(out, tag)
	}
	*out, *s = b[h:h+n], b[h+n:]
	return true
}

// field reads the explicit [n] wrapper of a mandatory field into out.
func field(s *cryptobyte.String, n int, out *cryptobyte.String) bool {
	return readASN1(s, out, ctx(n))
}

// fieldOf reads [n] holding exactly one element of tag, into out that element's contents:
// field, readASN1 and the wrapper's end in one step when both lengths are short-form, as
// nearly every field of an AP-REQ's ticket and authenticator is; otherwise those three,
// so the decisions are theirs.
func fieldOf(s *cryptobyte.String, n int, tag asn1.Tag, out *cryptobyte.String) bool {
	b := *s
	if len(b) >= 4 && b[0] == byte(ctx(n)) && b[1] < 0x80 && int(b[1]) <= len(b)-2 && b[1] >= 2 && b[2] == byte(tag) && b[3] == b[1]-2 {
		end := 2 + int(b[1])
		*out, *s = b[4:end], b[end:]
		return true
	}
	var c cryptobyte.String
	return field(s, n, &c) && readASN1(&c, out, tag) && c.Empty()
}

// optional reads the explicit [n] wrapper when it is the next element; present says whether.
func optional(s *cryptobyte.String, n int, out *cryptobyte.String, present *bool) bool {
	*present = s.PeekASN1Tag(ctx(n))
	if !*present {
		return true
	}
	return readASN1(s, out, ctx(n))
}

// readInteger reads an INTEGER that fits 64 bits, in DER's minimal two's complement form.
func readInteger(s *cryptobyte.String, out *int64) bool {
	var c cryptobyte.String
	return readASN1(s, &c, tagInteger) && integer(c, out)
}

// integer decodes an INTEGER's contents c (readInteger).
func integer(c []byte, out *int64) bool {
	if len(c) == 0 || len(c) > 8 {
		return false
	}
	// X.690 8.3.2: the first nine bits are neither all zero nor all one.
	if len(c) > 1 && ((c[0] == 0 && c[1]&0x80 == 0) || (c[0] == 0xff && c[1]&0x80 != 0)) {
		return false
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	*out = v
	return true
}

// int32Field reads [n] Int32, the whole of the wrapper.
func int32Field(s *cryptobyte.String, n int, out *int32) bool {
	var c cryptobyte.String
	var v int64
	if !fieldOf(s, n, tagInteger, &c) || !integer(c, &v) || v != int64(int32(v)) {
		return false
	}
	*out = int32(v)
	return true
}

// uint32Field reads [n] UInt32. RFC 4120 5.2.4 notes that implementations have sent nonces
// (and kvnos and sequence numbers) as negative Int32 values; like MIT, such values are
// accepted and read as their 32-bit two's complement. Encoding always writes 0..2^32-1.
func uint32Field(s *cryptobyte.String, n int, out *uint32) bool {
	var c cryptobyte.String
	var v int64
	if !fieldOf(s, n, tagInteger, &c) || !integer(c, &v) || v < -1<<31 || v > 1<<32-1 {
		return false
	}
	*out = uint32(v)
	return true
}

func readUint32(s *cryptobyte.String, out *uint32) bool {
	var v int64
	if !readInteger(s, &v) || v < -1<<31 || v > 1<<32-1 {
		return false
	}
	*out = uint32(v)
	return true
}

// constField reads [n] INTEGER and checks it equals want (pvno, msg-type).
func constField(s *cryptobyte.String, n int, want int32) bool {
	var v int32
	return int32Field(s, n, &v) && v == want
}

// stringField reads [n] KerberosString. RFC 4120 5.2.1 asks for IA5 characters; MIT and
// Windows put UTF-8 there, so any bytes but NUL pass.
func stringField(s *cryptobyte.String, n int, out *string) bool {
	var c cryptobyte.String
	if !fieldOf(s, n, tagGeneralStr, &c) || len(c) > MaxStringLen || hasNUL(c) {
		return false
	}
	*out = string(c)
	return true
}

// octetsField reads [n] OCTET STRING; out aliases s.
func octetsField(s *cryptobyte.String, n int, out *[]byte) bool {
	var o cryptobyte.String
	if !fieldOf(s, n, tagOctetString, &o) {
		return false
	}
	*out = o
	return true
}

// boolField reads [n] BOOLEAN in DER form (0x00 or 0xff).
func boolField(s *cryptobyte.String, n int, out *bool) bool {
	var o cryptobyte.String
	if !fieldOf(s, n, tagBoolean, &o) || len(o) != 1 {
		return false
	}
	switch o[0] {
	case 0:
		*out = false
	case 0xff:
		*out = true
	default:
		return false
	}
	return true
}

// timeField reads [n] KerberosTime: GeneralizedTime "YYYYMMDDHHMMSSZ", no fractions, UTC
// (RFC 4120 5.2.3), parsed by hand so that decoding allocates nothing.
func timeField(s *cryptobyte.String, n int, out *time.Time) bool {
	var t time.Time
	if !readTimeField(s, n, &t) {
		return false
	}
	*out = t
	return true
}

// optTimeField reads an OPTIONAL [n] KerberosTime into out, leaving it zero when absent. The
// zero time.Time stands for "absent", so a present value equal to it (0001-01-01 00:00:00,
// which no implementation sends) is refused rather than lost.
func optTimeField(s *cryptobyte.String, n int, out *time.Time) bool {
	if !s.PeekASN1Tag(ctx(n)) {
		return true
	}
	return readTimeField(s, n, out) && !out.IsZero()
}

func readTimeField(s *cryptobyte.String, n int, out *time.Time) bool {
	var o cryptobyte.String
	if !fieldOf(s, n, tagGenTime, &o) || len(o) != 15 || o[14] != 'Z' {
		return false
	}
	for _, d := range o[:14] {
		if d < '0' || d > '9' {
			return false
		}
	}
	dd := func(i int) int { return int(o[i]-'0')*10 + int(o[i+1]-'0') }
	year, month, day, hour, minute, sec := dd(0)*100+dd(2), dd(4), dd(6), dd(8), dd(10), dd(12)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	// The seconds since 1970 straight from the calendar date: time.Date would normalise
	// the fields and look up the zone, and the check for a day past the month's end would
	// take the date apart again. Both give the same time.Time (TestReadTimeMatchesDate).
	*out = time.Unix(unixDays(year, month, day)*86400+int64(hour*3600+minute*60+sec), 0).UTC()
	return true
}

// daysIn is the number of days of month (1..12) in year, proleptic Gregorian.
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month/8)&1
}

// unixDays counts the days from 1970-01-01 to a valid date of years 0..9999, through
// the Julian day number (the year counted from -4800, so every term is positive).
func unixDays(year, month, day int) int64 {
	a := (14 - month) / 12
	y := int64(year + 4800 - a)
	m := int64(month + 12*a - 3)
	return int64(day) + (153*m+2)/5 + 365*y + y/4 - y/100 + y/400 - 32045 - 2440588
}

// flagsField reads [n] KerberosFlags: a BIT STRING of which the first 32 bits are the flags,
// bit 0 the most significant (RFC 4120 5.2.8). RFC 4120 lets senders send at least 32
// bits, so longer strings are read and bits past 31 ignored; shorter ones (DER's trailing-
// zero trimming, which Heimdal applies) are padded with zeros. Unused bits must be zero.
func flagsField(s *cryptobyte.String, n int, out *uint32) bool {
	var o cryptobyte.String
	if !fieldOf(s, n, tagBitString, &o) || len(o) == 0 || len(o) > 1+maxFlagBytes {
		return false
	}
	unused := o[0]
	if unused > 7 || (len(o) == 1 && unused != 0) || (len(o) > 1 && o[len(o)-1]&(1<<unused-1) != 0) {
		return false
	}
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 8
		if 1+i < len(o) {
			v |= uint32(o[1+i])
		}
	}
	*out = v
	return true
}

const maxFlagBytes = 16

// encoder appends DER to b. An element is opened with open, which writes the identifier
// and a one-byte length placeholder, and closed with close, which writes the real length,
// moving the content up when the length needs the long form. So a message is written top
// down in one buffer, without building children first or allocating per element.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) open(tag asn1.Tag) int {
	e.b = append(e.b, byte(tag), 0)
	return len(e.b)
}

var zeros [4]byte

func (e *encoder) close(start int) {
	n := len(e.b) - start
	if n < 0x80 {
		e.b[start-1] = byte(n)
		return
	}
	k := 1
	for v := n >> 8; v != 0; v >>= 8 {
		k++
	}
	e.b = append(e.b, zeros[:k]...)
	copy(e.b[start+k:], e.b[start:start+n])
	e.b[start-1] = 0x80 | byte(k)
	for i := 0; i < k; i++ {
		e.b[start+k-1-i] = byte(n >> (8 * i))
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) raw(b []byte) { e.b = append(e.b, b...) }

func (e *encoder) integer(v int64) {
	n := 1
	for w := v; w > 127 || w < -128; w >>= 8 {
		n++
	}
	e.b = append(e.b, tagInteger, byte(n))
	for i := n - 1; i >= 0; i-- {
		e.b = append(e.b, byte(v>>(8*i)))
	}
}

func (e *encoder) intField(n int, v int64) {
	p := e.open(ctx(n))
	e.integer(v)
	e.close(p)
}

func (e *encoder) octets(b []byte) {
	p := e.open(tagOctetString)
	e.raw(b)
	e.close(p)
}

func (e *encoder) octetsField(n int, b []byte) {
	p := e.open(ctx(n))
	e.octets(b)
	e.close(p)
}

func (e *encoder) str(typ, fld, v string) {
	if len(v) > MaxStringLen {
		e.fail(tooLarge(typ, fld))
	}
	p := e.open(tagGeneralStr)
	e.b = append(e.b, v...)
	e.close(p)
}

func (e *encoder) stringField(typ, fld string, n int, v string) {
	p := e.open(ctx(n))
	e.str(typ, fld, v)
	e.close(p)
}

func (e *encoder) boolField(n int, v bool) {
	b := byte(0)
	if v {
		b = 0xff
	}
	e.b = append(e.b, byte(ctx(n)), 3, tagBoolean, 1, b)
}

func (e *encoder) timeField(typ, fld string, n int, t time.Time) {
	y, mo, d, h, mi, sec := calendar(t)
	if y < 0 || y > 9999 {
		e.fail(invalid(typ, fld))
		y = 0
	}
	e.b = append(e.b, byte(ctx(n)), 17, tagGenTime, 15)
	e.b = appendDigits(e.b, y, 4)
	e.b = appendDigits(e.b, int(mo), 2)
	e.b = appendDigits(e.b, d, 2)
	e.b = appendDigits(e.b, h, 2)
	e.b = appendDigits(e.b, mi, 2)
	e.b = appendDigits(e.b, sec, 2)
	e.b = append(e.b, 'Z')
}

// Seconds since 1970 of 0000-01-01 and 10000-01-01, UTC.
const (
	minTimeUnix = -62167219200
	maxTimeUnix = 253402300800
)

// calendar is t's UTC date and time of day, as t.UTC().Date() and Clock() give them:
// for the years KerberosTime can hold, from the seconds since 1970 in a few integer
// steps (the inverse of unixDays, through days counted from a 1 March so that leap
// days fall at the end of a year); Date, Clock (and Year, Month, Day, ...) take the
// time apart again each. Compared with them in TestCalendarMatchesTime.
func calendar(t time.Time) (year int, month time.Month, day, hour, minute, sec int) {
	u := t.Unix()
	if u < minTimeUnix || u >= maxTimeUnix {
		t = t.UTC()
		year, month, day = t.Date()
		hour, minute, sec = t.Clock()
		return
	}
	// Counted from -0400-03-01, 400 years (146097 days) before 0000-03-01, so that
	// January and February of year 0 are not negative.
	u -= minTimeUnix + (60-146097)*86400
	days, s := int(u/86400), int(u%86400)
	era := days / 146097 // 400-year cycles
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100) // day of the year starting in March
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	m := mp + 3
	year = era*400 + yoe - 400
	if m > 12 {
		m -= 12
		year++
	}
	return year, time.Month(m), day, s / 3600, s / 60 % 60, s % 60
}

func appendDigits(b []byte, v, w int) []byte {
	var d [4]byte
	for i := w - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:w]...)
}

// flagsField writes 32 flag bits as MIT and Windows do: five content octets, none unused.
func (e *encoder) flagsField(n int, v uint32) {
	e.b = append(e.b, byte(ctx(n)), 7, tagBitString, 5, 0, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// seqOf reads a SEQUENCE OF whose elements each() consumes one by one, at most max of them.
func seqOf(s *cryptobyte.String, max int, each func(*cryptobyte.String) bool) (ok, tooMany bool) {
	var c cryptobyte.String
	if !readASN1(s, &c, tagSequence) {
		return false, false
	}
	for n := 0; !c.Empty(); n++ {
		if n == max {
			return false, true
		}
		if !each(&c) {
			return false, false
		}
	}
	return true, false
}

// listOf reads a SEQUENCE OF typ (at most MaxSequence elements, none after it in c), each
// element decoded in place by parse, which reports false on a malformed one. The elements
// are counted first, so the list is allocated once, at its size.
func listOf[T any](c *cryptobyte.String, typ string, parse func(*cryptobyte.String, *T) bool) ([]T, error) {
	var seq cryptobyte.String
	if !readASN1(c, &seq, tagSequence) || !c.Empty() {
		return nil, malformed(typ, "")
	}
	n, err := countElements(seq, typ)
	if err != nil {
		return nil, err
	}
	list := make([]T, n)
	for i := range list {
		if !parse(&seq, &list[i]) {
			return nil, malformed(typ, "")
		}
	}
	if !seq.Empty() {
		return nil, malformed(typ, "")
	}
	return list, nil
}

// countElements counts the elements of a SEQUENCE OF's contents, at most MaxSequence.
func countElements(seq cryptobyte.String, typ string) (int, error) {
	n := 0
	for ; !seq.Empty(); n++ {
		var elem cryptobyte.String
		var tag asn1.Tag
		if n == MaxSequence {
			return 0, tooLarge(typ, "")
		}
		if !seq.ReadAnyASN1Element(&elem, &tag) {
			return 0, malformed(typ, "")
		}
	}
	return n, nil
}

// listField reads an optional [n] SEQUENCE OF with parseList; when [n] is absent *out stays
// as it is (nil), which distinguishes an absent list from an empty one.
func listField[T any](s *cryptobyte.String, n int, typ string, out *[]T, parseList func(*cryptobyte.String) ([]T, error)) error {
	if !s.PeekASN1Tag(ctx(n)) {
		return nil
	}
	var c cryptobyte.String
	if !field(s, n, &c) {
		return malformed(typ, "")
	}
	list, err := parseList(&c)
	if err != nil {
		return err
	}
	*out = list
	return nil
}

func (e *encoder) optTimeField(typ, fld string, n int, t time.Time) {
	if !t.IsZero() {
		e.timeField(typ, fld, n, t)
	}
}

// microseconds checks RFC 4120's Microseconds range, 0..999999.
func microseconds(v int32) bool { return v >= 0 && v <= 999999 }

// top checks a whole message's size before decoding starts.
func top(b []byte, msg string) (cryptobyte.String, error) {
	if len(b) > MaxMessageSize {
		return nil, &Error{Message: msg, Err: ErrTooLarge}
	}
	return cryptobyte.String(b), nil
}
