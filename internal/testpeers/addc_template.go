package testpeers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// addcTemplateVersion changes whenever provisionTemplate changes what it builds, so that an
// old cached template is not reused.
const addcTemplateVersion = "4"

// addcTemplate is a provisioned domain on disk that DCs are copied from.
type addcTemplate struct {
	dir       string // the template
	provDir   string // the directory samba-tool provisioned into; smb.conf names it
	domainSID string
}

// Files of ours inside a template.
const (
	addcProvDirFile = "gosspi-provision-dir"
	addcSIDFile     = "gosspi-domain-sid"
)

// provisionArgs are samba-tool's arguments to provision the domain into dir. Samba binds
// only to ADDCAddr; logs, pid files and the ncalrpc sockets stay in dir (winbindd's socket
// cannot: libwbclient knows only /run/samba/winbindd).
func provisionArgs(dir string) []string {
	opt := func(s string) string { return "--option=" + s }
	return []string{
		"domain", "provision", "--use-rfc2307",
		"--realm=" + ADDCRealm, "--domain=" + ADDCDomain, "--server-role=dc",
		"--dns-backend=SAMBA_INTERNAL", "--adminpass=" + ADDCAdminPassword,
		"--host-name=" + ADDCHostName, "--host-ip=" + ADDCAddr, "--targetdir=" + dir,
		opt("interfaces = " + ADDCAddr), opt("bind interfaces only = yes"),
		opt("pid directory = " + filepath.Join(dir, "run")),
		opt("log file = " + filepath.Join(dir, "log", "log.%m")),
		opt("ncalrpc dir = " + filepath.Join(dir, "ncalrpc")),
	}
}

// addcTemplateKey names the template: Samba's version and a hash of what provisioning does.
func addcTemplateKey() (string, error) {
	v, err := runCmd(nil, "samba", "-V")
	if err != nil {
		return "", fmt.Errorf("testpeers: samba -V: %v: %s", err, v)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", addcTemplateVersion, strings.TrimSpace(v), strings.Join(provisionArgs("DIR"), "\n"))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// ensureTemplate returns the machine's template, provisioning it first when there is none
// (about ten seconds), and how long that took. A lock keeps two test binaries from
// provisioning at once; the template appears by an atomic rename, complete or not at all.
func ensureTemplate(timeout time.Duration) (_ *addcTemplate, provisioned time.Duration, err error) {
	key, err := addcTemplateKey()
	if err != nil {
		return nil, 0, err
	}
	dir := filepath.Join(os.TempDir(), "gosspi-addc-template-"+key)
	if t, err := loadTemplate(dir); err == nil {
		return t, 0, nil
	}
	lock, err := lockFile(dir+".lock", timeout)
	if err != nil {
		return nil, 0, err
	}
	defer unlockFile(lock)
	if t, err := loadTemplate(dir); err == nil {
		return t, 0, nil // provisioned by another binary while this one waited
	}
	begin := time.Now()
	if err := provisionTemplate(dir); err != nil {
		return nil, 0, err
	}
	t, err := loadTemplate(dir)
	return t, time.Since(begin), err
}

func loadTemplate(dir string) (*addcTemplate, error) {
	prov, err := os.ReadFile(filepath.Join(dir, addcProvDirFile))
	if err != nil {
		return nil, err
	}
	sid, err := os.ReadFile(filepath.Join(dir, addcSIDFile))
	if err != nil {
		return nil, err
	}
	return &addcTemplate{dir: dir, provDir: string(prov), domainSID: string(sid)}, nil
}

var domainSIDLine = regexp.MustCompile(`DOMAIN SID:\s+(S-1-5-21-[0-9-]+)`)

// provisionTemplate provisions the domain into a scratch directory beside dir and renames it
// to dir. Passwords never expire in it (the template may be weeks old when a test adds a
// user); complexity and the other policies keep Samba's defaults.
func provisionTemplate(dir string) (err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, sub := range []string{"run", "log", "ncalrpc", "home"} {
		if err := os.MkdirAll(filepath.Join(tmp, sub), 0o755); err != nil {
			return err
		}
	}
	env, err := privateEnv(filepath.Join(tmp, "home"), nil)
	if err != nil {
		return err
	}
	out, err := runCmd(env, "samba-tool", provisionArgs(tmp)...)
	if err != nil {
		return fmt.Errorf("testpeers: samba-tool domain provision: %v: %s", err, lastBytes(out, 4<<10))
	}
	m := domainSIDLine.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("testpeers: samba-tool domain provision printed no domain SID: %s", lastBytes(out, 4<<10))
	}
	conf := filepath.Join(tmp, "etc", "smb.conf")
	if err := dropForwarder(conf); err != nil {
		return err
	}
	if o, err := runCmd(env, "samba-tool", "domain", "passwordsettings", "set", "--max-pwd-age=0", "-s", conf); err != nil {
		return fmt.Errorf("testpeers: samba-tool domain passwordsettings: %v: %s", err, lastBytes(o, 4<<10))
	}
	// Provisioning gives the DC's account only its HOST/ names; samba runs samba_spnupdate
	// for the others (ldap/dc1.samdom.test, GC/, RestrictedKrbHost/ ...) some seconds after
	// it starts, and until then the KDC answers KDC_ERR_S_PRINCIPAL_UNKNOWN for them. Run
	// against the template (it writes sam.ldb directly on a writable DC), they are there
	// from the first moment of every copy.
	spnupdate, ok := lookPath("samba_spnupdate") // in /usr/sbin, which PATH may lack
	if !ok {
		return fmt.Errorf("testpeers: samba_spnupdate not found (Debian package samba)")
	}
	if o, err := runCmd(env, spnupdate, "-s", conf); err != nil {
		return fmt.Errorf("testpeers: samba_spnupdate: %v: %s", err, lastBytes(o, 4<<10))
	}
	if err := os.RemoveAll(filepath.Join(tmp, "home")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, addcProvDirFile), []byte(tmp), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, addcSIDFile), []byte(m[1]), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// copyTo copies the template into d.Dir (cp -a keeps the sysvol's extended attributes) and
// points the copy's smb.conf at it.
func (t *addcTemplate) copyTo(d *ADDC) error {
	if out, err := runCmd(nil, "cp", "-a", t.dir+"/.", d.Dir); err != nil {
		return fmt.Errorf("testpeers: copy the AD DC template: %v: %s", err, out)
	}
	d.SMBConf = filepath.Join(d.Dir, "etc", "smb.conf")
	conf, err := os.ReadFile(d.SMBConf)
	if err != nil {
		return err
	}
	conf = []byte(strings.ReplaceAll(string(conf), t.provDir, d.Dir))
	return os.WriteFile(d.SMBConf, conf, 0o600)
}

// dropForwarder removes the DNS forwarder that provisioning takes from the host's
// resolv.conf: the DC's DNS answers for its own zone only, and nothing leaves the machine.
func dropForwarder(conf string) error {
	data, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "dns forwarder") {
			keep = append(keep, l)
		}
	}
	return os.WriteFile(conf, []byte(strings.Join(keep, "\n")), 0o644)
}

// lastBytes returns at most the last n bytes of s, for error messages.
func lastBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
