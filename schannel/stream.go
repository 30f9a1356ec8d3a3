package schannel

import (
	"crypto/tls"
	"errors"
	"io"
	"strings"

	"github.com/gosspi/sspi"
)

// maxMessage is cbMaximumMessage: the plaintext of one record (RFC 8446 5.1).
const maxMessage = 16384

// suiteSizes is the framing of one record under a cipher suite.
type suiteSizes struct {
	header     int // the record header and any explicit nonce or IV
	trailer    int // the largest tag, MAC, padding and (TLS 1.3) content type
	blockSize  int
	cipher     string
	cipherBits int
	hash       string
	hashBits   int
	exchange   string
}

// sizesOf works out the framing of a record from the version and cipher suite.
func sizesOf(version, suite uint16) suiteSizes {
	name := tls.CipherSuiteName(suite)
	s := suiteSizes{header: recordHeaderLen, blockSize: 1, cipher: "AES", cipherBits: 128, exchange: "ECDHE"}
	switch {
	case strings.Contains(name, "CHACHA20"):
		s.cipher, s.cipherBits = "CHACHA20_POLY1305", 256
	case strings.Contains(name, "AES_256"):
		s.cipherBits = 256
	}
	switch {
	case strings.HasSuffix(name, "SHA384"):
		s.hash, s.hashBits = "SHA384", 384
	case strings.HasSuffix(name, "SHA256"):
		s.hash, s.hashBits = "SHA256", 256
	default:
		s.hash, s.hashBits = "SHA1", 160
	}
	if strings.HasPrefix(name, "TLS_RSA_") {
		s.exchange = "RSA"
	}
	switch {
	case version >= tls.VersionTLS13:
		s.trailer = 16 + 1 // AEAD tag and the inner content type
		s.exchange = "ECDHE"
	case strings.Contains(name, "_GCM_"):
		s.header += 8 // explicit nonce (RFC 5288 3)
		s.trailer = 16
	case strings.Contains(name, "CHACHA20"):
		s.trailer = 16
	default: // CBC: explicit IV, then MAC and up to a block of padding
		s.header += 16
		s.blockSize = 16
		s.trailer = s.hashBits/8 + 16
	}
	return s
}

// StreamSizes is SecPkgContext_StreamSizes of an established context.
func (c *context) StreamSizes() sspi.StreamSizes {
	return sspi.StreamSizes{
		Header:         c.suite.header,
		Trailer:        c.suite.trailer,
		MaximumMessage: maxMessage,
		Buffers:        4,
		BlockSize:      c.suite.blockSize,
	}
}

// EncryptMessage seals msg's BufferData (at most StreamSizes.MaximumMessage bytes) in
// place into one TLS record, writing its start into the BufferStreamHeader buffer and its
// end into the BufferStreamTrailer buffer, whose Data are then cut to the bytes written.
// Sent in the order header, data, trailer, they are the record.
func (c *context) EncryptMessage(_ uint32, msg []sspi.Buffer, _ uint32) error {
	if c.state != stateEstablished {
		return sspi.Errorf(sspi.ErrContextExpired, "schannel: the connection is shut down; nothing more can be sent")
	}
	hdr := sspi.FindBuffer(msg, sspi.BufferStreamHeader)
	data := sspi.FindBuffer(msg, sspi.BufferData)
	trl := sspi.FindBuffer(msg, sspi.BufferStreamTrailer)
	if hdr == nil || data == nil || trl == nil {
		return sspi.Errorf(sspi.ErrInvalidToken, "schannel: EncryptMessage needs a BufferStreamHeader, a BufferData and a BufferStreamTrailer buffer")
	}
	n := len(data.Data)
	if n > maxMessage {
		return sspi.Errorf(sspi.ErrInvalidParameter, "schannel: a message of %d bytes exceeds StreamSizes.MaximumMessage (%d); split it", n, maxMessage)
	}
	if n == 0 {
		hdr.Data, trl.Data = hdr.Data[:0], trl.Data[:0]
		return nil
	}
	if len(hdr.Data) < c.suite.header {
		return sspi.Errorf(sspi.ErrBufferTooSmall, "schannel: the stream header buffer holds %d bytes and needs StreamSizes.Header (%d)", len(hdr.Data), c.suite.header)
	}
	if len(c.t.out) > 0 {
		// A KeyUpdate reply must reach the peer before any record under the new keys.
		return sspi.Errorf(sspi.ErrInvalidHandle, "schannel: a post-handshake reply is waiting: call InitializeSecurityContext (or AcceptSecurityContext) after SEC_I_RENEGOTIATE and send its token first")
	}
	if _, err := c.conn.Write(data.Data); err != nil {
		return tlsError(err, sspi.ErrEncryptFailure)
	}
	rec := c.t.out
	t := len(rec) - c.suite.header - n
	if t < 0 || t > len(trl.Data) {
		c.t.out = c.t.out[:0]
		c.state = stateClosed // the record is sealed and cannot be sent again
		return sspi.Errorf(sspi.ErrBufferTooSmall, "schannel: the stream trailer buffer holds %d bytes and the record needs %d (size it from StreamSizes.Trailer)", len(trl.Data), t)
	}
	hdr.Data = hdr.Data[:copy(hdr.Data, rec[:c.suite.header])]
	copy(data.Data, rec[c.suite.header:c.suite.header+n])
	trl.Data = trl.Data[:copy(trl.Data, rec[c.suite.header+n:])]
	c.t.out = c.t.out[:0]
	return nil
}

