package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// sspi parse reads the token from an argument, a file or standard input, in any of the
// encodings, and prints text or JSON; the decoding itself is tested in internal/tokendump.
func TestParse(t *testing.T) {
	const negB64 = "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="
	dir := t.TempDir()
	file := dir + "/challenge.hex"
	src, err := os.ReadFile("../../internal/tokendump/testdata/tokens/mit-spnego-ntlm-1-server.hex")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, src, 0o600); err != nil {
		t.Fatal(err)
	}
	kt := "../../internal/tokendump/testdata/ours.keytab"
	apReq := "../../internal/tokendump/testdata/tokens/ours-krb5-ap-req.hex"
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string // substrings of stdout (or stderr for failures)
	}{
		{name: "base64 argument", args: []string{negB64}, want: []string{"NTLM NEGOTIATE", "EXTENDED_SESSIONSECURITY", "10.0.19041"}},
		{name: "HTTP header words", args: []string{"Negotiate", negB64}, want: []string{"NTLM NEGOTIATE"}},
		{name: "file", args: []string{file}, want: []string{"SPNEGO NegTokenResp", "NTLM CHALLENGE", "MsvAvDnsComputerName: gosspi"}},
		{name: "stdin", stdin: "Authorization: NTLM " + negB64 + "\n", args: []string{"-"}, want: []string{"NTLM NEGOTIATE"}},
		{name: "keytab decrypts the ticket", args: []string{"--keytab", kt, apReq}, want: []string{"EncTicketPart", "client: alice@GOSSPI.TEST", "MUTUAL | CONF | INTEG", "PAC_CLIENT_INFO",
			"matches the ticket: yes", "server signature verified: yes, with the key that decrypted the ticket"}},
		{name: "password decrypts the ticket", args: []string{"--password", "Svc-Passw0rd!", "--principal", "HTTP/localhost@GOSSPI.TEST",
			"../../internal/tokendump/testdata/tokens/ours-pw-krb5-ap-req.hex"}, want: []string{"EncTicketPart", "client: alice@GOSSPI.TEST", "Authenticator"}},
		{name: "wrong password", args: []string{"--password", "nope", "--principal", "host/localhost@GOSSPI.TEST", apReq}, want: []string{"decrypted: no:"}},
		{name: "password without principal", args: []string{"--password", "x", apReq}, code: exitUsage, want: []string{"--principal"}},
		{name: "missing keytab", args: []string{"--keytab", dir + "/none", apReq}, code: exitAuth, want: []string{"--keytab"}},
		{name: "empty input", stdin: "", code: exitUsage, want: []string{"empty input"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.stdin, nil, append([]string{"parse"}, tt.args...)...)
			got := out
			if tt.code != exitOK {
				got = errOut
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
	code, out, _ := runCmd(t, "", nil, "parse", "--json", negB64)
	var node struct {
		Type   string
		Fields []struct{ Name, Value string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &node) != nil || node.Type != "NTLM NEGOTIATE" || len(node.Fields) == 0 || node.Fields[0].Name != "flags" {
		t.Fatalf("--json: %d %s", code, out)
	}
	if code, out, _ := runCmd(t, "", nil, "help", "parse"); code != exitOK || !strings.Contains(out, "--keytab") {
		t.Fatalf("sspi help parse: %d %s", code, out)
	}
	if code, out, _ := runCmd(t, "", nil, "--help"); code != exitOK || !strings.Contains(out, "sspi parse") {
		t.Fatalf("sspi --help lacks parse: %s", out)
	}
}
