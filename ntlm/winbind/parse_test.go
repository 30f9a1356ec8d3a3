package winbind

import (
	"bufio"
	"strings"
	"testing"

	"github.com/gosspi/sspi/ntlm"
)

// The answers as Samba 4.17's ntlm_auth writes them (a refusal ends with two dots).
func TestReadAnswer(t *testing.T) {
	tests := []struct {
		name, in string
		status   ntlm.NTStatus
		key      byte
		rest     string
		fails    bool
	}{
		{name: "yes", in: "Authenticated: Yes\nUser-Session-Key: 0102030405060708090A0B0C0D0E0F10\n.\nnext", status: ntlm.StatusSuccess, key: 1, rest: "next"},
		{name: "no", in: "Authenticated: No\nAuthentication-Error: Wrong Password\n.\n.\nnext", status: ntlm.StatusWrongPassword, rest: "next"},
		{name: "no, NT_STATUS name", in: "Authenticated: No\nAuthentication-Error: NT_STATUS_ACCOUNT_DISABLED\n.\n.\n", status: ntlm.StatusAccountDisabled},
		{name: "no, unknown text", in: "Authenticated: No\nAuthentication-Error: something odd\n.\n.\n", status: ntlm.StatusLogonFailure},
		{name: "no winbindd", in: "Authenticated: No\nAuthentication-Error: Reading winbind reply failed!\n.\n.\n", status: ntlm.StatusNoLogonServers},
		{name: "no, missing second dot", in: "Authenticated: No\nAuthentication-Error: Wrong Password\n.\nAuthenticated: Yes\n", fails: true},
		{name: "error", in: "Error: No username supplied!\n.\n", fails: true},
		{name: "bad key", in: "Authenticated: Yes\nUser-Session-Key: 0102\n.\n", fails: true},
		{name: "no verdict", in: ".\n", fails: true},
		{name: "garbage", in: "hello\n.\n", fails: true},
		{name: "eof", in: "Authenticated: Yes\n", fails: true},
		{name: "long line", in: strings.Repeat("A", 2*maxLine) + "\n.\n", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), maxLine)
			a, err := readAnswer(r)
			if tt.fails {
				if err == nil {
					t.Fatalf("accepted %q: %+v", tt.in, a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.status != tt.status || a.key[0] != tt.key {
				t.Errorf("status %v key %x", a.status, a.key)
			}
			rest, _ := r.ReadString(0)
			if rest != tt.rest {
				t.Errorf("left %q, want %q", rest, tt.rest)
			}
		})
	}
}

// Names travel base64-encoded: a newline in a user name cannot add a protocol line.
func TestQueryMarshalEscapesNames(t *testing.T) {
	q := newQuery(&ntlm.LogonRequest{User: "eve\nPassword: x", Domain: "D\n.", NTResponse: make([]byte, 40), LMResponse: make([]byte, 24)})
	lines := strings.Split(strings.TrimSuffix(string(q.marshal()), "\n"), "\n")
	want := []string{"Username:: ", "NT-Domain:: ", "LANMAN-Challenge: ", "NT-Response: ", "Request-User-Session-Key: Yes", "."}
	if len(lines) != len(want) {
		t.Fatalf("lines %q", lines)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]) {
			t.Errorf("line %d = %q, want %q...", i, l, want[i])
		}
	}
}

func TestStatusOfText(t *testing.T) {
	for in, want := range map[string]ntlm.NTStatus{
		"NT_STATUS_LOGON_FAILURE: Logon failure (0xc000006d)": ntlm.StatusLogonFailure,
		"Account disabled (0xc0000072)":                       ntlm.StatusAccountDisabled,
		"NT_STATUS_PASSWORD_EXPIRED":                          ntlm.StatusPasswordExpired,
		"No such user":                                        ntlm.StatusNoSuchUser,
	} {
		if got := statusOfText(in); got != want {
			t.Errorf("statusOfText(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzReadAnswer(f *testing.F) {
	f.Add("Authenticated: Yes\nUser-Session-Key: 0102030405060708090A0B0C0D0E0F10\n.\n")
	f.Add("Authenticated: No\nAuthentication-Error: Wrong Password\n.\n.\n")
	f.Fuzz(func(t *testing.T, in string) {
		a, err := readAnswer(bufio.NewReaderSize(strings.NewReader(in), maxLine))
		if err == nil && a == nil {
			t.Fatal("nil answer without an error")
		}
	})
}
