package ntlmssp

import "unicode"

func toUpper(r rune) rune { return unicode.ToUpper(r) }
