// Package krbfile holds what MIT's binary file formats (keytab, credential cache) read the
// same way: a bounded loader, a bounds-checked integer reader and the zero-means-unset Unix
// timestamps. The formats themselves stay in their own packages.
package krbfile

import (
	"encoding/binary"
	"io"
	"os"
	"time"
)

// Load reads the file at path, at most max+1 bytes, so that a parser can reject a file
// larger than max (as too large) without reading all of it.
func Load(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+1))
}

// Reader reads integers and byte strings from B in Order. A read past the end returns zero
// and clears OK, so that a parser checks OK once per record instead of after every field.
type Reader struct {
	B     []byte
	Order binary.ByteOrder
	OK    bool
}

// NewReader returns a Reader of b in order, with OK set.
func NewReader(b []byte, order binary.ByteOrder) Reader {
	return Reader{B: b, Order: order, OK: true}
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if len(r.B) < 1 {
		r.OK = false
		return 0
	}
	v := r.B[0]
	r.B = r.B[1:]
	return v
}

// U16 reads a 16-bit integer.
func (r *Reader) U16() uint16 {
	if len(r.B) < 2 {
		r.OK = false
		return 0
	}
	v := r.Order.Uint16(r.B)
	r.B = r.B[2:]
	return v
}

// U32 reads a 32-bit integer.
func (r *Reader) U32() uint32 {
	if len(r.B) < 4 {
		r.OK = false
		return 0
	}
	v := r.Order.Uint32(r.B)
	r.B = r.B[4:]
	return v
}

// Bytes reads n bytes; the result aliases B and has no spare capacity, so that appending to
// it never writes over the rest of the file.
func (r *Reader) Bytes(n int) []byte {
	if n < 0 || len(r.B) < n {
		r.OK = false
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// UnixTime converts a 32-bit timestamp; 0 means unset and gives the zero time.
func UnixTime(v uint32) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// UnixSeconds is the inverse of UnixTime: the zero time gives 0.
func UnixSeconds(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	return uint32(t.Unix())
}
