package ntlmssp

import (
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex that may be spread over lines, with "0000:"-style
// offsets as in the MS-NLMP examples and /work/shared/spec files.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, ":"); i >= 0 {
			line = line[i+1:]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func unhex16(t testing.TB, s string) [16]byte { return [16]byte(unhex(t, s)) }
func unhex8(t testing.TB, s string) [8]byte   { return [8]byte(unhex(t, s)) }

// Common inputs of MS-NLMP 4.2.1.
const (
	vUser        = "User"
	vDomain      = "Domain"
	vPassword    = "Password"
	vServer      = "Server"
	vWorkstation = "COMPUTER"
)

var (
	vRandomSessionKey = [16]byte{0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
	vClientChallenge  = [8]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}
	vServerChallenge  = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	// "Plaintext" in UTF-16LE.
	vPlaintext = []byte{0x50, 0, 0x6c, 0, 0x61, 0, 0x69, 0, 0x6e, 0, 0x74, 0, 0x65, 0, 0x78, 0, 0x74, 0}
	vVersion   = Version{ProductMajor: 5, ProductMinor: 1, ProductBuild: 2600, NTLMRevision: NTLMRevisionW2K3}
	vSrvVer    = Version{ProductMajor: 6, ProductMinor: 0, ProductBuild: 6000, NTLMRevision: NTLMRevisionW2K3}
)

// Negotiate flags of the MS-NLMP 4.2 examples.
const (
	vFlagsV1      NegotiateFlags = 0xE2028233 // 4.2.2
	vFlagsV1ESS   NegotiateFlags = 0x820A8233 // 4.2.3
	vFlagsV2      NegotiateFlags = 0xE28A8233 // 4.2.4
	vFlagsAuthV1  NegotiateFlags = 0xE2808235 // AUTHENTICATE of 4.2.2.3
	vFlagsAuthV2  NegotiateFlags = 0xE2888235 // AUTHENTICATE of 4.2.4.3
	vFlagsChromeN NegotiateFlags = 0x00088207 // Chromium NEGOTIATE
	vFlagsChromeA NegotiateFlags = 0x00088203 // Chromium AUTHENTICATE
)

// Messages of MS-NLMP 4.2 and of Chromium's ntlm_test_data.h, as given in
// ntlm-test-vectors.md.
const (
	challengeV1Hex = `
0000: 4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
0010: 38 00 00 00 33 82 02 e2 01 23 45 67 89 ab cd ef
0020: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0030: 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
0040: 65 00 72 00`

	authenticateV1Hex = `
0000: 4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00
0010: 6c 00 00 00 18 00 18 00 84 00 00 00 0c 00 0c 00
0020: 48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00
0030: 5c 00 00 00 10 00 10 00 9c 00 00 00 35 82 80 e2
0040: 05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00
0050: 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
0060: 4d 00 50 00 55 00 54 00 45 00 52 00 98 de f7 b8
0070: 7f 88 aa 5d af e2 df 77 96 88 a1 72 de f1 1c 7d
0080: 5c cd ef 13 67 c4 30 11 f3 02 98 a2 ad 35 ec e6
0090: 4f 16 33 1c 44 bd be d9 27 84 1f 94 51 88 22 b1
00a0: b3 f3 50 c8 95 86 82 ec bb 3e 3c b7`

	challengeV1ESSHex = `
0000: 4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
0010: 38 00 00 00 33 82 0a 82 01 23 45 67 89 ab cd ef
0020: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0030: 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
0040: 65 00 72 00`

	challengeV2Hex = `
0000: 4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
0010: 38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
0020: 00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00
0030: 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
0040: 65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00
0050: 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00
0060: 65 00 72 00 00 00 00 00`

	authenticateV2Hex = `
0000: 4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00
0010: 6c 00 00 00 54 00 54 00 84 00 00 00 0c 00 0c 00
0020: 48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00
0030: 5c 00 00 00 10 00 10 00 d8 00 00 00 35 82 88 e2
0040: 05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00
0050: 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
0060: 4d 00 50 00 55 00 54 00 45 00 52 00 86 c3 50 97
0070: ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa
0080: aa aa aa aa 68 cd 0a b8 51 e5 1c 96 aa bc 92 7b
0090: eb ef 6a 1c 01 01 00 00 00 00 00 00 00 00 00 00
00a0: 00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00
00b0: 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
00c0: 01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00
00d0: 00 00 00 00 00 00 00 00 c5 da d2 54 4f c9 79 90
00e0: 94 ce 1c e9 0b c9 d0 3e`

	negotiateChromeHex = `
0000: 4e 54 4c 4d 53 53 50 00 01 00 00 00 07 82 08 00
0010: 00 00 00 00 20 00 00 00 00 00 00 00 20 00 00 00`

	authenticateChromeHex = `
0000: 4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00
0010: 58 00 00 00 8a 00 8a 00 70 00 00 00 0c 00 0c 00
0020: fa 00 00 00 08 00 08 00 06 01 00 00 10 00 10 00
0030: 0e 01 00 00 00 00 00 00 58 00 00 00 03 82 08 00
0040: 00 00 00 00 00 00 00 00 f7 36 16 33 f0 ad 9b df
0050: 4a 7c 42 1b c6 b8 24 a3 00 00 00 00 00 00 00 00
0060: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0070: 8c 02 60 db ef 69 06 62 af 9c 42 d5 07 82 d2 ed
0080: 01 01 00 00 00 00 00 00 80 0b c8 fd 00 d4 d2 01
0090: aa aa aa aa aa aa aa aa 00 00 00 00 02 00 0c 00
00a0: 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00
00b0: 53 00 65 00 72 00 76 00 65 00 72 00 06 00 04 00
00c0: 02 00 00 00 0a 00 10 00 65 86 e9 9d 81 c2 fc 98
00d0: 4e 47 17 2f d4 dd 03 10 09 00 16 00 48 00 54 00
00e0: 54 00 50 00 2f 00 53 00 65 00 72 00 76 00 65 00
00f0: 72 00 00 00 00 00 00 00 00 00 44 00 6f 00 6d 00
0100: 61 00 69 00 6e 00 55 00 73 00 65 00 72 00 43 00
0110: 4f 00 4d 00 50 00 55 00 54 00 45 00 52 00`

	// AV pairs of the 4.2.4 CHALLENGE: domain first, then server.
	targetInfoV2Hex = `02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000`

	// Channel-binding application data of Microsoft's EPA example.
	epaAppDataHex = `746c732d7365727665722d656e642d706f696e743a` + // "tls-server-end-point:"
		`ea05fefecc6b0bd571dbbc5baa3ed45386d0446835f7b74c85621b9983475f95`

	chromeTimestamp = 131400439870000000
)
