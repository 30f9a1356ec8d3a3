package main

// Schannel in the CLI: server and client credentials from PEM files, the flags that go
// with them, and the session `sspi connect` has over the tls framing.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gosspi/sspi"
	"github.com/gosspi/sspi/schannel"
	"github.com/gosspi/sspi/sockauth"
)

// isSchannel reports whether pkg names Schannel, under either of its names.
func isSchannel(pkg string) bool {
	return strings.EqualFold(pkg, schannel.PackageName) || strings.EqualFold(pkg, schannel.UnifiedName)
}

// framingFor is --framing's value, or the package's own framing when it was not given:
// tls for Schannel, sspi otherwise. A framing the package cannot use is a usage error.
func framingFor(pkg, framing string) (sockauth.Framing, error) {
	if framing == "" {
		if isSchannel(pkg) {
			return sockauth.FramingTLS, nil
		}
		return sockauth.FramingSSPI, nil
	}
	f, err := sockauth.ParseFraming(framing)
	switch {
	case err != nil:
		return 0, &errUsage{err.Error()}
	case isSchannel(pkg) && f != sockauth.FramingTLS:
		return 0, usageErrorf("--package %s speaks the tls framing only: its tokens and messages are TLS records", pkg)
	case !isSchannel(pkg) && f == sockauth.FramingTLS:
		return 0, usageErrorf("--framing tls carries TLS records: it needs --package Schannel")
	}
	return f, nil
}

// checkServeTLSFlags checks serve's Schannel flags against the package.
func checkServeTLSFlags(s serverSettings) error {
	if !isSchannel(s.pkg) {
		if isCredSSP(s.pkg) {
			return nil // checkServeRDPFlags
		}
		if s.cert != "" || s.key != "" || s.clientCA != "" || s.clientAuth != "" {
			return usageErrorf("--cert, --key, --client-ca and --client-auth are for --package Schannel")
		}
		return nil
	}
	switch {
	case s.cert == "" || s.key == "":
		return usageErrorf("--package Schannel needs the server's certificate and key: --cert FILE --key FILE (PEM)")
	case s.accounts != "" || s.keytab != "" || s.spn != "" || s.replayCache != "":
		return usageErrorf("--accounts, --keytab, --spn and --replay-cache are for NTLM, Kerberos and Negotiate; Schannel authenticates with certificates")
	case s.clientAuth != "" && s.clientAuth != "request" && s.clientAuth != "require":
		return usageErrorf("--client-auth %q: want request or require", s.clientAuth)
	case s.clientAuth != "" && s.clientCA == "":
		return usageErrorf("--client-auth needs --client-ca FILE: the CAs whose client certificates are accepted")
	}
	return nil
}

// loadKeyPair loads a PEM certificate chain and its key, naming both files on failure.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, sspi.Errorf(sspi.ErrNoCredentials, "--cert %s --key %s: %w", certFile, keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, sspi.Errorf(sspi.ErrNoCredentials, "--cert %s: %w", certFile, err)
		}
	}
	return pair, nil
}

// loadPool reads a PEM file of CA certificates.
func loadPool(flag, file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "%s %s: no PEM certificate in the file", flag, file)
	}
	return pool, nil
}

