package pac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/gosspi/sspi/internal/ndr"
)

// UPN_DNS_INFO flags (MS-PAC 2.10).
const (
	UPNFlagNoUPN    = 1 // U: the user has no UPN; Upn was made from the account name
	UPNFlagExtended = 2 // S: the SAM name and SID follow
)

// UPNDNSInfo is a UPN_DNS_INFO: the user's principal name and the DNS name of its domain,
// and with UPNFlagExtended its sAMAccountName and SID.
type UPNDNSInfo struct {
	UPN           string
	DNSDomainName string
	Flags         uint32
	SAMName       string
	SID           *ndr.SID
}

func parseUPNDNSInfo(b []byte) (*UPNDNSInfo, error) {
	if len(b) < 12 {
		return nil, errors.New("UPN_DNS_INFO truncated")
	}
	u := &UPNDNSInfo{Flags: binary.LittleEndian.Uint32(b[8:])}
	var err error
	if u.UPN, err = utf16At(b, 0); err != nil {
		return nil, err
	}
	if u.DNSDomainName, err = utf16At(b, 4); err != nil {
		return nil, err
	}
	if u.Flags&UPNFlagExtended == 0 {
		return u, nil
	}
	if len(b) < 20 {
		return nil, errors.New("extended UPN_DNS_INFO truncated")
	}
	if u.SAMName, err = utf16At(b, 12); err != nil {
		return nil, err
	}
	raw, err := rangeAt(b, 16)
	if err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		s, err := ndr.ParseBinarySID(raw)
		if err != nil {
			return nil, fmt.Errorf("UPN_DNS_INFO SID: %w", err)
		}
		u.SID = &s
	}
	return u, nil
}

// rangeAt returns the bytes a (length, offset) pair of shorts at b[at:] designates.
func rangeAt(b []byte, at int) ([]byte, error) {
	n, off := int(binary.LittleEndian.Uint16(b[at:])), int(binary.LittleEndian.Uint16(b[at+2:]))
	if off+n > len(b) {
		return nil, fmt.Errorf("UPN_DNS_INFO field of %d bytes at %d in %d", n, off, len(b))
	}
	return b[off : off+n], nil
}

func utf16At(b []byte, at int) (string, error) {
	r, err := rangeAt(b, at)
	if err != nil {
		return "", err
	}
	if len(r)%2 != 0 {
		return "", fmt.Errorf("UPN_DNS_INFO string of odd length %d", len(r))
	}
	return ndr.DecodeUTF16(r), nil
}

func (u *UPNDNSInfo) marshal() []byte {
	fixed := 12
	flags := u.Flags &^ UPNFlagExtended
	if u.SAMName != "" || u.SID != nil {
		fixed, flags = 20, flags|UPNFlagExtended
	}
	b := make([]byte, fixed)
	binary.LittleEndian.PutUint32(b[8:], flags)
	put := func(at int, data []byte) {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		binary.LittleEndian.PutUint16(b[at:], uint16(len(data)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(b)))
		b = append(b, data...)
	}
	put(0, utf16le(u.UPN))
	put(4, utf16le(u.DNSDomainName))
	if fixed == 20 {
		put(12, utf16le(u.SAMName))
		var sid []byte
		if u.SID != nil {
			sid = u.SID.AppendBinary(nil)
		}
		put(16, sid)
	}
	return b
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}
