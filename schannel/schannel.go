package schannel

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/gosspi/sspi"
)

// PackageName is the name Schannel is registered under.
const PackageName = "Schannel"

// UnifiedName is the second name Windows lists Schannel under, registered here too.
const UnifiedName = "Microsoft Unified Security Protocol Provider"

// MaxToken is cbMaxToken of Schannel, as Windows reports it. A handshake flight with a
// long certificate chain can be larger: use ISCReqAllocateMemory (as Windows programs do
// with Schannel) or a larger buffer.
const MaxToken = 24576

// Shutdown is SCHANNEL_SHUTDOWN: the control token (a little-endian uint32 in a
// BufferToken buffer) that sspi.ApplyControlToken takes to close the connection. The
// next InitializeSecurityContext or AcceptSecurityContext then returns the close_notify
// alert to send.
const Shutdown uint32 = 1

// capabilities are the SECPKG_FLAG_* bits Windows reports for Schannel (0x107B3).
const capabilities = sspi.CapIntegrity | sspi.CapPrivacy | sspi.CapConnection | sspi.CapMultiRequired |
	sspi.CapExtendedError | sspi.CapImpersonation | sspi.CapAcceptWin32Name | sspi.CapStream | sspi.CapMutualAuth

func init() { sspi.Register(pkg{}, UnifiedName) }

type pkg struct{}

func (pkg) Info() sspi.PackageInfo {
	return sspi.PackageInfo{
		Capabilities: capabilities,
		Version:      1,
		RPCID:        sspi.RPCIDSchannel,
		MaxToken:     MaxToken,
		Name:         PackageName,
		Comment:      "Schannel Security Package",
	}
}

// Config is the authData Schannel takes from AcquireCredentialsHandle, its
// SCH_CREDENTIALS. The zero value is a client that trusts the system's roots and checks
// the server's certificate against the target name.
type Config struct {
	// Certificates are the local certificate chains with their private keys: the
	// server's (required for inbound credentials), or a client certificate (optional).
	Certificates []tls.Certificate
	// CertFile and KeyFile name PEM files holding one more chain and its key, loaded
	// by AcquireCredentialsHandle (tls.LoadX509KeyPair).
	CertFile, KeyFile string

	// RootCAs are the roots a client trusts for the server's certificate; nil means the
	// system's pool.
	RootCAs *x509.CertPool
	// ClientAuth is a server's client-certificate policy; the zero value asks for none.
	ClientAuth tls.ClientAuthType
	// ClientCAs are the roots a server trusts for client certificates, whose names it
	// sends in its CertificateRequest (the client's SECPKG_ATTR_ISSUER_LIST_EX).
	ClientCAs *x509.CertPool

	// MinVersion and MaxVersion bound the protocol version; zero means TLS 1.2 and
	// TLS 1.3. Versions below TLS 1.2 are refused.
	MinVersion, MaxVersion uint16

	// ManualCredValidation is SCH_CRED_MANUAL_CRED_VALIDATION: a client does not check
	// the server's certificate at all, leaving it to the caller, who reads it with
	// SECPKG_ATTR_REMOTE_CERT_CONTEXT. ISCReqManualCredValidation asks the same for one
	// context. This is an explicit opt-in: without a check of its own, the caller talks
	// to whoever answers.
	ManualCredValidation bool

	// DisableSessionCache turns off the client's session cache (resumption).
	DisableSessionCache bool

	// Rand is the source of randomness; nil means crypto/rand.
	Rand io.Reader
	// Time returns the current time for certificate checks; nil means time.Now.
	Time func() time.Time
}

// sessionCacheSize is how many sessions a client credentials handle keeps, one per
// target name.
const sessionCacheSize = 64

// credentials is Schannel's side of a credentials handle. Its tls.Configs are built
// once: every context of the handle clones them, so a client's contexts share one session
// cache (keyed by the target name: the seed's "same target name, same credentials
// handle") and a server's share its session-ticket keys.
type credentials struct {
	cfg    Config
	certs  []tls.Certificate
	client *tls.Config
	server *tls.Config
}

func (pkg) AcquireCredentials(req *sspi.CredentialsRequest) (sspi.PackageCredentials, error) {
	var cfg Config
	switch d := req.AuthData.(type) {
	case nil:
	case *Config:
		if d != nil {
			cfg = *d
		}
	case Config:
		cfg = d
	case *tls.Certificate:
		cfg.Certificates = []tls.Certificate{*d}
	case tls.Certificate:
		cfg.Certificates = []tls.Certificate{d}
	default:
		return nil, sspi.Errorf(sspi.ErrUnknownCredentials, "schannel: authData of type %T is not understood; pass a *schannel.Config or a tls.Certificate", req.AuthData)
	}
	return newCredentials(cfg, req.Use)
}

