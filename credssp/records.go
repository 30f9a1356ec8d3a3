package credssp

import "github.com/gosspi/sspi"

// statusDecrypter is a stream package's DecryptMessage that can succeed with
// SEC_I_RENEGOTIATE (a post-handshake message) or SEC_I_CONTEXT_EXPIRED (close_notify).
type statusDecrypter interface {
	DecryptMessageStatus(msg []sspi.Buffer, seq uint32) (uint32, sspi.Status, error)
}

// openRecords decrypts every whole TLS record at the start of in into c.plain. It
// returns how many bytes it consumed and, when a record is cut short, how many more it
// needs.
func (c *secContext) openRecords(in []byte) (consumed, missing int, err error) {
	sd, ok := c.tls.(statusDecrypter)
	if !ok {
		return 0, 0, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: Schannel cannot decrypt records")
	}
	rest := append([]byte(nil), in...)
	for len(rest) > 0 {
		bufs := []sspi.Buffer{{Type: sspi.BufferData, Data: rest}, {}, {}, {}}
		_, st, err := sd.DecryptMessageStatus(bufs, 0)
		if sspi.StatusOf(err) == sspi.ErrIncompleteMessage {
			if b := sspi.FindBuffer(bufs, sspi.BufferMissing); b != nil {
				missing = b.Size
			}
			return consumed, max(missing, 1), nil
		}
		if err != nil {
			return consumed, 0, err
		}
		if st == sspi.ContextExpired {
			if c.client != nil && c.client.state == clientPubKey {
				// The server had the client's proof and hung up instead of answering it:
				// how servers without errorCode (FreeRDP) refuse a logon.
				return consumed, 0, sspi.Errorf(sspi.ErrLogonDenied, "credssp: the server closed the TLS connection instead of answering the client's authentication: it refused the logon")
			}
			return consumed, 0, sspi.Errorf(sspi.ErrContextExpired, "credssp: the peer closed the TLS connection (close_notify) during the CredSSP exchange")
		}
		if st == sspi.Renegotiate {
			// A post-handshake message (a TLS 1.3 NewSessionTicket), which Schannel
			// has taken in; a TLS 1.2 renegotiation is not part of CredSSP.
			e := sspi.FindBuffer(bufs, sspi.BufferExtra)
			if e != nil && len(e.Data) == len(rest) {
				return consumed, 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the peer asked for a TLS renegotiation during CredSSP")
			}
		} else if d := sspi.FindBuffer(bufs, sspi.BufferData); d != nil {
			if len(c.plain)+len(d.Data) > maxTSRequest {
				return consumed, 0, sspi.Errorf(sspi.ErrInvalidToken, "credssp: the peer sent more than %d bytes without completing a TSRequest", maxTSRequest)
			}
			c.plain = append(c.plain, d.Data...)
		}
		next := []byte(nil)
		if e := sspi.FindBuffer(bufs, sspi.BufferExtra); e != nil {
			next = e.Data
		}
		consumed += len(rest) - len(next)
		rest = next
	}
	return consumed, 0, nil
}

// sealRecords encrypts plain into TLS records, as many as StreamSizes.MaximumMessage asks.
func (c *secContext) sealRecords(plain []byte) ([]byte, error) {
	s, ok := c.tls.(sspi.Sealer)
	sz, ok2 := c.tls.(sspi.StreamSizeReporter)
	if !ok || !ok2 {
		return nil, sspi.Errorf(sspi.ErrUnsupportedFunction, "credssp: Schannel cannot encrypt records")
	}
	sizes := sz.StreamSizes()
	var out []byte
	for len(plain) > 0 {
		n := min(len(plain), sizes.MaximumMessage)
		hdr := make([]byte, sizes.Header)
		data := append([]byte(nil), plain[:n]...)
		trl := make([]byte, sizes.Trailer)
		bufs := []sspi.Buffer{{Type: sspi.BufferStreamHeader, Data: hdr}, {Type: sspi.BufferData, Data: data}, {Type: sspi.BufferStreamTrailer, Data: trl}, {}}
		if err := s.EncryptMessage(0, bufs, 0); err != nil {
			return nil, err
		}
		out = append(out, bufs[0].Data...)
		out = append(out, bufs[1].Data...)
		out = append(out, bufs[2].Data...)
		clear(data)
		plain = plain[n:]
	}
	return out, nil
}
