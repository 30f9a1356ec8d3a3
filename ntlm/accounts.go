package ntlm

// This file is the NTLM acceptor's account authority: the one place that
// answers "what is the NT hash of DOMAIN\user".
//
// Secrets: NT hashes are held only as [16]byte values, and the file store
// overwrites the hashes it drops and the buffers it reads a file into. Go
// cannot promise more than that: the runtime may have copied a value before it
// is cleared (stack growth, arguments passed by value, the strings that
// NTOWFv1 needs for plaintext passwords), so treat this as damage limitation,
// not a guarantee. What this file does guarantee is that no secret is ever put
// into an error, a warning, or the output of its String and Format methods.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gosspi/sspi/internal/ntlmssp"
)

// Account is one entry of an AccountStore.
//
// NTHash is a password equivalent: whoever knows it can authenticate as the
// account. Account's String and Format methods therefore never print it. Code
// that formats the NTHash field itself gets no such protection, and neither
// does an Account kept in an unexported struct field, which fmt prints
// without calling its methods.
type Account struct {
	// Domain is the NetBIOS or DNS domain as stored. "" matches any domain
	// (see FileAccountStore for how this differs from gss-ntlmssp). NetBIOS
	// and DNS forms are different names: CONTOSO does not match contoso.com.
	Domain string
	// User is the account name as stored.
	User string
	// NTHash is NTOWFv1 of the password: MD4 of its UTF-16LE encoding.
	NTHash [16]byte
}

// String returns DOMAIN\user, with "*" for a domain wildcard, so that
// accounts can be logged. It never includes the hash.
func (a Account) String() string {
	return acctDisplay(a.Domain, a.User) + " (NT hash redacted)"
}

// Format implements fmt.Formatter so that every verb, including %#v, %x and
// %d, which would otherwise dump the struct's fields, prints the account
// without its hash.
func (a Account) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "ntlm.Account{Domain:%q, User:%q, NTHash:<redacted>}", a.Domain, a.User)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "{Domain:%s User:%s NTHash:<redacted>}", a.Domain, a.User)
	case verb == 'q':
		io.WriteString(f, strconv.Quote(a.String()))
	default:
		io.WriteString(f, a.String())
	}
}

// AccountStore answers the NTLM server's one question. Implementations must
// be safe for concurrent use: one acceptor credential serves many contexts.
type AccountStore interface {
	// LookupAccount returns the account for domain\user. Names compare
	// case-insensitively (Unicode simple folding, as Windows does). An unknown
	// user returns an error wrapping ErrNoSuchUser. The server has already
	// split a user principal name ("alice@EXAMPLE" with no domain) into
	// domain "EXAMPLE" and user "alice".
	LookupAccount(ctx context.Context, domain, user string) (Account, error)
}

// ErrNoSuchUser is wrapped by the error of a lookup that finds no account
// that may authenticate, whether the name is unknown or its entry is
// disabled, so that a server can answer both with the same logon failure
// and a client cannot probe which accounts exist. Any other error means the
// store could not answer (a directory is down), not that the user is unknown.
var ErrNoSuchUser = errors.New("ntlm: no such user")

// AccountStoreFunc adapts a function (a custom directory, LDAP, a database)
// to AccountStore. The function must be safe for concurrent use.
//
// The adapter fails closed where a hand-written directory might not: an
// account whose NTHash is all zeros or is NTOWFv1("") (the zero value, or a
// blank password) is turned into an error wrapping ErrNoSuchUser, because
// anybody can compute the responses for such a hash (FreeRDP's
// CVE-2022-24882 was this mistake).
type AccountStoreFunc func(ctx context.Context, domain, user string) (Account, error)

// LookupAccount calls f and rejects an account that must never authenticate.
func (f AccountStoreFunc) LookupAccount(ctx context.Context, domain, user string) (Account, error) {
	if f == nil {
		return Account{}, fmt.Errorf("%w: nil AccountStoreFunc", ErrNoSuchUser)
	}
	a, err := f(ctx, domain, user)
	if err != nil {
		// Drop whatever the function returned alongside its error, so a
		// partially filled account cannot be used by mistake.
		return Account{}, err
	}
	if reason := acctHashProblem(a.NTHash); reason != "" {
		return Account{}, fmt.Errorf("%w: %s: %s", ErrNoSuchUser, acctQuoted(domain, user), reason)
	}
	return a, nil
}

