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

// ADAccount describes a user account for AddAccounts.
type ADAccount struct {
	// Name is the sAMAccountName (and the CN, under CN=Users).
	Name string
	// Password sets the account's keys (AES and RC4, with the AD salt "SAMDOM.TEST"+Name).
	// It must satisfy the domain's complexity rules: three of upper case, lower case,
	// digits and symbols, 7 characters or more.
	Password string
	// UPN is the userPrincipalName; empty means Name@samdom.test.
	UPN string
	// SPNs are service principal names ("HTTP/web.samdom.test").
	SPNs []string
	// Disabled sets ACCOUNTDISABLE.
	Disabled bool
	// EncTypes is msDS-SupportedEncryptionTypes (EncTypeRC4 alone: an RC4-only account);
	// zero leaves it unset.
	EncTypes int
	// Attrs are more attributes, as LDIF lines ("accountExpires: 1" for an expired
	// account, "pwdLastSet: 0" for a password that must be changed).
	Attrs []string
}

// AddUser adds an enabled user account (userPrincipalName name@samdom.test) whose password
// never expires (see ADAccount.Password for the rules).
func (d *ADDC) AddUser(tb testing.TB, name, password string) {
	tb.Helper()
	d.AddAccounts(tb, ADAccount{Name: name, Password: password})
}

// AddService adds a user account for a service, with password (so its keys are known
// through the AD salt) and the service principal names spns ("HTTP/web.samdom.test").
func (d *ADDC) AddService(tb testing.TB, account, password string, spns ...string) {
	tb.Helper()
	d.AddAccounts(tb, ADAccount{Name: account, Password: password, SPNs: spns})
}

// AddAccounts adds user accounts with one ldbmodify: on a loaded machine each start of a
// Samba tool costs a second or more (samba-tool, in Python, several). The password goes in
// unicodePwd (the quoted password in UTF-16LE), from which Samba derives the keys, as
// samba-tool user add does.
func (d *ADDC) AddAccounts(tb testing.TB, accounts ...ADAccount) {
	tb.Helper()
	var b strings.Builder
	for _, a := range accounts {
		if a.Name == "" || strings.ContainsAny(a.Name, ",=+<>#;\\\"\n") {
			tb.Fatalf("testpeers: account name %q is empty or needs DN escaping; use SambaTool", a.Name)
		}
		upn := a.UPN
		if upn == "" {
			upn = a.Name + "@" + ADDCDNSDomain
		}
		uac := uacNormalAccount
		if a.Disabled {
			uac |= uacAccountDisable
		}
		fmt.Fprintf(&b, "dn: CN=%s,CN=Users,%s\nchangetype: add\nobjectClass: user\nsAMAccountName: %s\n", a.Name, d.BaseDN(), a.Name)
		fmt.Fprintf(&b, "userPrincipalName: %s\nuserAccountControl: %d\n", upn, uac)
		fmt.Fprintf(&b, "unicodePwd:: %s\n", base64.StdEncoding.EncodeToString(utf16le("\""+a.Password+"\"")))
		for _, spn := range a.SPNs {
			fmt.Fprintf(&b, "servicePrincipalName: %s\n", spn)
		}
		if a.EncTypes != 0 {
			fmt.Fprintf(&b, "msDS-SupportedEncryptionTypes: %d\n", a.EncTypes)
		}
		for _, l := range a.Attrs {
			b.WriteString(strings.TrimSpace(l) + "\n")
		}
		b.WriteString("\n")
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
// user account with its RC4 key alone. One samba-tool run exports the whole domain, of which
// the principals' entries are kept.
func (d *ADDC) ExportKeytab(tb testing.TB, principals ...string) string {
	tb.Helper()
	path := d.nextName("keytab")
	all := d.nextName("keytab-domain")
	d.SambaTool(tb, "domain", "exportkeytab", all)
	owners := d.spnOwners(tb, principals)
	for _, p := range principals {
		account := p
		if strings.Contains(p, "/") {
			account = owners[strings.ToLower(p)]
		}
		n, err := copyKeytab(all, path, d.Principal(account), d.Principal(p))
		if err == nil && n == 0 {
			// Not in the domain's export (not seen with Samba 4.17): ask for it alone.
			one := d.nextName("keytab-account")
			d.SambaTool(tb, "domain", "exportkeytab", one, "--principal="+account)
			n, err = copyKeytab(one, path, d.Principal(account), d.Principal(p))
		}
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			tb.Fatalf("testpeers: samba-tool exported no key of %s", account)
		}
	}
	return path
}

// spnOwners returns the sAMAccountNames of the accounts that have the SPNs among names,
// keyed by the SPN in lower case.
func (d *ADDC) spnOwners(tb testing.TB, names []string) map[string]string {
	tb.Helper()
	filter := ""
	for _, n := range names {
		if strings.Contains(n, "/") {
			filter += "(servicePrincipalName=" + ldapEscape(n) + ")"
		}
	}
	owners := map[string]string{}
	if filter == "" {
		return owners
	}
	out := d.search(tb, "(|"+filter+")", "sAMAccountName", "servicePrincipalName")
	var account string
	var spns []string
	flush := func() {
		for _, s := range spns {
			owners[strings.ToLower(s)] = account
		}
		account, spns = "", nil
	}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "dn: "):
			flush()
		case strings.HasPrefix(l, "sAMAccountName: "):
			account = strings.TrimSpace(strings.TrimPrefix(l, "sAMAccountName: "))
		case strings.HasPrefix(l, "servicePrincipalName: "):
			spns = append(spns, strings.TrimSpace(strings.TrimPrefix(l, "servicePrincipalName: ")))
		}
	}
	flush()
	for _, n := range names {
		if strings.Contains(n, "/") && owners[strings.ToLower(n)] == "" {
			tb.Fatalf("testpeers: no account has the SPN %q:\n%s", n, out)
		}
	}
	return owners
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
