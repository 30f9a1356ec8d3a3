package credssp

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// TSRequest versions (MS-CSSP 2.2.1). Version 2 is the original protocol, 3 and 4 add
// errorCode, 5 and 6 the CVE-2018-0886 fix: a client nonce and a hashed public-key
// binding.
const (
	// Version is the highest TSRequest version this package speaks, the one Windows and
	// FreeRDP send today.
	Version = 6
	// MinVersion is the lowest version there is.
	MinVersion = 2
	// firstNonceVersion is the first version with clientNonce and hashed pubKeyAuth.
	firstNonceVersion = 5
	// firstErrorCodeVersion is the first version with errorCode.
	firstErrorCodeVersion = 3
)

// Bounds on what a peer may make us parse. A TSRequest carries at most one SPNEGO token
// (Negotiate's largest, with a big Kerberos PAC, is under 48 KiB) and a few small sealed
// blobs.
const (
	maxTSRequest = 128 << 10
	nonceSize    = 32
)

// tsRequest is MS-CSSP 2.2.1 TSRequest:
//
//	TSRequest ::= SEQUENCE {
//	    version     [0] INTEGER,
//	    negoTokens  [1] NegoData     OPTIONAL,
//	    authInfo    [2] OCTET STRING OPTIONAL,
//	    pubKeyAuth  [3] OCTET STRING OPTIONAL,
//	    errorCode   [4] INTEGER      OPTIONAL,   -- v3+
//	    clientNonce [5] OCTET STRING OPTIONAL }  -- v5+
//	NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//
// NegoData is a SEQUENCE OF, but every implementation sends one token and MS-CSSP
// 3.1.5 uses only the first, so negoToken is a single field here and a NegoData of any
// other length is refused. Parsed fields alias the input.
type tsRequest struct {
	version      int64
	negoToken    []byte // nil when negoTokens is absent
	authInfo     []byte
	pubKeyAuth   []byte
	errorCode    uint32 // an NTSTATUS
	hasErrorCode bool
	clientNonce  []byte // nil or nonceSize bytes
}

var (
	errTSRequest       = errors.New("credssp: malformed TSRequest")
	errTSRequestLength = fmt.Errorf("credssp: TSRequest longer than %d bytes", maxTSRequest)
)

// marshal returns the DER encoding of r.
func (r *tsRequest) marshal() []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(contextTag(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(r.version) })
		if r.negoToken != nil {
			b.AddASN1(contextTag(1), func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOctets(b, 0, r.negoToken)
					})
				})
			})
		}
		if r.authInfo != nil {
			addOctets(b, 2, r.authInfo)
		}
		if r.pubKeyAuth != nil {
			addOctets(b, 3, r.pubKeyAuth)
		}
		if r.hasErrorCode {
			// NTSTATUS is a signed 32-bit LONG; Windows and FreeRDP encode failure codes
			// (0xC000....) as negative INTEGERs.
			b.AddASN1(contextTag(4), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(int32(r.errorCode))) })
		}
		if r.clientNonce != nil {
			addOctets(b, 5, r.clientNonce)
		}
	})
	return b.BytesOrPanic()
}

// addOctets adds [tag] OCTET STRING.
func addOctets(b *cryptobyte.Builder, tag int, v []byte) {
	b.AddASN1(contextTag(tag), func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(v)
	})
}

