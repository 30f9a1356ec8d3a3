package credssp

import (
	"errors"
	"fmt"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosspi/sspi"
)

// TSCredentials credType values (MS-CSSP 2.2.1.2).
const (
	credTypePassword    = 1
	credTypeSmartCard   = 2
	credTypeRemoteGuard = 6
)

// maxTSCredentials bounds the decrypted authInfo: names and a password, or a smart card's
// CSP names, or Remote Guard's package credentials (a Kerberos TGT in a KERB_TICKET_LOGON
// is a few KiB).
const maxTSCredentials = 64 << 10

// Delegated is the credential set a CredSSP client delegates to the server (MS-CSSP
// 2.2.1.2 TSCredentials): a *PasswordCredentials, *SmartCardCredentials or
// *RemoteGuardCredentials. A server finds it through Context.Delegated.
type Delegated interface {
	credType() int64
	marshal(b *cryptobyte.Builder)
}

// PasswordCredentials is TSPasswordCreds (MS-CSSP 2.2.1.2.1): the user's domain, name and
// password in clear, which the server may use to log on as the user elsewhere. All three
// are empty when the client did not delegate (no ISC_REQ_DELEGATE: Windows' "restricted
// admin" form).
type PasswordCredentials struct {
	Domain   string
	User     string
	Password string
}

// Empty reports whether c is the empty credential set a client sends when it does not
// delegate.
func (c *PasswordCredentials) Empty() bool {
	return c.Domain == "" && c.User == "" && c.Password == ""
}

// AuthIdentity returns c as the credentials AcquireCredentialsHandle takes, to
// authenticate onward as the delegating user (with NTLM, Negotiate, or CredSSP again).
func (c *PasswordCredentials) AuthIdentity() *sspi.AuthIdentity {
	return &sspi.AuthIdentity{User: c.User, Domain: c.Domain, Password: c.Password}
}