// DefaultAccountStore returns the store named by the NTLM_USER_FILE
// environment variable, the variable gss-ntlmssp and Heimdal read, loaded
// with LoadAccountFile. An unset or empty variable is an error rather than an
// empty store, so that a misconfigured server refuses to start instead of
// refusing every logon.
func DefaultAccountStore() (AccountStore, error) {
	path := os.Getenv("NTLM_USER_FILE")
	if path == "" {
		return nil, errors.New("ntlm: NTLM_USER_FILE is not set: no account file to authenticate users against")
	}
	s, err := LoadAccountFile(path)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}

const (
	// acctMaxFileSize bounds what Load and Parse read: enough for tens of
	// thousands of accounts. A larger directory belongs behind an
	// AccountStoreFunc, not in a file read whole into memory.
	acctMaxFileSize = 8 << 20
	// acctMaxLineLen bounds one line, long enough for any real name and
	// password (gss-ntlmssp itself stops at 1023 bytes).
	acctMaxLineLen = 4096
	// acctHeader is the first line WriteAccountFile writes, so that a later
	// format can be told apart. Other readers see a comment, and gss-ntlmssp
	// skips the one-colon lines below it: the hashed format is ours alone.
	acctHeader       = "# gosspi-accounts v1"
	acctHeaderPrefix = "# gosspi-accounts"
)

// acctEmptyNTHash is NTOWFv1(""): an account with this hash has a blank
// password, which we never accept.
var acctEmptyNTHash = [16]byte{
	0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31,
	0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0,
}

// FileAccountStore is an AccountStore held in memory and read from or
// written to a file. It is safe for concurrent use, including Add and Remove
// running alongside lookups. The zero value is an empty store, which
// authenticates nobody, ready for Add.
//
// # File formats
//
// LoadAccountFile and ParseAccounts detect the format of each line on its
// own, so that the formats may be mixed in one file, as gss-ntlmssp allows:
//
//   - Blank lines, and lines whose first non-blank character is '#', are
//     skipped. A UTF-8 byte order mark and CRLF line ends are accepted.
//   - DOMAIN\USER:NTHASH (one colon) is the hashed format WriteAccountFile
//     writes, under a "# gosspi-accounts v1" header: NTHASH is 32 hex digits.
//     An empty DOMAIN (a line starting with a backslash, or no backslash at
//     all) matches any domain. A header naming another version is an error.
//   - DOMAIN:USER:PASSWORD (two colons) is gss-ntlmssp's and Heimdal's
//     NTLM_USER_FILE line; an empty DOMAIN matches any domain. The password
//     is taken verbatim (no trimming) and hashed with NTOWFv1 at load time.
//     (gss-ntlmssp's acceptor compares an empty DOMAIN with the client's
//     domain like any other name, so there it matches only clients that
//     send no domain; only its smbpasswd lines without DOMAIN\ match every
//     domain. The wildcard here is the same for every format, and an entry
//     for the exact domain always wins over it.)
//   - USER:UID:LMHASH:NTHASH:[FLAGS]:LCT-xxxxxxxx: is a Samba smbpasswd line.
//     As in gss-ntlmssp, USER may be written DOMAIN\USER; otherwise the entry
//     matches any domain. Only the NT hash is used; the LM hash is checked for
//     shape and then ignored, since LM authentication is never offered.
//   - USER:DOMAIN:LMHASH:NTHASH: is a line of FreeRDP's (winpr) SAM file;
//     each hash is empty or 32 hex digits. An empty DOMAIN matches any domain.
//
// A line with four or more colons is read as smbpasswd or SAM when its fourth
// column looks like an NT hash (32 characters, empty, or "NO PASSWORD...")
// and its third like an LM hash (the same, LM may also be empty), or when its
// second column is a number and its fifth a "[flags]" field; it is then
// smbpasswd if the second column is a number or the fifth starts with '[',
// and SAM otherwise. (A SAM domain made only of digits is therefore read as
// a UID; write such an account as DOMAIN\USER in the first column with an
// empty second column.) Any other line with three or more colons is a
// DOMAIN:USER:PASSWORD line whose password contains colons: everything after
// the second colon is the password. gss-ntlmssp itself cannot read such a
// password; it takes the line for smbpasswd and skips or rejects it.
//
// # Failing closed
//
// Loading fails for a missing, unreadable, oversized or empty file, for a
// file with no account that may authenticate, for any malformed line (the
// error names the line number and never its text), and for two lines that
// name the same account (names compare as in LookupAccount), since the file
// would then not say which one is meant.
//
// Some well-formed entries are kept but never authenticate: an empty
// password; a hash that is all zeros or NTOWFv1(""); an smbpasswd or SAM hash
// that is empty, all X or '*' characters, or NO PASSWORD; and smbpasswd
// accounts flagged D (disabled), L (locked out), or W, S or I (workstation,
// server and interdomain trust accounts: Samba accepts those only from callers
// that explicitly allow trust accounts, and a user store has no such caller).
// Such an entry still answers for its name: a lookup that finds it returns
// ErrNoSuchUser rather than falling through to a wildcard entry, because an
// administrator who disabled CONTOSO\bob meant to lock bob out. Each skipped
// entry is reported by Warnings, by line number only: the line might be a
// password typed into the wrong column.
type FileAccountStore struct {
	mu      sync.RWMutex
	entries map[acctKey]*acctEntry
	// domains lists, per folded user name, the folded domains of the
	// entries that have one, so that a lookup without a domain need not
	// scan every entry.
	domains  map[string][]string
	warnings []string
}

