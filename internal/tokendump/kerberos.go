package tokendump

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	krbcrypto "github.com/gosspi/sspi/internal/krb5/crypto"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Kerberos key usages (RFC 4120 7.5.1).
const (
	usageTicket        = 2
	usageAuthenticator = 11
)

var krbMsgNames = map[int]string{
	wire.MsgASReq: "AS-REQ", wire.MsgASRep: "AS-REP", wire.MsgTGSReq: "TGS-REQ", wire.MsgTGSRep: "TGS-REP",
	wire.MsgAPReq: "AP-REQ", wire.MsgAPRep: "AP-REP", wire.MsgKRBCred: "KRB-CRED", wire.MsgKRBError: "KRB-ERROR",
}

// krbAppTag returns the Kerberos message type whose [APPLICATION n] tag c is, or 0.
func krbAppTag(c byte) int { return wire.MessageType([]byte{c}) }

// kerberos decodes a bare Kerberos message by its application tag.
func (d *builder) kerberos(b []byte) {
	t := wire.MessageType(b)
	switch t {
	case wire.MsgAPReq:
		d.apReq(b)
	case wire.MsgAPRep:
		d.n.Type = "Kerberos AP-REP"
		var r wire.APRep
		if err := r.Unmarshal(b); err != nil {
			d.fail("%v", err)
			return
		}
		d.encData("encPart", r.EncPart)
		d.add("note", "the encrypted part needs the AP-REQ's session key")
	case wire.MsgKRBError:
		d.krbError(b)
	case 0:
		d.n.Type = "Kerberos message"
		d.addHex("bytes", b)
		d.fail("not a Kerberos message")
	default:
		d.n.Type = "Kerberos " + krbMsgNames[t]
		d.addf("size", "%d bytes", len(b))
		d.add("note", "a KDC exchange, not a context token; not decoded further")
	}
}

func (d *builder) encData(name string, e wire.EncryptedData) {
	kvno := ""
	if e.HasKVNO {
		kvno = fmt.Sprintf(", kvno %d", e.KVNO)
	}
	d.addf(name, "etype %s%s, %d bytes of ciphertext", etypeName(e.EType), kvno, len(e.Cipher))
}

func (d *builder) apReq(b []byte) {
	d.n.Type = "Kerberos AP-REQ"
	var r wire.APReq
	if err := r.Unmarshal(b); err != nil {
		d.fail("%v", err)
		return
	}
	d.add("apOptions", names(uint64(r.Options), apOptionNames))
	t := d.child("ticket", "Ticket")
	t.add("realm", r.Ticket.Realm)
	t.add("sname", principal(r.Ticket.SName))
	t.encData("encPart", r.Ticket.EncPart)
	d.encData("authenticator", r.Authenticator)
	if d.opts.Keytab == nil && d.opts.Password == "" {
		return
	}
	key, err := d.serviceKey(r.Ticket)
	if err != nil {
		t.add("decrypted", "no: "+err.Error())
		return
	}
	plain, err := key.Decrypt(nil, r.Ticket.EncPart.Cipher, usageTicket)
	if err != nil {
		t.add("decrypted", "no: "+err.Error())
		return
	}
	var part wire.EncTicketPart
	if err := part.Unmarshal(plain); err != nil {
		t.add("decrypted", "no: "+err.Error())
		return
	}
	et := t.child("encPart (decrypted)", "EncTicketPart")
	et.ticket = &ticketContext{key: key, part: &part}
	d.encTicketPart(et, &part)
	session, err := krbcrypto.NewKey(krbcrypto.EType(part.Key.Type), part.Key.Value)
	if err != nil {
		d.add("authenticator (decrypted)", "no: "+err.Error())
		return
	}
	plain, err = session.Decrypt(nil, r.Authenticator.Cipher, usageAuthenticator)
	if err != nil {
		d.add("authenticator (decrypted)", "no: "+err.Error())
		return
	}
	var a wire.Authenticator
	if err := a.Unmarshal(plain); err != nil {
		d.add("authenticator (decrypted)", "no: "+err.Error())
		return
	}
	d.authenticator(d.child("authenticator (decrypted)", "Authenticator"), &a)
}

// serviceKey finds the key that decrypts ticket: from the keytab, or from the password
// salted with Options.Principal (RFC 3962 4's default salt: realm then name components).
func (d *builder) serviceKey(t wire.Ticket) (*krbcrypto.Key, error) {
	e := t.EncPart
	if d.opts.Keytab != nil {
		kvno := uint32(0)
		if e.HasKVNO {
			kvno = e.KVNO
		}
		ent, ok := d.opts.Keytab.Find(t.SName, t.Realm, kvno, e.EType)
		if !ok {
			return nil, fmt.Errorf("the keytab has no %s key (kvno %d) for %s@%s", etypeName(e.EType), kvno, principal(t.SName), t.Realm)
		}
		return krbcrypto.NewKey(krbcrypto.EType(ent.Key.Type), ent.Key.Value)
	}
	name, realm, _ := strings.Cut(d.opts.Principal, "@")
	if realm == "" {
		realm = t.Realm
	}
	if name == "" {
		return nil, fmt.Errorf("--password needs --principal, the account whose password it is (for the salt)")
	}
	salt := realm + strings.ReplaceAll(name, "/", "")
	return krbcrypto.StringToKey(krbcrypto.EType(e.EType), d.opts.Password, salt, nil)
}

