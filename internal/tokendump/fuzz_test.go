package tokendump

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/krb5/keytab"
)

// maxOutput bounds the text of any dump: maxFields lines of at most a value's length,
// with the indentation of maxDepth levels and then some.
const maxOutput = (maxFields + 64) * (maxValue + 200)

// FuzzDecode: no input makes Decode panic or print more than maxOutput, whatever its
// encoding, with and without keys. The seed corpus is every recorded token, as text
// and as bytes.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/tokens/*.hex")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		if tok, _, err := Input(raw); err == nil {
			f.Add(tok)
		}
	}
	f.Add([]byte("Authorization: Negotiate YIIBAA=="))
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0xff, 0xff})
	kt, err := keytab.Load(oursKeytab)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tok, _, err := Input(raw)
		if err != nil {
			return
		}
		for _, opts := range []*Options{nil, {Keytab: kt}, {Password: "x", Principal: "host/localhost@GOSSPI.TEST"}} {
			n := Decode(tok, opts)
			var text, js bytes.Buffer
			if err := n.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := n.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if text.Len() > maxOutput || js.Len() > 2*maxOutput {
				t.Fatalf("%d bytes of text, %d of JSON for %d bytes of input", text.Len(), js.Len(), len(tok))
			}
		}
	})
}

// A hostile token's strings cannot forge lines or escape sequences in the output, and a
// deeply nested one stops at maxDepth.
func TestHostile(t *testing.T) {
	// An NTLM NEGOTIATE whose OEM domain holds a newline and an ANSI escape.
	neg := []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x12\x00\x00" +
		"\x0c\x00\x0c\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"x\n  user:\x1b[2J")
	var text bytes.Buffer
	Decode(neg, nil).WriteText(&text)
	if strings.Contains(text.String(), "\x1b") || strings.Contains(text.String(), "\n  user:") {
		t.Fatalf("control characters reached the output:\n%q", text.String())
	}
	// TSRequests nested in each other's negoToken, deeper than maxDepth.
	tok := []byte("NTLMSSP\x00\x01\x00\x00\x00\x00\x00\x00\x00")
	for i := 0; i < 3*maxDepth; i++ {
		tok = tsRequestAround(tok)
	}
	text.Reset()
	Decode(tok, nil).WriteText(&text)
	if !strings.Contains(text.String(), "nested more than") {
		t.Fatalf("no depth limit:\n%s", text.String())
	}
	// Input too large.
	if n := Decode(make([]byte, MaxInput+1), nil); n.Error == "" {
		t.Fatal("an oversized token was decoded")
	}
}

// tsRequestAround wraps tok as the negoToken of a version 6 TSRequest.
func tsRequestAround(tok []byte) []byte {
	octet := append(derHeader(0x04, len(tok)), tok...)
	ctx0 := append(derHeader(0xa0, len(octet)), octet...)
	item := append(derHeader(0x30, len(ctx0)), ctx0...)
	list := append(derHeader(0x30, len(item)), item...)
	ctx1 := append(derHeader(0xa1, len(list)), list...)
	body := append([]byte{0xa0, 0x03, 0x02, 0x01, 0x06}, ctx1...)
	return append(derHeader(0x30, len(body)), body...)
}

func derHeader(tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{tag, byte(n)}
	case n < 0x100:
		return []byte{tag, 0x81, byte(n)}
	default:
		return []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
}

// Input finds the encoding of what people paste.
func TestInput(t *testing.T) {
	for _, tt := range []struct {
		in, enc string
		want    []byte
	}{
		{"TlRMTVNTUAAB", "base64", []byte("NTLMSSP\x00\x01")},
		{"Authorization: Negotiate TlRMTVNTUAAB", "base64", []byte("NTLMSSP\x00\x01")},
		{"WWW-Authenticate: NTLM TlRMTVNTUAAB", "base64", []byte("NTLMSSP\x00\x01")},
		{"TlRMTVNTUAAB\n", "base64", []byte("NTLMSSP\x00\x01")},
		{"4e544c4d 53535000 01", "hex", []byte("NTLMSSP\x00\x01")},
		{"0x4e:54:4c", "hex", []byte("NTL")},
		{"# a comment\n4e544c\n", "hex", []byte("NTL")},
		{"NTLMSSP\x00\x01", "binary", []byte("NTLMSSP\x00\x01")},
	} {
		got, enc, err := Input([]byte(tt.in))
		if err != nil || enc != tt.enc || !bytes.Equal(got, tt.want) {
			t.Errorf("Input(%q) = %x, %s, %v; want %x, %s", tt.in, got, enc, err, tt.want, tt.enc)
		}
	}
	if _, _, err := Input(nil); err == nil {
		t.Error("empty input accepted")
	}
}