// acctKey is an account's identity: both names in folded form, domain "" for
// the wildcard.
type acctKey struct{ domain, user string }

type acctEntry struct {
	acct Account
	line int // the file line it came from; 0 when added with Add
	// unusable, when not empty, says why this entry never authenticates.
	unusable string
}

// LoadAccountFile reads an account file in any of the formats described
// under FileAccountStore. It fails closed: see FileAccountStore. Anything but a
// regular file (a FIFO, a device, a directory) is refused before a byte is
// read. On Unix, a file that others than its owner may change (writable by its
// group or by every user) is refused, and one that they may read loads with a
// warning.
func LoadAccountFile(path string) (*FileAccountStore, error) {
	f, st, err := acctOpen(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := acctParseReader(f)
	if err != nil {
		var ae *acctError
		if errors.As(err, &ae) {
			ae.path = path
			return nil, ae
		}
		return nil, acctPathError(path, err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		s.warnings = append(s.warnings, fmt.Sprintf(
			"file mode %04o lets other users read password equivalents; use 0600", st.Mode().Perm()))
	}
	return s, nil
}

// acctOpen opens an account file for LoadAccountFile and checks what it is. The
// path is looked at before it is opened, so that a FIFO is never opened where
// that would block; the open itself does not block either (acctOpenFlags), and
// the checks are made again on the opened file, which is what is read,
// whatever the path names by then.
func acctOpen(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, acctPathError(path, err)
	}
	if err := acctCheckMode(path, st); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|acctOpenFlags, 0)
	if err != nil {
		return nil, nil, acctPathError(path, err)
	}
	fst, err := f.Stat()
	if err == nil {
		err = acctCheckMode(path, fst)
	}
	if err == nil && !os.SameFile(st, fst) {
		err = &acctError{path: path, reason: "was replaced while it was being opened; try again"}
	}
	if err != nil {
		f.Close()
		var ae *acctError
		if !errors.As(err, &ae) {
			err = acctPathError(path, err)
		}
		return nil, nil, err
	}
	return f, fst, nil
}

// acctCheckMode refuses what must not be read as an account file.
func acctCheckMode(path string, st fs.FileInfo) error {
	mode := st.Mode()
	switch {
	case mode.IsDir():
		return &acctError{path: path, reason: "is a directory"}
	case !mode.IsRegular():
		// A FIFO would hang start-up until something writes to it, and a
		// device could be read forever.
		return &acctError{path: path, reason: fmt.Sprintf("is not a regular file (%s); give the path of a file", acctFileType(mode))}
	case st.Size() > acctMaxFileSize:
		return &acctError{path: path, reason: fmt.Sprintf("larger than %d bytes", acctMaxFileSize)}
	case runtime.GOOS == "windows":
		return nil
	case mode.Perm()&0o002 != 0:
		// Anybody could add an account of their own: refuse, as ssh refuses
		// a key file others can write.
		return &acctError{path: path, reason: fmt.Sprintf("file mode %04o lets every user change it; use 0600 (chmod 600)", mode.Perm())}
	case mode.Perm()&0o020 != 0:
		// The members of its group could add an account of their own.
		return &acctError{path: path, reason: fmt.Sprintf("file mode %04o lets the members of its group change it; use 0600 (chmod 600)", mode.Perm())}
	}
	return nil
}

