package httpauth

import (
	"bytes"
	"encoding/binary"
	"mime"
	"strconv"
	"strings"

	"github.com/gosspi/sspi"
)

// The protocol parameter of a WinRM encrypted body (MS-WSMV 2.2.9.1) names the HTTP
// authentication scheme whose context sealed it.
const (
	// WinRMProtocolSPNEGO is used under the Negotiate scheme (NTLM or Kerberos inside),
	// and by Windows and pywinrm for NTLM.
	WinRMProtocolSPNEGO = "application/HTTP-SPNEGO-session-encrypted"
	// WinRMProtocolKerberos is used under the Kerberos scheme.
	WinRMProtocolKerberos = "application/HTTP-Kerberos-session-encrypted"
	// WinRMProtocolCredSSP is used under the CredSSP scheme: the body is sealed in TLS
	// records by the CredSSP context's Schannel.
	WinRMProtocolCredSSP = "application/HTTP-CredSSP-session-encrypted"
)

const (
	winRMBoundary = "Encrypted Boundary"
	// winRMChunk is the plaintext size of one CredSSP part: a TLS record holds at most
	// 16 KiB, so MS-WSMV cuts larger bodies into multipart/x-multi-encrypted pieces.
	winRMChunk       = 16384
	winRMSingle      = "multipart/encrypted"
	winRMMulti       = "multipart/x-multi-encrypted"
	winRMOctetStream = "application/octet-stream"
	// DefaultWinRMContentType is the original content type WinRM's SOAP bodies have.
	DefaultWinRMContentType = "application/soap+xml;charset=UTF-8"
	// maxWinRMSignature bounds the signature length field: the largest real one is a
	// Kerberos RC4 header (49 bytes); a TLS trailer is under 300.
	maxWinRMSignature = 1024
	// maxWinRMHeaderLine bounds a part's header lines, and the text quoted in errors.
	maxWinRMHeaderLine = 1024
	maxWinRMQuote      = 64
)

// WinRMProtocol returns the protocol parameter for a body sealed with ctx: CredSSP for a
// CredSSP context, Kerberos for a raw Kerberos context (the Kerberos scheme), else SPNEGO.
func WinRMProtocol(ctx *sspi.Context) string {
	if ctx == nil {
		return WinRMProtocolSPNEGO
	}
	switch ctx.Package() {
	case "CredSSP":
		return WinRMProtocolCredSSP
	case "Kerberos":
		return WinRMProtocolKerberos
	}
	return WinRMProtocolSPNEGO
}

// EncryptWinRMBody seals body with the established context ctx into the MIME form WinRM
// sends over plain HTTP (MS-WSMV 2.2.9.1), and returns it with the Content-Type header to
// send it under. contentType is the body's own type, recorded in the OriginalContent
// field; empty means DefaultWinRMContentType.
//
// Each encrypted part is a 4-byte little-endian length, then the package's EncryptMessage
// token (the NTLM signature, the Kerberos Wrap token header) of that length, then the
// sealed data; for CredSSP the length is the TLS trailer's and one or more TLS records
// follow, a body over 16 KiB being sent as several parts (multipart/x-multi-encrypted).
// Every call uses the context's next sequence number: seal and open bodies in the order
// they travel.
func EncryptWinRMBody(ctx *sspi.Context, body []byte, contentType string) (encrypted []byte, contentTypeHeader string, err error) {
	return EncryptWinRMBodyAs(ctx, WinRMProtocol(ctx), body, contentType)
}

