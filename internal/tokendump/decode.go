package tokendump

import (
	"bytes"
	"strings"

	"github.com/gosspi/sspi/internal/der"
	"github.com/gosspi/sspi/internal/krb5/keytab"
)

// Options give Decode what it needs beyond the token.
type Options struct {
	// Keytab holds service keys: a ticket for one of its principals is decrypted, and with
	// the ticket's session key the authenticator.
	Keytab *keytab.Keytab
	// Password and Principal ("HTTP/web.example.com@EXAMPLE.COM") are a service account's
	// password and name, whose keys (salted with the name) decrypt its tickets: an
	// alternative to Keytab.
	Password, Principal string
	// PAC decodes an AD-WIN2K-PAC authorization element (MS-PAC) into the node it is given;
	// nil lists the PAC's buffers by type and size only.
	PAC func(d *Builder, pac []byte)
}

// LoadKeytab reads a keytab file (MIT's format; a "FILE:" prefix is allowed) for
// Options.Keytab.
func LoadKeytab(path string) (*keytab.Keytab, error) {
	return keytab.Load(strings.TrimPrefix(path, "FILE:"))
}

// Builder is what an Options.PAC hook writes into: fields of the node being decoded.
type Builder = builder

// Add adds a text field.
func (d *builder) Add(name, value string) { d.add(name, value) }

// Fail records why decoding stopped.
func (d *builder) Fail(format string, args ...any) { d.fail(format, args...) }

// Child adds a nested node.
func (d *builder) Child(name, typ string) *Builder { return d.child(name, typ) }

// Decode decodes token, detecting its type from its first bytes. It never fails: a
// token it cannot place is shown as "unknown" with its first bytes, and a malformed one
// as far as it goes, with Node.Error. opts may be nil.
func Decode(token []byte, opts *Options) *Node {
	if opts == nil {
		opts = &Options{}
	}
	root := &Node{}
	d := &builder{n: root, b: &budget{fields: maxFields}, opts: opts}
	if len(token) > MaxInput {
		root.Type = "token"
		d.fail("%d bytes is more than the %d this tool reads", len(token), MaxInput)
		return root
	}
	d.token(token)
	return root
}

// token decodes one token of any kind into d's node.
func (d *builder) token(b []byte) {
	if d.depth > maxDepth {
		d.n.Type = "token"
		d.fail("nested more than %d levels deep", maxDepth)
		return
	}
	switch {
	case bytes.HasPrefix(b, []byte("NTLMSSP\x00")):
		d.ntlm(b)
	case len(b) > 0 && b[0] == der.TagApplication:
		d.gssFramed(b)
	case len(b) > 0 && (b[0] == 0xa0 || b[0] == 0xa1):
		d.spnego(b)
	case len(b) > 0 && krbAppTag(b[0]) != 0:
		d.kerberos(b)
	case len(b) > 0 && b[0] == der.TagSequence:
		d.tsRequest(b)
	case isTLSRecord(b):
		d.tls(b)
	case len(b) >= 2 && (b[0] == 0x04 || b[0] == 0x05) && b[1] == 0x04:
		d.cfxToken(b)
	default:
		d.n.Type = "unknown token"
		d.addHex("bytes", b)
		d.fail("not NTLM, SPNEGO, Kerberos, a TSRequest or TLS records")
	}
}

// gssFramed decodes an RFC 2743 3.1 InitialContextToken by its mechanism.
func (d *builder) gssFramed(b []byte) {
	mech, inner, err := der.ParseGSSToken(b)
	if err != nil {
		d.n.Type = "GSS-API InitialContextToken"
		d.fail("%v", err)
		return
	}
	switch {
	case mech.Equal(oidSPNEGO):
		d.spnego(inner)
		d.n.Type += " (GSS-API framing)"
	case mech.Equal(oidKRB5) || mech.Equal(oidMSKRB5) || mech.Equal(oidKRB5U2U):
		d.krb5Framed(mech, inner)
	case bytes.HasPrefix(inner, []byte("NTLMSSP\x00")):
		d.ntlm(inner)
		d.n.Type += " (GSS-API framing)"
	default:
		d.n.Type = "GSS-API InitialContextToken"
		d.add("mech", oidName(mech))
		d.addHex("innerToken", inner)
	}
}

// krb5Framed decodes RFC 1964 1.1's framing: the mechanism, a two-byte token ID and a
// Kerberos message.
func (d *builder) krb5Framed(mech der.OID, inner []byte) {
	if len(inner) < 2 {
		d.n.Type = "Kerberos GSS token"
		d.fail("no token ID")
		return
	}
	id := uint16(inner[0])<<8 | uint16(inner[1])
	d.kerberos(inner[2:])
	d.n.Type += " (GSS-API framing)"
	fields := d.n.Fields
	d.n.Fields = nil
	d.add("mech", oidName(mech))
	d.addf("tokID", "%04x (%s)", id, krbTokIDName(id))
	d.n.Fields = append(d.n.Fields, fields...)
}

func krbTokIDName(id uint16) string {
	switch id {
	case 0x0100:
		return "KRB_AP_REQ"
	case 0x0200:
		return "KRB_AP_REP"
	case 0x0300:
		return "KRB_ERROR"
	case 0x0400:
		return "TGT-REQ (user-to-user)"
	}
	return "unknown"
}

// sub decodes a nested token into a new field.
func (d *builder) sub(name string, b []byte) {
	c := d.child(name, "")
	c.token(b)
}
