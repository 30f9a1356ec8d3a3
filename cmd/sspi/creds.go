package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/kerberos"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/ntlm"
)

// maxPasswordLine bounds a password read from a file, standard input or the terminal.
const maxPasswordLine = 1024

// readLine reads one line, a byte at a time so that nothing after it is consumed, without
// its line end.
func readLine(r io.Reader) (string, error) {
	var b []byte
	var c [1]byte
	for len(b) <= maxPasswordLine {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return strings.TrimSuffix(string(b), "\r"), nil
			}
			b = append(b, c[0])
			continue
		}
		if err == io.EOF {
			if len(b) == 0 {
				return "", io.EOF
			}
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("a line of more than %d bytes", maxPasswordLine)
}

// readPassword reads a password: with a no-echo prompt when standard input is a terminal,
// otherwise the first line of standard input.
func readPassword(e *env, prompt string, confirm bool) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		pw, err := readLine(e.stdin)
		if errors.Is(err, io.EOF) {
			return "", errors.New("no password on standard input")
		}
		return pw, err
	}
	ask := func(p string) (string, error) {
		fmt.Fprint(e.stderr, p)
		return withoutEcho(f, func() (string, error) { return readLine(f) })
	}
	pw, err := ask(prompt)
	if err != nil || !confirm {
		return pw, err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords typed differ")
	}
	return pw, nil
}

// splitAccount reads DOMAIN\user, user@domain, or user (any domain).
func splitAccount(s string) (domain, user string) {
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		return s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[i+1:], s[:i]
	}
	return "", s
}

// ephemeral is the account a server makes up when it is given none.
type ephemeral struct {
	User, Password string
}

// newEphemeral makes up an account: a recognisable user name and a random password of
// about 120 bits.
func newEphemeral() (ephemeral, error) {
	var id [3]byte
	var pw [15]byte
	if _, err := rand.Read(id[:]); err != nil {
		return ephemeral{}, err
	}
	if _, err := rand.Read(pw[:]); err != nil {
		return ephemeral{}, err
	}
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no look-alikes
	var b strings.Builder
	for i, c := range pw {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(c)%len(alphabet)])
		b.WriteByte(alphabet[int(c>>4)%len(alphabet)])
	}
	return ephemeral{User: "sspi-" + hex.EncodeToString(id[:]), Password: b.String()}, nil
}

// invented reports whether user is an account sspi made up (newEphemeral's form: "sspi-"
// and six hex digits, no domain). Such an account lives in one server's NTLM store only:
// Kerberos is never tried for it, since asking a KDC would send a made-up name to whatever
// realm krb5.conf names (Debian's default is MIT's).
func invented(user string) bool {
	id, ok := strings.CutPrefix(user, "sspi-")
	if !ok || len(id) != 6 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// clientIdentity is the identity a client authenticates as. For an invented account,
// Negotiate is kept to NTLM (the PackageList "!Kerberos"), and Kerberos is refused.
func clientIdentity(pkg, user, password string) (*sspi.AuthIdentity, error) {
	id := &sspi.AuthIdentity{User: user, Password: password}
	if invented(user) {
		if strings.EqualFold(pkg, "Kerberos") {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "%s is an account sspi made up for NTLM; no KDC knows it, so Kerberos is not tried", user)
		}
		id.PackageList = "!Kerberos"
	}
	return id, nil
}

// serverCreds are a server's credentials and where its accounts come from.
type serverCreds struct {
	cred      *sspi.Credentials
	source    string     // "--accounts FILE", "NTLM_USER_FILE", or "ephemeral"
	ephemeral *ephemeral // the made-up account, when there was none
	// mechanisms are the packages that can authenticate a client: Negotiate's with
	// credentials, or the package itself.
	mechanisms []string
	cleanup    func()
	// tlsLeaf is Schannel's (or CredSSP's) server certificate.
	tlsLeaf *x509.Certificate
	// throwaway: tlsLeaf was made in memory, for want of --cert and --key.
	throwaway bool
}

