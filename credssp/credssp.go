package credssp

import (
	"io"
	"strings"
	"time"

	"github.com/gosspi/sspi"

	// Negotiate is the inner package of CredSSP, as on Windows.
	_ "github.com/gosspi/sspi/negotiate"
)

// PackageName is the name CredSSP is registered under.
const PackageName = "CredSSP"

// Names of the packages CredSSP is composed of, looked up in the registry.
const (
	tlsPackage   = "Schannel"
	innerDefault = "Negotiate"
)

// MaxToken is cbMaxToken of CredSSP as Windows reports it (0x4000 + Schannel's and
// Negotiate's largest tokens do not fit it; allocate with ISCReqAllocateMemory).
const MaxToken = 88000

// Config is the authData CredSSP takes from AcquireCredentialsHandle (a *Config). The
// zero value of every field is the safe choice: TSRequest versions 5 and 6 only (the
// CVE-2018-0886 fix), fresh credentials delegated only to TERMSRV/* and only after
// mutual (Kerberos) authentication, the delegated user checked against the authenticated
// one.
type Config struct {
	// TLS is the authData of the Schannel credentials under CredSSP: a *schannel.Config
	// (a server needs its certificate there; a client may add a client certificate). nil
	// is Schannel's default credentials. CredSSP never relies on Schannel's certificate
	// validation: it sets ISC_REQ_MANUAL_CRED_VALIDATION and authenticates the server's
	// key through the public-key binding instead.
	TLS any
	// Negotiate is the authData of the inner Negotiate credentials: a *sspi.AuthIdentity
	// (user, domain, password), a *negotiate.Config, or nil for the default credentials
	// (a Kerberos ccache, NTLM_USER_FILE on a server).
	Negotiate any
	// Package names the inner package; empty means "Negotiate", as on Windows. "NTLM" or
	// "Kerberos" pin a mechanism (the peer must then accept it bare, as Windows does).
	Package string

	// Delegate is what a client delegates when ISC_REQ_DELEGATE is asked: nil means a
	// *PasswordCredentials made from Negotiate when that is a *sspi.AuthIdentity, and no
	// credentials (SEC_E_NO_CREDENTIALS on a delegating context) otherwise.
	Delegate Delegated
	// DelegateTo is the client's "Allow delegating fresh credentials" policy: SPN patterns
	// (see matchSPN: "TERMSRV/*", "TERMSRV/*.corp.example", "*") of targets that may
	// receive fresh credentials once the server is mutually authenticated (Kerberos). nil
	// means DefaultDelegationTargets, Windows' default; an empty non-nil list delegates
	// nowhere (SEC_E_DELEGATION_POLICY).
	DelegateTo []string
	// DelegateToNTLMOnly is "Allow delegating fresh credentials with NTLM-only server
	// authentication": the targets that may receive credentials when only NTLM
	// authenticated the exchange, which proves nothing about the server. nil (Windows'
	// default) allows none: such a delegation fails with SEC_E_POLICY_NLTM_ONLY.
	DelegateToNTLMOnly []string

	// MaxVersion is the highest TSRequest version to speak (2 to 6); 0 means 6.
	MaxVersion int
	// MinVersion is the lowest version accepted from the peer; 0 means 5, refusing the
	// versions without the CVE-2018-0886 fix, as Windows' "Encryption Oracle
	// Remediation" does at its default since 2018. Set it to 2 to talk to unpatched peers.
	MinVersion int

	// EarlyUserAuthResult turns on RDP's Early User Authorization Result (the 4-byte PDU
	// of PROTOCOL_HYBRID_EX): a server sends it in its final token, a client waits for it
	// after its credentials and reports AUTHZ_ACCESS_DENIED as SEC_E_LOGON_DENIED.
	EarlyUserAuthResult bool
	// Authorize, on a server, decides whether an authenticated client may go on; nil
	// allows everyone the inner package authenticated. With EarlyUserAuthResult a refusal
	// is sent as AUTHZ_ACCESS_DENIED; without it the handshake fails with
	// SEC_E_LOGON_DENIED.
	Authorize func(id sspi.Identity, delegated Delegated) bool
	// AllowDelegatedUserMismatch lets a server accept TSPasswordCreds naming a user other
	// than the one the inner package authenticated. Windows accepts them (the Remote
	// Desktop server then logs on with the delegated credentials, so they must be valid
	// on their own); by default this package refuses them with SEC_E_LOGON_DENIED,
	// because a server that trusts Identity and uses Delegated would act as two people.
	AllowDelegatedUserMismatch bool

	// Rand is the source of the client nonce; nil means crypto/rand.
	Rand io.Reader
}

