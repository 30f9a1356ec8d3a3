package httpauth

import (
	"testing"

	"github.com/gosspi/sspi"
)

// FuzzWinRMBody feeds arbitrary bodies and Content-Type headers to the parser and the
// decryptor: any failure must carry a SEC_E_* status, nothing may panic, and no part
// may reach outside the body.
func FuzzWinRMBody(f *testing.F) {
	client, _ := winrmNTLMPair(f)
	good, ct, err := EncryptWinRMBody(client, []byte(soapCreate), "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, ct)
	f.Add([]byte("--Encrypted Boundary--\r\n"), ct)
	f.Add(good, `multipart/x-multi-encrypted;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"`)
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		parts, err := ParseWinRMBody(body, header)
		if err != nil {
			if s := sspi.StatusOf(err); s == sspi.ErrInternalError || s == sspi.OK {
				t.Fatalf("status %v: %v", s, err)
			}
			return
		}
		total := 0
		for _, p := range parts {
			total += len(p.Signature) + len(p.Sealed)
			if p.SigLength < 0 || p.SigLength > maxWinRMSignature || p.Length < 0 {
				t.Fatalf("part %+v out of bounds", p)
			}
		}
		if total > len(body) {
			t.Fatalf("parts hold %d bytes of a %d-byte body", total, len(body))
		}
		_, server := winrmNTLMPair(t)
		if _, _, err := DecryptWinRMBody(server, body, header); err != nil {
			if s := sspi.StatusOf(err); s == sspi.ErrInternalError || s == sspi.OK {
				t.Fatalf("status %v: %v", s, err)
			}
		}
	})
}
