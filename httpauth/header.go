package httpauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The header format of RFC 7235 section 2.1 and RFC 4559 section 4: an auth-scheme,
// then either one token68 (the base64 of a security token) or a list of auth-params.
//
//	challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//	auth-param  = token BWS "=" BWS ( token / quoted-string )
//
// One WWW-Authenticate (or Proxy-Authenticate) header may hold several challenges
// separated by commas, and a response may carry several such headers.

const (
	// MaxHeaderLength bounds one Authorization, Proxy-Authorization, WWW-Authenticate
	// or Proxy-Authenticate value, in bytes. It fits a Kerberos token of Windows'
	// largest default MaxTokenSize (48000 bytes, 64000 in base64) with its scheme, and
	// is what IIS (http.sys MaxFieldLength, 65534) accepts.
	MaxHeaderLength = 65536
	// MaxChallenges bounds the challenges ParseChallenges returns from one response.
	MaxChallenges = 32
	// maxParams bounds the auth-params of one challenge.
	maxParams = 32
)

// Header names, for the origin server and for a proxy (RFC 7235 sections 4.1 to 4.4).
const (
	HeaderWWWAuthenticate    = "WWW-Authenticate"
	HeaderAuthorization      = "Authorization"
	HeaderProxyAuthenticate  = "Proxy-Authenticate"
	HeaderProxyAuthorization = "Proxy-Authorization"
)

var (
	// ErrMalformedHeader is wrapped by every parse error of this file: the header does
	// not follow RFC 7235's syntax, or its token is not base64. A server answers it with
	// 400 Bad Request.
	ErrMalformedHeader = errors.New("httpauth: malformed authentication header")
	// ErrHeaderTooLong is wrapped when a header value exceeds MaxHeaderLength, or a
	// response carries more than MaxChallenges challenges. A server answers it with
	// 431 Request Header Fields Too Large.
	ErrHeaderTooLong = errors.New("httpauth: authentication header too long")
)

// Challenge is one challenge of a WWW-Authenticate or Proxy-Authenticate header.
type Challenge struct {
	// Scheme is the auth-scheme as sent ("Negotiate", "NTLM", "Basic"); schemes compare
	// case-insensitively (strings.EqualFold).
	Scheme string
	// Token68 is the scheme's token68 as sent, empty when there is none: for Negotiate,
	// NTLM and Kerberos the base64 of a security token (Challenge.Token decodes it).
	Token68 string
	// Params holds the auth-params (realm="..."), names lower-cased, quoted values
	// unquoted; nil when there are none.
	Params map[string]string
}

// Token decodes the challenge's token68 as base64: nil with no error when there is none.
func (c Challenge) Token() ([]byte, error) {
	if c.Token68 == "" {
		return nil, nil
	}
	return decodeToken(c.Token68)
}

