package testpeers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// copyKeytab appends to the MIT keytab dst (format 0x0502, created when missing) the
// entries of src whose principal is from ("name/instance@REALM"), renamed to, keeping keys,
// key version numbers and time stamps; it returns how many it copied.
//
// samba-tool domain exportkeytab --principal=<SPN> of a user account exports the RC4 key
// alone; the account's entries hold every key, derived with the account's salt, which is
// what a Windows service account's keytab (ktpass) holds under the SPN's name.
func copyKeytab(src, dst, from, to string) (int, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	if len(data) < 2 || data[0] != 5 || data[1] != 2 {
		return 0, errors.New("testpeers: not an MIT keytab of version 0x0502")
	}
	newName, err := encodePrincipal(to)
	if err != nil {
		return 0, err
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		out = []byte{5, 2}
	}
	n := 0
	rest := data[2:]
	for len(rest) >= 4 {
		size := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		hole := size < 0 // a deleted entry: a hole of -size bytes
		if hole {
			size = -size
		}
		if int(size) > len(rest) {
			return 0, errors.New("testpeers: truncated keytab")
		}
		entry := rest[:size]
		rest = rest[size:]
		if hole {
			continue
		}
		name, tail, err := readPrincipal(entry)
		if err != nil {
			return 0, err
		}
		if name != from {
			continue
		}
		rec := append(append([]byte(nil), newName...), tail...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(rec)))
		out = append(out, rec...)
		n++
	}
	return n, os.WriteFile(dst, out, 0o600)
}

// encodePrincipal writes "a/b@REALM" as a keytab entry starts: component count, realm,
// components.
func encodePrincipal(p string) ([]byte, error) {
	name, realm, ok := strings.Cut(p, "@")
	if !ok {
		return nil, fmt.Errorf("testpeers: principal %q has no realm", p)
	}
	comps := strings.Split(name, "/")
	b := binary.BigEndian.AppendUint16(nil, uint16(len(comps)))
	b = appendCounted(b, realm)
	for _, c := range comps {
		b = appendCounted(b, c)
	}
	return b, nil
}

func appendCounted(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// readPrincipal reads the principal at the start of a keytab entry ("a/b@REALM") and
// returns it and what follows: name type, time stamp, key version and key.
func readPrincipal(e []byte) (string, []byte, error) {
	bad := errors.New("testpeers: truncated keytab entry")
	if len(e) < 2 {
		return "", nil, bad
	}
	n := int(binary.BigEndian.Uint16(e))
	e = e[2:]
	parts := make([]string, 0, n+1)
	for i := 0; i < n+1; i++ { // the realm, then n components
		if len(e) < 2 {
			return "", nil, bad
		}
		l := int(binary.BigEndian.Uint16(e))
		if len(e) < 2+l {
			return "", nil, bad
		}
		parts = append(parts, string(e[2:2+l]))
		e = e[2+l:]
	}
	return strings.Join(parts[1:], "/") + "@" + parts[0], e, nil
}
