package krbcrypto

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"strings"
	"testing"
)

// Vectors from shared/spec/kerberos-gss-vectors.md, sections 2 to 6 (RFC 3961 A.1,
// RFC 3962 B, RFC 8009 A, MIT krb5 crypto_tests).

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNFold(t *testing.T) {
	for _, c := range []struct {
		bits int
		in   string
		want string
	}{
		{64, "012345", "be072631276b1955"},
		{56, "password", "78a07b6caf85fa"},
		{64, "Rough Consensus, and Running Code", "bb6ed30870b7f0e0"},
		{168, "password", "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{192, "MASSACHVSETTS INSTITVTE OF TECHNOLOGY", "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{168, "Q", "518a54a215a8452a518a54a215a8452a518a54a215"},
		{168, "ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"},
		{64, "kerberos", "6b65726265726f73"},
		{128, "kerberos", "6b65726265726f737b9b5b2b93132b93"},
		{168, "kerberos", "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"},
		{256, "kerberos", "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"},
	} {
		if got := hex.EncodeToString(nfold([]byte(c.in), c.bits/8)); got != c.want {
			t.Errorf("%d-fold(%q) = %s, want %s", c.bits, c.in, got, c.want)
		}
	}
	if k := foldedKerberos(); hex.EncodeToString(k[:]) != "6b65726265726f737b9b5b2b93132b93" {
		t.Errorf("cached n-fold(kerberos) = %x", k)
	}
	// The table of folded usage constants agrees with folding on the spot.
	for _, u := range []uint32{0, 2, 22, 25, 63, 64, 1000} {
		for _, c := range []byte{constKc, constKe, constKi} {
			got := foldedConstant(u, c)
			if want := nfold(usageConstant(u, c), 16); !bytes.Equal(got[:], want) {
				t.Errorf("folded constant %d/%x = %x, want %x", u, c, got, want)
			}
		}
	}
}

func TestStringToKey(t *testing.T) {
	g := string([]byte{0xf0, 0x9d, 0x84, 0x9e})
	x := strings.Repeat("X", 64)
	for _, c := range []struct {
		iter       uint32
		pass, salt string
		a128, a256 string
	}{
		{1, "password", "ATHENA.MIT.EDUraeburn", "42263c6e89f4fc28b8df68ee09799f15", "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"},
		{2, "password", "ATHENA.MIT.EDUraeburn", "c651bf29e2300ac27fa469d693bdda13", "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"},
		{1200, "password", "ATHENA.MIT.EDUraeburn", "4c01cd46d632d01e6dbe230a01ed642a", "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"},
		{5, "password", string([]byte{0x12, 0x34, 0x56, 0x78, 0x78, 0x56, 0x34, 0x12}), "e9b23d52273747dd5c35cb55be619d8e", "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31"},
		{1200, x, "pass phrase equals block size", "59d1bb789a828b1aa54ef9c2883f69ed", "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34"},
		{1200, x + "X", "pass phrase exceeds block size", "cb8005dc5f90179a7f02104c0018751d", "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b"},
		{50, g, "EXAMPLE.COMpianist", "f149c1f2e154a73452d43e7fe62a56e5", "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e"},
	} {
		params := []byte{byte(c.iter >> 24), byte(c.iter >> 16), byte(c.iter >> 8), byte(c.iter)}
		for e, want := range map[EType]string{AES128CTSHMACSHA196: c.a128, AES256CTSHMACSHA196: c.a256} {
			k, err := StringToKey(e, c.pass, c.salt, params)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(k.key()); got != want {
				t.Errorf("%v s2k(%q, %q, %d) = %s, want %s", e, c.pass, c.salt, c.iter, got, want)
			}
		}
	}
	salt := string(unhex(t, "10df9dd783e5bc8acea1730e74355f61")) + "ATHENA.MIT.EDUraeburn"
	for e, want := range map[EType]string{
		AES128CTSHMACSHA256128: "089bca48b105ea6ea77ca5d2f39dc5e7",
		AES256CTSHMACSHA384192: "45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467",
	} {
		k, err := StringToKey(e, "password", salt, []byte{0, 0, 0x80, 0})
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k.key()); got != want {
			t.Errorf("%v s2k = %s, want %s", e, got, want)
		}
	}
	k, err := StringToKey(RC4HMAC, "foo", "ignored", nil)
	if err != nil || hex.EncodeToString(k.key()) != "ac8e657f83df82beea5d43bdaf7800cc" {
		t.Errorf("rc4 s2k(foo) = %x, %v", k.key(), err)
	}
	for _, bad := range [][]byte{{0, 0, 0, 0}, {0xff, 0, 0, 0}, {0, 1}} {
		if _, err := StringToKey(AES128CTSHMACSHA196, "p", "s", bad); err == nil {
			t.Errorf("s2kparams %x accepted", bad)
		}
	}
}

