package ntlm

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/gosspi/sspi/internal/ntlmssp"
)

// acctTestdata is where the sample files live.
const acctTestdata = "testdata/accounts"

func acctHash(t testing.TB, s string) [16]byte {
	t.Helper()
	var h [16]byte
	if _, err := hex.Decode(h[:], []byte(s)); err != nil || len(s) != 32 {
		t.Fatalf("bad test hash %q", s)
	}
	return h
}

func acctLoad(t *testing.T, name string) *FileAccountStore {
	t.Helper()
	s, err := LoadAccountFile(filepath.Join(acctTestdata, name))
	if err != nil {
		t.Fatalf("LoadAccountFile(%s): %v", name, err)
	}
	return s
}

func acctParseString(s string) (*FileAccountStore, error) {
	return ParseAccounts(strings.NewReader(s))
}

// acctWant is one lookup and its expected outcome: an NT hash, or
// ErrNoSuchUser when hash is "".
type acctWant struct {
	domain, user string
	hash         string
}

func acctCheckLookups(t *testing.T, s AccountStore, wants []acctWant) {
	t.Helper()
	for _, w := range wants {
		a, err := s.LookupAccount(context.Background(), w.domain, w.user)
		if w.hash == "" {
			if !errors.Is(err, ErrNoSuchUser) {
				t.Errorf("lookup %q\\%q = %v, %v; want ErrNoSuchUser", w.domain, w.user, a, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("lookup %q\\%q: %v", w.domain, w.user, err)
			continue
		}
		if a.NTHash != acctHash(t, w.hash) {
			t.Errorf("lookup %q\\%q: wrong NT hash", w.domain, w.user)
		}
	}
}

// Known NT hashes, NTOWFv1 of the names' passwords.
const (
	acctHPassword = "a4f49c406510bdcab6824ee7c30fd852" // "Password", MS-NLMP 4.2.2.1.2
	acctHSecret   = "2b0fd3faca9a8acd5fdfff6ecae2c207" // "Secret1!"
	acctHColons   = "c7823ab25af0431f692d91db092e9cf8" // "pa:ss:word"
	acctHUmlauts  = "aed9375ba569c9f0216eea5c0c7bf463" // "Pässwörd"
	acctHHunter   = "6608e4bc7b2b7a5f77ce3573570775af" // "hunter2"
	acctHWild     = "571ae9c9156712478b3df4ac84b56014" // "Wild1"
	acctHExact    = "71111d37aa1ea04cfc24b2877fd0b3da" // "Exact1"
)

func TestAccountNTOWFv1Vectors(t *testing.T) {
	for pw, want := range map[string]string{
		"Password":   acctHPassword,
		"Secret1!":   acctHSecret,
		"pa:ss:word": acctHColons,
		"Pässwörd":   acctHUmlauts,
		"hunter2":    acctHHunter,
		"Wild1":      acctHWild,
		"Exact1":     acctHExact,
	} {
		if got := ntlmssp.NTOWFv1(pw); got != acctHash(t, want) {
			t.Errorf("NTOWFv1(%q) = %x, want %s", pw, got, want)
		}
	}
	if ntlmssp.NTOWFv1("") != acctEmptyNTHash {
		t.Errorf("acctEmptyNTHash is not NTOWFv1(\"\")")
	}
}

func TestAccountFileFormats(t *testing.T) {
	tests := []struct {
		file  string
		wants []acctWant
		// skipped are the line numbers Warnings must report.
		skipped []int
	}{
		{"gss-ntlmssp.txt", []acctWant{
			{"CONTOSO", "alice", acctHPassword},
			{"CONTOSO", "bob", acctHColons},
			{"CONTOSO", "carol", acctHHunter},
			{"ANYWHERE", "carol", acctHHunter},
			{"", "carol", acctHHunter},
			{"FABRIKAM", "Jürgen", acctHUmlauts},
			{"FABRIKAM", "alice", ""},
			{"", "alice", acctHPassword}, // the only alice
			{"CONTOSO", "nobody", ""},
		}, nil},
		{"smbpasswd", []acctWant{
			{"CONTOSO", "alice", acctHPassword},
			{"", "alice", acctHPassword},
			{"CONTOSO", "bob", acctHSecret},
			{"FABRIKAM", "bob", ""},
			{"CONTOSO", "mallory", ""},
			{"CONTOSO", "nopass", ""},
			{"CONTOSO", "WKS1$", ""},
		}, []int{3, 4, 5}},
		{"freerdp.sam", []acctWant{
			{"CONTOSO", "alice", acctHPassword},
			{"FABRIKAM", "alice", ""},
			{"FABRIKAM", "bob", acctHSecret},
			{"CONTOSO", "nohash", ""},
		}, []int{4}},
		{"gosspi.accounts", []acctWant{
			{"CONTOSO", "alice", acctHPassword},
			{"X", "carol", acctHHunter},
			{"Y", "dave", acctHUmlauts},
			{"Y", "alice", ""},
		}, nil},
		{"mixed.txt", []acctWant{
			{"CONTOSO", "alice", acctHPassword},
			{"ANY", "bob", acctHSecret},
			{"FABRIKAM", "carol", acctHHunter},
			{"CONTOSO", "carol", ""},
			{"FABRIKAM", "dave", acctHUmlauts},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := acctLoad(t, tt.file)
			acctCheckLookups(t, s, tt.wants)
			var got []int
			for _, w := range s.Warnings() {
				var n int
				if _, err := fmt.Sscanf(w, "line %d:", &n); err == nil {
					got = append(got, n)
				}
			}
			if !slices.Equal(got, tt.skipped) {
				t.Errorf("skipped lines %v, want %v (warnings %q)", got, tt.skipped, s.Warnings())
			}
		})
	}
}

func TestAccountCaseInsensitive(t *testing.T) {
	s, err := acctParseString("CONTOSO:alice:Password\n" +
		"Fabrikam.Example:Jürgen:Pässwörd\n" +
		"ΕΛΛΑΣ:ΣΟΦΙΑ:hunter2\n" +
		":Kevin:Wild1\n" +
		":straße:Exact1\n")
	if err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, s, []acctWant{
		{"contoso", "ALICE", acctHPassword},
		{"CoNtOsO", "Alice", acctHPassword},
		{"FABRIKAM.EXAMPLE", "JÜRGEN", acctHUmlauts},
		{"fabrikam.example", "jürgen", acctHUmlauts},
		{"ελλας", "σοφια", acctHHunter}, // final sigma folds with Σ too
		{"ελλας", "ςοφια", acctHHunter},
		{"", "\u212aevin", acctHWild}, // KELVIN SIGN folds to k
		{"", "KEVIN", acctHWild},
		{"", "STRASSE", ""}, // simple folding: ß is not SS
		{"", "STRAẞE", acctHExact},
		{"fabrikam", "jürgen", ""}, // NetBIOS and DNS names differ
		{"CONTOSO", "alice ", ""},
	})
}

func TestAccountFoldMatchesEqualFold(t *testing.T) {
	words := []string{"alice", "ALICE", "Alice", "k", "K", "\u212a", "s", "S", "ſ",
		"σ", "ς", "Σ", "ß", "ẞ", "SS", "ǅ", "ǆ", "Ǆ", "İ", "i", "ı", "I", "", "a\u0301", "á"}
	for _, a := range words {
		for _, b := range words {
			if got, want := acctFold(a) == acctFold(b), strings.EqualFold(a, b); got != want {
				t.Errorf("fold(%q)==fold(%q) is %v, EqualFold is %v", a, b, got, want)
			}
		}
	}
}

func TestAccountWildcardAndExact(t *testing.T) {
	s := acctLoad(t, "wildcard.txt")
	acctCheckLookups(t, s, []acctWant{
		// The exact entry wins although the wildcard comes first.
		{"CONTOSO", "alice", acctHExact},
		{"contoso", "ALICE", acctHExact},
		{"FABRIKAM", "alice", acctHWild},
		{"", "alice", acctHWild},
		// A disabled exact entry must not fall through to the wildcard.
		{"CONTOSO", "bob", ""},
		{"FABRIKAM", "bob", acctHWild},
	})
	a, err := s.LookupAccount(context.Background(), "FABRIKAM", "alice")
	if err != nil || a.Domain != "" || a.User != "alice" {
		t.Errorf("wildcard lookup returned %v, %v; want the stored names", a, err)
	}
	a, err = s.LookupAccount(context.Background(), "contoso", "ALICE")
	if err != nil || a.Domain != "CONTOSO" || a.User != "alice" {
		t.Errorf("exact lookup returned %v, %v; want the stored names", a, err)
	}
}

func TestAccountNoDomain(t *testing.T) {
	s, err := acctParseString("CONTOSO:alice:Password\n" +
		"FABRIKAM:alice:Secret1!\n" +
		"FABRIKAM:bob:hunter2\n" +
		"CONTOSO\\carol:1:" + strings.Repeat("X", 32) + ":" + acctHPassword + ":[DU ]:\n" +
		":dave:Wild1\nCONTOSO:dave:Exact1\n")
	if err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, s, []acctWant{
		{"", "alice", ""},        // in two domains: ambiguous
		{"", "BOB", acctHHunter}, // only in FABRIKAM
		{"", "carol", ""},        // only entry is disabled
		{"", "dave", acctHWild},  // the wildcard entry
		{"contoso", "dave", acctHExact},
	})
	a, err := s.LookupAccount(context.Background(), "", "bob")
	if err != nil || a.Domain != "FABRIKAM" {
		t.Errorf("lookup without domain = %v, %v; want the stored domain", a, err)
	}
	// The index follows Remove and Add.
	if !s.Remove("fabrikam", "ALICE") {
		t.Fatal("Remove failed")
	}
	acctCheckLookups(t, s, []acctWant{{"", "alice", acctHPassword}})
	if err := s.Add(Account{Domain: "Other", User: "Alice", NTHash: acctHash(t, acctHWild)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Account{Domain: "other", User: "ALICE", NTHash: acctHash(t, acctHExact)}); err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, s, []acctWant{{"", "alice", ""}, {"OTHER", "alice", acctHExact}})
	s.Remove("contoso", "alice")
	acctCheckLookups(t, s, []acctWant{{"", "alice", acctHExact}})
	s.Remove("other", "alice")
	acctCheckLookups(t, s, []acctWant{{"", "alice", ""}})
}

