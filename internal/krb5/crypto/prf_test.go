package krbcrypto

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// PRF vectors: RFC 8009 A (the aes-sha2 ones) and MIT krb5 1.20's
// lib/crypto/crypto_tests/t_prf.c (the aes-sha1 ones, whose input starts with PRF+'s
// counter octet).
func TestPRF(t *testing.T) {
	for _, c := range []struct {
		e          EType
		key, input string
		want       string
	}{
		{AES128CTSHMACSHA196, "ae272e7cdec86ac5138cdb196d8e297d", "0161", "77b39a37a868920f2a51f9dd150c5717"},
		{AES128CTSHMACSHA196, "67ab1cfef35e4c27ffdeac60385a3e9c", "0162", "e06c0dd31ff02091994f2ef5178bfe3d"},
		{AES256CTSHMACSHA196, "c01f157211f7b77eaaf457c3e156690127ee127d810ba6392e97baa243eb0616", "0161", "b2628c788e2e9c4a9bb4644678c29f2f"},
		{AES256CTSHMACSHA196, "c01f157211f7b77eaaf457c3e156690127ee127d810ba6392e97baa243eb0616", "0261", "b406373350cee8a6126f4a9b65a0cd21"},
		{AES256CTSHMACSHA196, "9d520d2d980aa7cb6b693682b62da258b333867951642ce647ae62b1e5e0b5e9", "0162", "ff0e289ea756c0559a0e911856961a49"},
		{AES256CTSHMACSHA196, "9d520d2d980aa7cb6b693682b62da258b333867951642ce647ae62b1e5e0b5e9", "0262", "0d674dd0f9a6806525a4d92e828bd15a"},
		{AES128CTSHMACSHA256128, "3705d96080c17728a0e800eab6e0d23c", hex.EncodeToString([]byte("test")),
			"9d188616f63852fe86915bb840b4a886ff3e6bb0f819b49b893393d393854295"},
		{AES256CTSHMACSHA384192, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", hex.EncodeToString([]byte("test")),
			"9801f69a368c2bf675e59521e177d9a07f67efe1cfde8d3c8d6f6a0256e3b17db3c1b62ad1b8553360d17367eb1514d2"},
	} {
		k, err := NewKey(c.e, unhex(t, c.key))
		if err != nil {
			t.Fatal(err)
		}
		if got := k.PRF(unhex(t, c.input)); !bytes.Equal(got, unhex(t, c.want)) {
			t.Errorf("%s PRF(%s) = %x, want %s", c.e, c.input, got, c.want)
		}
	}
}

// CF2 vectors: MIT krb5 1.20's lib/crypto/crypto_tests/t_cf2.in and t_cf2.expected
// (keys from string-to-key of "key1" and "key2", each its own salt; peppers "a", "b").
func TestCF2(t *testing.T) {
	for _, c := range []struct {
		e    EType
		want string
	}{
		{AES128CTSHMACSHA196, "97df97e4b798b29eb31ed7280287a92a"},
		{AES256CTSHMACSHA196, "4d6ca4e629785c1f01baf55e2e548566b9617ae3a96868c337cb93b5e72b1c7b"},
		{RC4HMAC, "24d7f6b6bae4e5c00d2082c5ebab3672"},
		{AES128CTSHMACSHA256128, "edd02a39d2dbde31611c16e610be062c"},
		{AES256CTSHMACSHA384192, "67f6ea530aea85a37dcbb23349ea52dcc61ca8493ff557252327fd8304341584"},
	} {
		k1, err := StringToKey(c.e, "key1", "key1", nil)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := StringToKey(c.e, "key2", "key2", nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := CF2(k1, k2, "a", "b")
		if err != nil {
			t.Fatal(err)
		}
		if out.EType() != c.e || !bytes.Equal(out.Bytes(), unhex(t, c.want)) {
			t.Errorf("%s CF2 = %s %x, want %s", c.e, out.EType(), out.Bytes(), c.want)
		}
		// CF2 is not symmetric in its peppers: swapping them must change the key.
		if sw, _ := CF2(k1, k2, "b", "a"); sw.Equal(out) {
			t.Errorf("%s CF2 ignores the order of the peppers", c.e)
		}
	}
}

func TestPRFPlusLength(t *testing.T) {
	k, _ := NewKey(AES128CTSHMACSHA196, make([]byte, 16))
	a, err := k.PRFPlus([]byte("x"), 40)
	if err != nil || len(a) != 40 {
		t.Fatalf("PRF+ 40 bytes: %d, %v", len(a), err)
	}
	// The first block is PRF(1 | input), the second PRF(2 | input).
	if !bytes.Equal(a[:16], k.PRF([]byte("\x01x"))) || !bytes.Equal(a[16:32], k.PRF([]byte("\x02x"))) {
		t.Errorf("PRF+ blocks are not PRF(counter | input)")
	}
	if _, err := k.PRFPlus([]byte("x"), 16*256); err == nil {
		t.Errorf("PRF+ of 256 outputs succeeded; the counter is one octet")
	}
}