// DecryptMessage is DecryptMessageStatus for callers that know only OK.
func (c *context) DecryptMessage(msg []sspi.Buffer, seq uint32) (uint32, error) {
	qop, st, err := c.DecryptMessageStatus(msg, seq)
	if err == nil && st != sspi.OK {
		return qop, sspi.Errorf(sspi.ErrContextExpired, "schannel: DecryptMessage returned %v", st)
	}
	return qop, err
}

// DecryptMessageStatus reads the record at the start of msg's BufferData buffer. As in
// Windows, the buffers are rewritten: the first four become BufferStreamHeader,
// BufferData (the plaintext, in place), BufferStreamTrailer and, when bytes follow the
// record, BufferExtra. An incomplete record gives ErrIncompleteMessage with a
// BufferMissing buffer in the first BufferEmpty slot.
//
// It returns Renegotiate when the record held a handshake message (a TLS 1.3
// NewSessionTicket or KeyUpdate, already taken in; a TLS 1.2 HelloRequest, left in the
// BufferExtra buffer) — call InitializeSecurityContext or AcceptSecurityContext with the
// BufferExtra bytes — and ContextExpired on the peer's close_notify.
func (c *context) DecryptMessageStatus(msg []sspi.Buffer, _ uint32) (uint32, sspi.Status, error) {
	if c.state < stateEstablished || c.conn == nil {
		return 0, 0, sspi.Errorf(sspi.ErrInvalidHandle, "schannel: the handshake has not finished")
	}
	di := -1
	for i := range msg {
		if msg[i].Type.Base() == sspi.BufferData {
			di = i
			break
		}
	}
	if di < 0 || len(msg) < 4 {
		return 0, 0, sspi.Errorf(sspi.ErrInvalidToken, "schannel: DecryptMessage needs four buffers: a BufferData holding the bytes received and three BufferEmpty")
	}
	data := msg[di].Data
	rs, err := splitRecord(data)
	if err != nil {
		return 0, 0, err
	}
	if rs.length == 0 {
		setEmpty(msg, di, sspi.Buffer{Type: sspi.BufferMissing, Size: rs.missing})
		return 0, 0, sspi.Errorf(sspi.ErrIncompleteMessage, "schannel: the input holds part of a TLS record; call again with it and the next bytes received")
	}
	if rs.typ == recordHandshake && c.cs.Version < tls.VersionTLS13 {
		// A renegotiation request: for InitializeSecurityContext to answer.
		layout(msg, data, 0, 0, 0, data)
		return 0, sspi.Renegotiate, nil
	}
	rec, rest := data[:rs.length], data[rs.length:]
	dst := rec[recordHeaderLen:]
	if len(dst) == 0 {
		dst = c.scrach[:]
	}
	c.t.in = rec
	n, rerr := c.conn.Read(dst)
	c.t.in = nil
	switch {
	case n > 0:
		layout(msg, rec, recordHeaderLen, n, len(rec), rest)
		return 0, sspi.OK, nil
	case errors.Is(rerr, io.EOF):
		layout(msg, rec, 0, 0, len(rec), rest)
		return 0, sspi.ContextExpired, nil
	case rerr != nil && !errors.Is(rerr, errWouldBlock):
		c.state = stateClosed
		return 0, 0, tlsError(rerr, sspi.ErrDecryptFailure)
	}
	// A record with no data: an empty one, or a TLS 1.3 post-handshake message crypto/tls
	// took in (it is longer than an empty record's tag and type, or made a reply).
	layout(msg, rec, recordHeaderLen, 0, len(rec), rest)
	if c.cs.Version >= tls.VersionTLS13 && (rs.length > recordHeaderLen+c.suite.trailer || len(c.t.out) > 0) {
		return 0, sspi.Renegotiate, nil
	}
	return 0, sspi.OK, nil
}

// layout rewrites the first four buffers as Windows does after DecryptMessage: header,
// data, trailer, extra. rec[:hdr] is the header, rec[hdr:hdr+n] the plaintext and
// rec[hdr+n:end] the trailer.
func layout(msg []sspi.Buffer, rec []byte, hdr, n, end int, extra []byte) {
	if end < hdr+n {
		end = hdr + n
	}
	msg[0] = sspi.Buffer{Type: sspi.BufferStreamHeader, Data: rec[:hdr]}
	msg[1] = sspi.Buffer{Type: sspi.BufferData, Data: rec[hdr : hdr+n]}
	msg[2] = sspi.Buffer{Type: sspi.BufferStreamTrailer, Data: rec[hdr+n : end]}
	if len(extra) > 0 {
		msg[3] = sspi.Buffer{Type: sspi.BufferExtra, Data: extra, Size: len(extra)}
	} else {
		msg[3] = sspi.Buffer{Type: sspi.BufferEmpty}
	}
}

// setEmpty puts b in the first BufferEmpty buffer of msg other than skip.
func setEmpty(msg []sspi.Buffer, skip int, b sspi.Buffer) {
	for i := range msg {
		if i != skip && msg[i].Type == sspi.BufferEmpty {
			msg[i] = b
			return
		}
	}
}