func TestAccountColonInPassword(t *testing.T) {
	tests := []struct {
		line, pw string
	}{
		{"D:u:pa:ss:word", "pa:ss:word"},
		{"D:u:pa:ss", "pa:ss"},
		{"D:u::leading", ":leading"},
		{"D:u:trailing:", "trailing:"},
		{"D:u:a:b:c:d:e:f", "a:b:c:d:e:f"},
		{"D:u:has space ", "has space "},
		{"D:u:\ttab", "\ttab"},
		{"D:u:#hash", "#hash"},
		{"D:u:back\\slash", "back\\slash"},
	}
	for _, tt := range tests {
		s, err := acctParseString(tt.line + "\n")
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		a, err := s.LookupAccount(context.Background(), "D", "u")
		if err != nil || a.NTHash != ntlmssp.NTOWFv1(tt.pw) {
			t.Errorf("%q: password not read as %q (%v)", tt.line, tt.pw, err)
		}
	}
}

func TestAccountCommentsAndBlankLines(t *testing.T) {
	in := "\xef\xbb\xbf# leading BOM and comment\n\n   \n\t# indented comment\n#CONTOSO:mallory:Password\n" +
		"CONTOSO:alice:Password\r\n   # trailing comment\n"
	s, err := acctParseString(in)
	if err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, s, []acctWant{
		{"CONTOSO", "alice", acctHPassword},
		{"CONTOSO", "mallory", ""},
		{"#CONTOSO", "mallory", ""},
	})
	if n := len(s.List()); n != 1 {
		t.Errorf("List has %d accounts, want 1", n)
	}
}

func TestAccountFailClosedLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name, path string
		is         error
		contains   string
	}{
		{"missing", missing, fs.ErrNotExist, "missing"},
		{"directory", dir, nil, "directory"},
		{"empty", filepath.Join(acctTestdata, "empty.txt"), nil, "empty"},
		{"blank", filepath.Join(acctTestdata, "blank.txt"), nil, "empty"},
		{"comments only", filepath.Join(acctTestdata, "comments.txt"), nil, "no account"},
		{"nothing usable", filepath.Join(acctTestdata, "nousable.txt"), nil, "11 entries skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadAccountFile(tt.path)
			if err == nil || s != nil {
				t.Fatalf("LoadAccountFile = %v, %v; want an error", s, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("file modes do not stop this user from reading")
		}
		p := filepath.Join(dir, "unreadable")
		if err := os.WriteFile(p, []byte("CONTOSO:alice:Password\n"), 0); err != nil {
			t.Fatal(err)
		}
		if s, err := LoadAccountFile(p); err == nil || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("LoadAccountFile = %v, %v; want a permission error", s, err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := filepath.Join(dir, "large")
		big := append([]byte("CONTOSO:alice:Password\n"), bytes.Repeat([]byte("#\n"), acctMaxFileSize/2)...)
		if err := os.WriteFile(p, big, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAccountFile(p); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("LoadAccountFile: %v; want a size error", err)
		}
		if _, err := ParseAccounts(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("ParseAccounts: %v; want a size error", err)
		}
	})
}

func TestAccountNeverAuthenticates(t *testing.T) {
	s := acctLoad(t, "unusable.txt")
	users := []string{"empty", "blank", "zero", "nopw", "xs", "stars", "disabled", "locked", "server$",
		"samempty", "samblank"}
	for _, u := range users {
		if a, err := s.LookupAccount(context.Background(), "CONTOSO", u); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("%s: lookup = %v, %v; want ErrNoSuchUser", u, a, err)
		}
	}
	acctCheckLookups(t, s, []acctWant{{"CONTOSO", "ok", acctHPassword}})
	var lines []string
	for _, w := range s.Warnings() {
		if strings.HasPrefix(w, "line ") {
			lines = append(lines, strings.SplitN(w, ":", 2)[0])
		}
		if strings.Contains(w, "CONTOSO") || strings.Contains(w, `\`) {
			t.Errorf("warning %q names an account", w)
		}
	}
	if len(lines) != len(users) {
		t.Errorf("warnings for %v, want one per skipped line (%d)", lines, len(users))
	}
	for _, a := range s.List() {
		if a.User != "ok" {
			t.Errorf("List includes %v, which never authenticates", a)
		}
	}
}

func TestAccountPermissionWarning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o600, 0o640, 0o644} {
		p := filepath.Join(dir, fmt.Sprintf("f%o", mode))
		if err := os.WriteFile(p, []byte("CONTOSO:alice:Password\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // beat the umask
			t.Fatal(err)
		}
		s, err := LoadAccountFile(p)
		if err != nil {
			t.Fatal(err)
		}
		warned := len(s.Warnings()) > 0
		if warned != (mode != 0o600) {
			t.Errorf("mode %o: warnings %q", mode, s.Warnings())
		}
	}
	p := filepath.Join(dir, "world-writable")
	if err := os.WriteFile(p, []byte("CONTOSO:alice:Password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadAccountFile(p); err == nil || !strings.Contains(err.Error(), "every user") {
		t.Errorf("world-writable file: %v, %v; want an error", s, err)
	}
}

func TestAccountMalformedLines(t *testing.T) {
	long := "CONTOSO:alice:" + strings.Repeat("p", acctMaxLineLen)
	x := strings.Repeat("X", 32)
	tests := []struct {
		name, in string
		line     int
		contains string
	}{
		{"no colon", "CONTOSO:alice:Password\nnocolon\n", 2, "no ':'"},
		{"hashed not hex", "\n\n# c\nalice:S3cretPassw0rd\n", 4, "32 hexadecimal"},
		{"hashed short", `CONTOSO\alice:a4f49c406510bdcab6824ee7c30fd85` + "\n", 1, "32 hexadecimal"},
		{"hashed two backslashes", `CONTOSO\al\ice:` + acctHPassword, 1, "user name"},
		{"smbpasswd bad NT", "alice:1000:" + x + ":" + strings.Repeat("Z", 32) + ":[U ]:LCT-1:", 1, "NT hash"},
		{"smbpasswd bad LM", "alice:1000:S3cretPassw0rd:" + acctHPassword + ":[U ]:LCT-1:", 1, "LM hash"},
		{"smbpasswd flags", "alice:1000:" + x + ":" + acctHPassword + ":[U :LCT-1:", 1, "']'"},
		{"smbpasswd flag chars", "alice:1000:" + x + ":" + acctHPassword + ":[u]:LCT-1:", 1, "flags"},
		{"smbpasswd uid", "alice:CONTOSO:" + x + ":" + acctHPassword + ":[U ]:LCT-1:", 1, "UID"},
		{"sam two domains", `CONTOSO\alice:FABRIKAM::` + acctHPassword + ":", 1, "domain"},
		{"control character", "CONTOSO:alice:S3cret\x01Passw0rd\n", 1, "control"},
		{"inner CR", "CONTOSO:alice:S3cret\rPassw0rd\n", 1, "control"},
		{"NUL", "CONTOSO:alice:S3cret\x00Passw0rd\n", 1, "control"},
		{"invalid UTF-8", "CONTOSO:alice:S3cret\xffPassw0rd\n", 1, "UTF-8"},
		{"backslash in user", "CONTOSO:al\\ice:S3cretPassw0rd\n", 1, "user name"},
		{"space around name", "CONTOSO : alice:S3cretPassw0rd\n", 1, "white space"},
		{"empty user", "# c\nCONTOSO::S3cretPassw0rd\n", 2, "empty user"},
		{"duplicate", "CONTOSO:alice:Password\n\ncontoso:ALICE:S3cretPassw0rd\n", 3, "line 1"},
		{"duplicate wildcard", ":alice:Password\nalice:" + acctHSecret + "\n", 2, "line 1"},
		{"duplicate disabled", "CONTOSO:alice:Password\nCONTOSO\\alice:1:" + x + ":" + x + ":[U ]:\n", 2, "line 1"},
		{"future header", "# gosspi-accounts v2\nCONTOSO\\alice:" + acctHPassword + "\n", 1, "version"},
		{"long line", "CONTOSO:bob:Password\n#\n" + long + "\n", 3, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := acctParseString(tt.in)
			if err == nil || s != nil {
				t.Fatalf("ParseAccounts = %v, %v; want an error", s, err)
			}
			var ae *acctError
			if !errors.As(err, &ae) || ae.line != tt.line {
				t.Errorf("error %q: want line %d", err, tt.line)
			}
			if want := fmt.Sprintf("line %d:", tt.line); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
			for _, secret := range []string{"S3cret", "Passw0rd", acctHPassword, "pppppppp"} {
				if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}
	// The same through a file: the error names the file as well.
	p := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(p, []byte("CONTOSO:alice:Password\nbad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadAccountFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("LoadAccountFile error %v: want the path and line 2", err)
	}
}

func TestAccountSecretsStayOut(t *testing.T) {
	// A password in the wrong column: "USER:PASSWORD:" reads as domain USER,
	// user PASSWORD, empty password. Nothing may repeat it.
	in := "alice:S3cretPassw0rd:\n"
	s, err := acctParseString(in)
	if err == nil {
		t.Fatalf("loaded %v", s)
	}
	if strings.Contains(err.Error(), "S3cret") {
		t.Errorf("error %q leaks the password", err)
	}
	s, err = acctParseString(in + "CONTOSO:ok:Password\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range s.Warnings() {
		if strings.Contains(w, "S3cret") {
			t.Errorf("warning %q leaks the password", w)
		}
	}

	a := Account{Domain: "CONTOSO", User: "alice", NTHash: acctHash(t, acctHPassword)}
	type holder struct {
		A  Account
		P  *Account
		L  []Account
		M  map[string]Account
		FS *FileAccountStore
	}
	h := holder{A: a, P: &a, L: []Account{a}, M: map[string]Account{"a": a}, FS: s}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, v := range []any{a, &a, []Account{a}, h, &h, s} {
			out := fmt.Sprintf(verb, v)
			lower := strings.ToLower(out)
			if strings.Contains(lower, acctHPassword) || strings.Contains(lower, "164, 244") ||
				strings.Contains(lower, "[164 244") || strings.Contains(out, "0xa4") {
				t.Errorf("Sprintf(%q, %T) = %q leaks the hash", verb, v, out)
			}
		}
	}
	if got := a.String(); !strings.Contains(got, `CONTOSO\alice`) || !strings.Contains(got, "redacted") {
		t.Errorf("String() = %q", got)
	}
	if got := fmt.Sprintf("%#v", a); got != `ntlm.Account{Domain:"CONTOSO", User:"alice", NTHash:<redacted>}` {
		t.Errorf("%%#v = %s", got)
	}
	if got := (Account{User: "bob"}).String(); !strings.HasPrefix(got, `*\bob`) {
		t.Errorf("wildcard String() = %q", got)
	}
}

func TestAccountWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "accounts")
	// A pre-existing, world-readable file is replaced by a private one.
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := acctLoad(t, "mixed.txt")
	want := src.List()
	want = append(want, Account{Domain: "ΕΛΛΑΣ", User: "#σοφια", NTHash: acctHash(t, acctHExact)})
	if err := WriteAccountFile(p, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the accounts file (temp file left?)", len(entries))
	}
	raw, _ := os.ReadFile(p)
	if !bytes.HasPrefix(raw, []byte(acctHeader+"\n")) {
		t.Errorf("file does not start with the header:\n%s", raw)
	}
	if bytes.Contains(raw, []byte("Password")) {
		t.Errorf("file holds plaintext:\n%s", raw)
	}
	got, err := LoadAccountFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings()) != 0 {
		t.Errorf("warnings %q", got.Warnings())
	}
	acctSortAccounts(want)
	if gl := got.List(); !slices.Equal(gl, want) {
		t.Errorf("round trip:\n got %v\nwant %v", gl, want)
	}
	acctCheckLookups(t, got, []acctWant{
		{"CONTOSO", "alice", acctHPassword},
		{"X", "bob", acctHSecret},
		{"ελλας", "#ΣΟΦΙΑ", acctHExact},
	})
}

func acctSortAccounts(a []Account) {
	s := &FileAccountStore{}
	for _, x := range a {
		s.Add(x)
	}
	copy(a, s.List())
}

func TestAccountWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	good := Account{Domain: "CONTOSO", User: "alice", NTHash: acctHash(t, acctHPassword)}
	with := func(f func(*Account)) []Account {
		a := good
		f(&a)
		return []Account{a}
	}
	tests := []struct {
		name string
		list []Account
	}{
		{"empty list", nil},
		{"zero hash", with(func(a *Account) { a.NTHash = [16]byte{} })},
		{"blank password hash", with(func(a *Account) { a.NTHash = acctEmptyNTHash })},
		{"empty user", with(func(a *Account) { a.User = "" })},
		{"colon in user", with(func(a *Account) { a.User = "a:b" })},
		{"backslash in user", with(func(a *Account) { a.User = `a\b` })},
		{"colon in domain", with(func(a *Account) { a.Domain = "a:b" })},
		{"comment domain", with(func(a *Account) { a.Domain = "#X" })},
		{"newline", with(func(a *Account) { a.User = "a\nCONTOSO\\evil" })},
		{"space", with(func(a *Account) { a.Domain = " CONTOSO" })},
		{"invalid UTF-8", with(func(a *Account) { a.User = "\xff" })},
		{"duplicate", []Account{good, {Domain: "contoso", User: "ALICE", NTHash: acctHash(t, acctHSecret)}}},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, "f")
		if err := WriteAccountFile(p, tt.list); err == nil {
			t.Errorf("%s: WriteAccountFile succeeded", tt.name)
		} else if strings.Contains(err.Error(), acctHPassword) {
			t.Errorf("%s: error %q leaks the hash", tt.name, err)
		}
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a file was written", tt.name)
		}
	}
	if err := WriteAccountFile(filepath.Join(dir, "no", "such", "dir"), []Account{good}); err == nil {
		t.Errorf("WriteAccountFile into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d files behind", len(entries))
	}
}

func TestAccountAddRemoveList(t *testing.T) {
	var s FileAccountStore // the zero value is usable
	ctx := context.Background()
	if _, err := s.LookupAccount(ctx, "CONTOSO", "alice"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("empty store: %v", err)
	}
	alice := Account{Domain: "CONTOSO", User: "alice", NTHash: acctHash(t, acctHPassword)}
	if err := s.Add(alice); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Account{User: "zed", NTHash: acctHash(t, acctHWild)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Account{Domain: "ABC", User: "Bob", NTHash: acctHash(t, acctHHunter)}); err != nil {
		t.Fatal(err)
	}
	// Re-adding under other case replaces: a password change.
	if err := s.Add(Account{Domain: "contoso", User: "ALICE", NTHash: acctHash(t, acctHSecret)}); err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, &s, []acctWant{
		{"CONTOSO", "alice", acctHSecret},
		{"abc", "bob", acctHHunter},
		{"ANY", "zed", acctHWild},
	})
	var names []string
	for _, a := range s.List() {
		names = append(names, a.Domain+`\`+a.User)
	}
	if want := []string{`\zed`, `ABC\Bob`, `contoso\ALICE`}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q", names, want)
	}
	for _, bad := range []Account{
		{Domain: "CONTOSO", User: "x"},
		{Domain: "CONTOSO", User: "x", NTHash: acctEmptyNTHash},
		{Domain: "CONTOSO", User: "", NTHash: acctHash(t, acctHPassword)},
		{Domain: "CON:TOSO", User: "x", NTHash: acctHash(t, acctHPassword)},
	} {
		if err := s.Add(bad); err == nil {
			t.Errorf("Add(%v) succeeded", bad)
		}
	}
	if !s.Remove("Contoso", "Alice") {
		t.Errorf("Remove of an existing account reported false")
	}
	if s.Remove("CONTOSO", "alice") {
		t.Errorf("second Remove reported true")
	}
	if s.Remove("", "bob") {
		t.Errorf(`Remove("", "bob") removed a domain entry`)
	}
	acctCheckLookups(t, &s, []acctWant{{"CONTOSO", "alice", ""}, {"abc", "bob", acctHHunter}})

	// Removing a disabled entry lets the wildcard answer again.
	w := acctLoad(t, "wildcard.txt")
	if !w.Remove("CONTOSO", "bob") {
		t.Fatal("Remove of the disabled entry reported false")
	}
	acctCheckLookups(t, w, []acctWant{{"CONTOSO", "bob", acctHWild}})
}

func TestAccountConcurrentLookups(t *testing.T) {
	s := acctLoad(t, "mixed.txt")
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				a, err := s.LookupAccount(ctx, "contoso", "ALICE")
				if err != nil || a.NTHash != acctHash(t, acctHPassword) {
					t.Errorf("goroutine %d: lookup %d: %v", g, i, err)
					return
				}
				if _, err := s.LookupAccount(ctx, "CONTOSO", fmt.Sprintf("u%d", i)); err != nil && !errors.Is(err, ErrNoSuchUser) {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 500 {
			u := fmt.Sprintf("u%d", i)
			if err := s.Add(Account{Domain: "CONTOSO", User: u, NTHash: acctHash(t, acctHExact)}); err != nil {
				t.Error(err)
				return
			}
			_ = s.List()
			_ = s.Warnings()
			_ = s.String()
			s.Remove("CONTOSO", u)
		}
	})
	wg.Wait()
}

func TestAccountLookupEdges(t *testing.T) {
	s := acctLoad(t, "gss-ntlmssp.txt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.LookupAccount(ctx, "CONTOSO", "alice"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled lookup: %v", err)
	}
	for _, tt := range []struct{ domain, user string }{
		{"CONTOSO", ""},
		{"CONTOSO", "al\xffice"},
		{"CONT\xffOSO", "carol"},
	} {
		if _, err := s.LookupAccount(context.Background(), tt.domain, tt.user); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("lookup %q\\%q: %v", tt.domain, tt.user, err)
		}
	}
	// A name from the network is quoted in the error, never written raw.
	_, err := s.LookupAccount(context.Background(), "X", "evil\nline")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q", err)
	}
	var nilStore *FileAccountStore
	if _, err := nilStore.LookupAccount(context.Background(), "X", "y"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("nil store: %v", err)
	}
}

func TestAccountStoreFunc(t *testing.T) {
	dir := map[string]Account{
		`CONTOSO\alice`: {Domain: "CONTOSO", User: "alice", NTHash: acctHash(t, acctHPassword)},
		`CONTOSO\zero`:  {Domain: "CONTOSO", User: "zero"},
		`CONTOSO\blank`: {Domain: "CONTOSO", User: "blank", NTHash: acctEmptyNTHash},
	}
	down := errors.New("directory down")
	var store AccountStore = AccountStoreFunc(func(ctx context.Context, domain, user string) (Account, error) {
		if user == "down" {
			return Account{User: "partial", NTHash: acctHash(t, acctHSecret)}, down
		}
		a, ok := dir[strings.ToUpper(domain)+`\`+strings.ToLower(user)]
		if !ok {
			return Account{}, fmt.Errorf("ldap: %w", ErrNoSuchUser)
		}
		return a, nil
	})
	acctCheckLookups(t, store, []acctWant{
		{"contoso", "ALICE", acctHPassword},
		{"CONTOSO", "zero", ""},
		{"CONTOSO", "blank", ""},
		{"CONTOSO", "nobody", ""},
	})
	a, err := store.LookupAccount(context.Background(), "CONTOSO", "down")
	if !errors.Is(err, down) || a != (Account{}) {
		t.Errorf("error lookup = %v, %v", a, err)
	}
	if _, err := AccountStoreFunc(nil).LookupAccount(context.Background(), "a", "b"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("nil func: %v", err)
	}
}

func TestDefaultAccountStore(t *testing.T) {
	t.Setenv("NTLM_USER_FILE", "")
	if s, err := DefaultAccountStore(); err == nil || s != nil || !strings.Contains(err.Error(), "NTLM_USER_FILE") {
		t.Errorf("unset: %v, %v", s, err)
	}
	t.Setenv("NTLM_USER_FILE", filepath.Join(t.TempDir(), "missing"))
	if s, err := DefaultAccountStore(); err == nil || s != nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, %v", s, err)
	}
	t.Setenv("NTLM_USER_FILE", filepath.Join(acctTestdata, "gss-ntlmssp.txt"))
	s, err := DefaultAccountStore()
	if err != nil {
		t.Fatal(err)
	}
	acctCheckLookups(t, s, []acctWant{{"CONTOSO", "alice", acctHPassword}})
}

func FuzzParseAccounts(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(acctTestdata, "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"CONTOSO:alice:Password\n",
		"D:u:pa:ss:word\n",
		":u:x\n",
		`D\u:` + acctHPassword + "\n",
		"u:1:" + strings.Repeat("X", 32) + ":" + acctHPassword + ":[U ]:LCT-0:\n",
		"u:D::" + acctHPassword + ":::\n",
		"# gosspi-accounts v1\n\\u:" + acctHSecret + "\r\n",
		"K:\u212a:x\nk:K:y\n",
		"a:b:\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseAccounts(bytes.NewReader(data))
		if err != nil {
			if s != nil {
				t.Fatal("store returned with an error")
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes: it must not quote the input", len(err.Error()))
			}
			return
		}
		list := s.List()
		if len(list) == 0 {
			t.Fatal("loaded a store with no usable account")
		}
		for _, a := range list {
			if acctHashProblem(a.NTHash) != "" || a.User == "" {
				t.Fatalf("listed an account that must not authenticate: %v", a)
			}
			// SimpleFold moves each rune to another member of its folding
			// orbit, so the lookup must still find the account.
			other := strings.Map(unicode.SimpleFold, a.User)
			got, err := s.LookupAccount(context.Background(), a.Domain, other)
			if err != nil || got.NTHash != a.NTHash {
				t.Fatalf("listed account %v does not look up: %v", a, err)
			}
		}
		for _, a := range list {
			got, err := s.LookupAccount(context.Background(), "", a.User)
			if err != nil && !errors.Is(err, ErrNoSuchUser) {
				t.Fatalf("lookup without domain: %v", err)
			}
			if err == nil && !slices.Contains(list, got) {
				t.Fatalf("lookup without domain returned an unlisted account %v", got)
			}
		}
		// Everything the parser accepts, the writer can write and the
		// parser reads back as the same accounts.
		enc, err := acctEncode(list)
		if err != nil {
			t.Fatalf("cannot encode parsed accounts: %v", err)
		}
		s2, err := ParseAccounts(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("cannot parse encoded accounts: %v", err)
		}
		if !slices.Equal(s2.List(), list) {
			t.Fatalf("round trip changed the accounts")
		}
	})
}