// acctFileType names the kind of a file that is not a regular one.
func acctFileType(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + mode.Type().String()
}

// ParseAccounts reads accounts from r as LoadAccountFile reads a file, with
// the same limits and the same fail-closed rules.
func ParseAccounts(r io.Reader) (*FileAccountStore, error) {
	return acctParseReader(r)
}

func acctParseReader(r io.Reader) (*FileAccountStore, error) {
	data, err := io.ReadAll(io.LimitReader(r, acctMaxFileSize+1))
	// The buffer holds plaintext passwords of DOMAIN:USER:PASSWORD lines.
	defer clear(data)
	if err != nil {
		return nil, &acctError{reason: "read", err: err}
	}
	if len(data) > acctMaxFileSize {
		return nil, &acctError{reason: fmt.Sprintf("larger than %d bytes", acctMaxFileSize)}
	}
	return acctParse(data)
}

// acctParse builds a store from a whole file. It never includes text of the
// file in an error or warning, only line numbers.
func acctParse(data []byte) (*FileAccountStore, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &acctError{reason: "empty file: no accounts"}
	}
	s := &FileAccountStore{}
	fail := func(err error) (*FileAccountStore, error) {
		s.zero()
		return nil, err
	}
	usable := 0
	for lineNo := 1; len(data) > 0; lineNo++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > acctMaxLineLen {
			return fail(&acctError{line: lineNo, reason: fmt.Sprintf("longer than %d bytes", acctMaxLineLen)})
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		e, err := acctParseLine(line)
		if err != "" {
			return fail(&acctError{line: lineNo, reason: err})
		}
		if e == nil {
			continue // blank or comment
		}
		e.line = lineNo
		k := acctKeyOf(e.acct.Domain, e.acct.User)
		if prev, dup := s.entries[k]; dup {
			clear(e.acct.NTHash[:])
			return fail(&acctError{line: lineNo, reason: fmt.Sprintf(
				"names the same account as line %d (names compare case-insensitively)", prev.line)})
		}
		s.put(k, e)
		if e.unusable != "" {
			s.warnings = append(s.warnings, fmt.Sprintf("line %d: entry never authenticates: %s", lineNo, e.unusable))
		} else {
			usable++
		}
	}
	if usable == 0 {
		return fail(&acctError{reason: fmt.Sprintf(
			"no account that may authenticate (%d entries skipped)", len(s.entries))})
	}
	return s, nil
}

// acctParseLine parses one line without its line end. It returns a nil entry
// for a blank line or a comment, and a non-empty reason for a malformed line;
// the reason never quotes the line.
func acctParseLine(line []byte) (*acctEntry, string) {
	trimmed := bytes.TrimLeft(line, " \t")
	if len(bytes.TrimRight(trimmed, " \t")) == 0 {
		return nil, ""
	}
	if trimmed[0] == '#' {
		if rest, ok := bytes.CutPrefix(trimmed, []byte(acctHeaderPrefix)); ok {
			v := bytes.Fields(rest)
			if len(v) == 0 || string(v[0]) != "v1" {
				return nil, "unsupported gosspi-accounts format version"
			}
		}
		return nil, ""
	}
	if !utf8.Valid(line) {
		return nil, "not valid UTF-8"
	}
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return nil, "contains a control character"
		}
	}
	f := bytes.Split(line, []byte(":"))
	switch {
	case len(f) == 1:
		return nil, "no ':' separator: not an account line"
	case len(f) == 2:
		return acctParseHashed(f)
	case len(f) >= 5 && acctLooksHashed(f):
		return acctParseSmbOrSAM(f)
	default:
		// DOMAIN:USER:PASSWORD, the password being everything after the
		// second colon.
		return acctParsePlain(f[0], f[1], bytes.SplitN(line, []byte(":"), 3)[2])
	}
}

