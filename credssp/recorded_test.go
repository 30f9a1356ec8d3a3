package credssp

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFreeRDPRecorded replays the TSRequests FreeRDP 2.11.7 sent in the interop tests
// (regenerate with go test -run FreeRDP -update): every one parses, re-encodes to the
// same bytes, and has the shape MS-CSSP gives it for the version in use.
func TestFreeRDPRecorded(t *testing.T) {
	files, _ := filepath.Glob("testdata/freerdp/*.hex")
	if len(files) < 8 {
		t.Fatalf("only %d recordings in testdata/freerdp", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v := int64(name[len(name)-1] - '0')
			var sawPubKeyAuth, sawAuthInfo bool
			for i, line := range strings.Fields(string(data)) {
				msg, err := hex.DecodeString(line)
				if err != nil {
					t.Fatal(err)
				}
				r, err := parseTSRequest(msg)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if out := r.marshal(); !bytes.Equal(out, msg) {
					t.Fatalf("message %d re-encodes differently:\n got %x\nwant %x", i, out, msg)
				}
				// FreeRDP announces 6 whatever the peer speaks.
				if r.version != Version {
					t.Fatalf("message %d: version %d", i, r.version)
				}
				if r.negoToken != nil && !bytes.HasPrefix(r.negoToken, []byte("NTLMSSP\x00")) {
					t.Fatalf("message %d: negoToken is not bare NTLMSSP: %x", i, r.negoToken[:8])
				}
				if r.pubKeyAuth != nil {
					sawPubKeyAuth = true
					// 16-byte NTLM signature, then the hash (v5+) or the RSA-2048
					// SubjectPublicKey (270 bytes) with its +1 echo on the server side.
					want := 16 + 32
					if v < firstNonceVersion {
						want = 16 + 270
					}
					if len(r.pubKeyAuth) != want {
						t.Fatalf("message %d: pubKeyAuth of %d bytes at version %d, want %d", i, len(r.pubKeyAuth), v, want)
					}
				}
				if r.authInfo != nil {
					sawAuthInfo = true
				}
			}
			if !sawPubKeyAuth || (strings.HasPrefix(name, "xfreerdp") && !sawAuthInfo) {
				t.Fatalf("recording lacks pubKeyAuth (%v) or authInfo (%v)", sawPubKeyAuth, sawAuthInfo)
			}
		})
	}
}
