package wire

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Pre-authentication types and KDC options of Microsoft's Service for User (MS-SFU) and
// resource-based constrained delegation (MS-KILE, MS-SFU 3.2.5.2).
const (
	// PAForUser is PA-FOR-USER (MS-SFU 2.2.1): S4U2Self's user, checksummed with HMAC-MD5.
	PAForUser = 129
	// PAS4UX509User is PA-S4U-X509-USER (MS-SFU 2.2.2): S4U2Self's user with a nonce
	// and a checksum of the TGT session key's own type; the KDC answers with one too.
	PAS4UX509User = 130
	// PAPACOptions is PA-PAC-OPTIONS (MS-KILE 2.2.10).
	PAPACOptions = 167
	// KDCOptCNameInAddlTkt is cname-in-addl-tkt (MS-SFU 2.2.3): the client of the ticket
	// asked for is that of the additional ticket (S4U2Proxy).
	KDCOptCNameInAddlTkt = 1 << (31 - 14)
)

// PA-PAC-OPTIONS flags (MS-KILE 2.2.10), as uint32 masks of the KerberosFlags.
const (
	PACOptionClaims              = 1 << (31 - 0)
	PACOptionBranchAware         = 1 << (31 - 1)
	PACOptionForwardToFullDC     = 1 << (31 - 2)
	PACOptionResourceBasedDelegn = 1 << (31 - 3)
)

// S4U user-id options (MS-SFU 2.2.2), as uint32 masks of the BIT STRING.
const (
	S4UOptionCheckLogonHours  = 0x40000000
	S4UOptionSignedWithKUN27  = 0x20000000
	S4UOptionUnconditionalRef = 0x10000000
)

// PAForUserData is MS-SFU 2.2.1's PA_FOR_USER_ENC. Its checksum is HMAC-MD5 (type -138,
// key usage 17) with the TGT's session key over ChecksumData.
type PAForUserData struct {
	UserName    PrincipalName
	UserRealm   string
	Cksum       Checksum
	AuthPackage string
}

// ChecksumTypeHMACMD5 is KERB_CHECKSUM_HMAC_MD5 (RFC 4757), PA-FOR-USER's checksum type.
const ChecksumTypeHMACMD5 = -138

// ChecksumData returns what PA-FOR-USER's checksum covers (MS-SFU 2.2.1): the name type
// as four little-endian bytes, the name's components, the realm and the auth-package, all
// joined without separators.
func (p *PAForUserData) ChecksumData() []byte {
	n := 4 + len(p.UserRealm) + len(p.AuthPackage)
	for _, c := range p.UserName.Components {
		n += len(c)
	}
	b := make([]byte, 4, n)
	binary.LittleEndian.PutUint32(b, uint32(p.UserName.Type))
	for _, c := range p.UserName.Components {
		b = append(b, c...)
	}
	b = append(b, p.UserRealm...)
	return append(b, p.AuthPackage...)
}

// Unmarshal decodes a PA-FOR-USER value from b, which it must fill exactly.
func (p *PAForUserData) Unmarshal(b []byte) error {
	const typ = "PA-FOR-USER"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() {
		return inMessage(malformed(typ, ""), typ)
	}
	if err := parseNameField(&seq, 0, &p.UserName); err != nil {
		return inMessage(err, typ)
	}
	if !stringField(&seq, 1, &p.UserRealm) {
		return inMessage(malformed(typ, "userRealm"), typ)
	}
	var ck *Checksum
	if err := parseOptChecksumField(&seq, 2, &ck); err != nil {
		return inMessage(err, typ)
	}
	if ck == nil {
		return inMessage(malformed(typ, "cksum"), typ)
	}
	p.Cksum = *ck
	if !stringField(&seq, 3, &p.AuthPackage) || !seq.Empty() {
		return inMessage(malformed(typ, "auth-package"), typ)
	}
	return nil
}

// Marshal encodes p.
func (p *PAForUserData) Marshal() ([]byte, error) {
	const typ = "PA-FOR-USER"
	var e encoder
	q := e.open(tagSequence)
	e.nameField(0, &p.UserName)
	e.stringField(typ, "userRealm", 1, p.UserRealm)
	e.checksumField(2, &p.Cksum)
	e.stringField(typ, "auth-package", 3, p.AuthPackage)
	e.close(q)
	return e.b, inMessage(e.err, typ)
}

// S4UUserID is MS-SFU 2.2.2's S4UUserID. A decoded one keeps its DER in Raw: the
// PA-S4U-X509-USER checksum covers exactly those bytes. SubjectCertificate aliases the input.
type S4UUserID struct {
	Nonce              uint32
	CName              *PrincipalName // nil when absent
	CRealm             string
	SubjectCertificate []byte // nil when absent
	Options            uint32
	HasOptions         bool
	Raw                []byte
}