// acctParseHashed reads DOMAIN\USER:NTHASH.
func acctParseHashed(f [][]byte) (*acctEntry, string) {
	domain, user := "", string(f[0])
	if d, u, ok := strings.Cut(user, `\`); ok {
		domain, user = d, u
	}
	if r := acctCheckNames(domain, user); r != "" {
		return nil, r
	}
	h, state := acctParseHashField(f[1])
	if state != acctHashValid {
		return nil, "expected DOMAIN\\USER:NTHASH with NTHASH 32 hexadecimal digits"
	}
	return acctNewEntry(domain, user, h, ""), ""
}

// acctParsePlain reads gss-ntlmssp's DOMAIN:USER:PASSWORD.
func acctParsePlain(domain, user, password []byte) (*acctEntry, string) {
	d, u := string(domain), string(user)
	if r := acctCheckNames(d, u); r != "" {
		return nil, r
	}
	if len(password) == 0 {
		return acctNewEntry(d, u, [16]byte{}, "empty password"), ""
	}
	return acctNewEntry(d, u, ntlmssp.NTOWFv1(string(password)), ""), ""
}

// acctLooksHashed tells an smbpasswd or SAM line from a DOMAIN:USER:PASSWORD
// line whose password contains colons; see FileAccountStore.
func acctLooksHashed(f [][]byte) bool {
	shaped := func(b []byte) bool {
		return len(b) == 0 || len(b) == 32 || acctIsNoPassword(b)
	}
	if shaped(f[2]) && shaped(f[3]) {
		return true
	}
	return acctIsDigits(f[1]) && bytes.HasPrefix(f[4], []byte("["))
}

// acctParseSmbOrSAM reads USER:UID:LM:NT:[FLAGS]:... (smbpasswd) and
// USER:DOMAIN:LM:NT:... (FreeRDP SAM).
func acctParseSmbOrSAM(f [][]byte) (*acctEntry, string) {
	user := string(f[0])
	domain := ""
	smb := acctIsDigits(f[1]) || bytes.HasPrefix(f[4], []byte("["))
	if smb {
		if len(f[1]) != 0 && !acctIsDigits(f[1]) {
			// A domain here would be silently ignored and the entry would
			// match every domain: refuse rather than widen it.
			return nil, "smbpasswd UID column is not a number"
		}
	} else {
		domain = string(f[1])
	}
	if d, u, ok := strings.Cut(user, `\`); ok {
		if domain != "" {
			return nil, "domain given both as DOMAIN\\USER and in the domain column"
		}
		domain, user = d, u
	}
	if r := acctCheckNames(domain, user); r != "" {
		return nil, r
	}
	if _, state := acctParseHashField(f[2]); state == acctHashMalformed {
		return nil, "LM hash column is not empty, 32 hexadecimal digits, X's or NO PASSWORD"
	}
	h, state := acctParseHashField(f[3])
	unusable := ""
	switch state {
	case acctHashMalformed:
		return nil, "NT hash column is not empty, 32 hexadecimal digits, X's or NO PASSWORD"
	case acctHashEmpty:
		unusable = "empty NT hash"
	case acctHashDisabled:
		unusable = "NT hash disabled (X's, '*' or NO PASSWORD)"
	}
	if smb && bytes.HasPrefix(f[4], []byte("[")) {
		flags, ok := bytes.CutPrefix(f[4], []byte("["))
		flags, ok2 := bytes.CutSuffix(flags, []byte("]"))
		if !ok || !ok2 {
			return nil, "smbpasswd flags column has no closing ']'"
		}
		for _, c := range flags {
			if c != ' ' && (c < 'A' || c > 'Z') {
				return nil, "smbpasswd flags column has a character other than A-Z and space"
			}
		}
		switch {
		case bytes.IndexByte(flags, 'D') >= 0:
			unusable = "account disabled (smbpasswd flag D)"
		case bytes.IndexByte(flags, 'L') >= 0:
			unusable = "account locked out (smbpasswd flag L)"
		case bytes.ContainsAny(flags, "WSI"):
			unusable = "machine or trust account (smbpasswd flag W, S or I)"
		}
	}
	return acctNewEntry(domain, user, h, unusable), ""
}

// acctNewEntry builds an entry, marking it unusable for a hash that anybody
// could compute responses for.
func acctNewEntry(domain, user string, h [16]byte, unusable string) *acctEntry {
	if unusable == "" {
		unusable = acctHashProblem(h)
	}
	if unusable != "" {
		clear(h[:])
	}
	return &acctEntry{acct: Account{Domain: domain, User: user, NTHash: h}, unusable: unusable}
}

const (
	acctHashValid = iota
	acctHashEmpty
	acctHashDisabled
	acctHashMalformed
)

// acctParseHashField reads a hash column: 32 hex digits, empty, a disabled
// marker (Samba writes 32 X's, older tools '*'s, or NO PASSWORD followed by
// X's) or anything else, which is malformed.
func acctParseHashField(b []byte) (h [16]byte, state int) {
	switch {
	case len(b) == 0:
		return h, acctHashEmpty
	case acctIsNoPassword(b):
		return h, acctHashDisabled
	case len(b) != 32:
		return h, acctHashMalformed
	}
	if _, err := hex.Decode(h[:], b); err == nil {
		return h, acctHashValid
	}
	clear(h[:])
	for _, c := range b {
		if c != 'X' && c != 'x' && c != '*' {
			return h, acctHashMalformed
		}
	}
	return h, acctHashDisabled
}

func acctIsNoPassword(b []byte) bool {
	const p = "NO PASSWORD"
	return len(b) >= len(p) && len(b) <= 32 && strings.EqualFold(string(b[:len(p)]), p)
}

func acctIsDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// acctHashProblem says why a hash must never authenticate, or returns "".
func acctHashProblem(h [16]byte) string {
	switch h {
	case [16]byte{}:
		return "NT hash is all zeros"
	case acctEmptyNTHash:
		return `NT hash is NTOWFv1("") (blank password)`
	}
	return ""
}

// acctCheckNames validates an account's names, for the parser and for Add
// and WriteAccountFile, so that every stored name can be written back in the
// hashed format and read again as the same account.
func acctCheckNames(domain, user string) string {
	if user == "" {
		return "empty user name"
	}
	if r := acctCheckName(user); r != "" {
		return "user name " + r
	}
	if r := acctCheckName(domain); r != "" {
		return "domain name " + r
	}
	if strings.HasPrefix(domain, "#") {
		return "domain name starts with '#', which would read as a comment"
	}
	return ""
}

func acctCheckName(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.ContainsAny(s, `:\`) {
		return `contains ':' or '\'`
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "contains a control or replacement character"
		}
	}
	if strings.TrimSpace(s) != s {
		return "has leading or trailing white space"
	}
	return ""
}

