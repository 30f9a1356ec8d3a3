package pac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/gosspi/sspi/internal/ndr"
)

// ClientInfo is a PAC_CLIENT_INFO (MS-PAC 2.7): the client's name and the ticket's
// authentication time, which tie the PAC to the ticket it was issued in.
type ClientInfo struct {
	ClientID FileTime // the ticket's authtime
	Name     string
}

func parseClientInfo(b []byte) (*ClientInfo, error) {
	if len(b) < 10 {
		return nil, errors.New("PAC_CLIENT_INFO truncated")
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 || 10+n > len(b) {
		return nil, fmt.Errorf("PAC_CLIENT_INFO name of %d bytes in %d", n, len(b)-10)
	}
	return &ClientInfo{ClientID: FileTime(binary.LittleEndian.Uint64(b)), Name: ndr.DecodeUTF16(b[10 : 10+n])}, nil
}

func (c *ClientInfo) marshal() []byte {
	name := utf16.Encode([]rune(c.Name))
	b := binary.LittleEndian.AppendUint64(nil, uint64(c.ClientID))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*len(name)))
	for _, u := range name {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// CheckClient checks the PAC_CLIENT_INFO against the ticket it came in (MS-PAC 2.7,
// MS-KILE 3.4.5.3): ClientId must be the ticket's authtime, and Name the client's name,
// which KDCs write without the realm (AD: the sAMAccountName; MIT: the unparsed principal)
// or, for some cross-realm and enterprise names, with it. Names are compared without
// regard to case, as Windows compares account names.
func (p *PAC) CheckClient(cname []string, crealm string, authTime time.Time) error {
	ci := p.ClientInfo
	if ci == nil {
		return errors.New("pac: the PAC has no PAC_CLIENT_INFO")
	}
	if want := FileTimeOf(authTime.Truncate(time.Second)); ci.ClientID != want {
		return fmt.Errorf("pac: the PAC's client info is for a logon at %v, the ticket's authtime is %v", ci.ClientID.Time(), authTime.UTC())
	}
	short := strings.Join(cname, "/")
	for _, name := range []string{short, short + "@" + crealm} {
		if strings.EqualFold(ci.Name, name) {
			return nil
		}
	}
	// An enterprise principal (alice@upn.suffix as one component) may be written with the
	// "@" escaped, as MIT unparses it.
	if strings.EqualFold(strings.ReplaceAll(ci.Name, `\@`, "@"), short) {
		return nil
	}
	return fmt.Errorf("pac: the PAC's client info names %q, the ticket's client is %q", bound(ci.Name), bound(short+"@"+crealm))
}

// bound shortens s, copied from the wire, for an error message.
func bound(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
