package testpeers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
)

// renameKeytab rewrites an MIT keytab (format 0x0502) so that every entry names principal
// (components split at '/', realm after '@') instead of its own, keeping keys, key version
// numbers and time stamps, and appends the entries to dst (created when missing).
//
// samba-tool domain exportkeytab --principal=<SPN> of a user account exports the RC4 key
// alone; exporting the account gives every key, derived with the account's salt, which is what
// a Windows service account's keytab (ktpass) holds under the SPN's name.
func renameKeytab(src, dst, principal string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if len(data) < 2 || data[0] != 5 || data[1] != 2 {
		return errors.New("testpeers: not an MIT keytab of version 0x0502")
	}
	name, realm, ok := strings.Cut(principal, "@")
	if !ok {
		return fmt.Errorf("testpeers: principal %q has no realm", principal)
	}
	var newName []byte
	comps := strings.Split(name, "/")
	newName = binary.BigEndian.AppendUint16(newName, uint16(len(comps)))
	newName = appendCounted(newName, realm)
	for _, c := range comps {
		newName = appendCounted(newName, c)
	}
	var out []byte
	if old, err := os.ReadFile(dst); err == nil {
		out = old
	} else {
		out = []byte{5, 2}
	}
	rest := data[2:]
	for len(rest) >= 4 {
		size := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		if size < 0 { // a deleted entry: a hole of -size bytes
			if int(-size) > len(rest) {
				return errors.New("testpeers: truncated keytab")
			}
			rest = rest[-size:]
			continue
		}
		if int(size) > len(rest) {
			return errors.New("testpeers: truncated keytab")
		}
		entry := rest[:size]
		rest = rest[size:]
		tail, err := skipPrincipal(entry)
		if err != nil {
			return err
		}
		rec := append(append([]byte(nil), newName...), tail...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(rec)))
		out = append(out, rec...)
	}
	return os.WriteFile(dst, out, 0o600)
}

func appendCounted(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// skipPrincipal returns what follows the principal (component count, realm, components) at
// the start of a keytab entry: name type, time stamp, key version and key.
func skipPrincipal(e []byte) ([]byte, error) {
	if len(e) < 2 {
		return nil, errors.New("testpeers: truncated keytab entry")
	}
	n := int(binary.BigEndian.Uint16(e))
	e = e[2:]
	for i := 0; i < n+1; i++ { // the realm, then n components
		if len(e) < 2 {
			return nil, errors.New("testpeers: truncated keytab entry")
		}
		l := int(binary.BigEndian.Uint16(e))
		if len(e) < 2+l {
			return nil, errors.New("testpeers: truncated keytab entry")
		}
		e = e[2+l:]
	}
	return e, nil
}