// serverSettings are what a server's credentials are made from: serve's flags, or the
// demo's defaults (all empty).
type serverSettings struct {
	pkg         string // the security package
	accounts    string // --accounts: the NTLM account file
	keytab      string // --keytab
	spn         string // --spn: the only Kerberos service principal accepted
	replayCache string // --replay-cache: a Kerberos replay cache file that survives restarts

	// CredSSP's (the rdp framing): the Early User Authorization Result.
	earlyUserAuth bool

	// verifier chooses who checks NTLM responses (serve's --ntlm-verifier and friends).
	verifier verifierSettings

	// Schannel's, and CredSSP's certificate.
	cert, key  string           // --cert, --key: the certificate chain and its private key, PEM
	clientCA   string           // --client-ca: the CAs whose client certificates are accepted
	clientAuth string           // --client-auth: "request" or "require"
	tlsCert    *tls.Certificate // made in memory (the demo's throwaway certificate)
}

// serverAccounts is the NTLM account store the server checks logons against, and sets
// sc.source to where it came from: --accounts, NTLM_USER_FILE, none when only a domain
// verifier checks logons, or one made-up account (the ephemeral one the client side of a
// demo or test uses).
func serverAccounts(s serverSettings, e *env, sc *serverCreds) (*ntlm.FileAccountStore, error) {
	switch {
	case s.accounts != "":
		store, err := ntlm.LoadAccountFile(s.accounts)
		if err != nil {
			return nil, err
		}
		sc.source = "--accounts " + s.accounts
		return store, nil
	case e.getenv("NTLM_USER_FILE") != "":
		path := e.getenv("NTLM_USER_FILE")
		store, err := ntlm.LoadAccountFile(path)
		if err != nil {
			return nil, fmt.Errorf("NTLM_USER_FILE: %w", err)
		}
		sc.source = "NTLM_USER_FILE=" + path
		return store, nil
	case !s.verifier.usesAccounts():
		// A domain checks the users: no made-up account.
		sc.source = "none"
		return &ntlm.FileAccountStore{}, nil
	}
	eph, err := newEphemeral()
	if err != nil {
		return nil, err
	}
	store := &ntlm.FileAccountStore{}
	if err := store.Add(ntlm.AccountFromPassword("", eph.User, eph.Password)); err != nil {
		return nil, err
	}
	sc.source, sc.ephemeral = "ephemeral", &eph
	return store, nil
}

// acquireServer acquires inbound credentials for s.pkg. NTLM gets its account store
// directly, and so does Negotiate's NTLM; Kerberos, alone or in Negotiate, its keytab,
// service principal and replay cache. Other packages take the environment's defaults,
// so the accounts are handed over as NTLM_USER_FILE, where gss-ntlmssp would look for
// them too. s.spn, when set, is the principal given to AcquireCredentialsHandle: Kerberos
// then accepts tickets for that service only.
func acquireServer(s serverSettings, e *env) (*serverCreds, error) {
	if isSchannel(s.pkg) {
		return acquireSchannelServer(s)
	}
	pkg, keytab, spn := s.pkg, s.keytab, s.spn
	sc := &serverCreds{cleanup: func() {}}
	store, err := serverAccounts(s, e, sc)
	if err != nil {
		return nil, err
	}
	for _, w := range store.Warnings() {
		fmt.Fprintf(e.stderr, "sspi: accounts: %s\n", w)
	}
	ntlmCfg, desc, closeVerifiers, err := s.verifier.serverConfig(store, sc.source)
	if err != nil {
		return nil, err
	}
	sc.source = desc
	sc.cleanup = closeVerifiers
	var authData any
	switch {
	case strings.EqualFold(pkg, ntlm.PackageName):
		authData = ntlmCfg
		if keytab != "" || spn != "" || s.replayCache != "" {
			return nil, usageErrorf("--keytab, --spn and --replay-cache are for Kerberos and Negotiate; the NTLM package has no use for them")
		}
	case strings.EqualFold(pkg, "Negotiate"):
		cfg, err := negotiateServer(s, ntlmCfg, sc)
		if err != nil {
			closeVerifiers()
			return nil, err
		}
		authData = cfg
	case isCredSSP(pkg):
		// CredSSP: Negotiate inside (as above), the TLS certificate outside. --spn names
		// the Kerberos principal inside, not CredSSP's.
		cfg, err := negotiateServer(s, ntlmCfg, sc)
		if err != nil {
			closeVerifiers()
			return nil, err
		}
		ccfg, err := credsspServer(s, cfg, sc)
		if err != nil {
			return nil, err
		}
		authData, spn = ccfg, ""
	case strings.EqualFold(pkg, kerberos.PackageName):
		krb, closeCache, err := kerberosServer(s)
		if err != nil {
			return nil, err
		}
		authData, sc.cleanup = krb, func() { closeCache(); closeVerifiers() }
	default:
		path := s.accounts // the file serverAccounts read, if any
		if path == "" {
			path = e.getenv("NTLM_USER_FILE")
		}
		if path == "" {
			dir, err := os.MkdirTemp("", "sspi-serve-")
			if err != nil {
				return nil, err
			}
			sc.cleanup = func() { os.RemoveAll(dir) }
			path = filepath.Join(dir, "accounts")
			if err := ntlm.WriteAccountFile(path, store.List()); err != nil {
				sc.cleanup()
				return nil, err
			}
		}
		os.Setenv("NTLM_USER_FILE", path)
	}
	cred, _, err := sspi.AcquireCredentialsHandle(spn, pkg, sspi.CredInbound, nil, authData, nil)
	if err != nil {
		sc.cleanup()
		return nil, err
	}
	sc.cred = cred
	if sc.mechanisms == nil {
		sc.mechanisms = []string{cred.Package()}
	}
	return sc, nil
}