func (d *builder) encTicketPart(c *builder, p *wire.EncTicketPart) {
	c.add("flags", names(uint64(p.Flags), ticketFlagNames))
	c.addf("key", "etype %s (%d bytes, not shown)", etypeName(p.Key.Type), len(p.Key.Value))
	c.add("client", principalAt(p.CName, p.CRealm))
	if len(p.Transited.Contents) > 0 {
		c.add("transited", string(p.Transited.Contents))
	}
	c.add("authtime", krbTime(p.AuthTime))
	if !p.StartTime.IsZero() {
		c.add("starttime", krbTime(p.StartTime))
	}
	c.add("endtime", krbTime(p.EndTime))
	if !p.RenewTill.IsZero() {
		c.add("renew-till", krbTime(p.RenewTill))
	}
	for _, a := range p.CAddr {
		c.addHex(fmt.Sprintf("caddr (type %d)", a.Type), a.Address)
	}
	if p.AuthData != nil {
		c.authData(c.child("authorization-data", "AuthorizationData"), p.AuthData)
	}
}

func (d *builder) authenticator(c *builder, a *wire.Authenticator) {
	c.add("client", principalAt(a.CName, a.CRealm))
	c.addf("ctime", "%s (+%d µs)", krbTime(a.CTime), a.CUsec)
	if a.SubKey != nil {
		c.addf("subkey", "etype %s (%d bytes, not shown)", etypeName(a.SubKey.Type), len(a.SubKey.Value))
	}
	if a.HasSeq {
		c.addf("seq-number", "%d", a.SeqNumber)
	}
	if a.Checksum != nil {
		if a.Checksum.Type == 0x8003 {
			c.child("cksum", "GSS-API checksum (RFC 4121 4.1.1, type 0x8003)").gssChecksum(a.Checksum.Value)
		} else {
			c.addf("cksum", "type %d, %s", a.Checksum.Type, hexValue(a.Checksum.Value))
		}
	}
	if a.AuthData != nil {
		c.authData(c.child("authorization-data", "AuthorizationData"), a.AuthData)
	}
}

// gssChecksum decodes RFC 4121 4.1.1's checksum: Lgth, the channel-binding hash, the
// context flags, and the delegated credentials when DELEG is set.
func (d *builder) gssChecksum(b []byte) {
	if len(b) < 24 {
		d.fail("%d bytes, shorter than 24", len(b))
		return
	}
	d.addf("Lgth", "%d", binary.LittleEndian.Uint32(b))
	bnd := b[4:20]
	if subtle.ConstantTimeCompare(bnd, make([]byte, 16)) == 1 {
		d.add("Bnd", "zero (no channel bindings)")
	} else {
		d.addHex("Bnd (MD5 of the channel bindings)", bnd)
	}
	flags := binary.LittleEndian.Uint32(b[20:])
	d.add("flags", names(uint64(flags), gssFlagNames))
	rest := b[24:]
	if flags&1 != 0 && len(rest) >= 4 {
		opt, n := binary.LittleEndian.Uint16(rest), int(binary.LittleEndian.Uint16(rest[2:]))
		d.addf("DlgOpt", "%d", opt)
		if n <= len(rest)-4 {
			d.sub("Deleg", rest[4:4+n])
			rest = rest[4+n:]
		} else {
			d.fail("Dlgth %d runs past the checksum", n)
			return
		}
	}
	if len(rest) > 0 {
		d.addHex("Exts", rest)
	}
}

func (d *builder) authData(c *builder, ads []wire.AuthorizationData) {
	for _, ad := range ads {
		switch ad.Type {
		case wire.ADIfRelevant:
			inner, err := wire.ParseAuthorizationData(ad.Data)
			n := c.child(adTypeName(ad.Type), "AuthorizationData")
			if err != nil {
				n.fail("%v", err)
				continue
			}
			if c.depth < maxDepth {
				c.authData(n, inner)
			}
		case 128:
			c.pac(c.child(adTypeName(ad.Type), "PAC (MS-PAC)"), ad.Data)
		default:
			c.addHex(adTypeName(ad.Type), ad.Data)
		}
	}
}

func (d *builder) krbError(b []byte) {
	d.n.Type = "Kerberos KRB-ERROR"
	var e wire.KRBError
	if err := e.Unmarshal(b); err != nil {
		d.fail("%v", err)
		return
	}
	d.add("error-code", krbErrorName(e.Code))
	if e.HasEText {
		d.add("e-text", e.EText)
	}
	d.add("stime", krbTime(e.STime))
	if !e.CTime.IsZero() {
		d.add("ctime", krbTime(e.CTime))
	}
	d.add("server", principalAt(e.SName, e.Realm))
	if e.CName != nil {
		d.add("client", principalAt(*e.CName, e.CRealm))
	}
	if e.EData != nil {
		d.edata(e.Code, e.EData)
	}
}

func (d *builder) edata(code int32, b []byte) {
	if code == wire.KDCErrPreauthRequired {
		if pa, err := wire.ParseMethodData(b); err == nil {
			var types []string
			for _, p := range pa {
				types = append(types, fmt.Sprintf("%d", p.Type))
			}
			d.add("e-data (METHOD-DATA padata types)", strings.Join(types, ", "))
			return
		}
	}
	if td, err := wire.ParseTypedData(b); err == nil {
		for _, t := range td {
			d.addHex(fmt.Sprintf("e-data (TYPED-DATA type %d)", t.Type), t.Value)
		}
		return
	}
	d.addHex("e-data", b)
}

func principal(n wire.PrincipalName) string {
	return fmt.Sprintf("%s (%s)", n.String(), nameTypeName(n.Type))
}

func principalAt(n wire.PrincipalName, realm string) string {
	return fmt.Sprintf("%s@%s (%s)", n.String(), realm, nameTypeName(n.Type))
}

func krbTime(t time.Time) string {
	if t.IsZero() {
		return "(absent)"
	}
	return t.UTC().Format(time.RFC3339)
}
