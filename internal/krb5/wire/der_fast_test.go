package wire

import (
	"bytes"
	"testing"

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
			{0x82, 0x00, 0xff}, {0x83, 0x00, 0x01, 0x00}, {0x84, 0, 0, 1, 0}, {0x85, 0, 0, 0, 1, 0}, {0x80}} {
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
					t.Fatalf("tag %#x input % x: cryptobyte %v (% x, rest %d), fast %v (% x, rest %d)",
						tag, in[:min(len(in), 8)], refOK, refOut, len(ref), fastOK, fastOut, len(fast))
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