// EncryptWinRMBodyAs is EncryptWinRMBody with the protocol parameter chosen by the
// caller, for a context whose package does not tell the HTTP scheme (Kerberos under
// Negotiate uses WinRMProtocolSPNEGO).
func EncryptWinRMBodyAs(ctx *sspi.Context, protocol string, body []byte, contentType string) (encrypted []byte, contentTypeHeader string, err error) {
	if ctx == nil {
		return nil, "", sspi.Errorf(sspi.ErrInvalidHandle, "httpauth: no security context to seal the WinRM body with")
	}
	if !knownWinRMProtocol(protocol) {
		return nil, "", sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: unknown WinRM encryption protocol %q", winRMQuote(protocol))
	}
	if contentType == "" {
		contentType = DefaultWinRMContentType
	}
	if strings.ContainsAny(contentType, "\r\n") {
		return nil, "", sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: the content type must be one line")
	}
	s, err := newWinRMSealer(ctx, protocol)
	if err != nil {
		return nil, "", err
	}
	chunks := [][]byte{body}
	media := winRMSingle
	if s.stream && len(body) > winRMChunk {
		media, chunks = winRMMulti, nil
		for b := body; len(b) > 0; b = b[min(len(b), winRMChunk):] {
			chunks = append(chunks, b[:min(len(b), winRMChunk)])
		}
	}
	var out bytes.Buffer
	for _, c := range chunks {
		if err := s.writePart(&out, c, contentType); err != nil {
			return nil, "", err
		}
	}
	out.WriteString("--" + winRMBoundary + "--\r\n")
	return out.Bytes(), media + `;protocol="` + protocol + `";boundary="` + winRMBoundary + `"`, nil
}

func knownWinRMProtocol(p string) bool {
	return p == WinRMProtocolSPNEGO || p == WinRMProtocolKerberos || p == WinRMProtocolCredSSP
}

// winRMSealer seals parts with one context: message packages (NTLM, Kerberos, Negotiate)
// through a token buffer, stream packages (CredSSP's TLS) through header and trailer.
type winRMSealer struct {
	ctx      *sspi.Context
	protocol string
	stream   bool
	sizes    sspi.Sizes
	ssizes   sspi.StreamSizes
}

func newWinRMSealer(ctx *sspi.Context, protocol string) (*winRMSealer, error) {
	s := &winRMSealer{ctx: ctx, protocol: protocol}
	if err := sspi.QueryContextAttributes(ctx, sspi.AttrStreamSizes, &s.ssizes); err == nil && s.ssizes.Header+s.ssizes.Trailer > 0 {
		s.stream = true
	} else if err := sspi.QueryContextAttributes(ctx, sspi.AttrSizes, &s.sizes); err != nil {
		return nil, err
	}
	// The protocol says how the receiver splits the part: a TLS stream under CredSSP,
	// signature and data otherwise. A mismatch would make bodies the peer cannot open.
	if s.stream != (protocol == WinRMProtocolCredSSP) {
		return nil, sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: protocol %s does not fit a %s context", protocol, ctx.Package())
	}
	return s, nil
}

// writePart appends one pair of parts: the description of the plaintext, then the
// sealed bytes.
func (s *winRMSealer) writePart(out *bytes.Buffer, plain []byte, contentType string) error {
	var sig, sealed [][]byte
	var sigLen int
	var err error
	if s.stream {
		sealed, sigLen, err = s.sealStream(plain)
	} else {
		sig, sealed, err = s.sealMessage(plain)
		sigLen = len(sig[0])
	}
	if err != nil {
		return err
	}
	out.WriteString("--" + winRMBoundary + "\r\n\tContent-Type: " + s.protocol + "\r\n")
	out.WriteString("\tOriginalContent: type=" + contentType + ";Length=" + strconv.Itoa(len(plain)) + "\r\n")
	out.WriteString("--" + winRMBoundary + "\r\n\tContent-Type: " + winRMOctetStream + "\r\n")
	out.Write(binary.LittleEndian.AppendUint32(nil, uint32(sigLen)))
	for _, b := range append(sig, sealed...) {
		out.Write(b)
	}
	return nil
}

// sealMessage seals plain as Windows' WinRM does: a token buffer sized from
// SecurityTrailer, the data, and a padding buffer when the package has a block size
// (Kerberos with RC4, whose pad then follows the data).
func (s *winRMSealer) sealMessage(plain []byte) (sig, sealed [][]byte, err error) {
	t, n, p := s.sizes.SecurityTrailer, len(plain), s.sizes.BlockSize
	buf := make([]byte, t+n+p)
	copy(buf[t:], plain)
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: buf[:t]}, {Type: sspi.BufferData, Data: buf[t : t+n]}}
	if p > 0 {
		bufs = append(bufs, sspi.Buffer{Type: sspi.BufferPadding, Data: buf[t+n:]})
	}
	if err := sspi.EncryptMessage(s.ctx, 0, bufs, 0); err != nil {
		return nil, nil, err
	}
	sealed = [][]byte{bufs[1].Data}
	if p > 0 {
		sealed = append(sealed, bufs[2].Data[:min(len(bufs[2].Data), p)])
	}
	return [][]byte{bufs[0].Data}, sealed, nil
}

