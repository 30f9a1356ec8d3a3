package sockauth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gosspi/sspi"
)

// Framing is how tokens and messages are laid out on the TCP stream. Both peers of a
// connection must use the same one; nothing on the wire says which is in use.
type Framing int

const (
	// FramingSSPI is the framing of the Windows SDK sample "Using SSPI with a Windows
	// Sockets Server/Client": every token is a 4-byte little-endian length and the bytes.
	// See the package documentation for the greeting and the messages that follow.
	FramingSSPI Framing = iota
	// FramingGSS is MIT krb5's gss-sample protocol (gss-client, gss-server): a flags byte,
	// a 4-byte big-endian length and the bytes.
	FramingGSS
	// FramingTLS is the framing of a Windows Schannel program: the tokens are TLS records
	// sent as they are, with no length in front, and the session after the handshake is a
	// TLS byte stream (EncryptMessage and DecryptMessage records). Its package is Schannel.
	// See the package documentation.
	FramingTLS
	// FramingRDP is Remote Desktop's Network Level Authentication: the X.224 Connection
	// Request and Confirm selecting PROTOCOL_HYBRID (or HYBRID_EX), then TLS records
	// carrying CredSSP, read as FramingTLS reads them. Its package is CredSSP. A server of
	// this framing is a gate in front of nothing: once the client has authenticated, the
	// default handler closes the connection. See the package documentation.
	FramingRDP
)

// String returns "sspi", "gss", "tls" or "rdp", the names the CLI takes.
func (f Framing) String() string {
	switch f {
	case FramingSSPI:
		return "sspi"
	case FramingGSS:
		return "gss"
	case FramingTLS:
		return "tls"
	case FramingRDP:
		return "rdp"
	}
	return fmt.Sprintf("Framing(%d)", int(f))
}

// ParseFraming reads "sspi", "gss", "tls" or "rdp" (case-insensitively).
func ParseFraming(s string) (Framing, error) {
	switch strings.ToLower(s) {
	case "sspi":
		return FramingSSPI, nil
	case "gss":
		return FramingGSS, nil
	case "tls":
		return FramingTLS, nil
	case "rdp":
		return FramingRDP, nil
	}
	return 0, fmt.Errorf("sockauth: unknown framing %q (want sspi, gss, tls or rdp)", s)
}

// Protection is how messages are protected once the handshake is done.
type Protection int

const (
	// ProtectSeal encrypts and signs each message (EncryptMessage). It is the zero value:
	// the safe choice needs no configuration.
	ProtectSeal Protection = iota
	// ProtectSign signs each message (MakeSignature, or an integrity-only wrap) and sends
	// it readable.
	ProtectSign
	// ProtectNone sends messages in the clear: anyone on the path can read and change them.
	ProtectNone
)

// String returns "seal", "sign" or "none", the names the CLI takes.
func (p Protection) String() string {
	switch p {
	case ProtectSeal:
		return "seal"
	case ProtectSign:
		return "sign"
	case ProtectNone:
		return "none"
	}
	return fmt.Sprintf("Protection(%d)", int(p))
}

// ParseProtection reads "seal", "sign" or "none" (case-insensitively).
func ParseProtection(s string) (Protection, error) {
	switch strings.ToLower(s) {
	case "seal":
		return ProtectSeal, nil
	case "sign":
		return ProtectSign, nil
	case "none":
		return ProtectNone, nil
	}
	return 0, fmt.Errorf("sockauth: unknown protection %q (want seal, sign or none)", s)
}

// atLeast reports whether p protects at least as much as min.
func (p Protection) atLeast(min Protection) bool { return p <= min }

// Limits on what a peer may make us hold. The frame readers check a length against its
// limit before they allocate anything, and then allocate only as the bytes arrive, so a
// peer that announces a large frame and sends nothing costs a few bytes, not the frame.
const (
	// DefaultMaxToken bounds one handshake token: above the largest token of every package
	// Windows ships (Negotiate's cbMaxToken is 48256 with a large Kerberos PAC).
	DefaultMaxToken = 64 << 10
	// DefaultMaxMessage bounds one protected message after the handshake.
	DefaultMaxMessage = 1 << 20
	// readChunk is how much a frame reader allocates ahead of the bytes it has received:
	// small, because every handshake in progress may hold one (see handshakeCost), and a
	// larger frame grows by doubling as it arrives.
	readChunk = 4 << 10
	// readBufSize is a connection's read buffer: room for an NTLM token and its header, so
	// that one read(2) usually brings a whole frame, and small enough to keep an idle
	// session cheap.
	readBufSize = 1 << 10
)

// Frame-level failures carry a SECURITY_STATUS like every other failure here, so that a
// log line or an exit code can name one: a frame that breaks the framing rules is
// SEC_E_ILLEGAL_MESSAGE, one cut short by the peer closing is SEC_E_INCOMPLETE_MESSAGE.
var (
	errEmptyFrame = sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: empty frame where a token was expected")
)

// errTooLarge reports a frame whose announced length is over the limit.
func errTooLarge(what string, n uint64, limit int) error {
	return sspi.Errorf(sspi.ErrIllegalMessage, "sockauth: %s of %d bytes exceeds the %d-byte limit", what, n, limit)
}

// readBody reads n bytes announced by a frame header, growing the buffer as bytes arrive.
// A stream that ends early gives an error carrying SEC_E_INCOMPLETE_MESSAGE.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf))) // double, up to n
		}
		m, err := io.ReadFull(r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, truncated(err, len(buf), n)
		}
	}
	return buf, nil
}

// truncated turns an end of stream inside a frame into SEC_E_INCOMPLETE_MESSAGE, keeping
// time-outs and other I/O errors as they are (wrapped, so errors.Is still finds them).
func truncated(err error, got, want int) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return sspi.Errorf(sspi.ErrIncompleteMessage, "sockauth: the peer closed the connection %d bytes into a %d-byte frame", got, want)
	}
	return fmt.Errorf("sockauth: reading a %d-byte frame (%d bytes in): %w", want, got, err)
}

// readHeader reads a frame header; an end of stream before its first byte is io.EOF
// (a clean end between frames), an end inside it SEC_E_INCOMPLETE_MESSAGE.
//
// A connection's bufio.Reader is read with Peek, not through io.Reader: hdr, passed to
// an interface's Read, would be moved to the heap, one allocation for every frame.
func readHeader(r io.Reader, hdr []byte) error {
	var n int
	var err error
	if br, ok := r.(*bufio.Reader); ok {
		var b []byte
		b, err = br.Peek(len(hdr))
		n = copy(hdr, b)
		_, _ = br.Discard(n) // consumed even when cut short, as io.ReadFull would
	} else {
		tmp := make([]byte, len(hdr))
		n, err = io.ReadFull(r, tmp)
		copy(hdr, tmp[:n])
	}
	if err == nil {
		return nil
	}
	if n == 0 && errors.Is(err, io.EOF) {
		return io.EOF
	}
	return truncated(err, n, len(hdr))
}
