package rdp

import (
	"io"

	"github.com/gosspi/sspi"
)

// ReadDERMessage reads one DER element (a CredSSP TSRequest) from a stream: RDP sends
// TSRequests over TLS with no framing of their own, so the element's own header says
// where it ends. The length must be definite, in DER's minimal form, and at most max.
func ReadDERMessage(r io.Reader, max int) ([]byte, error) {
	var hdr [6]byte
	if n, err := io.ReadFull(r, hdr[:2]); err != nil {
		if n > 0 {
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the peer closed the connection inside a DER header: %w", err)
		}
		return nil, err
	}
	if hdr[0] != 0x30 {
		return nil, illegal("expected a DER SEQUENCE (a TSRequest), got tag %#02x", hdr[0])
	}
	hl, n := 2, int(hdr[1])
	if hdr[1]&0x80 != 0 {
		k := int(hdr[1] & 0x7f)
		if k == 0 || k > 4 {
			return nil, illegal("DER length of %d octets (indefinite or too long)", k)
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the peer closed the connection inside a DER header: %w", err)
		}
		n = 0
		for _, c := range hdr[2 : 2+k] {
			n = n<<8 | int(c)
		}
		if hdr[2] == 0 || n < 0x80 {
			return nil, illegal("DER length not in minimal form")
		}
		hl += k
	}
	if n > max-hl {
		return nil, illegal("DER message of %d bytes exceeds the %d-byte limit", n+hl, max)
	}
	msg := make([]byte, hl+n)
	copy(msg, hdr[:hl])
	if _, err := io.ReadFull(r, msg[hl:]); err != nil {
		return nil, sspi.Errorf(sspi.ErrIncompleteMessage, "rdp: the peer closed the connection inside a %d-byte message: %w", hl+n, err)
	}
	return msg, nil
}
