package testpeers

import (
	"context"
	"encoding/base64"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Values of msDS-SupportedEncryptionTypes (MS-KILE 2.2.7), for SetEncTypes.
const (
	EncTypeRC4    = 0x4
	EncTypeAES128 = 0x8
	EncTypeAES256 = 0x10
)

// BaseDN is the domain's naming context, "DC=samdom,DC=test".
func (d *ADDC) BaseDN() string {
	return "DC=" + strings.ReplaceAll(ADDCDNSDomain, ".", ",DC=")
}

// run runs one of Samba's administrative programs on the DC's databases and returns its
// combined output, failing tb when it fails.
func (d *ADDC) run(tb testing.TB, stdin, name string, args ...string) string {
	tb.Helper()
	env, err := d.sambaEnv(false)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = d.Dir
	cmd.Stdin = strings.NewReader(stdin)
	killGroupOnCancel(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("testpeers: %s %s: %v\n%s", filepath.Base(name), strings.Join(redact(args), " "), err, lastBytes(string(out), 4<<10))
	}
	return string(out)
}

// redact hides the second of two positional arguments of "user add"/"setpassword"-like
// commands and any --newpassword/--adminpass value in error messages.
func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if k, _, ok := strings.Cut(a, "="); ok && strings.Contains(strings.ToLower(k), "pass") {
			out[i] = k + "=…"
		}
	}
	if len(out) >= 4 && out[0] == "user" && out[1] == "add" {
		out[3] = "…"
	}
	return out
}

// SambaTool runs `samba-tool args... -s SMBConf` and returns its output; it fails tb when
// samba-tool fails.
func (d *ADDC) SambaTool(tb testing.TB, args ...string) string {
	tb.Helper()
	return d.run(tb, "", "samba-tool", append(args, "-s", d.SMBConf)...)
}

// AddUser adds an enabled user account (userPrincipalName name@samdom.test) whose password
// never expires. password must satisfy the domain's complexity rules (three of upper case,
// lower case, digits, symbols; 7 characters or more).
func (d *ADDC) AddUser(tb testing.TB, name, password string) {
	tb.Helper()
	d.addAccount(tb, name, password, nil)
}

// AddService adds a user account for a service, with password (so its keys are known
// through the AD salt) and the service principal names spns ("HTTP/web.samdom.test").
func (d *ADDC) AddService(tb testing.TB, account, password string, spns ...string) {
	tb.Helper()
	d.addAccount(tb, account, password, spns)
}

// addAccount adds the account with one ldbmodify, as samba-tool user add would (a Python
// start-up each is seconds on a loaded machine): the password in unicodePwd (the quoted
// password in UTF-16LE), from which Samba derives the AES and RC4 keys with the AD salt,
// and userAccountControl NORMAL_ACCOUNT.
func (d *ADDC) addAccount(tb testing.TB, name, password string, spns []string) {
	tb.Helper()
	if strings.ContainsAny(name, ",=+<>#;\\\"\n") {
		tb.Fatalf("testpeers: account name %q needs DN escaping; use SambaTool", name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dn: CN=%s,CN=Users,%s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\n", name, d.BaseDN(), name)
	fmt.Fprintf(&b, "userPrincipalName: %s@%s\nuserAccountControl: %d\n", name, ADDCDNSDomain, uacNormalAccount)
	fmt.Fprintf(&b, "unicodePwd:: %s\n", base64.StdEncoding.EncodeToString(utf16le("\""+password+"\"")))
	for _, spn := range spns {
		fmt.Fprintf(&b, "servicePrincipalName: %s\n", spn)
	}
	d.Ldbmodify(tb, b.String())
}

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	uacAccountDisable = 0x2
	uacNormalAccount  = 0x200
)

func utf16le(s string) []byte {
	var out []byte
	for _, r := range utf16.Encode([]rune(s)) {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

// DisableAccount sets ACCOUNTDISABLE in account's userAccountControl, as samba-tool user
// disable does.
func (d *ADDC) DisableAccount(tb testing.TB, account string) {
	tb.Helper()
	d.Ldbmodify(tb, fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: %d\n",
		d.DN(tb, account), uacNormalAccount|uacAccountDisable))
}

// ExportKeytab writes the current keys of principals (account names, "name$" for computers,
// or SPNs, without the realm) to a new keytab in Dir and returns its path. An SPN gets its
// account's keys under the SPN's name, as ktpass makes them: samba-tool exports an SPN of a
// user account with its RC4 key alone.
func (d *ADDC) ExportKeytab(tb testing.TB, principals ...string) string {
	tb.Helper()
	path := d.nextName("keytab")
	for _, p := range principals {
		if !strings.Contains(p, "/") {
			d.SambaTool(tb, "domain", "exportkeytab", path, "--principal="+p)
			continue
		}
		tmp := d.nextName("keytab-account")
		d.SambaTool(tb, "domain", "exportkeytab", tmp, "--principal="+d.spnOwner(tb, p))
		if err := renameKeytab(tmp, path, d.Principal(p)); err != nil {
			tb.Fatal(err)
		}
	}
	return path
}

// spnOwner returns the sAMAccountName of the account that has the SPN spn.
func (d *ADDC) spnOwner(tb testing.TB, spn string) string {
	tb.Helper()
	out := d.search(tb, "(servicePrincipalName="+ldapEscape(spn)+")", "sAMAccountName")
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "sAMAccountName: "); ok {
			return strings.TrimSpace(v)
		}
	}
	tb.Fatalf("testpeers: no account has the SPN %q:\n%s", spn, out)
	return ""
}