// negotiateServer is Negotiate's acceptor configuration: NTLM gets the store directly;
// Kerberos the keytab, --keytab or the default one. Negotiate leaves out a mechanism
// whose credentials fail, silently: here a keytab the user named must work, and the
// mechanisms left are said at start-up (sc.mechanisms).
func negotiateServer(s serverSettings, ntlmCfg *ntlm.ServerConfig, sc *serverCreds) (*negotiate.Config, error) {
	cfg := &negotiate.Config{Credentials: map[string]any{ntlm.PackageName: ntlmCfg}}
	krb, closeCache, err := kerberosServer(s)
	switch {
	case err == nil:
		cfg.Mechanisms = append(cfg.Mechanisms, kerberos.PackageName)
		cfg.Credentials[kerberos.PackageName] = krb
		closeVerifiers := sc.cleanup
		sc.cleanup = func() { closeCache(); closeVerifiers() }
	case s.keytab != "" || s.spn != "" || s.replayCache != "":
		return nil, err
	}
	cfg.Mechanisms = append(cfg.Mechanisms, ntlm.PackageName)
	sc.mechanisms = cfg.Mechanisms
	return cfg, nil
}

// kerberosServer returns the Kerberos acceptor configuration of a keytab (empty: the
// default one, KRB5_KTNAME or /etc/krb5.keytab) once credentials have been acquired with
// it, so that an unusable keytab is found at start-up, with the path and the reason. With
// --replay-cache it opens that file; the function returned closes it.
func kerberosServer(s serverSettings) (*kerberos.ServerConfig, func(), error) {
	cfg := &kerberos.ServerConfig{Keytab: s.keytab, ServicePrincipal: s.spn}
	closeCache := func() {}
	if s.replayCache != "" {
		rc, err := kerberos.OpenFileReplayCache(s.replayCache, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("--replay-cache %s: %w", s.replayCache, err)
		}
		cfg.ReplayCache, closeCache = rc, func() { rc.Close() }
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", kerberos.PackageName, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		closeCache()
		var se *sspi.Error
		if s.keytab != "" && errors.As(err, &se) && se.Err != nil {
			err = &sspi.Error{Status: se.Status, Err: fmt.Errorf("--keytab %s: %w", s.keytab, se.Err)}
		}
		return nil, nil, err
	}
	sspi.FreeCredentialsHandle(cred)
	return cfg, closeCache, nil
}