// String names the user, never the password.
func (c *PasswordCredentials) String() string {
	if c.Domain == "" {
		return c.User
	}
	return c.Domain + `\` + c.User
}

// SmartCardCredentials is TSSmartCardCreds (MS-CSSP 2.2.1.2.2): the card's PIN and where
// the key is. This package parses and produces it; logging on with it is out of scope.
// Empty optional strings are left out of the encoding.
type SmartCardCredentials struct {
	PIN        string
	CSPData    CSPDataDetail
	UserHint   string
	DomainHint string
}

// CSPDataDetail is TSCspDataDetail (MS-CSSP 2.2.1.2.2.1): the cryptographic service
// provider that holds the smart card's key.
type CSPDataDetail struct {
	KeySpec       int32 // AT_KEYEXCHANGE (1) or AT_SIGNATURE (2)
	CardName      string
	ReaderName    string
	ContainerName string
	CSPName       string
}

// RemoteGuardCredentials is TSRemoteGuardCreds (MS-CSSP 2.2.1.2.3): Windows Defender
// Remote Credential Guard's logon credential for one package and optional supplemental
// ones. The buffers are opaque to CredSSP.
type RemoteGuardCredentials struct {
	Logon        RemoteGuardPackageCredential
	Supplemental []RemoteGuardPackageCredential
}

// RemoteGuardPackageCredential is TSRemoteGuardPackageCred: a package name ("Kerberos",
// "NTLM") and that package's credential buffer.
type RemoteGuardPackageCredential struct {
	Package    string
	Credential []byte
}

func (*PasswordCredentials) credType() int64    { return credTypePassword }
func (*SmartCardCredentials) credType() int64   { return credTypeSmartCard }
func (*RemoteGuardCredentials) credType() int64 { return credTypeRemoteGuard }

// marshalTSCredentials returns the DER TSCredentials holding c:
//
//	TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
func marshalTSCredentials(c Delegated) []byte {
	var inner cryptobyte.Builder
	c.marshal(&inner)
	body := inner.BytesOrPanic()
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(contextTag(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(c.credType()) })
		addOctets(b, 1, body)
	})
	clear(body)
	return b.BytesOrPanic()
}

// TSPasswordCreds ::= SEQUENCE {
//
//	domainName [0] OCTET STRING, userName [1] OCTET STRING, password [2] OCTET STRING }
func (c *PasswordCredentials) marshal(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addString(b, 0, c.Domain)
		addString(b, 1, c.User)
		addString(b, 2, c.Password)
	})
}

// TSSmartCardCreds ::= SEQUENCE {
//
//	pin [0] OCTET STRING, cspData [1] TSCspDataDetail,
//	userHint [2] OCTET STRING OPTIONAL, domainHint [3] OCTET STRING OPTIONAL }
func (c *SmartCardCredentials) marshal(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addString(b, 0, c.PIN)
		b.AddASN1(contextTag(1), func(b *cryptobyte.Builder) { c.CSPData.marshal(b) })
		addOptionalString(b, 2, c.UserHint)
		addOptionalString(b, 3, c.DomainHint)
	})
}

// TSCspDataDetail ::= SEQUENCE {
//
//	keySpec [0] INTEGER, cardName [1] OCTET STRING OPTIONAL, readerName [2] ... OPTIONAL,
//	containerName [3] ... OPTIONAL, cspName [4] ... OPTIONAL }
func (d *CSPDataDetail) marshal(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(contextTag(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(d.KeySpec)) })
		addOptionalString(b, 1, d.CardName)
		addOptionalString(b, 2, d.ReaderName)
		addOptionalString(b, 3, d.ContainerName)
		addOptionalString(b, 4, d.CSPName)
	})
}

// TSRemoteGuardCreds ::= SEQUENCE {
//
//	logonCred [0] TSRemoteGuardPackageCred,
//	supplementalCreds [1] SEQUENCE OF TSRemoteGuardPackageCred OPTIONAL }
func (c *RemoteGuardCredentials) marshal(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(contextTag(0), func(b *cryptobyte.Builder) { c.Logon.marshal(b) })
		if len(c.Supplemental) > 0 {
			b.AddASN1(contextTag(1), func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for i := range c.Supplemental {
						c.Supplemental[i].marshal(b)
					}
				})
			})
		}
	})
}

// TSRemoteGuardPackageCred ::= SEQUENCE { packageName [0] OCTET STRING, credBuffer [1] OCTET STRING }
func (p *RemoteGuardPackageCredential) marshal(b *cryptobyte.Builder) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addString(b, 0, p.Package)
		addOctets(b, 1, p.Credential)
	})
}

// addString adds [tag] OCTET STRING holding s in UTF-16LE, as every TSCredentials string is.
func addString(b *cryptobyte.Builder, tag int, s string) {
	u := appendUTF16(nil, s)
	addOctets(b, tag, u)
	clear(u) // a password passes through here
}

func addOptionalString(b *cryptobyte.Builder, tag int, s string) {
	if s != "" {
		addString(b, tag, s)
	}
}

func appendUTF16(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		dst = append(dst, byte(r), byte(r>>8))
	}
	return dst
}

var errTSCredentials = errors.New("credssp: malformed TSCredentials")

// parseTSCredentials parses a decrypted authInfo. Strings are copied out of msg, so the
// caller may zero msg afterwards.
func parseTSCredentials(msg []byte) (Delegated, error) {
	if len(msg) > maxTSCredentials {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", errTSCredentials, len(msg), maxTSCredentials)
	}
	in := cryptobyte.String(msg)
	var s, t cryptobyte.String
	var credType int64
	var body []byte
	ok := in.ReadASN1(&s, asn1.SEQUENCE) && in.Empty() &&
		s.ReadASN1(&t, contextTag(0)) && t.ReadASN1Int64WithTag(&credType, asn1.INTEGER) && t.Empty()
	if ok {
		body, ok = readOptionalOctets(&s, 1)
		ok = ok && body != nil && s.Empty()
	}
	if !ok {
		return nil, errTSCredentials
	}
	var c Delegated
	var err error
	switch credType {
	case credTypePassword:
		c, err = parsePasswordCreds(body)
	case credTypeSmartCard:
		c, err = parseSmartCardCreds(body)
	case credTypeRemoteGuard:
		c, err = parseRemoteGuardCreds(body)
	default:
		return nil, fmt.Errorf("%w: unknown credType %d", errTSCredentials, credType)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func parsePasswordCreds(body []byte) (*PasswordCredentials, error) {
	in := cryptobyte.String(body)
	var s cryptobyte.String
	c := new(PasswordCredentials)
	ok := in.ReadASN1(&s, asn1.SEQUENCE) && in.Empty() &&
		readString(&s, 0, &c.Domain) && readString(&s, 1, &c.User) && readString(&s, 2, &c.Password) && s.Empty()
	if !ok {
		return nil, fmt.Errorf("%w: TSPasswordCreds", errTSCredentials)
	}
	return c, nil
}

func parseSmartCardCreds(body []byte) (*SmartCardCredentials, error) {
	in := cryptobyte.String(body)
	var s, csp cryptobyte.String
	c := new(SmartCardCredentials)
	ok := in.ReadASN1(&s, asn1.SEQUENCE) && in.Empty() &&
		readString(&s, 0, &c.PIN) && s.ReadASN1(&csp, contextTag(1)) &&
		c.CSPData.parse(csp) &&
		readOptionalString(&s, 2, &c.UserHint) && readOptionalString(&s, 3, &c.DomainHint) && s.Empty()
	if !ok {
		return nil, fmt.Errorf("%w: TSSmartCardCreds", errTSCredentials)
	}
	return c, nil
}

func (d *CSPDataDetail) parse(in cryptobyte.String) bool {
	var s, t cryptobyte.String
	var keySpec int64
	ok := in.ReadASN1(&s, asn1.SEQUENCE) && in.Empty() &&
		s.ReadASN1(&t, contextTag(0)) && t.ReadASN1Int64WithTag(&keySpec, asn1.INTEGER) && t.Empty() &&
		keySpec >= -1<<31 && keySpec < 1<<31 &&
		readOptionalString(&s, 1, &d.CardName) && readOptionalString(&s, 2, &d.ReaderName) &&
		readOptionalString(&s, 3, &d.ContainerName) && readOptionalString(&s, 4, &d.CSPName) && s.Empty()
	d.KeySpec = int32(keySpec)
	return ok
}

// maxSupplemental bounds supplementalCreds: Windows sends one per package it has.
const maxSupplemental = 16

func parseRemoteGuardCreds(body []byte) (*RemoteGuardCredentials, error) {
	in := cryptobyte.String(body)
	var s, logon, supp cryptobyte.String
	c := new(RemoteGuardCredentials)
	var present bool
	ok := in.ReadASN1(&s, asn1.SEQUENCE) && in.Empty() &&
		s.ReadASN1(&logon, contextTag(0)) && c.Logon.parse(logon) &&
		s.ReadOptionalASN1(&supp, &present, contextTag(1)) && s.Empty()
	if ok && present {
		var list cryptobyte.String
		ok = supp.ReadASN1(&list, asn1.SEQUENCE) && supp.Empty()
		for ok && !list.Empty() {
			if len(c.Supplemental) == maxSupplemental {
				return nil, fmt.Errorf("%w: more than %d supplemental credentials", errTSCredentials, maxSupplemental)
			}
			var p RemoteGuardPackageCredential
			var one cryptobyte.String
			ok = list.ReadASN1Element(&one, asn1.SEQUENCE) && p.parse(one)
			c.Supplemental = append(c.Supplemental, p)
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: TSRemoteGuardCreds", errTSCredentials)
	}
	return c, nil
}

func (p *RemoteGuardPackageCredential) parse(in cryptobyte.String) bool {
	var s cryptobyte.String
	if !in.ReadASN1(&s, asn1.SEQUENCE) || !in.Empty() || !readString(&s, 0, &p.Package) {
		return false
	}
	buf, ok := readOptionalOctets(&s, 1)
	if !ok || buf == nil || !s.Empty() {
		return false
	}
	p.Credential = append([]byte{}, buf...)
	return true
}

func readString(s *cryptobyte.String, tag int, out *string) bool {
	v, ok := readOptionalOctets(s, tag)
	if !ok || v == nil {
		return false
	}
	return decodeUTF16(v, out)
}

func readOptionalString(s *cryptobyte.String, tag int, out *string) bool {
	v, ok := readOptionalOctets(s, tag)
	if !ok {
		return false
	}
	if v == nil {
		return true
	}
	return decodeUTF16(v, out)
}

// decodeUTF16 decodes UTF-16LE; an odd length is malformed. Unpaired surrogates become
// U+FFFD, as Windows' own conversions do.
func decodeUTF16(b []byte, out *string) bool {
	if len(b)%2 != 0 {
		return false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	*out = string(utf16.Decode(u))
	clear(u)
	return true
}