func newCredentials(cfg Config, use sspi.CredentialUse) (*credentials, error) {
	c := &credentials{cfg: cfg}
	c.certs = append(c.certs, cfg.Certificates...)
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "schannel: loading the certificate and key: %w", err)
		}
		c.certs = append(c.certs, pair)
	}
	for i := range c.certs {
		if c.certs[i].Leaf == nil && len(c.certs[i].Certificate) > 0 {
			leaf, err := x509.ParseCertificate(c.certs[i].Certificate[0])
			if err != nil {
				return nil, sspi.Errorf(sspi.ErrNoCredentials, "schannel: certificate %d does not parse: %w", i, err)
			}
			c.certs[i].Leaf = leaf
		}
	}
	minV, maxV := cfg.MinVersion, cfg.MaxVersion
	if minV == 0 {
		minV = tls.VersionTLS12
	}
	if maxV == 0 {
		maxV = tls.VersionTLS13
	}
	if minV < tls.VersionTLS12 || maxV < minV {
		return nil, sspi.Errorf(sspi.ErrAlgorithmMismatch, "schannel: protocol versions %s to %s are not offered; TLS 1.2 and TLS 1.3 are", tls.VersionName(minV), tls.VersionName(maxV))
	}
	random := cfg.Rand
	if random == nil {
		random = rand.Reader
	}
	base := tls.Config{
		Rand:       random,
		Time:       cfg.Time,
		MinVersion: minV,
		MaxVersion: maxV,
		// One EncryptMessage is one record: never split a message in smaller records.
		DynamicRecordSizingDisabled: true,
	}
	if use&sspi.CredOutbound != 0 {
		cl := base.Clone()
		cl.RootCAs = cfg.RootCAs
		// The certificate is checked in verifyServer, so that the status of a failure is
		// Schannel's and the target name may be empty under manual validation.
		cl.InsecureSkipVerify = true
		if !cfg.DisableSessionCache {
			cl.ClientSessionCache = tls.NewLRUClientSessionCache(sessionCacheSize)
		}
		c.client = cl
	}
	if use&sspi.CredInbound != 0 {
		if len(c.certs) == 0 {
			return nil, sspi.Errorf(sspi.ErrNoCredentials, "schannel: a server needs a certificate and its private key (Config.Certificates, or CertFile and KeyFile)")
		}
		sv := base.Clone()
		sv.Certificates = c.certs
		sv.ClientAuth = cfg.ClientAuth
		sv.ClientCAs = cfg.ClientCAs
		// Ticket keys set now are shared by every clone, so a client can resume a session
		// with any context of these credentials.
		var key [32]byte
		if _, err := io.ReadFull(random, key[:]); err != nil {
			return nil, sspi.Errorf(sspi.ErrInternalError, "schannel: reading a session-ticket key: %w", err)
		}
		sv.SetSessionTicketKeys([][32]byte{key})
		c.server = sv
	}
	return c, nil
}

func (c *credentials) Expiry() time.Time {
	var exp time.Time
	for _, cert := range c.certs {
		if cert.Leaf != nil && (exp.IsZero() || cert.Leaf.NotAfter.Before(exp)) {
			exp = cert.Leaf.NotAfter
		}
	}
	return exp
}

func (c *credentials) NewContext(server bool) (sspi.PackageContext, error) {
	if server && c.server == nil || !server && c.client == nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "schannel: credentials were not acquired for this direction")
	}
	return newContext(c, server), nil
}

// QueryCredentialsAttribute answers CredAttrNames with the subject of the first
// certificate.
func (c *credentials) QueryCredentialsAttribute(attr sspi.CredentialAttribute, out any) error {
	o, ok := out.(*sspi.CredentialNames)
	if attr != sspi.CredAttrNames || !ok {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "schannel: credential attribute %d is not reported", attr)
	}
	if len(c.certs) > 0 && c.certs[0].Leaf != nil {
		o.UserName = c.certs[0].Leaf.Subject.String()
	}
	return nil
}

func (c *credentials) String() string {
	return fmt.Sprintf("schannel credentials (%d certificates)", len(c.certs))
}
