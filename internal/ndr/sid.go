package ndr

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// SID is a Windows security identifier (MS-DTYP 2.4.2).
type SID struct {
	Revision       uint8
	Authority      [6]byte // IdentifierAuthority, big-endian
	SubAuthorities []uint32
}

// String returns the SID in its string form, S-1-5-21-x-y-z-rid (MS-DTYP 2.4.2.1); an
// authority of 2^32 or more is written in hexadecimal, as Windows writes it.
func (s SID) String() string {
	var a uint64
	for _, b := range s.Authority {
		a = a<<8 | uint64(b)
	}
	buf := make([]byte, 0, 16+11*len(s.SubAuthorities))
	buf = append(buf, "S-"...)
	buf = strconv.AppendUint(buf, uint64(s.Revision), 10)
	buf = append(buf, '-')
	if a >= 1<<32 {
		buf = append(buf, "0x"...)
		buf = strconv.AppendUint(buf, a, 16)
	} else {
		buf = strconv.AppendUint(buf, a, 10)
	}
	for _, sub := range s.SubAuthorities {
		buf = append(buf, '-')
		buf = strconv.AppendUint(buf, uint64(sub), 10)
	}
	return string(buf)
}

// IsZero reports whether s is the zero SID (no revision, no authority).
func (s SID) IsZero() bool {
	return s.Revision == 0 && s.Authority == [6]byte{} && len(s.SubAuthorities) == 0
}

// Equal reports whether s and o are the same SID.
func (s SID) Equal(o SID) bool {
	if s.Revision != o.Revision || s.Authority != o.Authority || len(s.SubAuthorities) != len(o.SubAuthorities) {
		return false
	}
	for i, v := range s.SubAuthorities {
		if o.SubAuthorities[i] != v {
			return false
		}
	}
	return true
}

// Append returns the SID s with one more sub-authority (a domain SID and a RID make the
// SID of an account of that domain). s is not modified.
func (s SID) Append(rid uint32) SID {
	subs := make([]uint32, len(s.SubAuthorities), len(s.SubAuthorities)+1)
	copy(subs, s.SubAuthorities)
	s.SubAuthorities = append(subs, rid)
	return s
}

// ParseSID parses the string form of a SID.
func ParseSID(str string) (SID, error) {
	bad := errors.New("ndr: not a SID string: " + strconv.Quote(limit(str, 80)))
	parts := strings.Split(str, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") || len(parts)-3 > MaxSubAuthorities {
		return SID{}, bad
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return SID{}, bad
	}
	var auth uint64
	if h, ok := strings.CutPrefix(strings.ToLower(parts[2]), "0x"); ok {
		auth, err = strconv.ParseUint(h, 16, 48)
	} else {
		auth, err = strconv.ParseUint(parts[2], 10, 48)
	}
	if err != nil {
		return SID{}, bad
	}
	s := SID{Revision: uint8(rev), SubAuthorities: make([]uint32, 0, len(parts)-3)}
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], auth)
	copy(s.Authority[:], a[2:])
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, bad
		}
		s.SubAuthorities = append(s.SubAuthorities, uint32(v))
	}
	return s, nil
}

// ParseBinarySID reads a SID in its self-relative binary form (MS-DTYP 2.4.2.2, as in a
// UPN_DNS_INFO or a security descriptor), which must fill b exactly.
func ParseBinarySID(b []byte) (SID, error) {
	if len(b) < 8 || int(b[1]) > MaxSubAuthorities || len(b) != 8+4*int(b[1]) {
		return SID{}, errors.New("ndr: malformed binary SID")
	}
	s := SID{Revision: b[0], SubAuthorities: make([]uint32, b[1])}
	copy(s.Authority[:], b[2:8])
	for i := range s.SubAuthorities {
		s.SubAuthorities[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	return s, nil
}

// AppendBinary appends the self-relative binary form of s to b.
func (s SID) AppendBinary(b []byte) []byte {
	b = append(b, s.Revision, byte(len(s.SubAuthorities)))
	b = append(b, s.Authority[:]...)
	for _, v := range s.SubAuthorities {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