// acctKeyOf folds both names so that map lookups compare them as
// strings.EqualFold does: Unicode simple case folding, rune by rune. Each rune
// becomes the smallest member of its folding orbit (k, K and U+212A KELVIN
// SIGN all become K).
func acctKeyOf(domain, user string) acctKey {
	return acctKey{acctFold(domain), acctFold(user)}
}

func acctFold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
		} else {
			m := r
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				m = min(m, f)
			}
			r = m
		}
		b.WriteRune(r)
	}
	return b.String()
}

// acctDisplay renders a stored identity for String: DOMAIN\user, with "*"
// for the wildcard domain.
func acctDisplay(domain, user string) string {
	if domain == "" {
		domain = "*"
	}
	return domain + `\` + user
}

// acctQuoted renders an identity for an error. The names are quoted because
// a looked-up name comes from the network and may hold anything, a line
// break included.
func acctQuoted(domain, user string) string {
	return fmt.Sprintf("domain %q user %q", domain, user)
}

// noSuchUserError is a failed look-up. It formats its text only when asked: a server
// refusing an unknown user must spend what it spends on a wrong password, and quoting
// the names is most of the cost of a refusal.
type noSuchUserError struct {
	domain, user, why string
}

func (e *noSuchUserError) Error() string {
	return ErrNoSuchUser.Error() + ": " + acctQuoted(e.domain, e.user) + e.why
}

func (e *noSuchUserError) Unwrap() error { return ErrNoSuchUser }

// LookupAccount returns the account for domain\user. An entry for exactly
// that domain wins over a wildcard entry (empty domain) for the same user,
// whichever comes first in the file. An empty domain (a client that names
// none) finds the user's wildcard entry or, failing that, the user's only
// entry with a domain, as gss-ntlmssp matches a name without a domain against
// any line; when the user exists in several domains the lookup fails rather
// than guess. The returned Account carries the names as stored, so a caller
// learns the domain it matched. A name that is not valid UTF-8 never matches.
func (s *FileAccountStore) LookupAccount(ctx context.Context, domain, user string) (Account, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return Account{}, err
		}
	}
	notFound := func(why string) (Account, error) {
		return Account{}, &noSuchUserError{domain: domain, user: user, why: why}
	}
	if s == nil || user == "" || !utf8.ValidString(user) || !utf8.ValidString(domain) {
		return notFound("")
	}
	k := acctKeyOf(domain, user)
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[k]
	switch {
	case ok:
	case k.domain != "":
		e, ok = s.entries[acctKey{"", k.user}]
	case len(s.domains[k.user]) == 1:
		e, ok = s.entries[acctKey{s.domains[k.user][0], k.user}]
	case len(s.domains[k.user]) > 1:
		return notFound(" names no domain, and the user exists in several")
	}
	if !ok {
		return notFound("")
	}
	if e.unusable != "" {
		return notFound(" never authenticates: " + e.unusable)
	}
	return e.acct, nil
}

// Warnings returns one message per entry that was read but never
// authenticates, and about a file others may read. Messages name line
// numbers, never names or secrets.
func (s *FileAccountStore) Warnings() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.warnings)
}

// Add stores a, replacing any entry for the same account (names compare as
// in LookupAccount), which is how a password is changed. It refuses names
// that the hashed file format cannot hold and hashes that must never
// authenticate.
func (s *FileAccountStore) Add(a Account) error {
	if r := acctCheckNames(a.Domain, a.User); r != "" {
		return fmt.Errorf("ntlm: cannot add account %s: %s", acctQuoted(a.Domain, a.User), r)
	}
	if r := acctHashProblem(a.NTHash); r != "" {
		return fmt.Errorf("ntlm: cannot add account %s: %s", acctQuoted(a.Domain, a.User), r)
	}
	k := acctKeyOf(a.Domain, a.User)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(k, &acctEntry{acct: a})
	return nil
}

// Remove deletes the entry for domain\user (domain "" being the wildcard
// entry, not every domain) and reports whether there was one. It also
// removes an entry that never authenticates.
func (s *FileAccountStore) Remove(domain, user string) bool {
	k := acctKeyOf(domain, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[k]
	if ok {
		clear(e.acct.NTHash[:])
		delete(s.entries, k)
		if k.domain != "" {
			s.domains[k.user] = slices.DeleteFunc(s.domains[k.user], func(d string) bool { return d == k.domain })
			if len(s.domains[k.user]) == 0 {
				delete(s.domains, k.user)
			}
		}
	}
	return ok
}

// put stores e under k, replacing (and clearing) any entry there. The
// caller holds the write lock or owns s.
func (s *FileAccountStore) put(k acctKey, e *acctEntry) {
	if s.entries == nil {
		s.entries = make(map[acctKey]*acctEntry)
		s.domains = make(map[string][]string)
	}
	if old, ok := s.entries[k]; ok {
		clear(old.acct.NTHash[:])
	} else if k.domain != "" {
		s.domains[k.user] = append(s.domains[k.user], k.domain)
	}
	s.entries[k] = e
}

// List returns the accounts that may authenticate, sorted by domain then
// user (case-insensitively), ready for WriteAccountFile. Entries that never
// authenticate are left out, so writing the list back drops them, and with
// them their blocking of a wildcard entry for the same user.
func (s *FileAccountStore) List() []Account {
	s.mu.RLock()
	out := make([]Account, 0, len(s.entries))
	for _, e := range s.entries {
		if e.unusable == "" {
			out = append(out, e.acct)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Account) int {
		ka, kb := acctKeyOf(a.Domain, a.User), acctKeyOf(b.Domain, b.User)
		if c := strings.Compare(ka.domain, kb.domain); c != 0 {
			return c
		}
		return strings.Compare(ka.user, kb.user)
	})
	return out
}

// String describes the store without any account data.
func (s *FileAccountStore) String() string {
	if s == nil {
		return "<nil>"
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fmt.Sprintf("ntlm.FileAccountStore{%d entries}", len(s.entries))
}

// Format prints the store as String does for every verb, so that %#v cannot
// dump the entries.
func (s *FileAccountStore) Format(f fmt.State, verb rune) {
	io.WriteString(f, s.String())
}

// zero clears every hash of a store that is being discarded.
func (s *FileAccountStore) zero() {
	for _, e := range s.entries {
		clear(e.acct.NTHash[:])
	}
}

// WriteAccountFile writes accounts to path in the hashed format (a
// "# gosspi-accounts v1" header, then DOMAIN\USER:NTHASH lines), which holds
// no plaintext. The file is written to a temporary file in the same
// directory, synced, and renamed over path, so a reader sees the old file or
// the new one, never a mix; it has mode 0600 whatever the umask. A symbolic
// link at path is replaced, not followed.
//
// It refuses an empty list (such a file would not load: remove the file
// instead), names the format cannot hold, hashes that must never
// authenticate, and two entries for the same account.
func WriteAccountFile(path string, accounts []Account) error {
	buf, err := acctEncode(accounts)
	defer clear(buf)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	if _, err := tmp.Write(buf); err != nil {
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("ntlm: writing accounts file: %w", err)
	}
	done = true
	// Make the rename itself durable. Not every system can sync a
	// directory; the file is in place either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// acctEncode renders accounts in the hashed format after validating them.
// The hex is written straight into the buffer so the caller can clear it.
func acctEncode(accounts []Account) ([]byte, error) {
	if len(accounts) == 0 {
		return nil, errors.New("ntlm: refusing to write an accounts file with no accounts (it would not load; remove the file instead)")
	}
	seen := make(map[acctKey]int, len(accounts))
	n := len(acctHeader) + 200
	for i, a := range accounts {
		name := acctQuoted(a.Domain, a.User)
		if r := acctCheckNames(a.Domain, a.User); r != "" {
			return nil, fmt.Errorf("ntlm: accounts[%d] (%s): %s", i, name, r)
		}
		if r := acctHashProblem(a.NTHash); r != "" {
			return nil, fmt.Errorf("ntlm: accounts[%d] (%s): %s", i, name, r)
		}
		k := acctKeyOf(a.Domain, a.User)
		if j, dup := seen[k]; dup {
			return nil, fmt.Errorf("ntlm: accounts[%d] (%s) names the same account as accounts[%d]", i, name, j)
		}
		seen[k] = i
		n += len(a.Domain) + len(a.User) + 36
	}
	buf := make([]byte, 0, n)
	buf = append(buf, acctHeader+"\n"...)
	buf = append(buf, "# DOMAIN\\USER:NTHASH, NTHASH = NTOWFv1(password) in hex. An empty DOMAIN matches any domain.\n"...)
	buf = append(buf, "# These hashes are password equivalents: keep this file private (mode 0600).\n"...)
	for _, a := range accounts {
		buf = append(buf, a.Domain...)
		buf = append(buf, '\\')
		buf = append(buf, a.User...)
		buf = append(buf, ':')
		buf = hex.AppendEncode(buf, a.NTHash[:])
		buf = append(buf, '\n')
	}
	return buf, nil
}

// acctError is every error of loading and parsing: it names the file and the
// line, and says what is wrong in words of its own, never quoting the line.
type acctError struct {
	path   string
	line   int
	reason string
	err    error
}

func (e *acctError) Error() string {
	var b strings.Builder
	b.WriteString("ntlm: accounts")
	if e.path != "" {
		fmt.Fprintf(&b, " file %q", e.path)
	}
	if e.line > 0 {
		fmt.Fprintf(&b, " line %d", e.line)
	}
	b.WriteString(": ")
	b.WriteString(e.reason)
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

func (e *acctError) Unwrap() error { return e.err }

// acctPathError turns an *fs.PathError into an acctError without repeating
// the path.
func acctPathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &acctError{path: path, reason: pe.Op, err: pe.Err}
	}
	return &acctError{path: path, reason: "read", err: err}
}