// sealStream seals plain into one TLS record; the length field carries the trailer's
// size, which is what Windows writes there (a receiver reads the record on its own).
func (s *winRMSealer) sealStream(plain []byte) (record [][]byte, trailer int, err error) {
	if m := s.ssizes.MaximumMessage; m > 0 && len(plain) > m {
		return nil, 0, sspi.Errorf(sspi.ErrInvalidParameter, "httpauth: a %d-byte piece does not fit one TLS record (%d)", len(plain), m)
	}
	h, t := s.ssizes.Header, s.ssizes.Trailer
	buf := make([]byte, h+len(plain)+t)
	copy(buf[h:], plain)
	bufs := []sspi.Buffer{
		{Type: sspi.BufferStreamHeader, Data: buf[:h]},
		{Type: sspi.BufferData, Data: buf[h : h+len(plain)]},
		{Type: sspi.BufferStreamTrailer, Data: buf[h+len(plain):]},
		{Type: sspi.BufferEmpty},
	}
	if err := sspi.EncryptMessage(s.ctx, 0, bufs, 0); err != nil {
		return nil, 0, err
	}
	return [][]byte{bufs[0].Data, bufs[1].Data, bufs[2].Data}, len(bufs[2].Data), nil
}

// DecryptWinRMBody opens a body made by EncryptWinRMBody or by a WinRM peer:
// contentTypeHeader is the request's or response's Content-Type header. It returns the
// plaintext and its original content type (the type field of OriginalContent).
//
// Failures carry SEC_E_INVALID_TOKEN for a malformed body or header,
// SEC_E_INCOMPLETE_MESSAGE for a truncated one, SEC_E_MESSAGE_ALTERED when the plaintext
// is not the length announced, and the package's status when a part does not open.
func DecryptWinRMBody(ctx *sspi.Context, body []byte, contentTypeHeader string) (plain []byte, contentType string, err error) {
	if ctx == nil {
		return nil, "", sspi.Errorf(sspi.ErrInvalidHandle, "httpauth: no security context to open the WinRM body with")
	}
	parts, err := ParseWinRMBody(body, contentTypeHeader)
	if err != nil {
		return nil, "", err
	}
	s, err := newWinRMSealer(ctx, parts[0].Protocol)
	if err != nil {
		return nil, "", err
	}
	for i := range parts {
		p := &parts[i]
		got, err := s.open(p)
		if err != nil {
			return nil, "", err
		}
		if len(got) != p.Length {
			return nil, "", sspi.Errorf(sspi.ErrMessageAltered, "httpauth: part %d opened to %d bytes, OriginalContent says %d", i+1, len(got), p.Length)
		}
		plain = append(plain, got...)
	}
	return plain, parts[0].ContentType, nil
}