// PAS4UX509UserData is MS-SFU 2.2.2's PA-S4U-X509-USER.
type PAS4UX509UserData struct {
	UserID   S4UUserID
	Checksum Checksum
}

// MarshalUserID encodes the user-id alone: the bytes the checksum covers.
func (u *S4UUserID) MarshalUserID() ([]byte, error) {
	var e encoder
	e.s4uUserID(u)
	return e.b, inMessage(e.err, "S4UUserID")
}

func (e *encoder) s4uUserID(u *S4UUserID) {
	const typ = "S4UUserID"
	q := e.open(tagSequence)
	e.intField(0, int64(u.Nonce))
	if u.CName != nil {
		e.nameField(1, u.CName)
	}
	e.stringField(typ, "crealm", 2, u.CRealm)
	if u.SubjectCertificate != nil {
		e.octetsField(3, u.SubjectCertificate)
	}
	if u.HasOptions {
		e.flagsField(4, u.Options)
	}
	e.close(q)
}

// Unmarshal decodes a PA-S4U-X509-USER value from b, which it must fill exactly.
func (p *PAS4UX509UserData) Unmarshal(b []byte) error {
	const typ = "PA-S4U-X509-USER"
	s, err := top(b, typ)
	if err != nil {
		return err
	}
	var seq, c cryptobyte.String
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() || !field(&seq, 0, &c) {
		return inMessage(malformed(typ, "user-id"), typ)
	}
	if err := p.UserID.parse(&c); err != nil {
		return inMessage(err, typ)
	}
	if !c.Empty() {
		return inMessage(malformed(typ, "user-id"), typ)
	}
	var ck *Checksum
	if err := parseOptChecksumField(&seq, 1, &ck); err != nil {
		return inMessage(err, typ)
	}
	if ck == nil || !seq.Empty() {
		return inMessage(malformed(typ, "checksum"), typ)
	}
	p.Checksum = *ck
	return nil
}

func (u *S4UUserID) parse(s *cryptobyte.String) error {
	const typ = "S4UUserID"
	var raw, seq cryptobyte.String
	if !s.ReadASN1Element(&raw, tagSequence) {
		return malformed(typ, "")
	}
	u.Raw = raw
	if !readASN1(&raw, &seq, tagSequence) {
		return malformed(typ, "")
	}
	if !uint32Field(&seq, 0, &u.Nonce) {
		return malformed(typ, "nonce")
	}
	if err := parseOptNameField(&seq, 1, &u.CName); err != nil {
		return err
	}
	if !stringField(&seq, 2, &u.CRealm) {
		return malformed(typ, "crealm")
	}
	if seq.PeekASN1Tag(ctx(3)) && !octetsField(&seq, 3, &u.SubjectCertificate) {
		return malformed(typ, "subject-certificate")
	}
	if u.HasOptions = seq.PeekASN1Tag(ctx(4)); u.HasOptions && !flagsField(&seq, 4, &u.Options) {
		return malformed(typ, "options")
	}
	// The type is extensible (...): later fields are skipped.
	for !seq.Empty() {
		var ext cryptobyte.String
		var t asn1.Tag
		if !seq.ReadAnyASN1(&ext, &t) || t&0xe0 != 0xa0 {
			return malformed(typ, "")
		}
	}
	return nil
}

// Marshal encodes p; the user-id is encoded from its fields, not Raw.
func (p *PAS4UX509UserData) Marshal() ([]byte, error) {
	var e encoder
	q := e.open(tagSequence)
	r := e.open(ctx(0))
	e.s4uUserID(&p.UserID)
	e.close(r)
	e.checksumField(1, &p.Checksum)
	e.close(q)
	return e.b, inMessage(e.err, "PA-S4U-X509-USER")
}

// ParsePACOptions decodes MS-KILE 2.2.10's PA-PAC-OPTIONS and returns its flags.
func ParsePACOptions(b []byte) (uint32, error) {
	const typ = "PA-PAC-OPTIONS"
	s, err := top(b, typ)
	if err != nil {
		return 0, err
	}
	var seq cryptobyte.String
	var v uint32
	if !readASN1(&s, &seq, tagSequence) || !s.Empty() || !flagsField(&seq, 0, &v) || !seq.Empty() {
		return 0, inMessage(malformed(typ, "options"), typ)
	}
	return v, nil
}

// MarshalPACOptions encodes PA-PAC-OPTIONS.
func MarshalPACOptions(flags uint32) []byte {
	var e encoder
	p := e.open(tagSequence)
	e.flagsField(0, flags)
	e.close(p)
	return e.b
}
