// Package ntlm is the NTLM security package (MS-NLMP) for github.com/gosspi/sspi, client
// and server side, registered as "NTLM" (RPC id 10) when imported:
//
//	import _ "github.com/gosspi/sspi/ntlm"
//
// The client speaks NTLMv2 with extended session security, key exchange, the MIC over all
// three messages, channel bindings (MsvAvChannelBindings) and the target SPN
// (MsvAvTargetName), and the 40-byte NEGOTIATE with VERSION that Windows sends. NTLMv1 and
// LM are used only at the LM compatibility levels that ask for them. The AV pairs it
// echoes are the server's names and timestamp; the flags, target name and channel
// bindings are its own, never the server's. It refuses to answer a challenge that a
// server of this process issued, unless its target names that server (reflection, see
// below).
//
// The server issues one-time challenges from crypto/rand, verifies NTLMv2 (NTLMv1 only
// when enabled), checks that the client echoed the timestamp it issued (so that the MIC
// cannot have been suppressed by deleting it), verifies the MIC whenever the client says
// it sent one, applies a channel-binding policy, and answers "who is this" through an
// AccountStore. It fails closed: no account store, an empty one, or an account with an
// empty password never authenticates anyone.
//
// # Session security
//
// Both sides require 128-bit keys whenever signing or sealing is negotiated, as Windows
// does with NTLMMinClientSec and NTLMMinServerSec set to "require 128-bit encryption":
// a peer, or an attacker in the middle, that leaves out NTLMSSP_NEGOTIATE_128 gets
// sspi.ErrUnsupportedFunction. AllowWeakSessionSecurity in ClientConfig or ServerConfig
// lowers the floor explicitly. Anonymous logons have no session key, so their contexts
// grant neither integrity nor confidentiality and refuse to sign or seal.
//
// # Reflection
//
// A server remembers the challenges it has issued until they are answered (bounded in
// number, forgotten after ten minutes), and a client of the same process refuses, with
// sspi.ErrLogonDenied and the cause "reflected challenge", a CHALLENGE that carries one,
// as Windows has since MS08-068: otherwise an attacker the client connected to could
// hand its messages to the local server and log in there as the client's user. The
// client answers it only when the caller's target names the issuing server: a loopback
// address, localhost, this host's name, or the server's NetBIOSComputer or DNS names.
// An in-process client and server must therefore give the client such a target
// (sspi.ClientOptions.Target "host/localhost").
//
// # Credentials
//
// AcquireCredentialsHandle takes, as authData:
//
//   - *sspi.AuthIdentity: a client's user name ("DOMAIN\user", "user@domain", or User and
//     Domain apart) and password;
//   - *ClientConfig: a client with a password or an NT hash and the options below;
//   - *ServerConfig: a server with its AccountStore and options;
//   - nil: the defaults of the environment, as gss-ntlmssp reads them. A client takes
//     NTLMUSER (the user) and NTLM_USER_FILE (the password file), a server takes
//     NTLM_USER_FILE as its account store; NETBIOS_COMPUTER_NAME and NETBIOS_DOMAIN_NAME
//     name the machine and domain, and LM_COMPAT_LEVEL sets the client's level.
//
// # Verifiers
//
// The server checks the client's responses through a Verifier (ServerConfig.Verifier):
// by default an AccountVerifier over the AccountStore; a domain controller or Samba's
// winbind for domain accounts (pass-through authentication); or a VerifierChain, a local
// account file first and then the domain. The verifier returns the session base key and
// the account's SIDs where it knows them, or a refusal carrying the NTSTATUS a domain
// controller answers with (NTStatus, LogonError), mapped to a SECURITY_STATUS as Windows
// maps it. Everything else stays with the server: the MIC is checked with the key the
// verifier returned, and so are the policies of ServerConfig. Package ntlm/netlogon is the
// domain controller over Netlogon, in pure Go; ntlm/winbind is Samba's winbind. A domain
// controller binds NTLMv2 responses to the member server's machine account: such a
// verifier is a TargetNamer, and the server's CHALLENGE takes its names.
//
// Wrong passwords and unknown users both fail with sspi.ErrLogonDenied; the cause says
// which (errors.Is(err, ErrNoSuchUser) for an unknown one) so the server can log them
// apart, while the client learns nothing more than the denial.
package ntlm

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/internal/ntlmssp"
)

