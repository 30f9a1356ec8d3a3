package krbfile

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReaderBounds(t *testing.T) {
	r := NewReader([]byte{1, 0, 2, 0, 0, 0, 3, 'a', 'b'}, binary.BigEndian)
	if v := r.U8(); v != 1 {
		t.Errorf("U8 = %d", v)
	}
	if v := r.U16(); v != 2 {
		t.Errorf("U16 = %d", v)
	}
	if v := r.U32(); v != 3 {
		t.Errorf("U32 = %#x", v)
	}
	if !r.OK {
		t.Fatal("OK cleared by in-bounds reads")
	}
	// Reads past the end (or of a negative length) return zero values and clear OK.
	for name, read := range map[string]func(r *Reader) bool{
		"U32":       func(r *Reader) bool { return r.U32() == 0 },
		"Bytes(3)":  func(r *Reader) bool { return r.Bytes(3) == nil },
		"Bytes(-1)": func(r *Reader) bool { return r.Bytes(-1) == nil },
	} {
		c := r
		if zero := read(&c); !zero || c.OK || len(c.B) != 2 {
			t.Errorf("%s past the end: zero %v, OK %v, %d bytes left", name, zero, c.OK, len(c.B))
		}
	}
	b := r.Bytes(2)
	if !bytes.Equal(b, []byte("ab")) || cap(b) != 2 || len(r.B) != 0 || !r.OK {
		t.Errorf("Bytes(2) = %q cap %d, rest %d, OK %v", b, cap(b), len(r.B), r.OK)
	}
	if v := r.U8(); v != 0 || r.OK {
		t.Errorf("U8 at the end = %d, OK %v", v, r.OK)
	}
	le := NewReader([]byte{2, 0}, binary.LittleEndian)
	if v := le.U16(); v != 2 {
		t.Errorf("little-endian U16 = %d", v)
	}
}

func TestLoadBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file over the bound reads as max+1 bytes, for the parser to reject as too large.
	for max, want := range map[int64]int{10: 11, 100: 100, 1000: 100} {
		b, err := Load(path, max)
		if err != nil || len(b) != want {
			t.Errorf("Load(max %d) = %d bytes, %v; want %d", max, len(b), err, want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing"), 10); !os.IsNotExist(err) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestUnixTime(t *testing.T) {
	if !UnixTime(0).IsZero() || UnixSeconds(time.Time{}) != 0 {
		t.Error("0 and the zero time do not map to each other")
	}
	tm := UnixTime(1700000000)
	if tm.Unix() != 1700000000 || tm.Location() != time.UTC || UnixSeconds(tm) != 1700000000 {
		t.Errorf("UnixTime(1700000000) = %v", tm)
	}
}
