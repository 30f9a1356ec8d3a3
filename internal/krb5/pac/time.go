package pac

import "time"

// FileTime is a Windows FILETIME: 100-nanosecond intervals since 1601-01-01 UTC. In a
// KERB_VALIDATION_INFO, 0 means "not set" and 0x7fffffffffffffff "never".
type FileTime uint64

// NeverTime is the FILETIME Windows writes for a time that never comes (no logoff, no
// password expiry).
const NeverTime FileTime = 0x7fffffffffffffff

// epochDelta is 1970-01-01 minus 1601-01-01, in seconds.
const epochDelta = 11644473600

// Time returns t as a time.Time; the zero time for 0 and for NeverTime or beyond
// (see Never).
func (t FileTime) Time() time.Time {
	if t == 0 || t >= NeverTime {
		return time.Time{}
	}
	return time.Unix(int64(t/1e7)-epochDelta, int64(t%1e7)*100).UTC()
}

// Never reports whether t means "never" (0x7fffffffffffffff, or the all-ones value some
// writers use).
func (t FileTime) Never() bool { return t >= NeverTime }

// FileTimeOf returns the FILETIME of tm; the zero time gives 0.
func FileTimeOf(tm time.Time) FileTime {
	if tm.IsZero() {
		return 0
	}
	s := tm.Unix() + epochDelta
	if s < 0 {
		return 0
	}
	return FileTime(uint64(s)*1e7 + uint64(tm.Nanosecond()/100))
}