// open unseals one part.
func (s *winRMSealer) open(p *WinRMPart) ([]byte, error) {
	if s.stream {
		return s.openStream(p.Sealed)
	}
	sig := append([]byte(nil), p.Signature...)
	data := append([]byte(nil), p.Sealed...)
	bufs := []sspi.Buffer{{Type: sspi.BufferToken, Data: sig}, {Type: sspi.BufferData, Data: data}}
	if _, _, err := sspi.DecryptMessage(s.ctx, bufs, 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// openStream unseals the TLS records of one part: Windows writes one, but the part is
// read to its end so a peer that splits a piece is understood.
func (s *winRMSealer) openStream(rec []byte) ([]byte, error) {
	rest := append([]byte(nil), rec...)
	var plain []byte
	for len(rest) > 0 {
		bufs := []sspi.Buffer{{Type: sspi.BufferData, Data: rest}, {Type: sspi.BufferEmpty}, {Type: sspi.BufferEmpty}, {Type: sspi.BufferEmpty}}
		_, status, err := sspi.DecryptMessage(s.ctx, bufs, 0)
		if err != nil {
			return nil, err
		}
		if status != sspi.OK {
			return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the TLS stream of a WinRM part carried %v, not application data", status)
		}
		var next []byte
		for _, b := range bufs {
			switch b.Type.Base() {
			case sspi.BufferData:
				plain = append(plain, b.Data...)
			case sspi.BufferExtra:
				next = b.Data
			}
		}
		rest = next
	}
	return plain, nil
}

// WinRMPart is one encrypted piece of a WinRM body, as ParseWinRMBody finds it.
type WinRMPart struct {
	Protocol    string // the protocol parameter, repeated in the part's Content-Type
	ContentType string // the OriginalContent type
	Length      int    // the plaintext length OriginalContent announces
	Signature   []byte // the EncryptMessage token (empty for CredSSP)
	SigLength   int    // the length field: the signature's, or the TLS trailer's for CredSSP
	Sealed      []byte // the sealed data (for CredSSP the whole TLS record)
}

// ParseWinRMBody splits a WinRM encrypted body into its parts without opening them;
// the slices in the parts point into body. DecryptWinRMBody uses it; it is exported for
// servers that route on the protocol before choosing a context.
func ParseWinRMBody(body []byte, contentTypeHeader string) ([]WinRMPart, error) {
	media, params, err := mime.ParseMediaType(contentTypeHeader)
	if err != nil {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the Content-Type header %q does not parse: %v", winRMQuote(contentTypeHeader), err)
	}
	if media != winRMSingle && media != winRMMulti {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the body is %q, not %s or %s", winRMQuote(media), winRMSingle, winRMMulti)
	}
	protocol, boundary := params["protocol"], params["boundary"]
	if !knownWinRMProtocol(protocol) {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: unknown WinRM encryption protocol %q", winRMQuote(protocol))
	}
	// RFC 2046 5.1.1: a boundary is 1 to 70 characters.
	if boundary == "" || len(boundary) > 70 {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the Content-Type header has no usable boundary")
	}
	segs, err := splitWinRMBody(body, boundary)
	if err != nil {
		return nil, err
	}
	if len(segs)%2 != 0 || len(segs) == 0 {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the body has %d MIME parts; a WinRM body has pairs (description, data)", len(segs))
	}
	if media == winRMSingle && len(segs) != 2 {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: a %s body has %d MIME parts, not 2", winRMSingle, len(segs))
	}
	parts := make([]WinRMPart, 0, len(segs)/2)
	for i := 0; i < len(segs); i += 2 {
		p := WinRMPart{Protocol: protocol}
		if err := p.parseDescription(segs[i]); err != nil {
			return nil, err
		}
		if err := p.parseData(segs[i+1]); err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// splitWinRMBody returns the bytes between the delimiters "--boundary" of body. Windows
// writes each delimiter right after the binary data of the part before it, with no line
// break, so a delimiter is found by its text followed by CRLF (or "--" for the last).
func splitWinRMBody(body []byte, boundary string) ([][]byte, error) {
	delim := []byte("--" + boundary)
	rest := bytes.TrimLeft(body, "\r\n")
	if !bytes.HasPrefix(rest, delim) {
		return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the body does not start with the boundary %q", winRMQuote(boundary))
	}
	var segs [][]byte
	rest = rest[len(delim):]
	for {
		switch {
		case bytes.HasPrefix(rest, []byte("--")):
			if len(bytes.Trim(rest[2:], " \t\r\n")) != 0 {
				return nil, sspi.Errorf(sspi.ErrInvalidToken, "httpauth: %d bytes follow the closing boundary", len(rest)-2)
			}
			return segs, nil
		case bytes.HasPrefix(rest, []byte("\r\n")):
			rest = rest[2:]
		default:
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "httpauth: the body ends inside a boundary line")
		}
		i := nextDelimiter(rest, delim)
		if i < 0 {
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "httpauth: the body ends without the closing boundary")
		}
		segs = append(segs, rest[:i])
		rest = rest[i+len(delim):]
	}
}

// nextDelimiter finds delim followed by CRLF or "--", or -1.
func nextDelimiter(b, delim []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], delim)
		if i < 0 {
			return -1
		}
		j := off + i + len(delim)
		if bytes.HasPrefix(b[j:], []byte("\r\n")) || bytes.HasPrefix(b[j:], []byte("--")) {
			return off + i
		}
		off = j
	}
}

