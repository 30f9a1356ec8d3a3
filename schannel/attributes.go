package schannel

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/gosspi/sspi"
)

// The SecPkgContext_* structures Schannel answers QueryContextAttributes with. Each
// attribute id takes a pointer to its type:
//
//	sspi.AttrStreamSizes         *sspi.StreamSizes (answered by the core)
//	sspi.AttrConnectionInfo      *ConnectionInfo
//	sspi.AttrCipherInfo          *CipherInfo
//	sspi.AttrRemoteCertContext   *CertContext
//	sspi.AttrLocalCertContext    *CertContext
//	sspi.AttrApplicationProtocol *ApplicationProtocol
//	sspi.AttrEndpointBindings    *Bindings (tls-server-end-point)
//	sspi.AttrUniqueBindings      *Bindings (tls-unique, TLS 1.2)
//	sspi.AttrKeyingMaterial      *KeyingMaterial (an RFC 5705 / RFC 8446 7.5 exporter)
//	sspi.AttrSessionInfo         *SessionInfo
//	sspi.AttrIssuerListEx        *IssuerListInfoEx (a client after SEC_I_INCOMPLETE_CREDENTIALS)

// SP_PROT_* protocol bits of ConnectionInfo.Protocol.
const (
	ProtocolTLS12Server uint32 = 0x00000400 // SP_PROT_TLS1_2_SERVER
	ProtocolTLS12Client uint32 = 0x00000800 // SP_PROT_TLS1_2_CLIENT
	ProtocolTLS13Server uint32 = 0x00001000 // SP_PROT_TLS1_3_SERVER
	ProtocolTLS13Client uint32 = 0x00002000 // SP_PROT_TLS1_3_CLIENT
)

// ALG_ID values of ConnectionInfo (wincrypt.h).
const (
	algAES128   uint32 = 0x0000660E // CALG_AES_128
	algAES256   uint32 = 0x00006610 // CALG_AES_256
	algSHA1     uint32 = 0x00008004 // CALG_SHA1
	algSHA256   uint32 = 0x0000800C // CALG_SHA_256
	algSHA384   uint32 = 0x0000800D // CALG_SHA_384
	algECDHE    uint32 = 0x0000AE06 // CALG_ECDH_EPHEM
	algRSAKeyX  uint32 = 0x0000A400 // CALG_RSA_KEYX
	sslReconect uint32 = 0x00000001 // SSL_SESSION_RECONNECT
)

// ConnectionInfo is SecPkgContext_ConnectionInfo, with the Go names beside the Windows
// numbers. Windows has no ALG_ID for ChaCha20-Poly1305: Cipher is then 0.
type ConnectionInfo struct {
	Protocol         uint32 // dwProtocol: a ProtocolTLS* bit
	Cipher           uint32 // aiCipher: CALG_AES_128 or CALG_AES_256
	CipherStrength   uint32 // dwCipherStrength, in bits
	Hash             uint32 // aiHash: CALG_SHA1, CALG_SHA_256 or CALG_SHA_384
	HashStrength     uint32 // dwHashStrength, in bits
	Exchange         uint32 // aiExch: CALG_ECDH_EPHEM or CALG_RSA_KEYX
	ExchangeStrength uint32 // dwExchStrength, in bits
	Version          uint16 // tls.VersionTLS12 or tls.VersionTLS13
	CipherSuite      uint16 // the IANA number, as tls.CipherSuiteName takes it
	CurveID          tls.CurveID
}

// CipherInfo is SecPkgContext_CipherInfo.
type CipherInfo struct {
	Protocol       uint32 // dwProtocol: the TLS version number (0x0303, 0x0304)
	CipherSuite    uint32 // dwCipherSuite
	CipherSuiteStr string // szCipherSuite: the IANA name, e.g. TLS_AES_128_GCM_SHA256
	Cipher         string // szCipher: "AES" or "CHACHA20_POLY1305"
	CipherLen      uint32 // dwCipherLen, in bits
	CipherBlockLen uint32 // dwCipherBlockLen, in bytes
	Hash           string // szHash
	HashLen        uint32 // dwHashLen, in bits
	Exchange       string // szExchange: "ECDHE" or "RSA"
	Certificate    string // szCertificate: the peer's key type, "RSA", "ECDSA" or "Ed25519"
}