// acquireSchannelServer acquires Schannel's inbound credentials from --cert and --key
// (or the demo's certificate), and the client-certificate policy.
func acquireSchannelServer(s serverSettings) (*serverCreds, error) {
	var pair tls.Certificate
	source := "a certificate made in memory"
	if s.tlsCert != nil {
		pair = *s.tlsCert
	} else {
		var err error
		if pair, err = loadKeyPair(s.cert, s.key); err != nil {
			return nil, err
		}
		source = "--cert " + s.cert
	}
	cfg := &schannel.Config{Certificates: []tls.Certificate{pair}}
	if s.clientCA != "" {
		pool, err := loadPool("--client-ca", s.clientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		if s.clientAuth == "request" {
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", s.pkg, sspi.CredInbound, nil, cfg, nil)
	if err != nil {
		return nil, err
	}
	leaf := pair.Leaf
	desc := fmt.Sprintf("%s (%s, for %s, until %s)", source, leaf.Subject, strings.Join(certNames(leaf), ", "), leaf.NotAfter.UTC().Format(time.DateOnly))
	return &serverCreds{cred: cred, source: desc, mechanisms: []string{schannel.PackageName}, cleanup: func() {}, tlsLeaf: leaf}, nil
}

// certNames are the names a certificate is valid for.
func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	return names
}

// acquireSchannelClient acquires Schannel's outbound credentials: the roots of --ca (the
// system's without it), the client certificate of --cert and --key, and with --insecure
// manual validation (the server's certificate is not checked at all).
func acquireSchannelClient(pkg, ca, certFile, keyFile string, insecure bool) (*sspi.Credentials, string, error) {
	cfg := &schannel.Config{ManualCredValidation: insecure}
	source := "the system's roots"
	if ca != "" {
		pool, err := loadPool("--ca", ca)
		if err != nil {
			return nil, "", err
		}
		cfg.RootCAs, source = pool, "--ca "+ca
	}
	if insecure {
		source = "no check of the server's certificate (--insecure)"
	}
	if certFile != "" {
		pair, err := loadKeyPair(certFile, keyFile)
		if err != nil {
			return nil, "", err
		}
		cfg.Certificates = []tls.Certificate{pair}
		source += ", client certificate " + pair.Leaf.Subject.String()
	}
	cred, _, err := sspi.AcquireCredentialsHandle("", pkg, sspi.CredOutbound, nil, cfg, nil)
	return cred, source, err
}

// checkConnectTLSFlags checks connect's Schannel flags against the package.
func checkConnectTLSFlags(pkg, user, passwordFile, ca, cert, key string, insecure bool) error {
	if isCredSSP(pkg) {
		switch {
		case cert != "" || key != "":
			return usageErrorf("--cert and --key are for --package Schannel: an RDP client authenticates inside CredSSP (--user)")
		case insecure && ca != "":
			return usageErrorf("--insecure checks no certificate; --ca would not be used")
		}
		return nil
	}
	if !isSchannel(pkg) {
		if ca != "" || cert != "" || key != "" || insecure {
			return usageErrorf("--ca, --cert, --key and --insecure are for --package Schannel")
		}
		return nil
	}
	switch {
	case user != "" || passwordFile != "":
		return usageErrorf("Schannel authenticates with certificates: --user and --password-file are for NTLM, Kerberos and Negotiate (give --cert and --key for a client certificate)")
	case (cert == "") != (key == ""):
		return usageErrorf("a client certificate needs both --cert FILE and --key FILE")
	case insecure && ca != "":
		return usageErrorf("--insecure checks no certificate; --ca would not be used")
	}
	return nil
}

// maxLine bounds one line `sspi connect` reads over the tls framing.
const maxLine = 64 << 10

// tlsSession is what `sspi connect` does over the tls framing: without a message, it
// reads the server's first line (the greeting of `sspi serve`); with one, it sends it as
// a line and reads lines until its echo comes back, or the server closes (an HTTP
// server's answer, `openssl s_server -www`'s page). Then it sends close_notify.
func tlsSession(c *sockauth.Conn, message string, res *connectResult, out func(string, ...any)) error {
	var ci schannel.ConnectionInfo
	if err := sspi.QueryContextAttributes(c.SecurityContext(), sspi.AttrConnectionInfo, &ci); err == nil {
		var si schannel.SessionInfo
		resumed := sspi.QueryContextAttributes(c.SecurityContext(), sspi.AttrSessionInfo, &si) == nil && si.Resumed()
		res.TLS = &tlsJSON{Version: tls.VersionName(ci.Version), CipherSuite: tls.CipherSuiteName(ci.CipherSuite), Resumed: resumed}
		out("tls:         %s, %s\n", res.TLS.Version, res.TLS.CipherSuite)
	}
	br := bufio.NewReaderSize(c, maxLine)
	readLine := func() (string, error) {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		if len(line) > 0 {
			return strings.TrimRight(string(line), "\r\n"), nil
		}
		return "", err
	}
	if message == "" {
		g, err := readLine()
		if err == io.EOF {
			return &serverClosed{"after the handshake, without a greeting"}
		}
		if err != nil {
			return err
		}
		res.Greeting = &g
		out("greeting:    %q (sealed)\n", g)
		return nil
	}
	if _, err := c.Write([]byte(message + "\n")); err != nil {
		return err
	}
	res.Sent = &message
	out("sent:        %q (sealed)\n", message)
	for {
		line, err := readLine()
		if err == io.EOF {
			if len(res.Received) == 0 {
				return &serverClosed{"after the message, without an answer"}
			}
			out("end:         the server closed the session (close_notify)\n")
			return nil
		}
		if err != nil {
			return err
		}
		res.Received = append(res.Received, line)
		if line == message {
			res.Echo = &line
			out("echo:        %q (verified)\n", line)
			return nil
		}
		out("received:    %q\n", line)
	}
}

// tlsJSON is the TLS part of connect's --json.
type tlsJSON struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	Resumed     bool   `json:"resumed"`
}

// throwawayCertificate makes a self-signed certificate for localhost and 127.0.0.1 in
// memory, valid for an hour, for the demo: it is never written anywhere.
func throwawayCertificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "sspi demo (throwaway, self-signed)"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
