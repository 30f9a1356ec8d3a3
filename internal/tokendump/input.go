package tokendump

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Input turns what a user pastes or a file holds into token bytes: base64 (standard
// or URL alphabet, padded or not), hex (with or without spaces, colons or a 0x prefix),
// or the bytes as they are. An HTTP header's scheme ("Authorization: Negotiate <b64>",
// "NTLM <b64>", "Kerberos <b64>") is stripped first. encoding says which was found.
func Input(raw []byte) (token []byte, encoding string, err error) {
	if len(raw) > 4*MaxInput {
		return nil, "", fmt.Errorf("tokendump: input of %d bytes is larger than %d", len(raw), 4*MaxInput)
	}
	text := strings.TrimSpace(string(raw))
	if isText(text) {
		text = stripScheme(stripComments(text))
		compact := strings.Join(strings.Fields(text), "")
		if h, ok := decodeHex(compact); ok {
			return h, "hex", nil
		}
		if b, ok := decodeBase64(compact); ok {
			return b, "base64", nil
		}
	}
	if len(raw) == 0 {
		return nil, "", errors.New("tokendump: empty input")
	}
	return raw, "binary", nil
}

func isText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return false
		}
	}
	return true
}

// stripScheme removes "Header-Name:" and an authentication scheme word.
func stripScheme(s string) string {
	if name, rest, ok := strings.Cut(s, ":"); ok && !strings.ContainsAny(name, " \t") && strings.Contains(strings.ToLower(name), "auth") {
		s = strings.TrimSpace(rest)
	}
	for _, scheme := range []string{"Negotiate", "NTLM", "Kerberos", "CredSSP"} {
		if len(s) > len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) && (s[len(scheme)] == ' ' || s[len(scheme)] == '\t') {
			return strings.TrimSpace(s[len(scheme):])
		}
	}
	return s
}

func decodeHex(s string) ([]byte, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	s = strings.NewReplacer(":", "", "-", "").Replace(s)
	if len(s) == 0 || len(s)%2 != 0 {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// stripComments drops "#" comment lines, as in gosspi's testdata hex files.
func stripComments(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
