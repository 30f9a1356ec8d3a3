package main

// CredSSP in the CLI: `sspi serve --framing rdp`, an NLA gate (RDP's X.224 negotiation,
// TLS, CredSSP, then the connection closes), and `sspi connect --framing rdp`, the
// client's side of the same, against the gate or a real RDP server.

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/credssp"
	"github.com/gosspi/sspi/negotiate"
	"github.com/gosspi/sspi/schannel"
	"github.com/gosspi/sspi/sockauth"
)

// isCredSSP reports whether pkg names CredSSP.
func isCredSSP(pkg string) bool { return strings.EqualFold(pkg, credssp.PackageName) }

// flagGiven reports whether the flag name was on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

// rdpPackage is the package of --framing rdp: CredSSP, which --package may name but not
// contradict. Without --framing, --package CredSSP means the rdp framing.
func rdpPackage(fs *flag.FlagSet, pkg, framing *string) error {
	rdp := strings.EqualFold(*framing, "rdp")
	switch {
	case rdp && !flagGiven(fs, "package"):
		*pkg = credssp.PackageName
	case rdp && !isCredSSP(*pkg):
		return usageErrorf("--framing rdp authenticates with CredSSP: leave out --package, or give --package CredSSP")
	case !rdp && isCredSSP(*pkg) && *framing == "":
		*framing = "rdp"
	case !rdp && isCredSSP(*pkg):
		return usageErrorf("--package CredSSP speaks the rdp framing only (RDP's negotiation, then TLS records)")
	}
	return nil
}

// checkServeRDPFlags checks serve's flags for the rdp framing.
func checkServeRDPFlags(s serverSettings) error {
	if !isCredSSP(s.pkg) {
		if s.earlyUserAuth {
			return usageErrorf("--early-user-auth is for --framing rdp")
		}
		return nil
	}
	switch {
	case (s.cert == "") != (s.key == ""):
		return usageErrorf("--framing rdp takes both --cert FILE and --key FILE, or neither (a throwaway certificate is made)")
	case s.clientCA != "" || s.clientAuth != "":
		return usageErrorf("--client-ca and --client-auth are for --package Schannel: RDP clients authenticate inside CredSSP")
	}
	return nil
}

// credsspServer is CredSSP's acceptor configuration: Negotiate's inside, the certificate
// of --cert and --key (or one made in memory) outside.
func credsspServer(s serverSettings, inner *negotiate.Config, sc *serverCreds) (*credssp.Config, error) {
	var pair tls.Certificate
	var err error
	switch {
	case s.tlsCert != nil:
		pair = *s.tlsCert
	case s.cert != "":
		if pair, err = loadKeyPair(s.cert, s.key); err != nil {
			return nil, err
		}
	default:
		if pair, _, err = throwawayCertificate(); err != nil {
			return nil, err
		}
		sc.throwaway = true
	}
	sc.tlsLeaf = pair.Leaf
	return &credssp.Config{
		TLS:                 &schannel.Config{Certificates: []tls.Certificate{pair}},
		Negotiate:           inner,
		EarlyUserAuthResult: s.earlyUserAuth,
	}, nil
}

// announceRDP prints where the gate listens, the accounts, and how to try it.
func announceRDP(e *env, addr string, sc *serverCreds, eua bool) {
	proto := "HYBRID"
	if eua {
		proto = "HYBRID_EX (early user authorization result)"
	}
	fmt.Fprintf(e.stdout, "listening on %s (NLA gate: RDP %s, CredSSP with %s inside; accounts: %s)\n", addr, proto, strings.Join(sc.mechanisms, ", "), sc.source)
	user, pw := "USER", "PASSWORD"
	if sc.ephemeral != nil {
		user, pw = sc.ephemeral.User, sc.ephemeral.Password
		fmt.Fprintf(e.stdout, "ephemeral account, valid until this server stops:\n  user      %s\n  password  %s\n", user, pw)
	}
	sec := "nla"
	if eua {
		sec = "ext"
	}
	fmt.Fprintf(e.stdout, "try:  xfreerdp /v:%s /sec:%s +auth-only /cert:ignore /u:%s /p:'%s'\n", addr, sec, user, pw)
	extra := ""
	if eua {
		extra = " --early-user-auth"
	}
	fmt.Fprintf(e.stdout, "      SSPI_PASSWORD='%s' %s connect %s --framing rdp --insecure --user %s%s\n", pw, selfCommand(os.Args[0]), addr, user, extra)
}