// acquireClient acquires outbound credentials for pkg. The password comes from
// --password-file, else SSPI_PASSWORD, else the ecosystem's stored credentials
// (NTLM_USER_FILE for NTLM, KRB5CCNAME for Kerberos) when they are set up, else a prompt on
// the terminal. Without --user, the stored credentials' own default user is taken.
// With deleg, Kerberos (alone or in Negotiate) gets a forwardable TGT and deleg's policy.
func acquireClient(pkg, user, passwordFile string, krb *kerberosOptions, e *env) (*sspi.Credentials, string, error) {
	id, source, err := clientAuthData(pkg, user, passwordFile, e)
	if err != nil {
		return nil, "", err
	}
	var authData any
	if id != nil {
		authData = id
	}
	if krb != nil {
		authData = krb.authData(pkg, id)
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, authData, nil)
	if err != nil && id == nil && user == "" {
		return nil, "", fmt.Errorf("no credentials: give --user (and a password), or set NTLM_USER_FILE and NTLMUSER: %w", err)
	}
	return cred, source, err
}

// kerberosOptions is what `sspi connect --delegate` and --armor-ccache ask of Kerberos.
type kerberosOptions struct {
	// forwardable is --delegate: a forwardable TGT, since a TGT that is not forwardable
	// cannot be delegated (kinit -f's, for the stored credentials).
	forwardable bool
	// ignoreOKAsDelegate is --ignore-ok-as-delegate: delegate even to a service the
	// realm does not mark as trusted for delegation, as MIT's gss-client -d does.
	ignoreOKAsDelegate bool
	// armorCCache is --armor-ccache: the ccache whose TGT armors the logon (FAST).
	armorCCache string
}

// authData is the authData that gets Kerberos credentials with the options. An
// AuthIdentity alone gets forwardable tickets only when krb5.conf says so, and cannot
// carry the OK-AS-DELEGATE choice or an armor; a kerberos.ClientConfig can. Its principal
// is --user as given (user@REALM; a NetBIOS DOMAIN\user is not mapped to a realm here,
// as it is for an AuthIdentity). An account sspi made up stays NTLM's.
func (d *kerberosOptions) authData(pkg string, id *sspi.AuthIdentity) any {
	krb := &kerberos.ClientConfig{Forwardable: d.forwardable, IgnoreOKAsDelegate: d.ignoreOKAsDelegate, ArmorCCache: d.armorCCache}
	if id != nil {
		krb.Principal, krb.Password = id.User, id.Password
	}
	switch {
	case strings.EqualFold(pkg, kerberos.PackageName):
		return krb
	case !strings.EqualFold(pkg, negotiate.PackageName) || (id != nil && id.PackageList != ""):
		if id == nil {
			return nil // not a nil *AuthIdentity in an interface
		}
		return id
	}
	cfg := &negotiate.Config{Credentials: map[string]any{kerberos.PackageName: krb}}
	if id != nil {
		cfg.Credentials[ntlm.PackageName] = id
	}
	return cfg
}

// clientAuthData is the identity acquireClient authenticates with: a user and password,
// or nil for the stored credentials (then source is "stored credentials").
func clientAuthData(pkg, user, passwordFile string, e *env) (*sspi.AuthIdentity, string, error) {
	var pw string
	source := ""
	switch {
	case passwordFile != "":
		f, err := os.Open(passwordFile)
		if err != nil {
			return nil, "", err
		}
		pw, err = readLine(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("--password-file %s: %w", passwordFile, err)
		}
		source = "--password-file"
	case e.getenv("SSPI_PASSWORD") != "":
		pw, source = e.getenv("SSPI_PASSWORD"), "SSPI_PASSWORD"
	case e.getenv("NTLM_USER_FILE") != "" || e.getenv("KRB5CCNAME") != "" || user == "":
		// The stored credentials. NTLMUSER names the user to look up in NTLM_USER_FILE.
		if user != "" {
			os.Setenv("NTLMUSER", user)
		}
		return nil, "stored credentials", nil
	default:
		var err error
		if pw, err = readPassword(e, "Password for "+user+": ", false); err != nil {
			return nil, "", fmt.Errorf("password for %s: %w (give --password-file or SSPI_PASSWORD)", user, err)
		}
		source = "prompt"
	}
	if user == "" {
		return nil, "", usageErrorf("a password from %s needs --user", source)
	}
	id, err := clientIdentity(pkg, user, pw)
	if err != nil {
		return nil, "", err
	}
	return id, source, nil
}
