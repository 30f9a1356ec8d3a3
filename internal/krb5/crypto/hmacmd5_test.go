package krbcrypto

import (
	"bytes"
	"testing"
)

// With an RC4 key the any-key HMAC-MD5 checksum is the rc4-hmac profile's own checksum
// (RFC 4757), which the vectors of this package check.
func TestHMACMD5ChecksumIsRC4Checksum(t *testing.T) {
	raw := bytes.Repeat([]byte{0x5a}, 16)
	k, err := NewKey(RC4HMAC, raw)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\x01\x00\x00\x00aliceSAMDOM.TESTKerberos")
	for _, u := range []uint32{17, 6, 3} {
		if got, want := HMACMD5Checksum(raw, data, u), k.Checksum(nil, data, u); !bytes.Equal(got, want) {
			t.Errorf("usage %d: %x, rc4-hmac checksum %x", u, got, want)
		}
	}
	// Any key length is taken (an AES-256 session key for PA-FOR-USER).
	if a, b := HMACMD5Checksum(bytes.Repeat([]byte{1}, 32), data, 17), HMACMD5Checksum(bytes.Repeat([]byte{2}, 32), data, 17); len(a) != 16 || bytes.Equal(a, b) {
		t.Errorf("32-byte keys: %x %x", a, b)
	}
}
