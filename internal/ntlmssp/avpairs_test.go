package ntlmssp

import (
	"bytes"
	"errors"
	"testing"
)

func TestAVPairs(t *testing.T) {
	raw := unhex(t, targetInfoV2Hex)
	l, err := ParseAVPairs(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].ID != MsvAvNbDomainName || l[1].ID != MsvAvNbComputerName {
		t.Fatalf("parsed %v", l)
	}
	if !bytes.Equal(l.Marshal(), raw) {
		t.Errorf("re-marshal %x", l.Marshal())
	}
	if _, ok := l.Get(MsvAvTimestamp); ok {
		t.Errorf("Get of a missing pair succeeded")
	}
	if _, ok := l.Flags(); ok {
		t.Errorf("Flags of a list without MsvAvFlags succeeded")
	}

	// Trailing bytes after EOL are ignored (the NTLMv2 Z(4) padding).
	if l2, err := ParseAVPairs(append(bytes.Clone(raw), 0, 0, 0, 0)); err != nil || len(l2) != 2 {
		t.Errorf("trailing bytes: %v, %v", l2, err)
	}
	// EOL alone is an empty list.
	if l2, err := ParseAVPairs([]byte{0, 0, 0, 0}); err != nil || len(l2) != 0 {
		t.Errorf("EOL only: %v, %v", l2, err)
	}
}

// TestAVPairsExtend adds what a client adds to the server's list, keeping EOL last.
func TestAVPairsExtend(t *testing.T) {
	l, err := ParseAVPairs(unhex(t, targetInfoV2Hex))
	if err != nil {
		t.Fatal(err)
	}
	l.SetFlags(AvFlagMICPresent)
	l.SetTimestamp(chromeTimestamp)
	l.SetChannelBindings([16]byte{1, 2, 3})
	l.SetString(MsvAvTargetName, "HTTP/Server")
	l.SetFlags(AvFlagMICPresent | AvFlagUntrustedTarget) // replaces
	b := l.Marshal()
	if !bytes.HasSuffix(b, []byte{0x09, 0, 22, 0, 'H', 0, 'T', 0, 'T', 0, 'P', 0, '/', 0, 'S', 0, 'e', 0, 'r', 0, 'v', 0, 'e', 0, 'r', 0, 0, 0, 0, 0}) {
		t.Errorf("marshal %x", b)
	}
	l2, err := ParseAVPairs(b)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := l2.Flags(); !ok || f != AvFlagMICPresent|AvFlagUntrustedTarget {
		t.Errorf("Flags = %#x %v", f, ok)
	}
	if ts, ok := l2.Timestamp(); !ok || ts != chromeTimestamp {
		t.Errorf("Timestamp = %d %v", ts, ok)
	}
	if cb, ok := l2.ChannelBindings(); !ok || cb != ([16]byte{1, 2, 3}) {
		t.Errorf("ChannelBindings = %x %v", cb, ok)
	}
	if s, ok := l2.GetString(MsvAvTargetName); !ok || s != "HTTP/Server" {
		t.Errorf("TargetName = %q", s)
	}
	if len(l2) != 6 {
		t.Errorf("len %d", len(l2))
	}
}

// TestAVPairsDuplicates: Get returns the first; Set collapses them.
func TestAVPairsDuplicates(t *testing.T) {
	dup := AVPairs{{MsvAvFlags, []byte{1, 0, 0, 0}}, {MsvAvNbDomainName, []byte{'A', 0}}, {MsvAvFlags, []byte{2, 0, 0, 0}}}
	dup, err := ParseAVPairs(dup.Marshal())
	if err != nil || len(dup) != 3 {
		t.Fatalf("duplicates: %v, %v", dup, err)
	}
	if f, _ := dup.Flags(); f != 1 {
		t.Errorf("first duplicate: %d", f)
	}
	dup.SetFlags(4)
	if f, _ := dup.Flags(); f != 4 || len(dup) != 2 {
		t.Errorf("after Set: %v", dup)
	}
	dup.Delete(MsvAvFlags)
	if _, ok := dup.Get(MsvAvFlags); ok || len(dup) != 1 {
		t.Errorf("after Delete: %v", dup)
	}
	// EOL cannot be added in the middle.
	dup.Set(MsvAvEOL, []byte{1})
	dup = append(dup, AVPair{ID: MsvAvEOL})
	if b := dup.Marshal(); !bytes.Equal(b, []byte{2, 0, 2, 0, 'A', 0, 0, 0, 0, 0}) {
		t.Errorf("EOL handling: %x", b)
	}
}

// TestAVPairsWrongLengths: wrong lengths for fixed-size values are reported as absent.
func TestAVPairsWrongLengths(t *testing.T) {
	bad := AVPairs{{MsvAvFlags, []byte{1}}, {MsvAvTimestamp, []byte{1}}, {MsvAvChannelBindings, []byte{1}}, {MsvAvTargetName, []byte{1}}}
	if _, ok := bad.Flags(); ok {
		t.Error("short MsvAvFlags accepted")
	}
	if _, ok := bad.Timestamp(); ok {
		t.Error("short MsvAvTimestamp accepted")
	}
	if _, ok := bad.ChannelBindings(); ok {
		t.Error("short MsvAvChannelBindings accepted")
	}
	if _, ok := bad.GetString(MsvAvTargetName); ok {
		t.Error("odd-length string accepted")
	}
}

func TestAVPairsMalformed(t *testing.T) {
	raw := unhex(t, targetInfoV2Hex)
	for n := 0; n < len(raw)-3; n++ {
		if _, err := ParseAVPairs(raw[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":           nil,
		"no EOL":          {1, 0, 2, 0, 'a', 0},
		"length past end": {1, 0, 0xff, 0xff, 'a', 0, 0, 0, 0, 0},
		"EOL with length": {0, 0, 2, 0, 0, 0},
		"short header":    {1, 0, 0},
		"too many pairs":  append(bytes.Repeat([]byte{6, 0, 0, 0}, maxAVPairs+1), 0, 0, 0, 0),
	} {
		if _, err := ParseAVPairs(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
