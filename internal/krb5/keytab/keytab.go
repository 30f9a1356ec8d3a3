// Package keytab reads and writes MIT's keytab file format (version 0x502, and reads
// 0x501), as kadmin's ktadd, ktutil and Active Directory's ktpass produce it.
//
// Format (MIT's keytab.txt): a two-byte version, then entries, each a signed 32-bit size
// followed by that many bytes (a negative size marks a hole of that many bytes, left by a
// deleted entry, which is skipped). An entry holds the principal (component count, realm,
// components, each a 16-bit-length string; name type in 0x502 only), a 32-bit timestamp, an
// 8-bit kvno, the key (16-bit enctype, 16-bit-length value) and, when at least four bytes
// remain, a 32-bit kvno that supersedes the 8-bit one. Version 0x502 is big-endian; 0x501 is
// in the writer's native byte order (little-endian on every host that still has such files),
// and counts the realm among the components.
//
// Parsing is bounded (file size, entries, components, string and key lengths) and copies
// nothing: key values alias the input, which the caller zeroes when done. Writing is atomic
// (a temporary file in the same directory, synced, renamed over the target) with mode 0600.
package keytab

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/gosspi/sspi/internal/krb5/krbfile"
	"github.com/gosspi/sspi/internal/krb5/wire"
)

// Bounds on what Parse accepts.
const (
	MaxFileSize = 16 << 20
	MaxEntries  = 1 << 16
	MaxKeyLen   = 1024
)

// Versions of the format.
const (
	Version1 = 0x0501
	Version2 = 0x0502
)

// Errors returned by Parse, wrapped in an *Error.
var (
	ErrMalformed = errors.New("malformed keytab")
	ErrTooLarge  = errors.New("keytab exceeds the size bounds")
	ErrVersion   = errors.New("unsupported keytab version (want 0x502 or 0x501)")
)

// Error is a keytab parsing or encoding failure: which entry, which field, and the cause. It
// never contains bytes of the file.
type Error struct {
	Entry int // index of the entry, -1 for the header
	Field string
	Err   error
}

