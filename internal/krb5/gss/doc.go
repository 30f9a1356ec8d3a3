// Package gss is the Kerberos GSS-API per-message tokens: RFC 4121's MIC and Wrap tokens
// for the AES encryption types (CFX) and RFC 4757's RC4-HMAC MIC and Wrap tokens (RC4),
// built over internal/krb5/crypto on the caller's buffers.
//
// Both shapes of a Wrap token are here: the whole token of gss_wrap (header, then the
// rotated ciphertext) and the split of SSPI's EncryptMessage, where the header and the
// rotated trailer go to the token buffer and the data buffers are encrypted in place.
//
// The types are stateless about sequence numbers: the caller numbers what it sends and
// decides what order it accepts, since SSPI and GSS differ there. They are safe for
// concurrent use.
package gss

import "errors"

// Errors. Each says what is wrong with a token without echoing its bytes.
var (
	// ErrMalformed: not a token of the expected kind (length, TOK_ID, filler).
	ErrMalformed = errors.New("gss: malformed per-message token")
	// ErrDirection: the token's direction flag or bytes are this side's own: a token
	// reflected back at its sender.
	ErrDirection = errors.New("gss: token sent in the wrong direction (reflected?)")
	// ErrSubkey: the acceptor-subkey flag does not match the key in use.
	ErrSubkey = errors.New("gss: token acceptor-subkey flag does not match the context")
	// ErrBadMIC: the checksum or the encryption's integrity tag does not match.
	ErrBadMIC = errors.New("gss: token checksum does not match (altered, or wrong key)")
	// ErrLayout: the split between token and data buffers is not one this function can
	// decrypt in place; join the buffers and use the whole-token function.
	ErrLayout = errors.New("gss: token and data buffers are not split at the header and trailer")
	// ErrBufferTooSmall: the output buffer cannot hold the token.
	ErrBufferTooSmall = errors.New("gss: token buffer too small")
)