// CertContext is what SECPKG_ATTR_REMOTE_CERT_CONTEXT and SECPKG_ATTR_LOCAL_CERT_CONTEXT
// give: a certificate chain, leaf first, as sent in the handshake.
type CertContext struct {
	Certificates []*x509.Certificate
}

// Leaf returns the first certificate, or nil.
func (c *CertContext) Leaf() *x509.Certificate {
	if len(c.Certificates) == 0 {
		return nil
	}
	return c.Certificates[0]
}

// ApplicationProtocol is SecPkgContext_ApplicationProtocol: the ALPN outcome.
type ApplicationProtocol struct {
	// Status is ProtoNegoStatus: 0 none, 1 success.
	Status   uint32
	Ext      uint32 // ProtoNegoExt: 2 for ALPN
	Protocol string // ProtocolId
}

// Bindings is SecPkgContext_Bindings: a SEC_CHANNEL_BINDINGS structure (see
// sspi.ChannelBindings.Marshal), ready for a BufferChannelBindings buffer of NTLM,
// Kerberos or Negotiate on either side.
type Bindings struct {
	Bindings []byte
}

// KeyingMaterial asks for keying material exported from the TLS session (RFC 5705, RFC
// 8446 7.5): the caller sets Label, Context (nil for none) and Length, and the query
// fills Material. Windows sets the first three with SetContextAttributes
// (SECPKG_ATTR_KEYING_MATERIAL_INFO); here they travel in the query. RFC 9266's
// tls-exporter channel binding is Label "EXPORTER-Channel-Binding", no Context, Length 32;
// TLSExporterBindings builds it.
type KeyingMaterial struct {
	Label    string
	Context  []byte
	Length   int
	Material []byte
}

// SessionInfo is SecPkgContext_SessionInfo.
type SessionInfo struct {
	Flags uint32 // SSL_SESSION_RECONNECT (1) when the session was resumed
	// SessionID is rbSessionId; crypto/tls does not expose it, so it is empty.
	SessionID []byte
}

// Resumed reports whether the handshake resumed an earlier session.
func (s *SessionInfo) Resumed() bool { return s.Flags&sslReconect != 0 }

// IssuerListInfoEx is SecPkgContext_IssuerListInfoEx: the distinguished names (DER) of
// the certificate authorities the server accepts client certificates from.
type IssuerListInfoEx struct {
	Issuers [][]byte
}

// QueryAttribute answers the Schannel attributes listed above.
func (c *context) QueryAttribute(attr sspi.Attribute, out any) error {
	if attr == sspi.AttrIssuerListEx {
		return answer(issuerList)(c, attr, out)
	}
	if c.state < stateEstablished {
		return sspi.Errorf(sspi.ErrNoContext, "schannel: attribute %d exists once the handshake has finished", attr)
	}
	f, ok := establishedAttrs[attr]
	if !ok {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "schannel: context attribute %d is not reported", attr)
	}
	return f(c, attr, out)
}

// establishedAttrs answer the attributes of a finished handshake, one function each.
var establishedAttrs = map[sspi.Attribute]func(*context, sspi.Attribute, any) error{
	sspi.AttrConnectionInfo: answer(func(c *context, o *ConnectionInfo) error {
		*o = c.connectionInfo()
		return nil
	}),
	sspi.AttrCipherInfo: answer(func(c *context, o *CipherInfo) error {
		*o = c.cipherInfo()
		return nil
	}),
	sspi.AttrRemoteCertContext:   answer(remoteCert),
	sspi.AttrLocalCertContext:    answer(localCert),
	sspi.AttrApplicationProtocol: answer(applicationProtocol),
	sspi.AttrEndpointBindings:    answer(endpointBindings),
	sspi.AttrUniqueBindings:      answer(uniqueBindings),
	sspi.AttrKeyingMaterial:      answer(keyingMaterial),
	sspi.AttrSessionInfo:         answer(sessionInfo),
}