func TestCTS(t *testing.T) {
	key := unhex(t, "636869636b656e207465726979616b69")
	b, _ := aes.NewCipher(key)
	uk := &UsageKey{p: &profiles[0], block: b}
	s := newState().(*state)
	const sentence = "I would like the General Gau's Chicken, please, and wonton soup."
	for _, c := range []struct {
		n           int
		out, nextIV string
	}{
		{17, "c6353568f2bf8cb4d8a580362da7ff7f97", "c6353568f2bf8cb4d8a580362da7ff7f"},
		{31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5", "fc00783e0efdb2c1d445d4c8eff7ed22"},
		{32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584", "39312523a78662d5be7fcbcc98ebf5a8"},
		{47, "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5", "b3fffd940c16a18c1b5549d2f838029e"},
		{48, "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8", "9dad8bbb96c4cdc03bc103e1a194bbd8"},
		{64, "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8", "4807efe836ee89a526730dbc2f7bc840"},
	} {
		want := unhex(t, c.out)
		// Every way of cutting the message into pieces gives the same bytes.
		for cut1 := 0; cut1 <= c.n; cut1 += 3 {
			for cut2 := cut1; cut2 <= c.n; cut2 += 5 {
				buf := []byte(sentence[:c.n])
				parts := [][]byte{buf[:cut1], buf[cut1:cut2], buf[cut2:]}
				ctsEncrypt(uk.block, s, parts, c.n)
				if !bytes.Equal(buf, want) {
					t.Fatalf("CTS(%d bytes, cuts %d,%d) = %x, want %x", c.n, cut1, cut2, buf, want)
				}
				if p, _ := ctsSplit(c.n); !bytes.Equal(buf[p-16:p], unhex(t, c.nextIV)) && c.n%16 != 0 {
					t.Errorf("next IV")
				}
				ctsDecrypt(uk.block, s, parts, c.n)
				if string(buf) != sentence[:c.n] {
					t.Fatalf("CTS decrypt(%d bytes, cuts %d,%d) = %q", c.n, cut1, cut2, buf)
				}
			}
		}
	}
}

func TestDeriveKeys(t *testing.T) {
	for _, c := range []struct {
		e          EType
		base       string
		kc, ke, ki string
	}{
		{AES128CTSHMACSHA196, "42263c6e89f4fc28b8df68ee09799f15", "34280a382bc92769b2da2f9ef066854b", "5b14fc4e250e14ddf9dccf1af6674f53", "4ed31063621684f09ae8d89991af3e8f"},
		{AES256CTSHMACSHA196, "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161", "bfab388bdcb238e9f9c98d6a878304f04d30c82556375ac507a7a852790f4674", "c7cfd9cd75fe793a586a542d87e0d1396f1134a104bb1a9190b8c90ada3ddf37", "97151b4c76945063e2eb0529dc067d97d7bba90776d8126d91f34f3101aea8ba"},
		{AES128CTSHMACSHA256128, "3705d96080c17728a0e800eab6e0d23c", "b31a018a48f54776f403e9a396325dc3", "9b197dd1e8c5609d6e67c3e37c62c72e", "9fda0e56ab2d85e1569a688696c26a6c"},
		{AES256CTSHMACSHA384192, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", "ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d", "56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49", "69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f"},
	} {
		k, err := NewKey(c.e, unhex(t, c.base))
		if err != nil {
			t.Fatal(err)
		}
		uk := k.Usage(2)
		for name, pair := range map[string][2]string{"Kc": {hex.EncodeToString(uk.checksumKey()), c.kc}, "Ki": {hex.EncodeToString(uk.ki()), c.ki}} {
			if pair[0] != pair[1] {
				t.Errorf("%v %s = %s, want %s", c.e, name, pair[0], pair[1])
			}
		}
		// Ke is kept only as the block's key schedule: the block must be AES under it.
		want, _ := aes.NewCipher(unhex(t, c.ke))
		var got, exp [16]byte
		uk.block.Encrypt(got[:], got[:])
		want.Encrypt(exp[:], exp[:])
		if got != exp {
			t.Errorf("%v: the block is not AES under Ke %s", c.e, c.ke)
		}
		if k.Usage(2) != uk {
			t.Errorf("%v: usage 2 derived twice", c.e)
		}
	}
}

var encVectors = []struct {
	e        EType
	usage    uint32
	key, pt  string // pt is hex
	conf, ct string
}{
	{RC4HMAC, 0, "f81fec39255f5784e850c4377c88bd85", "", "7bb7a0e7824e618c", "02c1eb15586144122ec717763dd348bf00434ddc6585954c"},
	{RC4HMAC, 1, "67d1300d281223867f9647ff48721273", "31", "c68c6978d6fdde2a", "6156e0cc04e0a0874f9fda008f498a7adbbc80b70b14dddbc0"},
	{RC4HMAC, 2, "3e40ab6093695281b3ac1a9304224d98", hex.EncodeToString([]byte("9 bytesss")), "2e449b546f075cfd", "0f9ad121d99d4a09448e4f1f718c4f5cbe6096262c66f29df232a87c9f98755d55"},
	{RC4HMAC, 3, "4ba2fbf0379faed87a254d3b353d5a7e", hex.EncodeToString([]byte("13 bytes byte")), "a707304844aa0120", "612c57568b17a70352bae8cf26fb9459a6f3353cd35fd439db3107cbec765d326dfc04c1dd"},
	{RC4HMAC, 4, "68f263db3fce15d031c9eab02d67107a", hex.EncodeToString([]byte("30 bytes bytes bytes bytes byt")), "37245e73a45fbf72", "95f9047c3ad75891c2e9b04b16566dc8b6eb9ce4231afb2542ef87a7b5a0f260a99f0460508de0cecc632d07c354124e46c5d2234eb8"},
	{AES128CTSHMACSHA196, 0, "5a5c0f0ba54f3828b2195e66ca24a289", "", "814fc74e38526a9c5922c0ee1677e36d", "49ff8e11c173d9583a3254fbe7b1f1df36c538e8416784a1672e6676"},
	{AES128CTSHMACSHA196, 1, "98450e3f3baa13f5c99beb936981b06f", "31", "ad7323404be6a6050419afeea869e71d", "f86742f537b35dc2174a4dbaa920faf9042090b065e1ebb1cad9a65394"},
	{AES128CTSHMACSHA196, 2, "9062430c8cda3388922e6d6a509f5b7a", hex.EncodeToString([]byte("9 bytesss")), "94b491f481485b9a0678cd3c4ea386ad", "68fb9679601f45c78857b2bf820fd6e53eca8d42fd4b1d7024a09205abb7cd2ec26c355d2f"},
	{AES128CTSHMACSHA196, 3, "033ee6502c54fd23e27791e987983827", hex.EncodeToString([]byte("13 bytes byte")), "0f3cd5bca51793d06cf4cbf968ff4c09", "ec366d0327a933bf49330e650e49bc6b974637fe80bf532fe51795b4809718e6194724db948d1fd637"},
	{AES128CTSHMACSHA196, 4, "dceeb70b3de76562e689226c76429148", hex.EncodeToString([]byte("30 bytes bytes bytes bytes byt")), "bd251a0c5c1da48d996e66536ed9d8b8", "c96081032d5d8eeb7e32b4089f789d0faa481dea74c0f97cbf3146ddfcf8e800156ecb532fc203e30ff600b63b350939fece510f02d7ff1e7bac"},
	{AES256CTSHMACSHA196, 0, "17f275f2954f2ed1f90c377ba7f4d6a369aa0136e0bf0c927ad6133c693759a9", "", "31f0ae6cf52f6d4546a726fff28cfc2a", "e5094c55ee7b38262e2b044280b069379a95bf95bd8376fb3281b435"},
	{AES256CTSHMACSHA196, 1, "b9477e1ff0329c0050e20ce6c72d2dff27e8fe541ab0954429a9cb5b4f7b1e2a", "31", "f0ad2bfa4f8793778c7c696984f26cdf", "406150b97aeb76d43b36b62cc1ecdfbe6f40e95755e0beb5c27825f3a4"},
	{AES256CTSHMACSHA196, 2, "b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7", hex.EncodeToString([]byte("9 bytesss")), "99201e21f348a16c5a0b13a70e7ce5b2", "09957aa25fcaf88f7b39e4406e633012d5fea21853f6478da7065caef41fd454a40824eec5"},
	{AES256CTSHMACSHA196, 3, "e5a72be9b7926c1225bafef9c1872e7ba4cdb2b17893d84abd90acdd8764d966", hex.EncodeToString([]byte("13 bytes byte")), "303c559dca743b6a2e4482adf2c4a86c", "d8f1aafeec84587cc3e700a774e56651a6d693e174ec4473b5e6d96f80297a653fb818ad893e719f96"},
	{AES256CTSHMACSHA196, 4, "f1c795e9248a09338d82c3f8d5b567040b0110736845041347235b1404231398", hex.EncodeToString([]byte("30 bytes bytes bytes bytes byt")), "e45ca518b42e266ad98e165e706ffb60", "d1137a4d634cfece924dbc3bf6790648bd5cff7de0e7b99460211d0daef3d79a295c688858f3b34b9cbd6eebae81daf6b734d4d498b6714f1c1d"},
	{AES128CTSHMACSHA256128, 2, "3705d96080c17728a0e800eab6e0d23c", "", "7e5895eaf2672435bad817f545a37148", "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"},
	{AES128CTSHMACSHA256128, 2, "3705d96080c17728a0e800eab6e0d23c", "000102030405", "7bca285e2fd4130fb55b1a5c83bc5b24", "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c"},
	{AES128CTSHMACSHA256128, 2, "3705d96080c17728a0e800eab6e0d23c", "000102030405060708090a0b0c0d0e0f", "56ab21713ff62c0a1457200f6fa9948f", "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc295fb4852e7d83e1e7c48c37eebe6b0d3"},
	{AES128CTSHMACSHA256128, 2, "3705d96080c17728a0e800eab6e0d23c", "000102030405060708090a0b0c0d0e0f1011121314", "a7a4e29a4728ce10664fb64e49ad3fac", "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc"},
	{AES256CTSHMACSHA384192, 2, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", "", "f764e9fa15c276478b2c7d0c4e5f58e4", "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c"},
	{AES256CTSHMACSHA384192, 2, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", "000102030405", "b80d3251c1f6471494256ffe712d0b9a", "4ed7b37c2bcac8f74f23c1cf07e62bc7b75fb3f637b9f559c7f664f69eab7b6092237526ea0d1f61cb20d69d10f2"},
	{AES256CTSHMACSHA384192, 2, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", "000102030405060708090a0b0c0d0e0f", "53bf8a0d105265d4e276428624ce5e63", "bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f68cf51f14d798c2273f35df574d1f932e40c4ff255b36a266"},
	{AES256CTSHMACSHA384192, 2, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", "000102030405060708090a0b0c0d0e0f1011121314", "763e65367e864f02f55153c7e3b58af1", "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62"},
}

func TestEncryptVectors(t *testing.T) {
	for i, c := range encVectors {
		k, err := NewKey(c.e, unhex(t, c.key))
		if err != nil {
			t.Fatal(err)
		}
		pt, want := unhex(t, c.pt), unhex(t, c.ct)
		got, err := k.Usage(c.usage).Seal([]byte("prefix"), pt, unhex(t, c.conf))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Errorf("%d %v usage %d: Seal = %x, want %x", i, c.e, c.usage, got[6:], want)
		}
		back, err := k.Decrypt(nil, want, c.usage)
		if err != nil || !bytes.Equal(back, pt) {
			t.Errorf("%d %v usage %d: Decrypt = %x, %v", i, c.e, c.usage, back, err)
		}
		ip := append([]byte(nil), want...)
		back, err = k.Usage(c.usage).OpenInPlace(ip)
		if err != nil || !bytes.Equal(back, pt) {
			t.Errorf("%d: OpenInPlace = %x, %v", i, back, err)
		}
		// Any flipped bit, the wrong usage, or a truncation is refused.
		for bit := 0; bit < len(want)*8; bit += 7 {
			bad := append([]byte(nil), want...)
			bad[bit/8] ^= 1 << (bit % 8)
			if _, err := k.Decrypt(nil, bad, c.usage); err != ErrIntegrity {
				t.Fatalf("%d: bit %d flipped: %v", i, bit, err)
			}
		}
		if _, err := k.Decrypt(nil, want, c.usage+1); err != ErrIntegrity {
			t.Errorf("%d: wrong usage: %v", i, err)
		}
		if _, err := k.Decrypt(nil, want[:len(want)-1], c.usage); err == nil {
			t.Errorf("%d: truncated accepted", i)
		}
	}
}

func TestChecksumVectors(t *testing.T) {
	seq := make([]byte, 21)
	for i := range seq {
		seq[i] = byte(i)
	}
	for _, c := range []struct {
		e     EType
		key   string
		usage uint32
		data  []byte
		want  string
	}{
		{AES128CTSHMACSHA196, "9062430c8cda3388922e6d6a509f5b7a", 3, []byte("eight nine ten eleven twelve thirteen"), "01a4b088d45628f6946614e3"},
		{AES256CTSHMACSHA196, "b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7", 4, []byte("fourteen"), "e08739e3279e2903ec8e3836"},
		{RC4HMAC, "f7d3a155af5e238a0b7a871a96ba2ab2", 6, []byte("seventeen eighteen nineteen twenty"), "eb38cc97e2230f59da4117dc5859d7ec"},
		{AES128CTSHMACSHA256128, "3705d96080c17728a0e800eab6e0d23c", 2, seq, "d78367186643d67b411cba9139fc1dee"},
		{AES256CTSHMACSHA384192, "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52", 2, seq, "45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a"},
	} {
		k, _ := NewKey(c.e, unhex(t, c.key))
		if got := hex.EncodeToString(k.Checksum(nil, c.data, c.usage)); got != c.want {
			t.Errorf("%v checksum = %s, want %s", c.e, got, c.want)
		}
		// In pieces, the same.
		uk := k.Usage(c.usage)
		if got := hex.EncodeToString(uk.Checksum(nil, c.data[:3], nil, c.data[3:])); got != c.want {
			t.Errorf("%v checksum in pieces = %s", c.e, got)
		}
		if !k.VerifyChecksum(c.data, unhex(t, c.want), c.usage) || k.VerifyChecksum(c.data[1:], unhex(t, c.want), c.usage) {
			t.Errorf("%v VerifyChecksum wrong", c.e)
		}
		if len(c.want)/2 != c.e.MACSize() {
			t.Errorf("%v MACSize %d", c.e, c.e.MACSize())
		}
	}
}

func TestPeekTail(t *testing.T) {
	for _, e := range []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA384192} {
		k, _ := NewKey(e, make([]byte, e.KeySize()))
		uk := k.Usage(24)
		for n := 16; n < 70; n++ {
			pt := make([]byte, n)
			for i := range pt {
				pt[i] = byte(i * 7)
			}
			ct, _ := uk.Seal(nil, pt, make([]byte, 16))
			body := ct[:len(ct)-e.MACSize()]
			var got [16]byte
			if !uk.PeekTail(&got, body[:5], body[5:]) {
				t.Fatal("PeekTail refused")
			}
			all := append(make([]byte, 16), pt...)
			if !bytes.Equal(got[:], all[len(all)-16:]) {
				t.Fatalf("%v n=%d: PeekTail = %x, want %x", e, n, got, all[len(all)-16:])
			}
		}
	}
}

// TestSignOnly: sign-only parts stay in the clear, are covered by the tag, and the
// encrypted parts come out as if the sign-only ones were not there.
func TestSignOnly(t *testing.T) {
	for _, e := range []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA196, AES128CTSHMACSHA256128, AES256CTSHMACSHA384192, RC4HMAC} {
		k, _ := NewKey(e, bytes.Repeat([]byte{7}, e.KeySize()))
		uk := k.Usage(24)
		conf := bytes.Repeat([]byte{1}, e.ConfounderSize())
		hdr, body, trl := []byte("rpc header"), []byte("the stub data, sealed"), []byte("sec trailer")
		h, b, tr := append([]byte(nil), hdr...), append([]byte(nil), body...), append([]byte(nil), trl...)
		c := append([]byte(nil), conf...)
		tag, err := uk.SealPartsSignOnly(nil, 0b1010, c, h, b, tr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h, hdr) || !bytes.Equal(tr, trl) || bytes.Equal(b, body) {
			t.Fatalf("%v: sign-only parts changed or data not encrypted", e)
		}
		c2, b2 := append([]byte(nil), conf...), append([]byte(nil), body...)
		uk.SealParts(nil, c2, b2)
		// (RC4's keystream depends on the checksum, so on everything.)
		if e != RC4HMAC && (!bytes.Equal(c2, c) || !bytes.Equal(b2, b)) {
			t.Errorf("%v: encryption depends on the sign-only parts", e)
		}
		bad := append([]byte(nil), h...)
		bad[0] ^= 1
		cc, bb := append([]byte(nil), c...), append([]byte(nil), b...)
		if err := uk.OpenPartsSignOnly(tag, 0b1010, cc, bad, bb, tr); err != ErrIntegrity {
			t.Errorf("%v: altered sign-only part: %v", e, err)
		}
		if err := uk.OpenPartsSignOnly(tag, 0b1010, c, h, b, tr); err != nil || !bytes.Equal(b, body) {
			t.Errorf("%v: OpenPartsSignOnly: %v %q", e, err, b)
		}
	}
}