// search runs ldbsearch on the DC's database with filter and returns the LDIF it prints.
func (d *ADDC) search(tb testing.TB, filter string, attrs ...string) string {
	tb.Helper()
	args := append([]string{"-H", filepath.Join(d.Dir, "private", "sam.ldb"), "--configfile=" + d.SMBConf, filter}, attrs...)
	return d.run(tb, "", "ldbsearch", args...)
}

// DN returns the distinguished name of the account whose sAMAccountName is account.
func (d *ADDC) DN(tb testing.TB, account string) string {
	tb.Helper()
	out := d.search(tb, "(sAMAccountName="+ldapEscape(account)+")", "dn")
	for _, l := range strings.Split(out, "\n") {
		if dn, ok := strings.CutPrefix(l, "dn: "); ok {
			return strings.TrimSpace(dn)
		}
	}
	tb.Fatalf("testpeers: no account %q in the domain:\n%s", account, out)
	return ""
}

// ldapEscape escapes a value for an LDAP filter (RFC 4515).
func ldapEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '(', ')', '\\', 0:
			fmt.Fprintf(&b, "\\%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Ldbmodify applies ldif (changetype records) to the DC's database directly, as ldbmodify
// does; the running DC sees the change at once.
func (d *ADDC) Ldbmodify(tb testing.TB, ldif string) {
	tb.Helper()
	d.run(tb, ldif, "ldbmodify", "-H", filepath.Join(d.Dir, "private", "sam.ldb"), "--configfile="+d.SMBConf)
}

// SetEncTypes sets account's msDS-SupportedEncryptionTypes (EncTypeRC4 alone makes an
// RC4-only account: its tickets and session keys are RC4).
func (d *ADDC) SetEncTypes(tb testing.TB, account string, msDSSupportedEncryptionTypes int) {
	tb.Helper()
	d.Ldbmodify(tb, fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: %d\n",
		d.DN(tb, account), msDSSupportedEncryptionTypes))
}

var objectSIDLine = regexp.MustCompile(`(?m)^objectSid: (S-1-5-21-[0-9-]+)\s*$`)

// UserSID returns the SID of the account name.
func (d *ADDC) UserSID(tb testing.TB, name string) string {
	tb.Helper()
	out := d.search(tb, "(sAMAccountName="+ldapEscape(name)+")", "objectSid")
	m := objectSIDLine.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("testpeers: no objectSid for %s:\n%s", name, out)
	}
	return m[1]
}

// Kinit gets a TGT for principal ("alice" or "alice@REALM") with MIT's kinit into a new file
// credential cache and returns its path (prefix "FILE:" for KRB5CCNAME).
func (d *ADDC) Kinit(tb testing.TB, principal, password string) string {
	tb.Helper()
	kinit := Require(tb, "krb5-user", "kinit")
	if !strings.Contains(principal, "@") {
		principal = d.Principal(principal)
	}
	cc := d.nextName("ccache")
	d.run(tb, password+"\n", kinit, "-c", "FILE:"+cc, principal)
	return cc
}
