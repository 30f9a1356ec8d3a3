package tokendump

import (
	"encoding/binary"
	"fmt"
	"strings"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/pac"
	"github.com/gosspi/sspi/internal/krb5/wire"
	"github.com/gosspi/sspi/internal/ndr"
)

// ticketContext is what a PAC inside a decrypted ticket is checked against: the key that
// decrypted the ticket (the service's, which made the server signature) and the ticket's
// client and authtime (which PAC_CLIENT_INFO must repeat).
type ticketContext struct {
	key  *krbcrypto.Key
	part *wire.EncTicketPart
}

// pac hands the PAC to Options.PAC when set; otherwise it lists PACTYPE's buffers
// (MS-PAC 2.3, 2.4) and decodes them with internal/krb5/pac. A PAC that package refuses
// is listed as far as its buffer table goes, with the reason.
func (d *builder) pac(c *builder, b []byte) {
	if d.opts.PAC != nil {
		d.opts.PAC(c, b)
		return
	}
	if !c.pacTable(b) {
		return
	}
	p, err := pac.Parse(b)
	if err != nil {
		c.fail("%v", err)
		return
	}
	if v := p.LogonInfo; v != nil {
		c.logonInfo(c.child("logon info", "KERB_VALIDATION_INFO (MS-PAC 2.5)"), v)
	}
	if ci := p.ClientInfo; ci != nil {
		n := c.child("client info", "PAC_CLIENT_INFO (MS-PAC 2.7)")
		n.add("name", ci.Name)
		n.add("clientId", fileTime(ci.ClientID))
		if t := c.ticket; t != nil {
			if err := p.CheckClient(t.part.CName.Components, t.part.CRealm, t.part.AuthTime); err != nil {
				n.add("matches the ticket", "no: "+err.Error())
			} else {
				n.add("matches the ticket", "yes (client name and authtime)")
			}
		}
	}
	if u := p.UPNDNSInfo; u != nil {
		n := c.child("UPN and DNS info", "UPN_DNS_INFO (MS-PAC 2.10)")
		n.add("upn", u.UPN)
		n.add("dnsDomainName", u.DNSDomainName)
		n.add("flags", names(uint64(u.Flags), upnFlagNames))
		if u.Flags&pac.UPNFlagExtended != 0 {
			n.add("samName", u.SAMName)
			n.add("sid", sidString(u.SID))
		}
	}
	if p.RequestorSID != nil {
		c.add("requestor", p.RequestorSID.String())
	}
	c.pacSignatures(p)
}

// pacTable lists the buffer table; it reports whether the table was whole.
func (c *builder) pacTable(b []byte) bool {
	if len(b) < 8 {
		c.fail("%d bytes, shorter than the PACTYPE header", len(b))
		return false
	}
	count, version := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	c.addf("version", "%d", version)
	c.addf("buffers", "%d", count)
	for i := uint32(0); i < count && i < pac.MaxBuffers; i++ {
		off := 8 + int(i)*16
		if off+16 > len(b) {
			c.fail("buffer %d runs past the PAC", i)
			return false
		}
		typ := binary.LittleEndian.Uint32(b[off:])
		size := binary.LittleEndian.Uint32(b[off+4:])
		at := binary.LittleEndian.Uint64(b[off+8:])
		name := pacBufferNames[typ]
		if name == "" {
			name = "unknown"
		}
		c.addf(fmt.Sprintf("buffer %d", i), "type %d (%s), %d bytes at offset %d", typ, name, size, at)
	}
	return true
}

