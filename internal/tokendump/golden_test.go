package tokendump

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosspi/sspi/internal/krb5/keytab"
)

var update = flag.Bool("update", false, "rewrite testdata/golden (and, with the MIT KDC, re-record testdata/tokens/ours-*)")

// oursKeytab is the keytab of the throw-away KDC the ours-krb5-* and mit-krb5-* tokens
// were recorded with (HTTP/localhost's tickets are decrypted from its password instead).
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
			switch {
			case strings.HasPrefix(name, "ours-krb5"), strings.HasPrefix(name, "mit-krb5"):
				opts.Keytab = kt
			case strings.HasPrefix(name, "ours-pw-"):
				opts.Password, opts.Principal = oursServicePassword, "HTTP/localhost@GOSSPI.TEST"
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

// find returns the value of the first field called name, depth first.
func find(n *Node, name string) (string, bool) {
	for _, f := range n.Fields {
		if f.Name == name {
			return f.Value, true
		}
		if f.Node != nil {
			if v, ok := find(f.Node, name); ok {
				return v, ok
			}
		}
	}
	return "", false
}

// What the recorded tokens must say, independently of the golden files: the decrypted
// tickets name the client, and the channel-binding hash in MIT's and our Kerberos
// checksums and in our NTLM AUTHENTICATE is the MD5 of the bindings they were made with
// (RFC 4121 4.1.1.2, MS-NLMP 2.2.2.1).
func TestFacts(t *testing.T) {
	// RFC 4121 4.1.1.2's flattening of gss_channel_bindings_struct with empty addresses:
	// initiator and acceptor address type and length (zero), then the application data's
	// length and bytes, all little-endian.
	app := []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")
	flat := binary.LittleEndian.AppendUint32(make([]byte, 16), uint32(len(app)))
	sum := md5.Sum(append(flat, app...))
	bnd := fmt.Sprintf("(16 bytes) %x", sum)
	kt, err := keytab.Load(oursKeytab)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file   string
		opts   *Options
		fields map[string]string
	}{
		{"ours-krb5-ap-req", &Options{Keytab: kt}, map[string]string{
			"client": "alice@GOSSPI.TEST (NT-PRINCIPAL)", "Bnd (MD5 of the channel bindings)": bnd,
			"flags": "0x00090000 (transited-policy-checked | enc-pa-rep)", "buffer 0": "type 10 (PAC_CLIENT_INFO), 20 bytes at offset 72"}},
		{"mit-krb5-ap-req-cb", &Options{Keytab: kt}, map[string]string{
			"client": "alice@GOSSPI.TEST (NT-PRINCIPAL)", "Bnd (MD5 of the channel bindings)": bnd}},
		{"ours-pw-krb5-ap-req", &Options{Password: oursServicePassword, Principal: "HTTP/localhost@GOSSPI.TEST"}, map[string]string{
			"client": "alice@GOSSPI.TEST (NT-PRINCIPAL)", "Bnd": "zero (no channel bindings)"}},
		{"ours-pw-krb5-ap-req", &Options{Password: "wrong", Principal: "HTTP/localhost@GOSSPI.TEST"}, map[string]string{
			"decrypted": "no: krbcrypto: integrity check failed (wrong key, usage or altered data)"}},
		{"ours-krb5-ap-req", nil, map[string]string{"sname": "host/localhost (NT-SRV-HST)", "tokID": "0100 (KRB_AP_REQ)"}},
		{"ours-ntlm-authenticate", nil, map[string]string{"MsvAvChannelBindings": bnd, "MsvAvFlags": "0x00000002 (MIC_PRESENT)", "user": "alice"}},
		{"krb5-mit-krb-error-preauth-required", nil, map[string]string{"error-code": "25 (KDC_ERR_PREAUTH_REQUIRED)", "e-text": "NEEDED_PREAUTH"}},
		{"spnego-init2-neghints-pyspnego", nil, map[string]string{"hintName": "not_defined_in_RFC4178@please_ignore"}},
		{"credssp-xfreerdp-v6-1", nil, map[string]string{"version": "6", "MsvAvTargetName": "TERMSRV/127.0.0.1"}},
		{"ours-tls-client-hello", nil, map[string]string{"server_name": "server.example", "supported_versions": "TLS 1.3, TLS 1.2"}},
	} {
		raw, err := os.ReadFile("testdata/tokens/" + tt.file + ".hex")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, _ := Input(raw)
		n := Decode(tok, tt.opts)
		for name, want := range tt.fields {
			if got, ok := find(n, name); !ok || got != want {
				var text bytes.Buffer
				n.WriteText(&text)
				t.Errorf("%s: %s = %q, want %q\n%s", tt.file, name, got, want, text.String())
			}
		}
	}
}

// A KRB-ERROR in the GSS framing with token ID 03 00, as MIT's acceptor answers a bad
// AP-REQ (RFC 4121 4.1): the framing is undone and the error named.
func TestFramedKRBError(t *testing.T) {
	raw, err := os.ReadFile("testdata/tokens/krb5-mit-krb-error-preauth-required.hex")
	if err != nil {
		t.Fatal(err)
	}
	krbErr, _, _ := Input(raw)
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	inner := append(append(oid, 0x03, 0x00), krbErr...)
	tok := append(derHeader(0x60, len(inner)), inner...)
	n := Decode(tok, nil)
	if n.Type != "Kerberos KRB-ERROR (GSS-API framing)" || n.Error != "" {
		t.Fatalf("type %q, error %q", n.Type, n.Error)
	}
	for name, want := range map[string]string{"tokID": "0300 (KRB_ERROR)", "error-code": "25 (KDC_ERR_PREAUTH_REQUIRED)"} {
		if got, _ := find(n, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TLS alerts are named, and a cut record says how much is missing.
func TestTLSAlertAndShortRecord(t *testing.T) {
	n := Decode([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}, nil)
	if got, _ := find(n, "alert"); got != "fatal 40 (handshake_failure)" {
		t.Errorf("alert = %q", got)
	}
	n = Decode([]byte{0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00}, nil)
	if !strings.Contains(n.Error, "claims 16 bytes, 2 present") {
		t.Errorf("short record: %q", n.Error)
	}
}
