package credssp

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// The public-key binding (MS-CSSP 3.1.5): the client proves, under the inner context's
// keys, that the TLS server key it saw is the one the inner authentication was done
// through, and the server answers with a value only it can make. From version 5 on both
// are hashes over a client nonce, the fix for CVE-2018-0886, which let a man in the
// middle use the raw-key echo as a signing oracle.
var (
	clientMagic = []byte("CredSSP Client-To-Server Binding Hash\x00")
	serverMagic = []byte("CredSSP Server-To-Client Binding Hash\x00")
)

// clientBinding is what the client seals into pubKeyAuth: the SubjectPublicKey itself
// before version 5, SHA-256(client magic | nonce | SubjectPublicKey) from version 5.
func clientBinding(version int64, nonce, spk []byte) []byte {
	if version < firstNonceVersion {
		return append([]byte(nil), spk...)
	}
	return bindingHash(clientMagic, nonce, spk)
}

// serverBinding is what the server seals into its pubKeyAuth: before version 5 the
// SubjectPublicKey with its first byte incremented (modulo 256, as Windows does), from
// version 5 SHA-256(server magic | nonce | SubjectPublicKey).
func serverBinding(version int64, nonce, spk []byte) []byte {
	if version < firstNonceVersion {
		out := append([]byte(nil), spk...)
		if len(out) > 0 {
			out[0]++
		}
		return out
	}
	return bindingHash(serverMagic, nonce, spk)
}

func bindingHash(magic, nonce, spk []byte) []byte {
	h := sha256.New()
	h.Write(magic)
	h.Write(nonce)
	h.Write(spk)
	return h.Sum(nil)
}

// bindingEqual compares a received binding with the expected one in constant time.
func bindingEqual(got, want []byte) bool {
	return len(got) == len(want) && subtle.ConstantTimeCompare(got, want) == 1
}

var errNoSubjectPublicKey = errors.New("credssp: the certificate's SubjectPublicKeyInfo is malformed")

// subjectPublicKey returns the contents of the subjectPublicKey BIT STRING of a
// certificate's SubjectPublicKeyInfo (for RSA the DER RSAPublicKey), without the
// unused-bits octet: the bytes MS-CSSP binds to.
func subjectPublicKey(cert *x509.Certificate) ([]byte, error) {
	return subjectPublicKeyFromSPKI(cert.RawSubjectPublicKeyInfo)
}

func subjectPublicKeyFromSPKI(spki []byte) ([]byte, error) {
	in := cryptobyte.String(spki)
	var s, alg cryptobyte.String
	var key []byte
	if !in.ReadASN1(&s, asn1.SEQUENCE) || !in.Empty() ||
		!s.ReadASN1(&alg, asn1.SEQUENCE) || !s.ReadASN1BitStringAsBytes(&key) || !s.Empty() ||
		len(key) == 0 {
		return nil, errNoSubjectPublicKey
	}
	return key, nil
}
