package tokendump

import (
	"encoding/asn1"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosspi/sspi/internal/der"
)

// spnego decodes a NegotiationToken (RFC 4178 4.2): [0] NegTokenInit (or MS-SPNG's
// NegTokenInit2) or [1] NegTokenResp.
func (d *builder) spnego(b []byte) {
	s := cryptobyte.String(b)
	var body cryptobyte.String
	switch {
	case s.PeekASN1Tag(der.ContextTag(0)):
		d.n.Type = "SPNEGO NegTokenInit"
		if !s.ReadASN1(&body, der.ContextTag(0)) || !body.ReadASN1(&body, cbasn1.SEQUENCE) {
			d.fail("malformed NegTokenInit")
			return
		}
		d.negTokenInit(body)
	case s.PeekASN1Tag(der.ContextTag(1)):
		d.n.Type = "SPNEGO NegTokenResp"
		if !s.ReadASN1(&body, der.ContextTag(1)) || !body.ReadASN1(&body, cbasn1.SEQUENCE) {
			d.fail("malformed NegTokenResp")
			return
		}
		d.negTokenResp(body)
	default:
		d.n.Type = "SPNEGO token"
		d.fail("neither the NegTokenInit [0] nor the NegTokenResp [1] choice")
		return
	}
	if !s.Empty() {
		d.fail("%d trailing bytes", len(s))
	}
}

func (d *builder) negTokenInit(s cryptobyte.String) {
	var f cryptobyte.String
	var present bool
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(0)) && present {
		d.mechTypes(f)
	}
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(1)) && present {
		var bits asn1.BitString
		if f.ReadASN1BitString(&bits) {
			d.add("reqFlags", contextFlags(bits))
		}
	}
	if oct, ok := readOctets(&s, 2); ok {
		d.sub("mechToken", oct)
	}
	// [3] is mechListMIC in RFC 4178 and negHints (a SEQUENCE) in NegTokenInit2.
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(3)) && present {
		if f.PeekASN1Tag(cbasn1.SEQUENCE) {
			d.n.Type = "SPNEGO NegTokenInit2"
			d.negHints(f)
		} else if oct, ok := octets(f); ok {
			d.addHex("mechListMIC", oct)
		}
	}
	if oct, ok := readOctets(&s, 4); ok {
		d.addHex("mechListMIC", oct)
	}
	if !s.Empty() {
		d.fail("unknown or malformed field %s", tagOf(s))
	}
}

func (d *builder) mechTypes(f cryptobyte.String) {
	var list cryptobyte.String
	if !f.ReadASN1(&list, cbasn1.SEQUENCE) {
		d.fail("malformed mechTypes")
		return
	}
	var mechs []string
	for !list.Empty() && len(mechs) < 64 {
		var o der.OID
		if !der.ReadOID(&list, &o) {
			d.fail("malformed OID in mechTypes")
			break
		}
		mechs = append(mechs, oidName(o))
	}
	d.add("mechTypes", strings.Join(mechs, ", "))
}

func (d *builder) negHints(f cryptobyte.String) {
	var seq, v cryptobyte.String
	var present bool
	if !f.ReadASN1(&seq, cbasn1.SEQUENCE) {
		d.fail("malformed negHints")
		return
	}
	if seq.ReadOptionalASN1(&v, &present, der.ContextTag(0)) && present {
		var name cryptobyte.String
		if v.ReadASN1(&name, cbasn1.Tag(der.TagGeneral)) {
			d.add("hintName", string(name))
		}
	}
	if oct, ok := readOctets(&seq, 1); ok {
		d.addHex("hintAddress", oct)
	}
}

var negStateNames = []string{"accept-completed", "accept-incomplete", "reject", "request-mic"}

func (d *builder) negTokenResp(s cryptobyte.String) {
	var f cryptobyte.String
	var present bool
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(0)) && present {
		var st int64
		if f.ReadASN1Int64WithTag(&st, cbasn1.ENUM) {
			if st >= 0 && st < int64(len(negStateNames)) {
				d.addf("negState", "%d (%s)", st, negStateNames[st])
			} else {
				d.addf("negState", "%d (unknown)", st)
			}
		}
	}
	if s.ReadOptionalASN1(&f, &present, der.ContextTag(1)) && present {
		var o der.OID
		if der.ReadOID(&f, &o) {
			d.add("supportedMech", oidName(o))
		}
	}
	if oct, ok := readOctets(&s, 2); ok {
		d.sub("responseToken", oct)
	}
	if oct, ok := readOctets(&s, 3); ok {
		d.addHex("mechListMIC", oct)
	}
	if !s.Empty() {
		d.fail("unknown or malformed field %s", tagOf(s))
	}
}

// readOctets reads an optional [tag] OCTET STRING; ok is false when it is absent or
// malformed.
func readOctets(s *cryptobyte.String, tag int) ([]byte, bool) {
	var f cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&f, &present, der.ContextTag(tag)) || !present {
		return nil, false
	}
	return octets(f)
}

func octets(f cryptobyte.String) ([]byte, bool) {
	var v cryptobyte.String
	if !f.ReadASN1(&v, cbasn1.OCTET_STRING) {
		return nil, false
	}
	return v, true
}

func tagOf(s cryptobyte.String) string {
	if len(s) == 0 {
		return "(none)"
	}
	return fmt.Sprintf("with tag 0x%02x", s[0])
}

var contextFlagNames = []string{"delegFlag", "mutualFlag", "replayFlag", "sequenceFlag", "anonFlag", "confFlag", "integFlag"}

func contextFlags(bits asn1.BitString) string {
	var set []string
	for i, n := range contextFlagNames {
		if bits.At(i) == 1 {
			set = append(set, n)
		}
	}
	return strings.Join(set, " | ")
}
