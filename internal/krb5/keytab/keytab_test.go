package keytab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/krb5/wire"
	gkkeytab "github.com/jcmturner/gokrb5/v8/keytab"
)

func recorded(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "mit-services.keytab"))
	if err != nil {
		t.Fatalf("%v (re-record with go test ../wire -run TestRecordedMIT -update)", err)
	}
	return b
}

// TestMITKeytab parses kadmin's keytab (recorded) and writes it back byte for byte, and
// agrees with gokrb5's parser on every entry.
func TestMITKeytab(t *testing.T) {
	b := recorded(t)
	kt, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if kt.Version != Version2 || len(kt.Entries) == 0 {
		t.Fatalf("version %#x, %d entries", kt.Version, len(kt.Entries))
	}
	for _, e := range kt.Entries {
		if e.Principal.String() != "host/localhost" || e.Realm != "GOSSPI.TEST" || e.Principal.Type != wire.NamePrincipal || e.KVNO == 0 || e.Timestamp.IsZero() {
			t.Errorf("entry %+v", e)
		}
	}
	out, err := kt.Marshal()
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("re-encoded keytab differs (%v)", err)
	}
	theirs, err := gkkeytab.Load(filepath.Join("testdata", "mit-services.keytab"))
	if err != nil {
		t.Fatal(err)
	}
	if len(theirs.Entries) != len(kt.Entries) {
		t.Fatalf("gokrb5 reads %d entries, we %d", len(theirs.Entries), len(kt.Entries))
	}
	for i, g := range theirs.Entries {
		o := kt.Entries[i]
		if g.KVNO != o.KVNO || g.Key.KeyType != o.Key.Type || !bytes.Equal(g.Key.KeyValue, o.Key.Value) || !g.Timestamp.Equal(o.Timestamp) {
			t.Errorf("entry %d differs from gokrb5's", i)
		}
	}
	if e, ok := kt.Find(kt.Entries[0].Principal, "GOSSPI.TEST", 0, kt.Entries[0].Key.Type); !ok || e.Key.Type != kt.Entries[0].Key.Type {
		t.Fatal("Find missed an entry")
	}
	if _, ok := kt.Find(kt.Entries[0].Principal, "OTHER", 0, kt.Entries[0].Key.Type); ok {
		t.Fatal("Find matched another realm")
	}
}

func TestVersion1AndHoles(t *testing.T) {
	// A v0x501 entry in native order, components counting the realm, no name type; then a
	// hole; then a v1 entry without the 32-bit kvno.
	ne := binary.NativeEndian
	entry := func(kvno32 bool) []byte {
		var e []byte
		e = ne.AppendUint16(e, 2) // realm + 1 component
		e = ne.AppendUint16(e, 1)
		e = append(e, 'R')
		e = ne.AppendUint16(e, 5)
		e = append(e, "alice"...)
		e = ne.AppendUint32(e, 1000)
		e = append(e, 3)
		e = ne.AppendUint16(e, 17)
		e = ne.AppendUint16(e, 16)
		e = append(e, make([]byte, 16)...)
		if kvno32 {
			e = ne.AppendUint32(e, 300)
		}
		return append(ne.AppendUint32(nil, uint32(len(e))), e...)
	}
	b := []byte{5, 1}
	b = append(b, entry(true)...)
	b = append(ne.AppendUint32(b, 0xfffffffc), 9, 9, 9, 9) // a hole of 4 bytes
	b = append(b, entry(false)...)
	kt, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if kt.Version != Version1 || len(kt.Entries) != 2 || kt.Entries[0].KVNO != 300 || kt.Entries[1].KVNO != 3 ||
		kt.Entries[0].Principal.String() != "alice" || kt.Entries[0].Realm != "R" || kt.Entries[0].Timestamp.Unix() != 1000 {
		t.Fatalf("parsed %+v", kt)
	}
	// Written as 0x502; the entry without a 32-bit kvno stays without one.
	out, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil || again.Version != Version2 || again.Entries[0].KVNO != 300 || again.Entries[1].KVNO != 3 || !again.Entries[1].kvno8Only {
		t.Fatalf("re-parsed %+v %v", again, err)
	}
}

func TestMalformed(t *testing.T) {
	good := recorded(t)
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"empty":           {nil, ErrVersion},
		"version 0x503":   {[]byte{5, 3}, ErrVersion},
		"size past end":   {append([]byte{5, 2, 0, 0, 1, 0}, 1, 2), ErrMalformed},
		"hole past end":   {[]byte{5, 2, 0xff, 0xff, 0xff, 0x00, 1}, ErrMalformed},
		"truncated entry": {append(append([]byte{}, good[:6]...), good[6:20]...), ErrMalformed},
		"too large":       {append([]byte{5, 2}, make([]byte, MaxFileSize)...), ErrTooLarge},
		"no components":   {[]byte{5, 2, 0, 0, 0, 4, 0, 0, 0, 0}, ErrMalformed},
	}
	// Fix "truncated entry" to announce its real size, so the field parse fails, not the size.
	tr := cases["truncated entry"]
	binary.BigEndian.PutUint32(tr.b[2:], uint32(len(tr.b)-6))
	for name, c := range cases {
		_, err := Parse(c.b)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestWriteFileMode(t *testing.T) {
	kt := &Keytab{Entries: []Entry{{Principal: wire.PrincipalName{Type: 1, Components: []string{"a"}}, Realm: "R",
		Timestamp: time.Unix(1700000000, 0), KVNO: 2, Key: wire.EncryptionKey{Type: 18, Value: make([]byte, 32)}}}}
	path := filepath.Join(t.TempDir(), "new.keytab")
	if err := kt.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	got, err := Load(path)
	if err != nil || len(got.Entries) != 1 || got.Entries[0].KVNO != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	// Over an existing file, the mode is 0600 again and no temporary file is left.
	os.Chmod(path, 0o644)
	if err := kt.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(path)
	ents, _ := os.ReadDir(filepath.Dir(path))
	if fi.Mode().Perm() != 0o600 || len(ents) != 1 {
		t.Fatalf("mode %v, %d files", fi.Mode(), len(ents))
	}
}

func FuzzParse(f *testing.F) {
	f.Add(recorded(f))
	f.Add([]byte{5, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		kt, err := Parse(b)
		if err != nil {
			return
		}
		out, err := kt.Marshal()
		if err != nil {
			return
		}
		again, err := Parse(out)
		if err != nil || len(again.Entries) != len(kt.Entries) {
			t.Fatalf("our own keytab does not parse back: %v", err)
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable")
		}
	})
}