func (e *Error) Error() string {
	s := "keytab: " + e.Err.Error()
	if e.Entry >= 0 {
		s += " in entry " + strconv.Itoa(e.Entry)
	}
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Entry is one key of one principal.
type Entry struct {
	Principal wire.PrincipalName
	Realm     string
	Timestamp time.Time
	KVNO      uint32
	Key       wire.EncryptionKey
	// kvno8Only is set when the entry was read without the 32-bit kvno, so that it is written
	// back the same way; new entries get the 32-bit kvno, as MIT writes them.
	kvno8Only bool
}

// Keytab is a parsed keytab file.
type Keytab struct {
	// Version is the version read (Version1 or Version2); Marshal always writes Version2.
	Version int
	Entries []Entry
}

// reader reads the keytab's fields in the file's byte order.
type reader struct{ krbfile.Reader }

// str reads a 16-bit-length string of at most wire.MaxStringLen bytes.
func (r *reader) str() string {
	n := int(r.U16())
	if n > wire.MaxStringLen {
		r.OK = false
		return ""
	}
	return string(r.Bytes(n))
}

// Parse parses a keytab file's contents. Key values alias b.
func Parse(b []byte) (*Keytab, error) {
	if len(b) > MaxFileSize {
		return nil, &Error{Entry: -1, Err: ErrTooLarge}
	}
	if len(b) < 2 || b[0] != 5 || (b[1] != 1 && b[1] != 2) {
		return nil, &Error{Entry: -1, Err: ErrVersion}
	}
	kt := &Keytab{Version: int(b[0])<<8 | int(b[1])}
	order := binary.ByteOrder(binary.BigEndian)
	if kt.Version == Version1 {
		order = binary.NativeEndian
	}
	r := reader{krbfile.NewReader(b[2:], order)}
	for idx := 0; len(r.B) > 0; {
		if len(r.B) < 4 {
			// MIT's writer may leave fewer than four zero bytes at the end; nothing else fits.
			break
		}
		size := int32(r.U32())
		if size == 0 {
			break // the rest of the file is unused
		}
		if size < 0 {
			if -int64(size) > int64(len(r.B)) {
				return nil, &Error{Entry: idx, Field: "hole", Err: ErrMalformed}
			}
			r.B = r.B[-int64(size):]
			continue
		}
		if int(size) > len(r.B) {
			return nil, &Error{Entry: idx, Field: "size", Err: ErrMalformed}
		}
		if len(kt.Entries) == MaxEntries {
			return nil, &Error{Entry: idx, Err: ErrTooLarge}
		}
		e, err := parseEntry(r.B[:size], order, kt.Version)
		if err != nil {
			err.(*Error).Entry = idx
			return nil, err
		}
		kt.Entries = append(kt.Entries, e)
		r.B = r.B[size:]
		idx++
	}
	return kt, nil
}

func parseEntry(b []byte, order binary.ByteOrder, version int) (Entry, error) {
	r := reader{krbfile.NewReader(b, order)}
	var e Entry
	n := int(r.U16())
	if version == Version1 {
		n-- // v1 counts the realm
	}
	if n < 1 || n > wire.MaxNameComponents {
		return e, &Error{Field: "component count", Err: ErrMalformed}
	}
	e.Realm = r.str()
	e.Principal.Components = make([]string, n)
	for i := range e.Principal.Components {
		e.Principal.Components[i] = r.str()
	}
	if version == Version2 {
		e.Principal.Type = int32(r.U32())
	} else {
		e.Principal.Type = wire.NamePrincipal
	}
	if !r.OK {
		return e, &Error{Field: "principal", Err: ErrMalformed}
	}
	e.Timestamp = krbfile.UnixTime(r.U32())
	e.KVNO = uint32(r.U8())
	e.Key.Type = int32(int16(r.U16()))
	kl := int(r.U16())
	if kl > MaxKeyLen {
		return e, &Error{Field: "key", Err: ErrTooLarge}
	}
	e.Key.Value = r.Bytes(kl)
	if !r.OK {
		return e, &Error{Field: "key", Err: ErrMalformed}
	}
	// The 32-bit kvno, when present and non-zero, supersedes the 8-bit one (MIT
	// krb5_ktfileint_internal_read_entry); bytes after it are ignored, as MIT does.
	if len(r.B) >= 4 {
		if v := r.U32(); v != 0 {
			e.KVNO = v
		}
	} else {
		e.kvno8Only = true
	}
	return e, nil
}

// Marshal encodes kt in version 0x502.
func (kt *Keytab) Marshal() ([]byte, error) {
	if len(kt.Entries) > MaxEntries {
		return nil, &Error{Entry: -1, Err: ErrTooLarge}
	}
	b := []byte{5, 2}
	for i := range kt.Entries {
		e := &kt.Entries[i]
		if len(e.Principal.Components) < 1 || len(e.Principal.Components) > wire.MaxNameComponents ||
			len(e.Key.Value) > MaxKeyLen || e.Key.Type != int32(int16(e.Key.Type)) {
			return nil, &Error{Entry: i, Err: ErrMalformed}
		}
		start := len(b)
		b = append(b, 0, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Principal.Components)))
		b = appendStr(b, e.Realm)
		for _, c := range e.Principal.Components {
			b = appendStr(b, c)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(e.Principal.Type))
		b = binary.BigEndian.AppendUint32(b, krbfile.UnixSeconds(e.Timestamp))
		b = append(b, byte(e.KVNO))
		b = binary.BigEndian.AppendUint16(b, uint16(e.Key.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Key.Value)))
		b = append(b, e.Key.Value...)
		if !e.kvno8Only || e.KVNO > 0xff {
			b = binary.BigEndian.AppendUint32(b, e.KVNO)
		}
		binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	}
	return b, nil
}

func appendStr(b []byte, s string) []byte {
	if len(s) > wire.MaxStringLen {
		s = s[:wire.MaxStringLen] // unreachable from Parse; Marshal's callers build names
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Find returns the entry for principal@realm with enctype etype and, unless kvno is 0, that
// key version; with kvno 0 the highest version wins. ok is false when there is none.
func (kt *Keytab) Find(principal wire.PrincipalName, realm string, kvno uint32, etype int32) (e *Entry, ok bool) {
	for i := range kt.Entries {
		c := &kt.Entries[i]
		if c.Realm != realm || c.Key.Type != etype || !c.Principal.Equal(principal) {
			continue
		}
		if kvno != 0 && c.KVNO != kvno {
			continue
		}
		if e == nil || c.KVNO > e.KVNO {
			e = c
		}
	}
	return e, e != nil
}