// Is reports whether the challenge is for scheme, compared case-insensitively.
func (c Challenge) Is(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// ParseChallenges parses every challenge of every header named name (HeaderWWWAuthenticate
// or HeaderProxyAuthenticate) in h, in order. Errors wrap ErrMalformedHeader or
// ErrHeaderTooLong.
func ParseChallenges(h http.Header, name string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range h.Values(name) {
		cs, err := parseChallengeList(v, MaxChallenges-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// ParseAuthorization parses an Authorization or Proxy-Authorization value of the form
// "<scheme> <base64>" and returns the scheme as sent and the decoded token. A scheme
// without a token ("Negotiate") returns a nil token. Auth-params (Basic has none, Digest
// has them) are not taken: such a value is ErrMalformedHeader here, since none of
// Negotiate, NTLM and Kerberos uses them.
func ParseAuthorization(value string) (scheme string, token []byte, err error) {
	if len(value) > MaxHeaderLength {
		return "", nil, fmt.Errorf("%w: %d bytes, more than %d", ErrHeaderTooLong, len(value), MaxHeaderLength)
	}
	value = strings.Trim(value, " \t")
	i := 0
	for i < len(value) && isTokenChar(value[i]) {
		i++
	}
	if i == 0 {
		return "", nil, fmt.Errorf("%w: no auth-scheme", ErrMalformedHeader)
	}
	scheme, rest := value[:i], value[i:]
	if rest == "" {
		return scheme, nil, nil
	}
	if rest[0] != ' ' {
		return "", nil, fmt.Errorf("%w: %q after the auth-scheme", ErrMalformedHeader, rest[0])
	}
	rest = strings.TrimLeft(rest, " ")
	if n := token68Len(rest); n == 0 || n != len(rest) {
		return "", nil, fmt.Errorf("%w: the credentials after %q are not one base64 token", ErrMalformedHeader, bound(scheme))
	}
	token, err = decodeToken(rest)
	if err != nil {
		return "", nil, err
	}
	return scheme, token, nil
}

// FormatHeader formats "<scheme> <base64 of token>", or the scheme alone when token is
// empty: the value of an Authorization header, or of one WWW-Authenticate challenge.
func FormatHeader(scheme string, token []byte) string {
	if len(token) == 0 {
		return scheme
	}
	var b strings.Builder
	b.Grow(len(scheme) + 1 + base64.StdEncoding.EncodedLen(len(token)))
	b.WriteString(scheme)
	b.WriteByte(' ')
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	enc.Write(token)
	enc.Close()
	return b.String()
}

// decodeToken decodes standard base64, padded or (as a few clients send it) not.
func decodeToken(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: token is not base64: %v", ErrMalformedHeader, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty token", ErrMalformedHeader)
	}
	return b, nil
}

// parseChallengeList parses one header value: a comma-separated list of challenges, of
// which empty elements are skipped (RFC 7230 section 7), at most limit of them.
func parseChallengeList(v string, limit int) ([]Challenge, error) {
	if len(v) > MaxHeaderLength {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrHeaderTooLong, len(v), MaxHeaderLength)
	}
	var out []Challenge
	p := v
	for {
		p = skipListSeparators(p)
		if p == "" {
			return out, nil
		}
		if len(out) >= limit {
			return nil, fmt.Errorf("%w: more than %d challenges", ErrHeaderTooLong, MaxChallenges)
		}
		var c Challenge
		var err error
		c, p, err = parseChallenge(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// parseChallenge parses one challenge at the start of p and returns the rest, which is
// empty or starts with the comma that ends the challenge.
func parseChallenge(p string) (Challenge, string, error) {
	n := tokenLen(p)
	if n == 0 {
		return Challenge{}, "", fmt.Errorf("%w: expected an auth-scheme at %q", ErrMalformedHeader, bound(p))
	}
	c := Challenge{Scheme: p[:n]}
	p = p[n:]
	if p == "" || p[0] == ',' {
		return c, p, nil
	}
	if p[0] != ' ' && p[0] != '\t' {
		return Challenge{}, "", fmt.Errorf("%w: %q after the auth-scheme %q", ErrMalformedHeader, p[0], bound(c.Scheme))
	}
	p = trimOWS(p)
	if p == "" || p[0] == ',' {
		return c, p, nil
	}
	// A token68 is followed by the end or a comma; an auth-param's name by "=" and a value.
	if t := token68Len(p); t > 0 {
		if rest := trimOWS(p[t:]); rest == "" || rest[0] == ',' {
			if !isParamStart(p) || p[t-1] == '=' {
				c.Token68 = p[:t]
				return c, rest, nil
			}
		}
	}
	return parseParams(c, p)
}

// isParamStart reports whether p starts with "token =" followed by a value, which makes
// it an auth-param rather than a token68 ending in "=" padding.
func isParamStart(p string) bool {
	n := tokenLen(p)
	if n == 0 {
		return false
	}
	rest := trimOWS(p[n:])
	if rest == "" || rest[0] != '=' {
		return false
	}
	rest = trimOWS(rest[1:])
	return rest != "" && rest[0] != ','
}

// parseParams parses the auth-params of c, up to the comma that starts the next
// challenge (a comma followed by something that is not "name=").
func parseParams(c Challenge, p string) (Challenge, string, error) {
	c.Params = make(map[string]string)
	for {
		n := tokenLen(p)
		if n == 0 {
			return Challenge{}, "", fmt.Errorf("%w: expected an auth-param of %q at %q", ErrMalformedHeader, bound(c.Scheme), bound(p))
		}
		name := strings.ToLower(p[:n])
		p = trimOWS(p[n:])
		if p == "" || p[0] != '=' {
			return Challenge{}, "", fmt.Errorf("%w: auth-param %q of %q has no value", ErrMalformedHeader, bound(name), bound(c.Scheme))
		}
		p = trimOWS(p[1:])
		var val string
		var err error
		val, p, err = parseParamValue(p)
		if err != nil {
			return Challenge{}, "", err
		}
		if len(c.Params) >= maxParams {
			return Challenge{}, "", fmt.Errorf("%w: more than %d auth-params", ErrHeaderTooLong, maxParams)
		}
		if _, dup := c.Params[name]; dup {
			return Challenge{}, "", fmt.Errorf("%w: auth-param %q of %q given twice", ErrMalformedHeader, bound(name), bound(c.Scheme))
		}
		c.Params[name] = val
		p = trimOWS(p)
		if p == "" {
			return c, p, nil
		}
		if p[0] != ',' {
			return Challenge{}, "", fmt.Errorf("%w: %q after an auth-param of %q", ErrMalformedHeader, p[0], bound(c.Scheme))
		}
		next := skipListSeparators(p)
		if next == "" || !isParamStart(next) {
			return c, p, nil
		}
		p = next
	}
}

// parseParamValue parses a token or a quoted-string.
func parseParamValue(p string) (val, rest string, err error) {
	if p != "" && p[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(p); i++ {
			switch ch := p[i]; {
			case ch == '"':
				return b.String(), p[i+1:], nil
			case ch == '\\' && i+1 < len(p):
				i++
				b.WriteByte(p[i])
			case ch < ' ' && ch != '\t' || ch == 0x7f:
				return "", "", fmt.Errorf("%w: control byte in a quoted-string", ErrMalformedHeader)
			default:
				b.WriteByte(ch)
			}
		}
		return "", "", fmt.Errorf("%w: unterminated quoted-string", ErrMalformedHeader)
	}
	n := tokenLen(p)
	if n == 0 {
		return "", "", fmt.Errorf("%w: auth-param value expected at %q", ErrMalformedHeader, bound(p))
	}
	return p[:n], p[n:], nil
}

func skipListSeparators(p string) string {
	for p != "" && (p[0] == ',' || p[0] == ' ' || p[0] == '\t') {
		p = p[1:]
	}
	return p
}

func trimOWS(p string) string { return strings.TrimLeft(p, " \t") }

func tokenLen(p string) int {
	i := 0
	for i < len(p) && isTokenChar(p[i]) {
		i++
	}
	return i
}

// token68Len is the length of the token68 at the start of p, 0 if none.
func token68Len(p string) int {
	i := 0
	for i < len(p) && isToken68Char(p[i]) {
		i++
	}
	if i == 0 {
		return 0
	}
	for i < len(p) && p[i] == '=' {
		i++
	}
	return i
}

// isTokenChar reports whether ch is a tchar of RFC 7230 section 3.2.6.
func isTokenChar(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
}

func isToken68Char(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", ch) >= 0
}

// bound limits text copied from the wire into an error to 64 bytes.
func bound(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
