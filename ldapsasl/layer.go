package ldapsasl

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Layer is a set of SASL GSSAPI security layers, the bit mask of the first octet of the
// layer negotiation (RFC 4752 section 3.3).
type Layer uint8

// The security layers of RFC 4752 section 3.3.
const (
	// LayerNone is no security layer: messages after the bind travel as they are.
	LayerNone Layer = 1
	// LayerIntegrity signs every later message (GSS_Wrap with conf_flag false).
	LayerIntegrity Layer = 2
	// LayerConfidentiality signs and encrypts every later message (GSS_Wrap with conf_flag true).
	LayerConfidentiality Layer = 4
)

// String names the layers of l: "none", "integrity", "confidentiality", joined with "|".
func (l Layer) String() string {
	var names []string
	for _, n := range []struct {
		bit  Layer
		name string
	}{{LayerNone, "none"}, {LayerIntegrity, "integrity"}, {LayerConfidentiality, "confidentiality"}} {
		if l&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	if rest := l &^ (LayerNone | LayerIntegrity | LayerConfidentiality); rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint8(rest)))
	}
	if len(names) == 0 {
		return "no layer"
	}
	return strings.Join(names, "|")
}

// strongest returns the strongest single layer of l, or 0 when l has none.
func (l Layer) strongest() Layer {
	for _, b := range []Layer{LayerConfidentiality, LayerIntegrity, LayerNone} {
		if l&b != 0 {
			return b
		}
	}
	return 0
}

// maxBufferLimit is the largest maximum buffer size the three octets can say.
const maxBufferLimit = 1<<24 - 1

// layerOffer is the four octets of RFC 4752 section 3.3 without the authorization
// identity: the layers (offered by the server, or the one chosen by the client) and the
// largest SASL buffer its sender accepts.
type layerOffer struct {
	layers  Layer
	maxSize int
}

// parseLayerOffer reads the server's offer, the unwrapped content of its last challenge,
// which must be exactly four octets.
func parseLayerOffer(b []byte) (layerOffer, error) {
	if len(b) != 4 {
		return layerOffer{}, fmt.Errorf("ldapsasl: the server's security layer offer has %d octets, want 4 (RFC 4752 section 3.1)", len(b))
	}
	return layerOffer{layers: Layer(b[0]), maxSize: int(binary.BigEndian.Uint32(b) & maxBufferLimit)}, nil
}

// marshal returns the client's answer: its chosen layer, its maximum buffer size and the
// authorization identity (empty to act as the authenticated identity).
func (o layerOffer) marshal(authzid string) []byte {
	b := make([]byte, 4, 4+len(authzid))
	binary.BigEndian.PutUint32(b, uint32(o.maxSize)&maxBufferLimit)
	b[0] = byte(o.layers)
	return append(b, authzid...)
}