func (c *Config) maxVersion() int64 {
	if c.MaxVersion == 0 {
		return Version
	}
	return int64(c.MaxVersion)
}

func (c *Config) minVersion() int64 {
	if c.MinVersion == 0 {
		return firstNonceVersion
	}
	return int64(c.MinVersion)
}

func (c *Config) delegateTo() []string {
	if c.DelegateTo == nil {
		return DefaultDelegationTargets
	}
	return c.DelegateTo
}

func (c *Config) innerName() string {
	if c.Package == "" {
		return innerDefault
	}
	return c.Package
}

func (c *Config) check() error {
	if c.MaxVersion != 0 && (c.MaxVersion < MinVersion || c.MaxVersion > Version) {
		return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: Config.MaxVersion %d is outside 2..6", c.MaxVersion)
	}
	if c.MinVersion != 0 && (c.MinVersion < MinVersion || c.MinVersion > Version) {
		return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: Config.MinVersion %d is outside 2..6", c.MinVersion)
	}
	if c.minVersion() > c.maxVersion() {
		return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: Config.MinVersion %d is above MaxVersion %d (MinVersion defaults to 5: set it too)", c.minVersion(), c.maxVersion())
	}
	if strings.EqualFold(c.innerName(), PackageName) {
		return sspi.Errorf(sspi.ErrInvalidParameter, "credssp: CredSSP cannot be its own inner package")
	}
	return nil
}

// credentials is CredSSP's side of a credentials handle: the inner package's credentials
// and Schannel's, acquired through the registry. Immutable once built.
type credentials struct {
	cfg       Config
	use       sspi.CredentialUse
	innerName string
	inner     sspi.PackageCredentials
	tls       sspi.PackageCredentials // nil only in tests of the message layer
	delegate  Delegated
}

func (c *credentials) Expiry() time.Time {
	e := c.inner.Expiry()
	if c.tls != nil {
		if t := c.tls.Expiry(); !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

// Close releases both packages' credentials.
func (c *credentials) Close() error {
	for _, pc := range []sspi.PackageCredentials{c.inner, c.tls} {
		if cl, ok := pc.(sspi.Closer); ok {
			cl.Close()
		}
	}
	return nil
}

// acquireInner builds the message-layer half of the credentials: the inner package's
// credentials and what a client delegates.
func acquireInner(req *sspi.CredentialsRequest, cfg Config) (*credentials, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	c := &credentials{cfg: cfg, use: req.Use, innerName: cfg.innerName(), delegate: cfg.Delegate}
	p, err := sspi.LookupPackage(c.innerName)
	if err != nil {
		return nil, err
	}
	sub := *req
	sub.AuthData = cfg.Negotiate
	if c.inner, err = p.AcquireCredentials(&sub); err != nil {
		return nil, err
	}
	if id, ok := cfg.Negotiate.(*sspi.AuthIdentity); ok && id != nil && c.delegate == nil {
		user, domain := id.User, id.Domain
		if domain == "" {
			// Windows sends what the user typed, split: DOMAIN\user.
			if d, u, ok := strings.Cut(user, `\`); ok {
				domain, user = d, u
			}
		}
		c.delegate = &PasswordCredentials{Domain: domain, User: user, Password: id.Password}
	}
	return c, nil
}

// configFrom reads AcquireCredentialsHandle's authData.
func configFrom(authData any) (Config, error) {
	switch a := authData.(type) {
	case nil:
		return Config{}, nil
	case *Config:
		if a == nil {
			return Config{}, nil
		}
		return *a, nil
	case *sspi.AuthIdentity:
		return Config{Negotiate: a}, nil
	}
	return Config{}, sspi.Errorf(sspi.ErrUnknownCredentials, "credssp: cannot use %T as credentials (want nil, *sspi.AuthIdentity or *credssp.Config)", authData)
}