// fingerprint names a certificate by the SHA-256 of its DER.
func fingerprint(c *x509.Certificate) string {
	if c == nil {
		return "no certificate"
	}
	return fmt.Sprintf("SHA-256 %X", sha256.Sum256(c.Raw))
}

// acquireCredSSPClient acquires CredSSP's outbound credentials: Negotiate's inside (the
// password as for Negotiate, or the stored credentials), the Early User Authorization
// Result with eua, and with delegate a policy that allows delegating to target, even
// when only NTLM authenticated it: the user asked for it by name.
func acquireCredSSPClient(inner, user, passwordFile, target string, delegate, eua bool, e *env) (*sspi.Credentials, string, error) {
	if inner == "" {
		inner = "Negotiate"
	}
	id, source, err := clientAuthData(inner, user, passwordFile, e)
	if err != nil {
		return nil, "", err
	}
	cfg := &credssp.Config{Package: inner, EarlyUserAuthResult: eua, DelegateTo: []string{}}
	if id != nil {
		cfg.Negotiate = id
	}
	if delegate {
		cfg.DelegateTo, cfg.DelegateToNTLMOnly = []string{target}, []string{target}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", credssp.PackageName, sspi.CredOutbound, nil, cfg, nil)
	return cred, source, err
}

// verifyRDPCertificate is the check of the RDP server's certificate `sspi connect` makes
// before any credential leaves: a chain to roots (--ca, or the system's) valid for host.
func verifyRDPCertificate(roots *x509.CertPool, host string) func([]*x509.Certificate) error {
	return func(chain []*x509.Certificate) error {
		if len(chain) == 0 {
			return sspi.Errorf(sspi.ErrUntrustedRoot, "the RDP server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		var hn x509.HostnameError
		var ci x509.CertificateInvalidError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &hn):
			return sspi.Errorf(sspi.ErrWrongPrincipal, "the RDP server's certificate is not valid for %s (%v); no credentials were sent", host, err)
		case errors.As(err, &ci) && ci.Reason == x509.Expired:
			return sspi.Errorf(sspi.ErrCertExpired, "the RDP server's certificate has expired (%v); no credentials were sent", err)
		}
		return sspi.Errorf(sspi.ErrUntrustedRoot, "the RDP server's certificate is not trusted (%v); no credentials were sent: give --ca FILE, or --insecure to rely on CredSSP alone", err)
	}
}

// rdpSession is what `sspi connect --framing rdp` reports after the gate: the protocol,
// CredSSP's version, what was delegated and the early user authorization result.
func rdpSession(c *sockauth.Conn, res *connectResult, out func(string, ...any)) {
	info, ok := c.RDPInfo()
	if !ok {
		return
	}
	delegated := info.Delegated
	if delegated == "" {
		delegated = "nothing"
	}
	res.RDP = &rdpJSON{Protocol: info.Protocol, CredSSPVersion: info.Version, Inner: info.Inner, Delegated: info.Delegated, EarlyUserAuth: info.EarlyUserAuthResult}
	out("rdp:         %s, CredSSP version %d, %s inside\n", info.Protocol, info.Version, info.Inner)
	out("delegated:   %s\n", delegated)
	if info.EarlyUserAuthResult {
		out("early user authorization result: AUTHZ_SUCCESS\n")
	}
}

// rdpJSON is the RDP part of connect's --json.
type rdpJSON struct {
	Protocol       string `json:"protocol"`
	CredSSPVersion int    `json:"credssp_version"`
	Inner          string `json:"inner"`
	Delegated      string `json:"delegated,omitempty"`
	EarlyUserAuth  bool   `json:"early_user_auth"`
}

// rdpHost is the host of a HOST:PORT, for the target TERMSRV/host and the certificate.
func rdpHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// rdpRoots are the roots an RDP server's certificate must chain to: --ca's, or the
// system's.
func rdpRoots(ca string) (*x509.CertPool, error) {
	if ca != "" {
		return loadPool("--ca", ca)
	}
	return x509.SystemCertPool()
}
