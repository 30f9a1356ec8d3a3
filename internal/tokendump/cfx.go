package tokendump

import "encoding/binary"

var cfxFlagNames = []bitName{{1, "SentByAcceptor"}, {2, "Sealed"}, {4, "AcceptorSubkey"}}

// cfxToken decodes the header of an RFC 4121 4.2.6 MIC (04 04) or Wrap (05 04) token.
// The checksum or ciphertext needs the context's key, so only its size is shown.
func (d *builder) cfxToken(b []byte) {
	if b[0] == 0x04 {
		d.n.Type = "Kerberos MIC token (RFC 4121)"
	} else {
		d.n.Type = "Kerberos Wrap token (RFC 4121)"
	}
	if len(b) < 16 {
		d.fail("%d bytes, shorter than the 16-byte header", len(b))
		return
	}
	d.add("flags", names(uint64(b[2]), cfxFlagNames))
	if b[0] == 0x05 {
		d.addf("EC", "%d", binary.BigEndian.Uint16(b[4:]))
		d.addf("RRC", "%d", binary.BigEndian.Uint16(b[6:]))
	}
	d.addf("SND_SEQ", "%d", binary.BigEndian.Uint64(b[8:]))
	d.addf("body", "%d bytes", len(b)-16)
}
