package ndr

import (
	"encoding/binary"
	"unicode/utf16"
)

// firstReferentID is the first referent ID MIDL-generated code uses; each further pointer
// adds 4. Any non-zero value is valid; this one makes our output look like Windows'.
const firstReferentID = 0x00020000

// Encoder writes NDR20 little-endian data. Its zero value is ready to use.
type Encoder struct {
	b       []byte
	pending []func(*Encoder)
	nextID  uint32
}

// Bytes returns the data written so far.
func (e *Encoder) Bytes() []byte { return e.b }

// Len returns how many bytes have been written.
func (e *Encoder) Len() int { return len(e.b) }

// Align writes zero padding up to the next multiple of n.
func (e *Encoder) Align(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}

// Uint8 writes a small or byte.
func (e *Encoder) Uint8(v uint8) { e.b = append(e.b, v) }

// Uint16 writes an aligned short.
func (e *Encoder) Uint16(v uint16) {
	e.Align(2)
	e.b = binary.LittleEndian.AppendUint16(e.b, v)
}

// Uint32 writes an aligned long.
func (e *Encoder) Uint32(v uint32) {
	e.Align(4)
	e.b = binary.LittleEndian.AppendUint32(e.b, v)
}

// Uint64 writes an aligned hyper.
func (e *Encoder) Uint64(v uint64) {
	e.Align(8)
	e.b = binary.LittleEndian.AppendUint64(e.b, v)
}

// FileTime writes a FILETIME: two longs, low part first.
func (e *Encoder) FileTime(v uint64) {
	e.Uint32(uint32(v))
	e.Uint32(uint32(v >> 32))
}

// Write writes p without alignment.
func (e *Encoder) Write(p []byte) { e.b = append(e.b, p...) }

// Pointer writes the referent ID of an embedded unique pointer, or 0 when present is
// false, and queues referent to write what it points to at the next Flush.
func (e *Encoder) Pointer(present bool, referent func(*Encoder)) {
	if !present {
		e.Uint32(0)
		return
	}
	if e.nextID == 0 {
		e.nextID = firstReferentID
	}
	e.Uint32(e.nextID)
	e.nextID += 4
	e.pending = append(e.pending, referent)
}

// Flush writes the referents queued since the last Flush, in the order of their pointers,
// each followed at once by the referents of its own pointers.
func (e *Encoder) Flush() {
	var stack [][]func(*Encoder)
	queue := e.pending
	e.pending = nil
	for {
		if len(queue) == 0 {
			if len(stack) == 0 {
				return
			}
			queue, stack = stack[len(stack)-1], stack[:len(stack)-1]
			continue
		}
		fn := queue[0]
		queue = queue[1:]
		fn(e)
		if len(e.pending) > 0 {
			stack = append(stack, queue)
			queue, e.pending = e.pending, nil
		}
	}
}

// UTF16 writes s as UTF-16LE code units, aligned to 2, and returns their count.
func (e *Encoder) UTF16(s string) int {
	e.Align(2)
	n := 0
	for _, u := range utf16.Encode([]rune(s)) {
		e.b = binary.LittleEndian.AppendUint16(e.b, u)
		n++
	}
	return n
}

// UnicodeString writes an RPC_UNICODE_STRING: lengths in bytes and a pointer to the
// characters, null for the empty string (as Windows writes an unset string).
func (e *Encoder) UnicodeString(s string) {
	n := len(utf16.Encode([]rune(s)))
	e.Uint16(uint16(2 * n))
	e.Uint16(uint16(2 * n))
	e.Pointer(n > 0, func(e *Encoder) {
		e.Uint32(uint32(n)) // maximum count
		e.Uint32(0)         // offset
		e.Uint32(uint32(n)) // actual count
		e.UTF16(s)
	})
}

// SID writes s as an RPC_SID, a conformant structure.
func (e *Encoder) SID(s SID) {
	e.Uint32(uint32(len(s.SubAuthorities)))
	e.Uint8(s.Revision)
	e.Uint8(uint8(len(s.SubAuthorities)))
	e.Write(s.Authority[:])
	for _, v := range s.SubAuthorities {
		e.Uint32(v)
	}
}

// SIDPointer writes a unique pointer to s (null for nil).
func (e *Encoder) SIDPointer(s *SID) {
	e.Pointer(s != nil, func(e *Encoder) { e.SID(*s) })
}
