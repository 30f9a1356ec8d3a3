package krbcrypto

import (
	"crypto/md5"
	"encoding/binary"
)

// HMACMD5Checksum is RFC 4757's keyed checksum (KERB_CHECKSUM_HMAC_MD5, type -138) made
// with key bytes of any encryption type: MS-SFU's PA-FOR-USER is checksummed so with the
// TGT's session key, AES or RC4. Ksign = HMAC-MD5(key, "signaturekey\0"); the checksum is
// HMAC-MD5(Ksign, MD5(usage as 4 little-endian bytes || data)).
func HMACMD5Checksum(key, data []byte, usage uint32) []byte {
	ksign := hmacMD5(nil, key, []byte("signaturekey\x00"))
	defer clear(ksign)
	h := md5.New()
	var u [4]byte
	binary.LittleEndian.PutUint32(u[:], rc4Usage(usage))
	h.Write(u[:])
	h.Write(data)
	return hmacMD5(nil, ksign, h.Sum(nil))
}
