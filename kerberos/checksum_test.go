package kerberos

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// The 0x8003 checksum with a delegation field (RFC 4121 4.1.1): what appendDeleg writes
// parses back, and the parser bounds what it reads.
func TestGSSChecksumDelegation(t *testing.T) {
	ck := gssChecksum{flags: gssMutual | gssInteg, deleg: []byte("KRB-CRED bytes")}
	ck.bindings[0] = 0xaa
	b, err := ck.appendDeleg(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 28+len(ck.deleg) || binary.LittleEndian.Uint32(b[20:]) != gssMutual|gssInteg|gssDeleg ||
		binary.LittleEndian.Uint16(b[24:]) != 1 || int(binary.LittleEndian.Uint16(b[26:])) != len(ck.deleg) {
		t.Fatalf("checksum % x", b)
	}
	got, err := parseGSSChecksum(append(b, 0xee, 0xee)) // extensions after Deleg are skipped
	if err != nil || !bytes.Equal(got.deleg, ck.deleg) || got.bindings != ck.bindings || got.flags&gssDeleg == 0 {
		t.Fatalf("parsed %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		b      []byte
		ok     bool
		delegs bool
	}{
		{"flag without field", b[:24], true, false},
		{"DlgOpt 2", func() []byte { c := bytes.Clone(b); c[24] = 2; return c }(), false, false},
		{"Dlgth past the end", b[:len(b)-1], false, false},
		{"huge Dlgth", func() []byte { c := bytes.Clone(b); c[26], c[27] = 0xff, 0xff; return c }(), false, false},
	} {
		c, err := parseGSSChecksum(tc.b)
		if (err == nil) != tc.ok || (err == nil && ((c.flags&gssDeleg != 0) != tc.delegs || (len(c.deleg) > 0) != tc.delegs)) {
			t.Errorf("%s: %+v, %v", tc.name, c, err)
		}
	}
	if _, err := (&gssChecksum{deleg: make([]byte, 0x10000)}).appendDeleg(nil); err == nil {
		t.Error("a KRB-CRED of 64 KiB fits the 16-bit Dlgth")
	}
}

func FuzzGSSChecksum(f *testing.F) {
	ck := gssChecksum{flags: gssMutual, deleg: []byte{0x76, 0x00}}
	b, _ := ck.appendDeleg(nil)
	f.Add(b)
	f.Add(ck.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseGSSChecksum(b)
		if err != nil {
			return
		}
		if len(c.deleg) > 0 {
			out, err := c.appendDeleg(nil)
			if err != nil || !bytes.Equal(out, b[:len(out)]) {
				t.Fatalf("re-encoded % x, %v; input % x", out, err, b)
			}
		}
	})
}
