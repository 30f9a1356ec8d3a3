package tokendump

import (
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosspi/sspi/internal/der"
)

// tsRequest decodes CredSSP's TSRequest (MS-CSSP 2.2.1): the version, which fields are
// present, and the negoToken decoded in turn. authInfo and pubKeyAuth are encrypted with
// the SPNEGO context's keys, so only their sizes are shown.
func (d *builder) tsRequest(b []byte) {
	d.n.Type = "CredSSP TSRequest"
	in := cryptobyte.String(b)
	var s, v cryptobyte.String
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) {
		d.fail("not a DER SEQUENCE")
		return
	}
	var version int64
	if !s.ReadASN1(&v, der.ContextTag(0)) || !v.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) {
		d.n.Type = "DER SEQUENCE"
		d.fail("not a TSRequest: no [0] version")
		return
	}
	d.addf("version", "%d", version)
	var f cryptobyte.String
	var present bool
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(1)) && present {
		d.negoTokens(f)
	}
	if oct, ok := readOctets(&s, 2); ok {
		d.addf("authInfo", "(%d bytes, encrypted TSCredentials)", len(oct))
	}
	if oct, ok := readOctets(&s, 3); ok {
		d.addf("pubKeyAuth", "(%d bytes, encrypted public key or its hash)", len(oct))
	}
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(4)) && present {
		var code int64
		if f.ReadASN1Int64WithTag(&code, cbasn1.INTEGER) {
			d.add("errorCode", ntstatusName(uint32(code)))
		}
	}
	if oct, ok := readOctets(&s, 5); ok {
		d.addHex("clientNonce", oct)
	}
	if !s.Empty() {
		d.fail("unknown or malformed field %s", tagOf(s))
	}
	if !in.Empty() {
		d.fail("%d trailing bytes", len(in))
	}
}

func (d *builder) negoTokens(f cryptobyte.String) {
	var list cryptobyte.String
	if !f.ReadASN1(&list, cbasn1.SEQUENCE) {
		d.fail("malformed negoTokens")
		return
	}
	for i := 0; !list.Empty() && i < 16; i++ {
		var item cryptobyte.String
		if !list.ReadASN1(&item, cbasn1.SEQUENCE) {
			d.fail("malformed negoTokens entry")
			return
		}
		if tok, ok := readOctets(&item, 0); ok {
			d.sub("negoToken", tok)
		}
	}
}

var ntstatusNames = map[uint32]string{
	0x00000000: "STATUS_SUCCESS", 0xC000006D: "STATUS_LOGON_FAILURE", 0xC000006A: "STATUS_WRONG_PASSWORD",
	0xC0000064: "STATUS_NO_SUCH_USER", 0xC0000072: "STATUS_ACCOUNT_DISABLED",
	0xC0000234: "STATUS_ACCOUNT_LOCKED_OUT", 0xC0000071: "STATUS_PASSWORD_EXPIRED",
	0xC0000224: "STATUS_PASSWORD_MUST_CHANGE", 0xC0000022: "STATUS_ACCESS_DENIED",
	0xC000015B: "STATUS_LOGON_TYPE_NOT_GRANTED", 0xC0000133: "STATUS_TIME_DIFFERENCE_AT_DC",
	0xC00000BB: "STATUS_NOT_SUPPORTED", 0xC0000001: "STATUS_UNSUCCESSFUL",
}

func ntstatusName(c uint32) string { return numbered(ntstatusNames, c, "0x%08x") }
