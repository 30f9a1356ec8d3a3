package ndr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Limits on what a Decoder accepts, whatever the input's length.
const (
	// MaxDepth bounds the nesting of deferred referents (a referent with pointers whose
	// referents have pointers ...).
	MaxDepth = 16
	// MaxElements bounds the count of any one conformant or varying array.
	MaxElements = 1 << 20
	// MaxSubAuthorities is the largest SubAuthorityCount of a SID (MS-DTYP 2.4.2).
	MaxSubAuthorities = 15
)

// ErrTruncated is the error of a read past the end of the input.
var ErrTruncated = errors.New("ndr: data truncated")

// Decoder reads NDR20 little-endian data from one buffer. Its zero value is not usable:
// call NewDecoder.
type Decoder struct {
	b       []byte
	off     int
	err     error
	pending []func(*Decoder)
	seen    map[uint32]bool // referent IDs of full pointers already read
}

// NewDecoder returns a Decoder for b. Alignment is relative to the start of b, which for a
// type-serialized buffer is the first byte after its headers (both are 8-aligned).
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error the decoder met, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records err (if no error was recorded before) and stops further reads.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
		d.pending = nil
	}
}

// Failf records an error made from format and args, prefixed by "ndr: ".
func (d *Decoder) Failf(format string, args ...any) { d.Fail(fmt.Errorf("ndr: "+format, args...)) }

// Offset returns how many bytes have been consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns how many bytes are left.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Align skips the padding up to the next multiple of n (1, 2, 4 or 8). NDR does not
// require padding bytes to be zero, so they are not checked.
func (d *Decoder) Align(n int) {
	if d.err != nil {
		return
	}
	pad := (n - d.off%n) % n
	if pad > d.Remaining() {
		d.Fail(ErrTruncated)
		return
	}
	d.off += pad
}