// PackageName is the name NTLM is registered under.
const PackageName = "NTLM"

// MaxToken is cbMaxToken of the NTLM package: the largest token it produces.
const MaxToken = 2888

func init() { sspi.Register(pkg{}) }

type pkg struct{}

// Info reports the SecPkgInfo Windows gives for NTLM.
func (pkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{
		Capabilities: 0x00082B37, // INTEGRITY, PRIVACY, TOKEN_ONLY, CONNECTION, MULTI_REQUIRED, IMPERSONATION, ACCEPT_WIN32_NAME, NEGOTIABLE, LOGON, RESTRICTED_TOKENS
		Version:      1,
		RPCID:        sspi.RPCIDNTLM,
		MaxToken:     MaxToken,
		Name:         PackageName,
		Comment:      "NTLM Security Package",
	}
}

// LMCompatibilityLevel is Windows' LmCompatibilityLevel: which responses a client sends.
// The zero value means the default, level 3.
type LMCompatibilityLevel int

// The levels, with Windows' meaning for a client.
const (
	LMLevelDefault LMCompatibilityLevel = iota // level 3
	LMLevel0                                   // LM and NTLMv1 responses
	LMLevel1                                   // LM and NTLMv1, with extended session security when the server offers it
	LMLevel2                                   // NTLMv1 only
	LMLevel3                                   // NTLMv2 only (the default)
	LMLevel4                                   // NTLMv2 only (Windows' levels 4 and 5 differ only for domain controllers)
	LMLevel5                                   // NTLMv2 only
)

// Windows returns the numeric level 0–5.
func (l LMCompatibilityLevel) Windows() int {
	if l == LMLevelDefault {
		return 3
	}
	return int(l) - 1
}

// v2 reports whether the client sends NTLMv2.
func (l LMCompatibilityLevel) v2() bool { return l.Windows() >= 3 }

// ClientConfig configures the client side. Its zero value with a user and password set is
// the secure choice: NTLMv2, MIC, key exchange, 128-bit keys.
type ClientConfig struct {
	// User is "user", "DOMAIN\user" or "user@domain"; Domain is used when User has none.
	User   string
	Domain string
	// Password, or NTHash (NTOWFv1 of the password) when the password is not known.
	Password string
	NTHash   *[16]byte
	// Anonymous authenticates with no user at all (NTLMSSP_NEGOTIATE_ANONYMOUS); User and
	// the secrets must be empty. The context grants no integrity or confidentiality.
	Anonymous bool
	// Workstation is the client's NetBIOS name; empty means NETBIOS_COMPUTER_NAME or the
	// host name, upper-cased.
	Workstation string
	// LMCompatibilityLevel chooses NTLMv2 (default) or, explicitly, NTLMv1 and LM.
	LMCompatibilityLevel LMCompatibilityLevel
	// NoMIC leaves out the MIC and the MsvAvFlags bit that announces it. Only for peers
	// that mishandle it.
	NoMIC bool
	// AllowWeakSessionSecurity signs and seals with 40- or 56-bit keys when the server
	// does not agree to NTLMSSP_NEGOTIATE_128. Off by default: like Windows'
	// NTLMMinClientSec "require 128-bit encryption", a context whose signing or sealing
	// would be weaker fails with sspi.ErrUnsupportedFunction.
	AllowWeakSessionSecurity bool
	// Rand is the source of client challenges and session keys; nil means crypto/rand.
	Rand io.Reader
	// Time gives the current time when the server sends no timestamp; nil means time.Now.
	Time func() time.Time
}

// ChannelBindingPolicy is how a server treats the client's MsvAvChannelBindings.
type ChannelBindingPolicy int

const (
	// BindingsWhenPresent checks the client's bindings whenever it sent non-zero ones
	// (Windows' "Extended Protection: allowed"); the default.
	BindingsWhenPresent ChannelBindingPolicy = iota
	// BindingsRequired refuses a client whose bindings are missing or do not match
	// ("Extended Protection: required").
	BindingsRequired
	// BindingsOff ignores them.
	BindingsOff
)

