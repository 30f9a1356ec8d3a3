package sockauth

import (
	"encoding/binary"
	"io"
	"strings"
)

// The gss-sample framing (FramingGSS), as MIT krb5's src/appl/gss-sample/gss-misc.c
// writes it in send_token and reads it in recv_token:
//
//	+-----------+-------------------+------------------+
//	| flags: u8 | n: uint32 BE      | n bytes          |
//	+-----------+-------------------+------------------+
//
// A flags byte of zero is the sample's version-1 protocol (gss-client -v1), which has no
// flags byte at all: recv_token then takes the zero as the high byte of the length and
// reads three more. gss-server cannot serve version 1 (it insists on a NOOP first), and
// neither does this package, but the reader parses it the same way so that such a client
// gets a clear refusal instead of a misread.

// Token flags of gss-misc.h. The low four bits say what a token is, the high four how a
// DATA token was made.
const (
	GSSTokenNoop        = 1 << 0 // TOKEN_NOOP: no payload; opens a session, acknowledges, or ends one
	GSSTokenContext     = 1 << 1 // TOKEN_CONTEXT: a context-establishment token
	GSSTokenData        = 1 << 2 // TOKEN_DATA: a message
	GSSTokenMIC         = 1 << 3 // TOKEN_MIC: the MIC a receiver returns over a message
	GSSTokenContextNext = 1 << 4 // TOKEN_CONTEXT_NEXT: with NOOP, context tokens follow
	GSSTokenWrapped     = 1 << 5 // TOKEN_WRAPPED: the DATA token is a gss_wrap token
	GSSTokenEncrypted   = 1 << 6 // TOKEN_ENCRYPTED: the wrap asked for confidentiality
	GSSTokenSendMIC     = 1 << 7 // TOKEN_SEND_MIC: the sender wants a MIC of the message back
)

// gssHeaderLen is the size of a FramingGSS frame header.
const gssHeaderLen = 5

// readGSSToken reads one gss-sample token of at most limit bytes. It returns the flags
// (zero for a version-1 token) and the payload.
func readGSSToken(r io.Reader, limit int, what string) (byte, []byte, error) {
	var hdr [gssHeaderLen]byte
	if err := readHeader(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	flags := hdr[0]
	var n uint32
	if flags == 0 {
		// recv_token: a zero flags byte is the first byte of a version-1 length.
		n = binary.BigEndian.Uint32(hdr[:4])
		if uint64(n) > uint64(limit) {
			return 0, nil, errTooLarge(what, uint64(n), limit)
		}
		// One byte of the payload is already in hdr[4].
		if n == 0 {
			return 0, nil, errEmptyFrame
		}
		rest, err := readBody(r, int(n)-1)
		if err != nil {
			return 0, nil, err
		}
		return 0, append([]byte{hdr[4]}, rest...), nil
	}
	n = binary.BigEndian.Uint32(hdr[1:])
	if uint64(n) > uint64(limit) {
		return 0, nil, errTooLarge(what, uint64(n), limit)
	}
	b, err := readBody(r, int(n))
	return flags, b, err
}

// appendGSSToken appends a token with its flags. Flags are never zero here: this package
// speaks only the current protocol.
func appendGSSToken(dst []byte, flags byte, payload []byte) []byte {
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// gssFlagNames renders flags the way a log reader wants them: "DATA|WRAPPED|SEND_MIC".
func gssFlagNames(f byte) string {
	if f == 0 {
		return "v1"
	}
	names := [...]string{"NOOP", "CONTEXT", "DATA", "MIC", "CONTEXT_NEXT", "WRAPPED", "ENCRYPTED", "SEND_MIC"}
	var b strings.Builder
	for i, n := range names {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}