// take returns the next n bytes, or nil after recording ErrTruncated.
func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.Remaining() {
		d.Fail(ErrTruncated)
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

// Uint8 reads a small or byte.
func (d *Decoder) Uint8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// Uint16 reads an aligned short.
func (d *Decoder) Uint16() uint16 {
	d.Align(2)
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// Uint32 reads an aligned long.
func (d *Decoder) Uint32() uint32 {
	d.Align(4)
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// Uint64 reads an aligned hyper.
func (d *Decoder) Uint64() uint64 {
	d.Align(8)
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// FileTime reads a FILETIME (or an OLD_LARGE_INTEGER): two longs, low part first, so
// aligned to 4 and not 8. The value is in 100-nanosecond units since 1601.
func (d *Decoder) FileTime() uint64 {
	lo := d.Uint32()
	hi := d.Uint32()
	return uint64(hi)<<32 | uint64(lo)
}

// Bytes reads n bytes without alignment. The result aliases the input.
func (d *Decoder) Bytes(n int) []byte { return d.take(n) }

// Count reads a conformance or variance count (an aligned long) for elements of at least
// minSize bytes each, and refuses a count that the rest of the input cannot hold.
func (d *Decoder) Count(minSize int) int {
	n := d.Uint32()
	if d.err != nil {
		return 0
	}
	if n > MaxElements || int(n)*minSize > d.Remaining() {
		d.Failf("array of %d elements does not fit in the %d bytes left", n, d.Remaining())
		return 0
	}
	return int(n)
}

// Varying reads the offset and actual count of a varying array whose maximum count is
// max, and checks that offset+actual stays within max and the input.
func (d *Decoder) Varying(max, minSize int) (offset, actual int) {
	o := d.Uint32()
	a := d.Uint32()
	if d.err != nil {
		return 0, 0
	}
	if uint64(o)+uint64(a) > uint64(max) {
		d.Failf("varying array of %d elements at offset %d exceeds its maximum %d", a, o, max)
		return 0, 0
	}
	if int(a)*minSize > d.Remaining() {
		d.Failf("varying array of %d elements does not fit in the %d bytes left", a, d.Remaining())
		return 0, 0
	}
	return int(o), int(a)
}

// ConformantVarying reads the header of a conformant varying array (maximum count, offset,
// actual count) and returns the actual count.
func (d *Decoder) ConformantVarying(minSize int) int {
	max := d.Uint32()
	if d.err == nil && max > MaxElements {
		d.Failf("array maximum count %d is too large", max)
		return 0
	}
	_, n := d.Varying(int(max), minSize)
	return n
}

// Pointer reads the referent ID of a unique pointer embedded in a construct and, when it
// is not null, queues referent to read what it points to at the next Flush. It reports
// whether the pointer was not null.
func (d *Decoder) Pointer(referent func(*Decoder)) bool {
	id := d.Uint32()
	if d.err != nil || id == 0 {
		return false
	}
	d.pending = append(d.pending, referent)
	return true
}

// RefPointer reads an embedded reference pointer: like Pointer, but null is an error.
func (d *Decoder) RefPointer(referent func(*Decoder)) {
	if !d.Pointer(referent) && d.err == nil {
		d.Failf("null reference pointer")
	}
}

// FullPointer reads an embedded full pointer. Its referent is read (once, at the next
// Flush) only the first time its ID is seen; the ID is returned so that a caller can make
// later uses of it alias the first. It returns 0 for null.
func (d *Decoder) FullPointer(referent func(d *Decoder, id uint32)) uint32 {
	id := d.Uint32()
	if d.err != nil || id == 0 {
		return 0
	}
	if d.seen == nil {
		d.seen = make(map[uint32]bool)
	}
	if !d.seen[id] {
		d.seen[id] = true
		d.pending = append(d.pending, func(d *Decoder) { referent(d, id) })
	}
	return id
}

// Flush reads the referents queued since the last Flush, in the order their pointers
// were read, each followed at once by the referents of its own pointers.
func (d *Decoder) Flush() error {
	var stack [][]func(*Decoder)
	queue := d.pending
	d.pending = nil
	for d.err == nil {
		if len(queue) == 0 {
			if len(stack) == 0 {
				break
			}
			queue, stack = stack[len(stack)-1], stack[:len(stack)-1]
			continue
		}
		fn := queue[0]
		queue = queue[1:]
		fn(d)
		if len(d.pending) > 0 {
			if len(stack) >= MaxDepth {
				d.Failf("pointers nested more than %d deep", MaxDepth)
				break
			}
			stack = append(stack, queue)
			queue, d.pending = d.pending, nil
		}
	}
	d.pending = nil
	return d.err
}

// UTF16 reads n UTF-16LE code units (no alignment beyond the 2 NDR gives a wchar) and
// returns them as a string; unpaired surrogates become U+FFFD.
func (d *Decoder) UTF16(n int) string {
	d.Align(2)
	p := d.take(2 * n)
	if p == nil {
		return ""
	}
	return DecodeUTF16(p)
}

// DecodeUTF16 converts UTF-16LE bytes to a string (an odd last byte is ignored).
func DecodeUTF16(p []byte) string {
	u := make([]uint16, len(p)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(p[2*i:])
	}
	return string(utf16.Decode(u))
}

// UnicodeString reads an RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and MaximumLength
// in bytes and a unique pointer to a conformant varying wchar array, whose referent is
// stored in *dst at the next Flush. A null pointer leaves *dst empty.
func (d *Decoder) UnicodeString(dst *string) {
	length := d.Uint16()
	maxLength := d.Uint16()
	if d.err == nil && (length > maxLength || length%2 != 0) {
		d.Failf("RPC_UNICODE_STRING length %d with maximum %d", length, maxLength)
		return
	}
	d.Pointer(func(d *Decoder) {
		max := d.Uint32()
		off, n := d.Varying(int(max), 2)
		if d.err != nil {
			return
		}
		if off != 0 || n != int(length/2) || int(max) != int(maxLength/2) {
			d.Failf("RPC_UNICODE_STRING array (max %d, offset %d, count %d) disagrees with its lengths (%d, %d)", max, off, n, length, maxLength)
			return
		}
		*dst = d.UTF16(n)
	})
}

// SID reads an RPC_SID (MS-DTYP 2.4.2.3) as NDR lays out a conformant structure: the
// sub-authority count first, then Revision, SubAuthorityCount, IdentifierAuthority and
// the sub-authorities.
func (d *Decoder) SID() SID {
	n := d.Count(4)
	rev := d.Uint8()
	count := d.Uint8()
	auth := d.Bytes(6)
	if d.err != nil {
		return SID{}
	}
	if int(count) != n || n > MaxSubAuthorities {
		d.Failf("SID with %d sub-authorities, array of %d", count, n)
		return SID{}
	}
	s := SID{Revision: rev, SubAuthorities: make([]uint32, n)}
	copy(s.Authority[:], auth)
	for i := range s.SubAuthorities {
		s.SubAuthorities[i] = d.Uint32()
	}
	return s
}

// SIDPointer reads a unique pointer to an RPC_SID (PISID), stored in *dst at the next
// Flush; a null pointer leaves *dst nil.
func (d *Decoder) SIDPointer(dst **SID) {
	d.Pointer(func(d *Decoder) {
		s := d.SID()
		if d.err == nil {
			*dst = &s
		}
	})
}