// ServerConfig configures the server side.
type ServerConfig struct {
	// Accounts answers the NT hash of DOMAIN\user. Required: a nil store authenticates no
	// one, and AcquireCredentialsHandle refuses it with sspi.ErrNoCredentials.
	//
	// A client that sends its user name as a user principal name, "alice@EXAMPLE" with no
	// domain (curl -u alice@EXAMPLE:..., requests-ntlm, go-ntlmssp, a Windows UPN logon), is
	// looked up as domain "EXAMPLE", user "alice", as Windows and Samba do; the split is at
	// the last '@', and names compare case-insensitively as the store compares them. Whether
	// an account stored without a domain answers for EXAMPLE is the store's rule (a
	// FileAccountStore's does; a NetBIOS domain does not match a DNS one). The context's
	// Identity then names the resolved account, EXAMPLE\alice, with the domain as the client
	// spelled it, never "alice@EXAMPLE".
	Accounts AccountStore
	// Verifier, when set, checks the responses instead of Accounts: a domain controller
	// (pass-through authentication over Netlogon), Samba's winbind, or a VerifierChain
	// of them after a local AccountVerifier. The server still enforces everything else
	// in this struct itself (NTLMv1, the MIC and its presence, the timestamp echo,
	// channel bindings, clock skew) and checks the MIC with the session key the verifier
	// returns. Nil means AccountVerifier{Accounts}.
	Verifier Verifier
	// NetBIOSDomain, NetBIOSComputer, DNSDomain and DNSComputer go into the challenge's
	// target information; empty NetBIOS names come from the Verifier when it is a
	// TargetNamer (a domain controller binds responses to the machine account's names),
	// else from NETBIOS_DOMAIN_NAME and NETBIOS_COMPUTER_NAME (or the host name); empty
	// DNS names from the NetBIOS ones.
	NetBIOSDomain, NetBIOSComputer string
	DNSDomain, DNSComputer         string
	// AllowNTLMv1 accepts NTLMv1 and NTLMv1 with extended session security. Off by
	// default: NTLMv1 responses can be cracked.
	AllowNTLMv1 bool
	// AllowAnonymous accepts anonymous (null session) logons, reported with
	// ASCRetNullSession. Off by default. An anonymous context grants neither integrity
	// nor confidentiality and refuses to sign or seal: its keys would be all zeros, which
	// anyone can compute, so a caller that needs protection (sockauth does unless told
	// otherwise) refuses it.
	AllowAnonymous bool
	// RequireMIC refuses clients that send no MIC. A MIC a client announces is always checked.
	RequireMIC bool
	// AllowWeakSessionSecurity accepts clients that sign or seal with 40- or 56-bit keys
	// (no NTLMSSP_NEGOTIATE_128). Off by default: like Windows' NTLMMinServerSec
	// "require 128-bit encryption", such a client fails with sspi.ErrUnsupportedFunction.
	AllowWeakSessionSecurity bool
	// ChannelBindings is the policy for MsvAvChannelBindings; the bindings themselves come
	// in a BufferChannelBindings input buffer.
	ChannelBindings ChannelBindingPolicy
	// MaxClockSkew bounds the difference between the client's timestamp and the server's
	// clock; zero means 5 minutes, negative disables the check.
	MaxClockSkew time.Duration
	// Logger, if set, gets one record per refused logon saying why (unknown user, wrong
	// password, bad MIC, ...) without any secret.
	Logger *slog.Logger
	// Rand is the source of challenges; nil means crypto/rand.
	Rand io.Reader
	// Time is the server's clock; nil means time.Now.
	Time func() time.Time
}

// credentials is the package's side of a credentials handle: immutable once built, so one
// serves any number of contexts at once.
type credentials struct {
	client *clientCreds
	server *ServerConfig
	name   string
	// names is the server's target-info name pairs, marshalled once.
	names []byte
	// local is what the server answers to, for the client's reflection check.
	local *localNames
}

type clientCreds struct {
	user, domain string
	ntHash       [16]byte
	lmHash       [16]byte // LMOWFv1, only for levels 0 and 1
	anonymous    bool
	workstation  string
	level        LMCompatibilityLevel
	noMIC        bool
	allowWeak    bool
	rand         io.Reader
	now          func() time.Time
}