// parseTSRequest parses one DER TSRequest that fills msg exactly.
func parseTSRequest(msg []byte) (*tsRequest, error) {
	if len(msg) > maxTSRequest {
		return nil, errTSRequestLength
	}
	r := new(tsRequest)
	in := cryptobyte.String(msg)
	var s cryptobyte.String
	if !in.ReadASN1(&s, asn1.SEQUENCE) || !in.Empty() {
		return nil, errTSRequest
	}
	var v cryptobyte.String
	if !s.ReadASN1(&v, contextTag(0)) || !v.ReadASN1Int64WithTag(&r.version, asn1.INTEGER) || !v.Empty() {
		return nil, fmt.Errorf("%w: no version", errTSRequest)
	}
	if r.version < 0 {
		return nil, fmt.Errorf("%w: negative version %d", errTSRequest, r.version)
	}
	var present bool
	var nego cryptobyte.String
	if !s.ReadOptionalASN1(&nego, &present, contextTag(1)) {
		return nil, fmt.Errorf("%w: negoTokens", errTSRequest)
	}
	if present {
		tok, err := parseNegoData(nego)
		if err != nil {
			return nil, err
		}
		r.negoToken = tok
	}
	var ok bool
	if r.authInfo, ok = readOptionalOctets(&s, 2); !ok {
		return nil, fmt.Errorf("%w: authInfo", errTSRequest)
	}
	if r.pubKeyAuth, ok = readOptionalOctets(&s, 3); !ok {
		return nil, fmt.Errorf("%w: pubKeyAuth", errTSRequest)
	}
	var ec cryptobyte.String
	if !s.ReadOptionalASN1(&ec, &r.hasErrorCode, contextTag(4)) {
		return nil, fmt.Errorf("%w: errorCode", errTSRequest)
	}
	if r.hasErrorCode {
		var code int64
		// Accept the signed form Windows sends and the unsigned one (00 C0 00 ..) that
		// some encoders produce; anything outside 32 bits is not an NTSTATUS.
		if !ec.ReadASN1Int64WithTag(&code, asn1.INTEGER) || !ec.Empty() || code < -1<<31 || code > 1<<32-1 {
			return nil, fmt.Errorf("%w: errorCode is not a 32-bit NTSTATUS", errTSRequest)
		}
		r.errorCode = uint32(code)
	}
	if r.clientNonce, ok = readOptionalOctets(&s, 5); !ok {
		return nil, fmt.Errorf("%w: clientNonce", errTSRequest)
	}
	if r.clientNonce != nil && len(r.clientNonce) != nonceSize {
		return nil, fmt.Errorf("%w: clientNonce of %d bytes (want %d)", errTSRequest, len(r.clientNonce), nonceSize)
	}
	if !s.Empty() {
		return nil, fmt.Errorf("%w: unknown or out-of-order field", errTSRequest)
	}
	return r, nil
}

// parseNegoData reads NegoData, which must hold exactly one negoToken.
func parseNegoData(nego cryptobyte.String) ([]byte, error) {
	var list, item cryptobyte.String
	if !nego.ReadASN1(&list, asn1.SEQUENCE) || !nego.Empty() {
		return nil, fmt.Errorf("%w: negoTokens", errTSRequest)
	}
	if !list.ReadASN1(&item, asn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: empty negoTokens", errTSRequest)
	}
	if !list.Empty() {
		return nil, fmt.Errorf("%w: more than one negoToken", errTSRequest)
	}
	tok, ok := readOptionalOctets(&item, 0)
	if !ok || tok == nil || !item.Empty() {
		return nil, fmt.Errorf("%w: negoToken", errTSRequest)
	}
	return tok, nil
}

// readOptionalOctets reads an optional [tag] OCTET STRING. It returns nil when the field
// is absent, a non-nil (possibly empty) slice aliasing s when present, and false when
// the field is malformed.
func readOptionalOctets(s *cryptobyte.String, tag int) ([]byte, bool) {
	var wrapped, v cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&wrapped, &present, contextTag(tag)) {
		return nil, false
	}
	if !present {
		return nil, true
	}
	if !wrapped.ReadASN1(&v, asn1.OCTET_STRING) || !wrapped.Empty() {
		return nil, false
	}
	if v == nil {
		v = cryptobyte.String{}
	}
	return v, true
}

// contextTag is the explicit [n] tag every TSRequest and TSCredentials field has.
func contextTag(n int) asn1.Tag { return asn1.Tag(n).ContextSpecific().Constructed() }
