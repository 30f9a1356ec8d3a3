// Package krbcrypto is the Kerberos encryption and checksum profiles gosspi uses:
// aes128/256-cts-hmac-sha1-96 (RFC 3962), aes128-cts-hmac-sha256-128 and
// aes256-cts-hmac-sha384-192 (RFC 8009), and rc4-hmac (RFC 4757).
//
// A Key is an encryption type and its key bytes. Key.Usage returns the UsageKey of one key
// usage number: the derived keys (Ki and Kc, Ke as its AES block's key schedule, or RC4's
// K1 and Ksign) and their HMAC states, made once per Key and usage and then shared. A service derives them
// once per keytab key, a security context once per session key, so no per-message call
// derives anything.
//
// Encryption and checksums work on the caller's buffers: SealParts and OpenParts encrypt
// and decrypt in place over a message given in several pieces (GSS Wrap tokens split
// between an SSPI token buffer and data buffers), ciphertext stealing included, and MACs
// are computed over the pieces without joining them. With buffers supplied they allocate
// nothing in the steady state: the per-call CBC chaining and HMAC states are one kept in
// the UsageKey for a caller at a time, and a sync.Pool per UsageKey for concurrent ones,
// which is also what makes a Key safe for use by any number of goroutines at once.
package krbcrypto