// answer adapts a function of one attribute's type to the table: out must be a *T.
func answer[T any](f func(*context, *T) error) func(*context, sspi.Attribute, any) error {
	return func(c *context, attr sspi.Attribute, out any) error {
		o, ok := out.(*T)
		if !ok {
			return wrongType(attr, out, o)
		}
		return f(c, o)
	}
}

// issuerList is the certificate request's CA list: during the handshake the one just
// received, afterwards the one kept.
func issuerList(c *context, o *IssuerListInfoEx) error {
	switch {
	case c.hs != nil:
		o.Issuers = c.hs.acceptableCAs
	case c.state >= stateEstablished:
		o.Issuers = c.issuers
	default:
		return sspi.Errorf(sspi.ErrNoContext, "schannel: no certificate request has been received")
	}
	return nil
}

func remoteCert(c *context, o *CertContext) error {
	if len(c.cs.PeerCertificates) == 0 {
		return sspi.Errorf(sspi.ErrNoCredentials, "schannel: the peer sent no certificate")
	}
	o.Certificates = append([]*x509.Certificate(nil), c.cs.PeerCertificates...)
	return nil
}

func localCert(c *context, o *CertContext) error {
	chain := c.localChain()
	if len(chain) == 0 {
		return sspi.Errorf(sspi.ErrNoCredentials, "schannel: no local certificate was sent")
	}
	o.Certificates = chain
	return nil
}

func applicationProtocol(c *context, o *ApplicationProtocol) error {
	*o = ApplicationProtocol{Ext: protoNegoExtALPN}
	if c.cs.NegotiatedProtocol != "" {
		o.Status, o.Protocol = 1, c.cs.NegotiatedProtocol
	}
	return nil
}

func endpointBindings(c *context, o *Bindings) error {
	cb, err := c.endpointBindings()
	if err != nil {
		return err
	}
	o.Bindings = cb.Marshal()
	return nil
}

func uniqueBindings(c *context, o *Bindings) error {
	if len(c.cs.TLSUnique) == 0 {
		return sspi.Errorf(sspi.ErrUnsupportedFunction, "schannel: tls-unique does not exist for %s (RFC 9266); use the tls-exporter bindings (TLSExporterBindings)", tls.VersionName(c.cs.Version))
	}
	cb := sspi.ChannelBindings{ApplicationData: append([]byte("tls-unique:"), c.cs.TLSUnique...)}
	o.Bindings = cb.Marshal()
	return nil
}

func keyingMaterial(c *context, o *KeyingMaterial) error {
	if o.Length <= 0 || o.Length > 1<<16 {
		return sspi.Errorf(sspi.ErrInvalidParameter, "schannel: keying material of %d bytes cannot be exported; ask for 1 to 65536", o.Length)
	}
	m, err := c.cs.ExportKeyingMaterial(o.Label, o.Context, o.Length)
	if err != nil {
		return sspi.Errorf(sspi.ErrInvalidParameter, "schannel: exporting keying material: %w", err)
	}
	o.Material = m
	return nil
}

func sessionInfo(c *context, o *SessionInfo) error {
	*o = SessionInfo{}
	if c.cs.DidResume {
		o.Flags = sslReconect
	}
	return nil
}

func wrongType[T any](attr sspi.Attribute, out any, _ *T) error {
	return sspi.Errorf(sspi.ErrInvalidParameter, "schannel: context attribute %d needs a %T, got %T", attr, new(T), out)
}

