package wire

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func s4uSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	fu := PAForUserData{
		UserName:  PrincipalName{Type: NamePrincipal, Components: []string{"alice"}},
		UserRealm: "SAMDOM.TEST", Cksum: Checksum{Type: ChecksumTypeHMACMD5, Value: bytes.Repeat([]byte{7}, 16)},
		AuthPackage: "Kerberos",
	}
	a, err := fu.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	xu := PAS4UX509UserData{
		UserID:   S4UUserID{Nonce: 0x12345678, CName: &fu.UserName, CRealm: "SAMDOM.TEST", Options: S4UOptionSignedWithKUN27, HasOptions: true},
		Checksum: Checksum{Type: 16, Value: bytes.Repeat([]byte{9}, 12)},
	}
	b, err := xu.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{a, b, MarshalPACOptions(PACOptionResourceBasedDelegn)}
}

// The encodings follow MS-SFU's and MS-KILE's ASN.1; the KDCs' acceptance of them is
// tested end to end in kerberos/adinterop.
func TestS4UEncodings(t *testing.T) {
	seeds := s4uSeeds(t)
	// PA-PAC-OPTIONS with only resource-based-constrained-delegation (bit 3), as 32
	// bits: what Windows sends in S4U2Proxy requests.
	if got, want := hex.EncodeToString(seeds[2]), "3009a00703050010000000"; got != want {
		t.Errorf("PA-PAC-OPTIONS %s, want %s", got, want)
	}
	var fu PAForUserData
	if err := fu.Unmarshal(seeds[0]); err != nil {
		t.Fatal(err)
	}
	if fu.UserName.String() != "alice" || fu.UserRealm != "SAMDOM.TEST" || fu.AuthPackage != "Kerberos" || fu.Cksum.Type != ChecksumTypeHMACMD5 {
		t.Errorf("PA-FOR-USER decoded as %+v", fu)
	}
	// MS-SFU 2.2.1: name-type (LE) || "alice" || realm || "Kerberos".
	if got, want := string(fu.ChecksumData()), "\x01\x00\x00\x00aliceSAMDOM.TESTKerberos"; got != want {
		t.Errorf("checksum data %q, want %q", got, want)
	}
	var xu PAS4UX509UserData
	if err := xu.Unmarshal(seeds[1]); err != nil {
		t.Fatal(err)
	}
	id, err := xu.UserID.MarshalUserID()
	if err != nil || !bytes.Equal(id, xu.UserID.Raw) {
		t.Errorf("S4UUserID Raw %x, encoded %x (%v)", xu.UserID.Raw, id, err)
	}
	if xu.UserID.Nonce != 0x12345678 || xu.UserID.Options != S4UOptionSignedWithKUN27 || xu.UserID.CName == nil {
		t.Errorf("S4UUserID decoded as %+v", xu.UserID)
	}
	for i, bad := range [][]byte{
		seeds[0][:len(seeds[0])-1],
		append(append([]byte(nil), seeds[1]...), 0),
		{0x30, 0x05, 0xa0, 0x03, 0x03, 0x01, 0x01}, // unused-bits count without bits
	} {
		var a PAForUserData
		var b PAS4UX509UserData
		_, errC := ParsePACOptions(bad)
		if a.Unmarshal(bad) == nil || b.Unmarshal(bad) == nil || errC == nil {
			t.Errorf("malformed input %d decoded", i)
		}
	}
}
