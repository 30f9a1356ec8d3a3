// Package nrpc is the client side of the Netlogon Remote Protocol (MS-NRPC) that a member
// server needs for pass-through NTLM authentication: the secure channel set up with
// NetrServerReqChallenge and NetrServerAuthenticate3 (AES only, as domain controllers
// require since CVE-2022-38023), the Netlogon security provider that seals the RPC
// traffic of that channel (MS-NRPC 3.3), and NetrLogonSamLogonEx with a network logon,
// whose validation information gives the user's session key and SIDs.
//
// The wire encoding is NDR (internal/ndr) over connection-oriented DCE/RPC
// (internal/dcerpc). Every decoder is bounded and fuzzed.
package nrpc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
)

// randReader is the default source of challenges and confounders.
var randReader = rand.Reader

// cfb8 is AES in 8-bit cipher feedback mode (NIST SP 800-38A 6.3 with s = 8), which
// Netlogon's AES credentials and sealing use (MS-NRPC 3.1.4.4.1, 3.3.4.2.1). Each byte
// costs one block encryption; Netlogon messages are small.
type cfb8 struct {
	b       cipher.Block
	reg     [aes.BlockSize]byte
	decrypt bool
}

func newCFB8(key []byte, iv [aes.BlockSize]byte, decrypt bool) *cfb8 {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("nrpc: " + err.Error()) // keys are always 16 bytes here
	}
	return &cfb8{b: b, reg: iv, decrypt: decrypt}
}

// XORKeyStream en- or decrypts src into dst (which may be the same slice).
func (c *cfb8) XORKeyStream(dst, src []byte) {
	var out [aes.BlockSize]byte
	for i, in := range src {
		c.b.Encrypt(out[:], c.reg[:])
		o := in ^ out[0]
		copy(c.reg[:], c.reg[1:])
		if c.decrypt {
			c.reg[aes.BlockSize-1] = in
		} else {
			c.reg[aes.BlockSize-1] = o
		}
		dst[i] = o
	}
}

// SessionKey is the AES secure channel's session key (MS-NRPC 3.1.4.3.1):
// HMAC-SHA256 keyed by the machine account's NT hash over the client and server
// challenges, truncated to 16 bytes.
func SessionKey(ntHash [16]byte, clientChallenge, serverChallenge [8]byte) [16]byte {
	m := hmac.New(sha256.New, ntHash[:])
	m.Write(clientChallenge[:])
	m.Write(serverChallenge[:])
	var k [16]byte
	copy(k[:], m.Sum(nil))
	return k
}

// Credential is ComputeNetlogonCredential with AES (MS-NRPC 3.1.4.4.1): the 8 input
// bytes encrypted with AES-128-CFB8 under the session key and a zero IV.
func Credential(input [8]byte, sessionKey [16]byte) [8]byte {
	var out [8]byte
	newCFB8(sessionKey[:], [16]byte{}, false).XORKeyStream(out[:], input[:])
	return out
}

// EncryptData and DecryptData are the AES encryption of secrets the secure channel
// carries in its messages (MS-NRPC 3.4.5.2.4 and 3.2.4.1: the user session key of
// validation information): AES-128-CFB8 under the session key with a zero IV.
func EncryptData(sessionKey [16]byte, b []byte) {
	newCFB8(sessionKey[:], [16]byte{}, false).XORKeyStream(b, b)
}

// DecryptData undoes EncryptData.
func DecryptData(sessionKey [16]byte, b []byte) {
	newCFB8(sessionKey[:], [16]byte{}, true).XORKeyStream(b, b)
}

// Credentials is the client's half of an established secure channel (MS-NRPC 3.1.1):
// the session key, the negotiated flags and the stored credential that the Netlogon
// authenticator chain advances.
type Credentials struct {
	SessionKey [16]byte
	Flags      uint32
	// stored is ClientStoredCredential, the input of the next authenticator.
	stored [8]byte
}

// NewCredentials computes the session key and the client credential for a pair of
// challenges; the server's credential is what it must answer with.
func NewCredentials(ntHash [16]byte, clientChallenge, serverChallenge [8]byte) (c *Credentials, clientCred, serverCred [8]byte) {
	c = &Credentials{SessionKey: SessionKey(ntHash, clientChallenge, serverChallenge)}
	clientCred = Credential(clientChallenge, c.SessionKey)
	serverCred = Credential(serverChallenge, c.SessionKey)
	c.stored = clientCred
	return c, clientCred, serverCred
}

// Authenticator is a NETLOGON_AUTHENTICATOR (MS-NRPC 2.2.1.1.5).
type Authenticator struct {
	Credential [8]byte
	Timestamp  uint32
}

// NextAuthenticator advances the chain for one call at time t (seconds since 1970) and
// returns the client's authenticator and the one the server must return (MS-NRPC
// 3.1.4.5): the stored credential plus t, and plus one more for the server.
func (c *Credentials) NextAuthenticator(t uint32) (client Authenticator, wantReturn [8]byte) {
	add := func(cred [8]byte, n uint32) [8]byte {
		binary.LittleEndian.PutUint32(cred[:4], binary.LittleEndian.Uint32(cred[:4])+n)
		return cred
	}
	client = Authenticator{Credential: Credential(add(c.stored, t), c.SessionKey), Timestamp: t}
	c.stored = add(c.stored, t+1)
	wantReturn = Credential(c.stored, c.SessionKey)
	return client, wantReturn
}
