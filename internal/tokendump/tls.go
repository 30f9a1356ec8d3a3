package tokendump

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"strings"
)

var tlsContentTypes = map[byte]string{20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data", 24: "heartbeat"}

var tlsHandshakeTypes = map[byte]string{
	0: "hello_request", 1: "client_hello", 2: "server_hello", 4: "new_session_ticket",
	5: "end_of_early_data", 8: "encrypted_extensions", 11: "certificate", 12: "server_key_exchange",
	13: "certificate_request", 14: "server_hello_done", 15: "certificate_verify",
	16: "client_key_exchange", 20: "finished", 24: "key_update", 254: "message_hash",
}

var tlsAlerts = map[byte]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
	44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
	47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
	51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
	110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
	120: "no_application_protocol",
}

// isTLSRecord reports whether b starts like a TLS record: a known content type, major
// version 3.
func isTLSRecord(b []byte) bool {
	return len(b) >= 5 && tlsContentTypes[b[0]] != "" && b[1] == 3 && b[2] <= 4
}

// tls decodes a run of TLS records (RFC 8446 5.1, RFC 5246 6.2): each record's type,
// version and length; handshake messages by type while they are in the clear; alerts.
func (d *builder) tls(b []byte) {
	d.n.Type = "TLS records"
	encrypted := false // after ChangeCipherSpec, handshake records are ciphertext
	for i := 0; len(b) > 0 && i < 256; i++ {
		if len(b) < 5 {
			d.fail("%d bytes left, shorter than a record header", len(b))
			return
		}
		typ, ver, n := b[0], binary.BigEndian.Uint16(b[1:]), int(binary.BigEndian.Uint16(b[3:]))
		if len(b) < 5+n {
			d.fail("record %d claims %d bytes, %d present (incomplete: SEC_E_INCOMPLETE_MESSAGE territory)", i, n, len(b)-5)
			return
		}
		frag := b[5 : 5+n]
		b = b[5+n:]
		name := tlsContentTypes[typ]
		if name == "" {
			name = fmt.Sprintf("type %d", typ)
		}
		r := d.child(fmt.Sprintf("record %d", i), fmt.Sprintf("%s, %s, %d bytes", name, tlsVersion(ver), n))
		switch {
		case typ == 20:
			encrypted = true
		case typ == 22 && !encrypted:
			r.handshakeMessages(frag)
		case typ == 21 && !encrypted && len(frag) == 2:
			level := "warning"
			if frag[0] == 2 {
				level = "fatal"
			}
			r.addf("alert", "%s %d (%s)", level, frag[1], tlsAlerts[frag[1]])
		case typ == 22 || typ == 21:
			r.add("content", "encrypted")
		}
	}
	if len(b) > 0 {
		d.fail("more than 256 records")
	}
}

func (d *builder) handshakeMessages(b []byte) {
	for len(b) > 0 {
		if len(b) < 4 {
			d.fail("a handshake message header is cut short")
			return
		}
		typ, n := b[0], int(b[1])<<16|int(b[2])<<8|int(b[3])
		name := tlsHandshakeTypes[typ]
		if name == "" {
			name = "unknown"
		}
		if len(b) < 4+n {
			d.addf("handshake", "%d (%s), %d bytes, continues in the next record", typ, name, n)
			return
		}
		body := b[4 : 4+n]
		b = b[4+n:]
		switch typ {
		case 1:
			d.clientHello(d.child("handshake", fmt.Sprintf("%d (%s), %d bytes", typ, name, n)), body)
		case 2:
			d.serverHello(d.child("handshake", fmt.Sprintf("%d (%s), %d bytes", typ, name, n)), body)
		default:
			d.addf("handshake", "%d (%s), %d bytes", typ, name, n)
		}
	}
}

func tlsVersion(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// clientHello shows the offered version, cipher suites, server name and supported
// versions (RFC 8446 4.1.2).
func (d *builder) clientHello(c *builder, b []byte) {
	r := reader(b)
	ver, _ := r.u16()
	r.skip(32)
	r.vec8() // session id
	suites, ok := r.vec16()
	c.addf("legacy_version", "%s", tlsVersion(ver))
	if !ok {
		c.fail("cut short before the cipher suites")
		return
	}
	var names []string
	for i := 0; i+1 < len(suites) && i < 128; i += 2 {
		names = append(names, tls.CipherSuiteName(binary.BigEndian.Uint16(suites[i:])))
	}
	c.add("cipher_suites", strings.Join(names, ", "))
	r.vec8() // compression methods
	c.extensions(r)
}

func (d *builder) serverHello(c *builder, b []byte) {
	r := reader(b)
	ver, _ := r.u16()
	r.skip(32)
	r.vec8()
	suite, ok := r.u16()
	c.addf("legacy_version", "%s", tlsVersion(ver))
	if !ok {
		c.fail("cut short before the cipher suite")
		return
	}
	c.add("cipher_suite", tls.CipherSuiteName(suite))
	r.skip(1)
	c.extensions(r)
}

func (d *builder) extensions(r *byteReader) {
	exts, ok := r.vec16()
	if !ok {
		return
	}
	e := reader(exts)
	for i := 0; len(*e) > 0 && i < 64; i++ {
		typ, ok1 := e.u16()
		data, ok2 := e.vec16()
		if !ok1 || !ok2 {
			d.fail("malformed extension")
			return
		}
		switch typ {
		case 0: // server_name: list of (type, host_name)
			sn := reader(data)
			list, _ := sn.vec16()
			l := reader(list)
			l.skip(1)
			if host, ok := l.vec16(); ok {
				d.add("server_name", string(host))
			}
		case 43: // supported_versions
			var vs []string
			if len(data) > 0 && int(data[0]) == len(data)-1 {
				for i := 1; i+1 < len(data); i += 2 {
					vs = append(vs, tlsVersion(binary.BigEndian.Uint16(data[i:])))
				}
			} else if len(data) == 2 {
				vs = append(vs, tlsVersion(binary.BigEndian.Uint16(data)))
			}
			d.add("supported_versions", strings.Join(vs, ", "))
		}
	}
}

type byteReader []byte

func reader(b []byte) *byteReader { r := byteReader(b); return &r }

func (r *byteReader) u16() (uint16, bool) {
	if len(*r) < 2 {
		*r = nil
		return 0, false
	}
	v := binary.BigEndian.Uint16(*r)
	*r = (*r)[2:]
	return v, true
}

func (r *byteReader) skip(n int) {
	if len(*r) < n {
		*r = nil
		return
	}
	*r = (*r)[n:]
}

func (r *byteReader) vec8() ([]byte, bool) {
	if len(*r) < 1 || len(*r) < 1+int((*r)[0]) {
		*r = nil
		return nil, false
	}
	n := int((*r)[0])
	v := (*r)[1 : 1+n]
	*r = (*r)[1+n:]
	return v, true
}

func (r *byteReader) vec16() ([]byte, bool) {
	n, ok := r.u16()
	if !ok || len(*r) < int(n) {
		*r = nil
		return nil, false
	}
	v := (*r)[:n]
	*r = (*r)[n:]
	return v, true
}
