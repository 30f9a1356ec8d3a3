package sockauth

import (
	"bufio"
	"encoding/binary"
	"errors"

	"github.com/gosspi/sspi"
)

// Nothing on the wire names the framing, and a peer of the other framing is seen only as
// odd lengths: a refused token, or a wait for bytes that never come. A few patterns are
// unambiguous, though, and are recognized at the first read of a handshake so that a
// mismatch is reported as one.

// ErrOtherFraming is in the chain of an error (errors.Is) when the peer's first bytes are
// in the other framing: the Client's or Server's Framing must change to match the peer's.
var ErrOtherFraming = errors.New("sockauth: the peer speaks the other framing")

// ErrNoAnswer is in the chain of a client's error (errors.Is) when the server closed the
// connection instead of answering a handshake token, or the last one. A server refuses a
// logon this way (a wrong password, an unknown user), so the error carries
// SEC_E_LOGON_DENIED; but a server closes so too when it fails for another reason after
// accepting the logon, or cannot read the client's framing or package. Only the server's
// log says which.
var ErrNoAnswer = errors.New("sockauth: the server closed the connection without answering")

// tokenStart reports whether b can begin a security token: a GSS-API initial context
// token or Kerberos message wrapped in one (0x60), a raw Kerberos AP-REQ, AP-REP or
// KRB-ERROR (0x6e, 0x6f, 0x7e), SPNEGO's NegTokenInit or NegTokenResp (0xa0, 0xa1), or
// NTLMSSP's signature.
func tokenStart(b byte) bool {
	switch b {
	case 0x60, 0x6e, 0x6f, 0x7e, 0xa0, 0xa1, 'N':
		return true
	}
	return false
}

// minToken is shorter than any token a package sends in a handshake (SPNEGO's shortest
// NegTokenResp, accept-completed alone, is 9 bytes).
const minToken = 8

// gssOpening reports whether b starts as gss-client opens a session: a NOOP token
// (CONTEXT_NEXT or not) with no payload. Read as an sspi frame it would be a token of at
// most 255 bytes that starts with a zero byte, which no token does.
func gssOpening(b []byte) bool {
	return len(b) >= gssHeaderLen && b[0]&^GSSTokenContextNext == GSSTokenNoop &&
		binary.BigEndian.Uint32(b[1:gssHeaderLen]) == 0
}

// gssContextToken reports whether b starts with a gss CONTEXT token header of at most
// limit bytes and the first byte of a token. Read as an sspi frame it would announce a
// 2-byte token or one of 16 MiB or more.
func gssContextToken(b []byte, limit int) bool {
	if len(b) < gssHeaderLen+1 || b[0] != GSSTokenContext {
		return false
	}
	n := binary.BigEndian.Uint32(b[1:gssHeaderLen])
	return n >= minToken && uint64(n) <= uint64(limit) && tokenStart(b[gssHeaderLen])
}

// sspiFrame reports whether b starts with an sspi frame of a token of at most limit bytes
// that begins as a token does, and is not also a plausible gss token header. Read as a gss
// token, its flags would be the low byte of the length.
func sspiFrame(b []byte, limit int) bool {
	if len(b) < sspiHeaderLen+1 || gssContextToken(b, limit) || gssOpening(b) {
		return false
	}
	n := binary.LittleEndian.Uint32(b[:sspiHeaderLen])
	return n >= minToken && uint64(n) <= uint64(limit) && tokenStart(b[sspiHeaderLen])
}

// sniffFraming reports the framing the bytes waiting in br are in when they are plainly
// not in f's: the peer's first token of a handshake, peeked at before it is read. It waits
// only for bytes the read that follows needs too; with fewer (a peer that closed or
// stalls) it leaves the answer to that read.
func sniffFraming(br *bufio.Reader, f Framing, limit int) (Framing, bool) {
	// A TLS handshake record (a ClientHello, a ServerHello): as an sspi frame it would
	// announce a token of over 64 KiB (more than the limit), as a gss token flags no
	// token has (CONTEXT|DATA|CONTEXT_NEXT).
	if b, _ := br.Peek(4); len(b) == 4 && b[0] == 22 && b[1] == 3 && b[2] >= 1 && b[2] <= 4 &&
		(f == FramingGSS || uint64(binary.LittleEndian.Uint32(b)) > uint64(limit)) {
		return FramingTLS, true
	}
	if f == FramingGSS {
		b, _ := br.Peek(gssHeaderLen)
		return FramingSSPI, sspiFrame(b, limit)
	}
	if b, _ := br.Peek(sspiHeaderLen); len(b) < sspiHeaderLen || binary.LittleEndian.Uint32(b) == 0 {
		return f, false // an empty frame has no fifth byte to wait for
	}
	b, _ := br.Peek(gssHeaderLen)
	switch {
	case gssOpening(b):
		return FramingGSS, true
	case len(b) == gssHeaderLen && b[0] == GSSTokenContext:
		// A gss CONTEXT header says a payload follows: its first byte is wanted too.
		b, _ = br.Peek(gssHeaderLen + 1)
		return FramingGSS, gssContextToken(b, limit)
	}
	return f, false
}

// otherFraming is the error for a peer found speaking the framing other, not f.
func otherFraming(f, other Framing, peer string) error {
	return sspi.Errorf(sspi.ErrIllegalMessage, "%w: the %s's first bytes are %s-framed, and this end's framing is %s", &framingMismatch{other}, peer, other, f)
}

// framingMismatch carries the framing the peer was found speaking; it is ErrOtherFraming.
type framingMismatch struct{ peer Framing }

func (e *framingMismatch) Error() string { return ErrOtherFraming.Error() }
func (e *framingMismatch) Unwrap() error { return ErrOtherFraming }

// PeerFraming returns the framing the peer was found speaking when err is a framing
// mismatch (errors.Is(err, ErrOtherFraming)).
func PeerFraming(err error) (Framing, bool) {
	var m *framingMismatch
	if errors.As(err, &m) {
		return m.peer, true
	}
	return 0, false
}

// ErrNotTLS is in the chain of a tls framing client's error when the server's first
// bytes are not a TLS record and not in another framing either.
var ErrNotTLS = errors.New("sockauth: the server does not speak TLS")

// sniffServerTLS looks at the first bytes a TLS server sends, once some have come: a
// record (content type 20 to 24) is left to Schannel; the other framings, and anything
// else, are named. A server that sends nothing is left to the handshake's read.
func sniffServerTLS(br *bufio.Reader, limit int) error {
	b, err := br.Peek(1)
	if err != nil || b[0] >= 20 && b[0] <= 24 {
		return nil
	}
	b, _ = br.Peek(min(max(br.Buffered(), 1), 16))
	switch {
	case gssOpening(b) || gssContextToken(b, limit):
		return otherFraming(FramingTLS, FramingGSS, "server")
	case sspiFrame(b, limit):
		return otherFraming(FramingTLS, FramingSSPI, "server")
	}
	return sspi.Errorf(sspi.ErrIllegalMessage, "%w: its first bytes are %q, not a TLS record", ErrNotTLS, b)
}