func (c *builder) logonInfo(n *builder, v *pac.ValidationInfo) {
	n.add("effectiveName", v.EffectiveName)
	if v.FullName != "" {
		n.add("fullName", v.FullName)
	}
	n.add("logonDomainName", v.LogonDomainName)
	n.add("logonServer", v.LogonServer)
	n.add("logonDomainId", sidString(v.LogonDomainID))
	if s, ok := v.UserSID(); ok {
		n.addf("user", "%s (RID %d)", s, v.UserID)
	} else {
		n.addf("userId", "%d", v.UserID)
	}
	if s, ok := v.PrimaryGroupSID(); ok {
		n.addf("primaryGroup", "%s (RID %d)", s, v.PrimaryGroupID)
	}
	for i, g := range v.Groups() {
		n.addf(fmt.Sprintf("group %d", i), "%s %s", g.SID, names(uint64(g.Attributes), groupAttrNames))
	}
	n.add("userFlags", names(uint64(v.UserFlags), userFlagNames))
	n.addf("userAccountControl", "0x%08x", v.UserAccountControl)
	n.add("logonTime", fileTime(v.LogonTime))
	n.add("passwordLastSet", fileTime(v.PasswordLastSet))
	n.add("passwordMustChange", fileTime(v.PasswordMustChange))
	n.add("kickOffTime", fileTime(v.KickOffTime))
	n.addf("logonCount", "%d", v.LogonCount)
	n.addf("badPasswordCount", "%d", v.BadPasswordCount)
	for _, s := range []struct {
		name, value string
	}{{"logonScript", v.LogonScript}, {"profilePath", v.ProfilePath}, {"homeDirectory", v.HomeDirectory}, {"homeDirectoryDrive", v.HomeDirectoryDrive}} {
		if s.value != "" {
			n.add(s.name, s.value)
		}
	}
}

// pacSignatures shows each signature's checksum type and, with the key that decrypted
// the ticket, whether the server signature verifies. The KDC signatures need the krbtgt
// key, which a service does not have.
func (c *builder) pacSignatures(p *pac.PAC) {
	for _, s := range []struct {
		name string
		sig  *pac.Signature
	}{{"server signature", p.ServerSignature}, {"KDC signature", p.KDCSignature},
		{"ticket signature", p.TicketSignature}, {"full PAC signature", p.FullSignature}} {
		if s.sig == nil {
			continue
		}
		v := fmt.Sprintf("%s, %s", checksumName(s.sig.Type), hexValue(s.sig.Value))
		if s.sig.HasRODCIdentifier {
			v += fmt.Sprintf(", RODC identifier %d", s.sig.RODCIdentifier)
		}
		c.add(s.name, v)
	}
	t := c.ticket
	switch {
	case t == nil:
		c.add("server signature verified", "no: the PAC is not in a ticket this tool decrypted")
	case p.ServerSignature == nil:
	default:
		if err := p.VerifyServer(t.key); err != nil {
			c.add("server signature verified", "NO: "+strings.TrimPrefix(err.Error(), "pac: "))
		} else {
			c.add("server signature verified", "yes, with the key that decrypted the ticket")
		}
	}
}

func sidString(s *ndr.SID) string {
	if s == nil {
		return "(absent)"
	}
	return s.String()
}

// fileTime formats a FILETIME as KERB_VALIDATION_INFO uses them: 0 is "not set".
func fileTime(t pac.FileTime) string {
	switch {
	case t == 0:
		return "(not set)"
	case t.Never():
		return "never"
	}
	return krbTime(t.Time())
}

var checksumNames = map[int32]string{
	krbcrypto.ChecksumHMACSHA196AES128: "hmac-sha1-96-aes128", krbcrypto.ChecksumHMACSHA196AES256: "hmac-sha1-96-aes256",
	krbcrypto.ChecksumHMACSHA256128AES128: "hmac-sha256-128-aes128", krbcrypto.ChecksumHMACSHA384192AES256: "hmac-sha384-192-aes256",
	krbcrypto.ChecksumHMACMD5: "hmac-md5 (rc4)",
}

func checksumName(t int32) string {
	if n, ok := checksumNames[t]; ok {
		return fmt.Sprintf("type %d (%s)", t, n)
	}
	return fmt.Sprintf("type %d (unknown)", t)
}

var groupAttrNames = []bitName{
	{pac.GroupMandatory, "mandatory"}, {pac.GroupEnabledByDefault, "enabled-by-default"},
	{pac.GroupEnabled, "enabled"}, {pac.GroupOwner, "owner"}, {pac.GroupResource, "resource"},
}

var userFlagNames = []bitName{
	{pac.UserFlagGuest, "guest"}, {pac.UserFlagNoEncryption, "no-encryption"},
	{pac.UserFlagExtraSIDs, "extra-sids"}, {pac.UserFlagResourceGroups, "resource-groups"},
}

var upnFlagNames = []bitName{{pac.UPNFlagNoUPN, "no-upn"}, {pac.UPNFlagExtended, "extended (SAM name and SID)"}}
