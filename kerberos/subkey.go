package kerberos

import (
	"crypto/rand"

	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// newSubkey makes a random subkey of et's type. It is not gokrb5's GenerateEncryptionKey:
// gokrb5 v8.4.4 says an aes256-cts-hmac-sha384-192 key (RFC 8009 section 3) is 24 bytes,
// the length of that enctype's checksum, where it is 32; a 24-byte subkey then fails every
// Wrap and Sign (found against Heimdal, which issues such session keys).
func newSubkey(et etype.EType) (types.EncryptionKey, error) {
	n := et.GetKeyByteSize()
	if et.GetETypeID() == etypeID.AES256_CTS_HMAC_SHA384_192 {
		n = 32
	}
	k := types.EncryptionKey{KeyType: et.GetETypeID(), KeyValue: make([]byte, n)}
	if _, err := rand.Read(k.KeyValue); err != nil {
		return types.EncryptionKey{}, err
	}
	return k, nil
}
