// Package wiretext bounds text that came from a peer before it goes into an error or a log
// line. A hostile peer chooses names (a ticket's service name, an NTLM user or domain) and
// their length; copied as they are, a 64 KiB token becomes a 64 KiB log line, and control
// characters can forge log records. Every package that puts wire text into errors uses
// these helpers, so the bound is the same everywhere.
package wiretext

import (
	"strconv"
	"unicode/utf8"
)

const (
	// MaxName bounds a name (a principal, a user, a domain, a host) in error text.
	MaxName = 128
	// MaxCause bounds a whole cause in a log line.
	MaxCause = 512
)

// Name returns s as it is when it is at most MaxName bytes of printable text, which is what
// every real name is; otherwise it returns Quote(s, MaxName), so the reader sees the name was
// odd, its start, and how long it was.
func Name(s string) string {
	if len(s) <= MaxName && plain(s) {
		return s
	}
	return Quote(s, MaxName)
}

// Quote returns s Go-quoted (control and invalid bytes escaped) after cutting it to at most
// max bytes at a rune boundary; a cut string is followed by how many bytes were left out,
// as in "aaaa"…(+1000 bytes). The result is at most about 4*max+24 bytes.
func Quote(s string, max int) string {
	cut := Cut(s, max)
	q := strconv.Quote(cut)
	if len(cut) < len(s) {
		q += "…(+" + strconv.Itoa(len(s)-len(cut)) + " bytes)"
	}
	return q
}

// Cut returns the longest prefix of s of at most max bytes that does not end inside a
// UTF-8 sequence.
func Cut(s string, max int) string {
	if max < 0 {
		max = 0
	}
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Bound returns s when it is at most max bytes, otherwise its prefix cut by Cut and marked
// with how many bytes were left out. It does not escape: use it for text this program wrote
// (an error chain) whose parts from the wire went through Name or Quote.
func Bound(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := Cut(s, max)
	return cut + "…(+" + strconv.Itoa(len(s)-len(cut)) + " bytes)"
}

// plain reports whether s is valid UTF-8 with only printable characters and no double
// quote, which would make it ambiguous in a message. Backslashes stay: NTLM writes
// DOMAIN\user.
func plain(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r == '"' || !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}
