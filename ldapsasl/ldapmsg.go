package ldapsasl

import (
	"errors"
	"fmt"
)

// The LDAP framing this package must understand: just enough of an LDAPMessage (RFC 4511
// section 4.1.1) to see where the server's answer to the last bind request ends and whether
// it says success, because the security layer starts right after it (RFC 4752 section
// 3.1: "the security layer takes effect ... after the bind completes").

const (
	berSequence      = 0x30
	berInteger       = 0x02
	berEnumerated    = 0x0a
	ldapBindResponse = 0x61 // [APPLICATION 1], constructed
	maxBindResponse  = 1 << 20
)

var errShort = errors.New("ldapsasl: short LDAP message")

// bindResult is what the client needs of the server's last bind response.
type bindResult struct {
	size   int  // the LDAPMessage's length with its tag and length octets
	isBind bool // the protocolOp is a BindResponse
	code   int  // its resultCode (0 is success)
}

// parseBindResult reads the LDAPMessage at the start of b. It returns errShort while b
// does not yet hold the whole message, and another error when b is not an LDAPMessage.
func parseBindResult(b []byte) (bindResult, error) {
	hdr, n, err := berHeader(b, berSequence)
	if err != nil {
		return bindResult{}, err
	}
	size := hdr + n
	if len(b) < size {
		return bindResult{}, errShort
	}
	r := bindResult{size: size}
	body := b[hdr:size]
	id, rest, err := berElement(body, berInteger)
	if err != nil || len(id) == 0 || len(id) > 4 {
		return bindResult{}, errors.New("ldapsasl: malformed LDAPMessage: bad messageID")
	}
	if len(rest) == 0 || rest[0] != ldapBindResponse {
		return r, nil // an unsolicited notification, say: not the bind's answer
	}
	op, _, err := berElement(rest, ldapBindResponse)
	if err != nil {
		return bindResult{}, fmt.Errorf("ldapsasl: malformed BindResponse: %w", err)
	}
	code, _, err := berElement(op, berEnumerated)
	if err != nil || len(code) == 0 || len(code) > 4 {
		return bindResult{}, errors.New("ldapsasl: malformed BindResponse: bad resultCode")
	}
	r.isBind = true
	for _, c := range code {
		r.code = r.code<<8 | int(c)
	}
	return r, nil
}

// berHeader reads the tag and length octets of a BER element with the given tag at the
// start of b (definite lengths only, as LDAP requires) and returns their size and the
// content's length. It returns errShort when b ends inside them.
func berHeader(b []byte, tag byte) (hdr, n int, err error) {
	if len(b) < 2 {
		return 0, 0, errShort
	}
	if b[0] != tag {
		return 0, 0, fmt.Errorf("ldapsasl: BER tag %#02x, want %#02x", b[0], tag)
	}
	n, hdr = int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return 0, 0, fmt.Errorf("ldapsasl: BER length of %d octets", k)
		}
		if len(b) < 2+k {
			return 0, 0, errShort
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n > maxBindResponse {
		return 0, 0, fmt.Errorf("ldapsasl: BER length %d, more than %d", n, maxBindResponse)
	}
	return hdr, n, nil
}

// berElement reads a whole BER element with the given tag at the start of b and returns
// its content and what follows it.
func berElement(b []byte, tag byte) (content, rest []byte, err error) {
	hdr, n, err := berHeader(b, tag)
	if err != nil {
		return nil, nil, err
	}
	if len(b) < hdr+n {
		return nil, nil, fmt.Errorf("ldapsasl: BER element of %d octets in %d", hdr+n, len(b))
	}
	return b[hdr : hdr+n], b[hdr+n:], nil
}