func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	c := &credentials{}
	var err error
	switch a := req.AuthData.(type) {
	case nil:
		if req.Use&sspi.CredOutbound != 0 {
			if c.client, err = defaultClient(); err != nil {
				return nil, err
			}
		}
		if req.Use&sspi.CredInbound != 0 {
			store, err := DefaultAccountStore()
			if err != nil {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no server credentials: %w", err)
			}
			c.server = &ServerConfig{Accounts: store}
		}
	case *sspi.AuthIdentity:
		if c.client, err = newClientCreds(&ClientConfig{User: a.User, Domain: a.Domain, Password: a.Password}); err != nil {
			return nil, err
		}
	case *ClientConfig:
		if c.client, err = newClientCreds(a); err != nil {
			return nil, err
		}
	case *ServerConfig:
		if a == nil || a.Accounts == nil && a.Verifier == nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: server credentials need an AccountStore or a Verifier; none was given")
		}
		cp := *a
		if err := cp.applyTargetNames(); err != nil {
			return nil, err
		}
		c.server = &cp
	default:
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "ntlm: cannot use %T as credentials (want *sspi.AuthIdentity, *ntlm.ClientConfig or *ntlm.ServerConfig)", req.AuthData)
	}
	if req.Use&sspi.CredOutbound != 0 && c.client == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: outbound use needs client credentials, got server ones")
	}
	if req.Use&sspi.CredInbound != 0 && c.server == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: inbound use needs a *ntlm.ServerConfig with an AccountStore")
	}
	if c.server != nil {
		c.server.fillDefaults()
		var ti ntlmssp.AVPairs
		ti.SetString(ntlmssp.MsvAvNbDomainName, c.server.NetBIOSDomain)
		ti.SetString(ntlmssp.MsvAvNbComputerName, c.server.NetBIOSComputer)
		ti.SetString(ntlmssp.MsvAvDnsDomainName, c.server.DNSDomain)
		ti.SetString(ntlmssp.MsvAvDnsComputerName, c.server.DNSComputer)
		b := ti.Marshal()
		c.names = b[:len(b)-4] // without MsvAvEOL: the timestamp goes after the names
		c.local = newLocalNames(c.server)
		if len(c.names) > 200 {
			return nil, sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: server names are too long for a CHALLENGE (%d bytes of target info)", len(c.names))
		}
	}
	if c.client != nil {
		c.name = c.client.user
		if c.client.domain != "" {
			c.name = c.client.domain + `\` + c.client.user
		}
	}
	return c, nil
}

// splitName splits "DOMAIN\user" and "user@domain"; a name without either keeps domain.
func splitName(name, domain string) (string, string) {
	if i := strings.IndexByte(name, '\\'); i >= 0 {
		return name[i+1:], name[:i]
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 && domain == "" {
		return name[:i], name[i+1:]
	}
	return name, domain
}

func newClientCreds(cfg *ClientConfig) (*clientCreds, error) {
	if cfg == nil {
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "ntlm: nil *ClientConfig")
	}
	c := &clientCreds{anonymous: cfg.Anonymous, workstation: cfg.Workstation, level: cfg.LMCompatibilityLevel, noMIC: cfg.NoMIC, allowWeak: cfg.AllowWeakSessionSecurity, rand: cfg.Rand, now: cfg.Time}
	if c.level < LMLevelDefault || c.level > LMLevel5 {
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: LM compatibility level %d is not one of LMLevel0..LMLevel5", int(c.level))
	}
	c.user, c.domain = splitName(cfg.User, cfg.Domain)
	switch {
	case cfg.Anonymous:
		if c.user != "" || cfg.Password != "" || cfg.NTHash != nil {
			return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "ntlm: anonymous credentials cannot have a user or a secret")
		}
	case c.user == "":
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no user name given")
	case cfg.NTHash != nil:
		c.ntHash = *cfg.NTHash
		if c.level.Windows() < 2 {
			return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "ntlm: LM compatibility level %d sends LM responses, which need the password, not the NT hash", c.level.Windows())
		}
	case cfg.Password == "":
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no password or NT hash for %s", cfg.User)
	default:
		c.ntHash = ntlmssp.NTOWFv1(cfg.Password)
		if c.level.Windows() < 2 {
			c.lmHash = ntlmssp.LMOWFv1(cfg.Password)
		}
	}
	if c.workstation == "" {
		c.workstation = defaultComputerName()
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// defaultClient reads the client defaults the way gss-ntlmssp does: NTLMUSER names the
// user, NTLM_USER_FILE holds the secret.
func defaultClient() (*clientCreds, error) {
	name := os.Getenv("NTLMUSER")
	if name == "" {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no default client credentials: NTLMUSER is not set")
	}
	store, err := DefaultAccountStore()
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no default client credentials: %w", err)
	}
	user, domain := splitName(name, os.Getenv("NETBIOS_DOMAIN_NAME"))
	acct, err := store.LookupAccount(context.Background(), domain, user)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "ntlm: no default client credentials for NTLMUSER=%s: %w", name, err)
	}
	level := LMLevelDefault
	if v := os.Getenv("LM_COMPAT_LEVEL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			return nil, sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: LM_COMPAT_LEVEL=%q is not 0–5", v)
		}
		level = LMCompatibilityLevel(n + 1)
	}
	if domain == "" {
		domain = acct.Domain
	}
	h := acct.NTHash
	if level != LMLevelDefault && level < LMLevel2 {
		level = LMLevel2 // LM responses need the password, which the file may not hold
	}
	return newClientCreds(&ClientConfig{User: user, Domain: domain, NTHash: &h, LMCompatibilityLevel: level})
}

func defaultComputerName() string {
	if n := os.Getenv("NETBIOS_COMPUTER_NAME"); n != "" {
		return n
	}
	h, err := os.Hostname()
	if err != nil {
		return "LOCALHOST"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return strings.ToUpper(h)
}

func (s *ServerConfig) fillDefaults() {
	if s.Verifier == nil {
		s.Verifier = AccountVerifier{Accounts: s.Accounts}
	}
	if s.NetBIOSComputer == "" {
		s.NetBIOSComputer = defaultComputerName()
	}
	if s.NetBIOSDomain == "" {
		if s.NetBIOSDomain = os.Getenv("NETBIOS_DOMAIN_NAME"); s.NetBIOSDomain == "" {
			s.NetBIOSDomain = "WORKGROUP"
		}
	}
	if s.DNSComputer == "" {
		s.DNSComputer = strings.ToLower(s.NetBIOSComputer)
	}
	if s.DNSDomain == "" {
		s.DNSDomain = strings.ToLower(s.NetBIOSDomain)
	}
	if s.MaxClockSkew == 0 {
		s.MaxClockSkew = 5 * time.Minute
	}
	if s.Rand == nil {
		s.Rand = rand.Reader
	}
	if s.Time == nil {
		s.Time = time.Now
	}
}

func (c *credentials) Expiry() time.Time { return time.Time{} }

func (c *credentials) NewContext(server bool) (sspi.PackageContext, error) {
	if server {
		return &serverContext{cfg: c.server, names: c.names, local: c.local}, nil
	}
	return &clientContext{creds: c.client}, nil
}

// QueryCredentialsAttribute answers CredAttrNames with the client's DOMAIN\user.
func (c *credentials) QueryCredentialsAttribute(attr sspi.CredentialAttribute, out any) error {
	if attr != sspi.CredAttrNames {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: credential attribute %d is not supported", attr)
	}
	o, ok := out.(*sspi.CredentialNames)
	if !ok {
		return sspi.Errorf(sspi.ErrInvalidParameter, "ntlm: CredAttrNames needs *sspi.CredentialNames, got %T", out)
	}
	if c.client == nil {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "ntlm: server credentials have no user name")
	}
	o.UserName = c.name
	return nil
}

// Close zeroes the client's hashes. The credentials are unusable afterwards, which is
// fine: the core closes them only when no context uses them.
func (c *credentials) Close() error {
	if c.client != nil {
		clear(c.client.ntHash[:])
		clear(c.client.lmHash[:])
	}
	return nil
}

func malformed(what string, err error) error {
	return sspi.Errorf(sspi.ErrInvalidToken, "ntlm: malformed %s message: %w", what, err)
}