func (c *context) connectionInfo() ConnectionInfo {
	s := c.suite
	ci := ConnectionInfo{
		CipherStrength: uint32(s.cipherBits), HashStrength: uint32(s.hashBits),
		Version: c.cs.Version, CipherSuite: c.cs.CipherSuite, CurveID: c.cs.CurveID,
		Exchange: algECDHE, ExchangeStrength: curveBits(c.cs.CurveID),
	}
	switch {
	case c.cs.Version >= tls.VersionTLS13 && c.server:
		ci.Protocol = ProtocolTLS13Server
	case c.cs.Version >= tls.VersionTLS13:
		ci.Protocol = ProtocolTLS13Client
	case c.server:
		ci.Protocol = ProtocolTLS12Server
	default:
		ci.Protocol = ProtocolTLS12Client
	}
	switch {
	case s.cipher == "AES" && s.cipherBits == 256:
		ci.Cipher = algAES256
	case s.cipher == "AES":
		ci.Cipher = algAES128
	}
	switch s.hash {
	case "SHA1":
		ci.Hash = algSHA1
	case "SHA256":
		ci.Hash = algSHA256
	case "SHA384":
		ci.Hash = algSHA384
	}
	if s.exchange == "RSA" {
		ci.Exchange, ci.ExchangeStrength = algRSAKeyX, 0
	}
	return ci
}

// curveBits is the strength Windows reports for a key-exchange group.
func curveBits(id tls.CurveID) uint32 {
	switch id {
	case tls.X25519:
		return 255
	case tls.CurveP256:
		return 256
	case tls.CurveP384:
		return 384
	case tls.CurveP521:
		return 521
	}
	return 0 // hybrid post-quantum groups have no single figure
}

func (c *context) cipherInfo() CipherInfo {
	s := c.suite
	ci := CipherInfo{
		Protocol: uint32(c.cs.Version), CipherSuite: uint32(c.cs.CipherSuite),
		CipherSuiteStr: tls.CipherSuiteName(c.cs.CipherSuite),
		Cipher:         s.cipher, CipherLen: uint32(s.cipherBits), CipherBlockLen: uint32(s.blockSize),
		Hash: s.hash, HashLen: uint32(s.hashBits), Exchange: s.exchange,
	}
	if chain := c.serverChain(); len(chain) > 0 {
		ci.Certificate = chain[0].PublicKeyAlgorithm.String()
	}
	return ci
}

// serverChain is the server's certificate chain: the peer's on a client, our own on a
// server.
func (c *context) serverChain() []*x509.Certificate {
	if c.server {
		return c.localChain()
	}
	return c.cs.PeerCertificates
}

// localChain is the chain this side sent: the server's certificate crypto/tls chose,
// or the client certificate, if one was sent.
func (c *context) localChain() []*x509.Certificate {
	cert := c.sentCert
	if c.server && len(c.cred.certs) > 0 {
		cert = &c.cred.certs[0]
	}
	if cert == nil {
		return nil
	}
	var chain []*x509.Certificate
	for _, der := range cert.Certificate {
		if x, err := x509.ParseCertificate(der); err == nil {
			chain = append(chain, x)
		}
	}
	return chain
}

// endpointBindings is RFC 5929's tls-server-end-point of the server's certificate.
func (c *context) endpointBindings() (*sspi.ChannelBindings, error) {
	chain := c.serverChain()
	if len(chain) == 0 {
		return nil, sspi.Errorf(sspi.ErrNoCredentials, "schannel: there is no server certificate to bind to")
	}
	return sspi.TLSServerEndPoint(chain[0])
}

// exporterLabel is RFC 9266's label for tls-exporter.
const exporterLabel = "EXPORTER-Channel-Binding"

// TLSExporterBindings returns RFC 9266's tls-exporter channel bindings of an established
// Schannel context: application data "tls-exporter:" and 32 bytes exported with the
// label "EXPORTER-Channel-Binding" and no context. Use it with TLS 1.3, where tls-unique
// does not exist; both sides get the same value.
func TLSExporterBindings(ctx *sspi.Context) (*sspi.ChannelBindings, error) {
	km := KeyingMaterial{Label: exporterLabel, Length: 32}
	if err := sspi.QueryContextAttributes(ctx, sspi.AttrKeyingMaterial, &km); err != nil {
		return nil, err
	}
	return &sspi.ChannelBindings{ApplicationData: append([]byte("tls-exporter:"), km.Material...)}, nil
}

func (c CipherInfo) String() string {
	return fmt.Sprintf("%s (%s %d, %s)", c.CipherSuiteStr, c.Cipher, c.CipherLen, c.Exchange)
}