// parseDescription reads the first part of a pair: its Content-Type (the protocol
// again) and OriginalContent ("type=...;Length=N") header lines.
func (p *WinRMPart) parseDescription(seg []byte) error {
	var sawType, sawOriginal bool
	for _, line := range strings.Split(string(seg), "\r\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > maxWinRMHeaderLine {
			return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: a %d-byte header line in a WinRM part", len(line))
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the header line %q has no colon", winRMQuote(line))
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Content-Type"):
			if !strings.EqualFold(value, p.Protocol) {
				return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the part is %q, the header said %s", winRMQuote(value), p.Protocol)
			}
			sawType = true
		case strings.EqualFold(name, "OriginalContent"):
			if err := p.parseOriginal(value); err != nil {
				return err
			}
			sawOriginal = true
		}
	}
	if !sawType || !sawOriginal {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: a WinRM part lacks its Content-Type or OriginalContent line")
	}
	return nil
}

// parseOriginal reads "type=application/soap+xml;charset=UTF-8;Length=N": the type is
// everything before the Length parameter.
func (p *WinRMPart) parseOriginal(v string) error {
	i := strings.LastIndex(strings.ToLower(v), ";length=")
	if i < 0 || !strings.HasPrefix(strings.ToLower(v), "type=") {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: OriginalContent %q lacks type= or Length=", winRMQuote(v))
	}
	n, err := strconv.Atoi(strings.TrimSpace(v[i+len(";length="):]))
	if err != nil || n < 0 || n > 1<<30 {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: OriginalContent length %q is not a length", winRMQuote(v[i+len(";length="):]))
	}
	p.ContentType, p.Length = v[len("type="):i], n
	return nil
}

// parseData reads the second part of a pair: one Content-Type line
// (application/octet-stream), then the length field and the sealed bytes.
func (p *WinRMPart) parseData(seg []byte) error {
	seg = bytes.TrimLeft(seg, " \t")
	eol := bytes.Index(seg, []byte("\r\n"))
	if eol < 0 || eol > maxWinRMHeaderLine {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the data part of a WinRM body has no Content-Type line")
	}
	name, value, _ := strings.Cut(string(seg[:eol]), ":")
	if !strings.EqualFold(strings.TrimSpace(name), "Content-Type") || !strings.EqualFold(strings.TrimSpace(value), winRMOctetStream) {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: the data part is %q, not %s", winRMQuote(string(seg[:eol])), winRMOctetStream)
	}
	data := seg[eol+2:]
	if len(data) < 4 {
		return sspi.Errorf(sspi.ErrIncompleteMessage, "httpauth: the data part holds %d bytes, less than its length field", len(data))
	}
	n := binary.LittleEndian.Uint32(data)
	data = data[4:]
	if n > maxWinRMSignature {
		return sspi.Errorf(sspi.ErrInvalidToken, "httpauth: a %d-byte signature is longer than any package makes", n)
	}
	if int(n) > len(data) {
		return sspi.Errorf(sspi.ErrIncompleteMessage, "httpauth: the signature length %d runs past the %d bytes of the part", n, len(data))
	}
	p.SigLength = int(n)
	if p.Protocol == WinRMProtocolCredSSP {
		// The field is the TLS trailer's length; the record is read whole.
		p.Sealed = data
		return nil
	}
	p.Signature, p.Sealed = data[:n], data[n:]
	return nil
}

// quote bounds text copied from the wire into an error.
func winRMQuote(s string) string {
	if len(s) > maxWinRMQuote {
		return s[:maxWinRMQuote] + "..."
	}
	return s
}
