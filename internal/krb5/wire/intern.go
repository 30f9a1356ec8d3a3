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
	s     string   // a realm, or a name's name-string list (its DER contents)
	comps []string // and that name's components (nil for a realm)
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

// internedName returns the components of the name-string list (a SEQUENCE OF
// GeneralString's contents, not yet checked) when the table holds that list. Only lists
// that passed every check of parsePrincipalNameOf are stored, and the same bytes pass
// the same checks, so a list found here needs none: one comparison of its bytes.
func internedName(list []byte) []string {
	if len(list) > maxInternLen {
		return nil
	}
	e := internSlot(list, true).Load()
	if e == nil || e.comps == nil || e.s != string(list) {
		return nil
	}
	return e.comps
}

// keepName stores a decoded name's components under their name-string list, which must
// have passed parsePrincipalNameOf's checks.
func keepName(list []byte, comps []string) {
	if len(list) <= maxInternLen {
		internSlot(list, true).Store(&internEntry{s: string(list), comps: comps})
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
