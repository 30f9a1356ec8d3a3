package krbcrypto

import "strconv"

// EType is a Kerberos encryption type number (RFC 3961 8, RFC 8009, RFC 4757).
type EType int32

// The encryption types this package implements.
const (
	AES128CTSHMACSHA196    EType = 17
	AES256CTSHMACSHA196    EType = 18
	AES128CTSHMACSHA256128 EType = 19
	AES256CTSHMACSHA384192 EType = 20
	RC4HMAC                EType = 23
)

// Checksum types (RFC 3961 8, RFC 8009, RFC 4757) of the encryption types above.
const (
	ChecksumHMACSHA196AES128    int32 = 15
	ChecksumHMACSHA196AES256    int32 = 16
	ChecksumHMACSHA256128AES128 int32 = 19
	ChecksumHMACSHA384192AES256 int32 = 20
	ChecksumHMACMD5             int32 = -138
)

// family says which set of rules an encryption type follows.
type family uint8

const (
	famSHA1 family = iota + 1 // RFC 3961 simplified profile with AES (RFC 3962)
	famSHA2                   // RFC 8009
	famRC4                    // RFC 4757
)

// profile is the fixed description of one encryption type.
type profile struct {
	name     string
	family   family
	keySize  int
	macSize  int // truncated HMAC length of encryption and checksum
	confSize int
	cksum    int32
	// kcSize and kiSize are the derived checksum and integrity key lengths (RFC 8009
	// derives 192-bit Kc and Ki for aes256-sha384; RC4's Ksign and K1 are 16 bytes).
	kcSize, kiSize int
	s2kIter        uint32
}

var profiles = [...]profile{
	{name: "aes128-cts-hmac-sha1-96", family: famSHA1, keySize: 16, macSize: 12, confSize: 16, cksum: ChecksumHMACSHA196AES128, kcSize: 16, kiSize: 16, s2kIter: 4096},
	{name: "aes256-cts-hmac-sha1-96", family: famSHA1, keySize: 32, macSize: 12, confSize: 16, cksum: ChecksumHMACSHA196AES256, kcSize: 32, kiSize: 32, s2kIter: 4096},
	{name: "aes128-cts-hmac-sha256-128", family: famSHA2, keySize: 16, macSize: 16, confSize: 16, cksum: ChecksumHMACSHA256128AES128, kcSize: 16, kiSize: 16, s2kIter: 32768},
	{name: "aes256-cts-hmac-sha384-192", family: famSHA2, keySize: 32, macSize: 24, confSize: 16, cksum: ChecksumHMACSHA384192AES256, kcSize: 24, kiSize: 24, s2kIter: 32768},
	{name: "rc4-hmac", family: famRC4, keySize: 16, macSize: 16, confSize: 8, cksum: ChecksumHMACMD5, kcSize: 16, kiSize: 16},
}

func (e EType) profile() *profile {
	switch e {
	case AES128CTSHMACSHA196, AES256CTSHMACSHA196, AES128CTSHMACSHA256128, AES256CTSHMACSHA384192:
		return &profiles[e-AES128CTSHMACSHA196]
	case RC4HMAC:
		return &profiles[4]
	}
	return nil
}

// Supported reports whether this package implements e.
func (e EType) Supported() bool { return e.profile() != nil }

// String is the name of e as krb5.conf spells it.
func (e EType) String() string {
	if p := e.profile(); p != nil {
		return p.name
	}
	return "etype(" + strconv.Itoa(int(e)) + ")"
}

// KeySize is the length of e's keys in bytes, 0 if e is not supported.
func (e EType) KeySize() int {
	if p := e.profile(); p != nil {
		return p.keySize
	}
	return 0
}

// ConfounderSize is the length of the random prefix of e's encryption.
func (e EType) ConfounderSize() int {
	if p := e.profile(); p != nil {
		return p.confSize
	}
	return 0
}

// MACSize is the length of e's integrity tag, which is also the length of its checksums.
func (e EType) MACSize() int {
	if p := e.profile(); p != nil {
		return p.macSize
	}
	return 0
}

// Overhead is how much longer a ciphertext of e is than its plaintext.
func (e EType) Overhead() int { return e.ConfounderSize() + e.MACSize() }

// ChecksumType is the keyed checksum type that goes with e (RFC 3961 "required checksum").
func (e EType) ChecksumType() int32 {
	if p := e.profile(); p != nil {
		return p.cksum
	}
	return 0
}
