package wire

import (
	"hash/maphash"
	"sync/atomic"

	"golang.org/x/crypto/cryptobyte"
)

// The intern table keeps recently decoded realms and principal names, so that decoding
// the same ones again (every AP-REQ names its service, its realm and its client three
// times over) allocates nothing. It is direct-mapped and fixed in size: a name the table
// has no room for is decoded as before, so names from unauthenticated input can only
// evict others, never grow it. Entries are immutable and shared: the strings and
// component slices it hands out must not be written to (callers in this module build new
// slices for new names).
const (
	internSlots  = 512
	maxInternLen = 128 // longer realms and names are not worth keeping
)

type internEntry struct {
	s     string   // a realm
	comps []string // or a name's components (non-nil)
}

var (
	internTable [internSlots]atomic.Pointer[internEntry]
	internSeed  = maphash.MakeSeed()
)

func internSlot(b []byte, name bool) *atomic.Pointer[internEntry] {
	h := maphash.Bytes(internSeed, b)
	if name {
		h = ^h
	}
	return &internTable[h%internSlots]
}

// internString returns b as a string, shared with earlier calls for the same bytes.
func internString(b []byte) string {
	if len(b) > maxInternLen {
		return string(b)
	}
	slot := internSlot(b, false)
	if e := slot.Load(); e != nil && e.comps == nil && e.s == string(b) {
		return e.s
	}
	e := &internEntry{s: string(b)}
	slot.Store(e)
	return e.s
}

// internedName returns the components of the name-string list (a validated SEQUENCE OF
// GeneralString's contents, n elements) when the table holds them.
func internedName(list []byte, n int) []string {
	if len(list) > maxInternLen {
		return nil
	}
	e := internSlot(list, true).Load()
	if e == nil || len(e.comps) != n {
		return nil
	}
	it := cryptobyte.String(list)
	for _, c := range e.comps {
		var b cryptobyte.String
		if !readASN1(&it, &b, tagGeneralStr) || string(b) != c {
			return nil
		}
	}
	return e.comps
}

// keepName stores a decoded name's components under their name-string list.
func keepName(list []byte, comps []string) {
	if len(list) <= maxInternLen {
		internSlot(list, true).Store(&internEntry{comps: comps})
	}
}

// realmField reads [n] Realm, interned.
func realmField(s *cryptobyte.String, n int, out *string) bool {
	var b cryptobyte.String
	if !fieldOf(s, n, tagGeneralStr, &b) || len(b) > MaxStringLen || hasNUL(b) {
		return false
	}
	*out = internString(b)
	return true
}
