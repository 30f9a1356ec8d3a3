package tokendump

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/krb5/keytab"
)

var update = flag.Bool("update", false, "rewrite testdata/golden (and, with the MIT KDC, re-record testdata/tokens/ours-*)")

// oursKeytab is the keytab of the throw-away KDC the ours-krb5-* tokens were recorded with.
const oursKeytab = "testdata/ours.keytab"

// Every recorded token (from peers: MIT, gss-ntlmssp, Impacket, pyspnego, FreeRDP; and from
// our own packages) decodes to its golden text and JSON. The Kerberos tokens recorded
// with our client are decrypted with the recording KDC's keytab.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/tokens/*.hex")
	if err != nil || len(files) < 20 {
		t.Fatalf("%d recorded tokens, %v", len(files), err)
	}
	kt, err := keytab.Load(oursKeytab)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tok, enc, err := Input(raw)
			if err != nil || enc != "hex" {
				t.Fatalf("Input: %s, %v", enc, err)
			}
			opts := &Options{}
			if strings.HasPrefix(name, "ours-krb5") {
				opts.Keytab = kt
			}
			n := Decode(tok, opts)
			var text, js bytes.Buffer
			n.WriteText(&text)
			n.WriteJSON(&js)
			compareGolden(t, "testdata/golden/"+name+".txt", text.Bytes())
			compareGolden(t, "testdata/golden/"+name+".json", js.Bytes())
			if n.Error != "" || strings.Contains(text.String(), "! stopped") {
				t.Errorf("a recorded token did not decode completely:\n%s", text.String())
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
