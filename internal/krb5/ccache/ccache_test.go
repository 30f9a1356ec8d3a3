package ccache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosspi/sspi/internal/krb5/krbfile"
	"github.com/gosspi/sspi/internal/krb5/wire"
	gkcredentials "github.com/jcmturner/gokrb5/v8/credentials"
)

func recorded(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "mit-kinit-kvno.ccache"))
	if err != nil {
		t.Fatalf("%v (re-record with go test ../wire -run TestRecordedMIT -update)", err)
	}
	return b
}

// TestMITCCache parses the cache MIT's kinit -f and kvno wrote (recorded), writes it back
// byte for byte, checks its tickets decode as Tickets and its configuration entries are
// kept, and agrees with gokrb5's parser.
func TestMITCCache(t *testing.T) {
	b := recorded(t)
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != Version4 || c.DefaultPrincipal.Realm != "GOSSPI.TEST" || c.DefaultPrincipal.Name.String() != "alice" {
		t.Fatalf("header: %+v", c.DefaultPrincipal)
	}
	var tgt, svc, conf int
	for _, cr := range c.Credentials {
		if key, _, ok := cr.ConfigName(); ok {
			conf++
			if key == "" {
				t.Errorf("config entry without a key")
			}
			continue
		}
		var tk wire.Ticket
		if err := tk.Unmarshal(cr.Ticket); err != nil {
			t.Fatalf("ticket of %s: %v", cr.Server.Name, err)
		}
		if !tk.SName.Equal(cr.Server.Name) || cr.EndTime.Before(cr.AuthTime) || len(cr.Key.Value) == 0 {
			t.Errorf("credential %+v", cr.Server)
		}
		switch cr.Server.Name.String() {
		case "krbtgt/GOSSPI.TEST":
			tgt++
			if cr.Flags&wire.FlagForwardable == 0 || cr.Flags&wire.FlagInitial == 0 {
				t.Errorf("TGT flags %#x", cr.Flags)
			}
		case "host/localhost":
			svc++
		}
	}
	if tgt != 1 || svc != 1 || conf == 0 {
		t.Fatalf("%d TGTs, %d service tickets, %d config entries", tgt, svc, conf)
	}
	out, err := c.Marshal()
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("re-encoded cache differs (%v)", err)
	}
	sameAsGokrb5(t, b, c)
}

// sameAsGokrb5 checks that gokrb5's parser reads the cache b as c.
func sameAsGokrb5(t *testing.T, b []byte, c *CCache) {
	t.Helper()
	theirs := new(gkcredentials.CCache)
	if err := theirs.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if theirs.DefaultPrincipal.Realm != c.DefaultPrincipal.Realm || len(theirs.Credentials) != len(c.Credentials) {
		t.Fatalf("gokrb5 reads %d credentials, we %d", len(theirs.Credentials), len(c.Credentials))
	}
	for i, g := range theirs.Credentials {
		o := c.Credentials[i]
		if !bytes.Equal(g.Ticket, o.Ticket) || !bytes.Equal(g.Key.KeyValue, o.Key.Value) || int64(krbfile.UnixSeconds(o.EndTime)) != g.EndTime.Unix() {
			t.Errorf("credential %d differs from gokrb5's", i)
		}
	}
}

func TestVersion3AndTimeOffset(t *testing.T) {
	// A version 3 cache: no header, enctype repeated in the key block.
	var b []byte
	b = append(b, 5, 3)
	p := func(b []byte, realm string, comps ...string) []byte {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, uint32(len(comps)))
		b = appendData(b, []byte(realm))
		for _, c := range comps {
			b = appendData(b, []byte(c))
		}
		return b
	}
	b = p(b, "R", "alice")
	b = p(b, "R", "alice")
	b = p(b, "R", "krbtgt", "R")
	b = append(b, 0, 18, 0, 18)
	b = appendData(b, make([]byte, 32))
	for _, v := range []uint32{1000, 0, 2000, 0} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, wire.FlagInitial)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = appendData(b, []byte{0x61, 0})
	b = appendData(b, nil)
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	cr := c.Credentials[0]
	if c.Version != Version3 || cr.Key.Type != 18 || cr.AuthTime.Unix() != 1000 || !cr.StartTime.IsZero() || cr.Server.Name.String() != "krbtgt/R" {
		t.Fatalf("parsed %+v", c)
	}
	if _, ok := c.TimeOffset(); ok {
		t.Fatal("a v3 cache has no time offset")
	}
	c.SetTimeOffset(-90*time.Second - 5*time.Microsecond)
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil || again.Version != Version4 {
		t.Fatalf("%v", err)
	}
	if d, ok := again.TimeOffset(); !ok || d != -90*time.Second-5*time.Microsecond {
		t.Fatalf("time offset %v %v", d, ok)
	}
	// A v3 key block whose enctypes disagree is refused.
	bad := append([]byte{}, b...)
	i := bytes.Index(bad, []byte{0, 18, 0, 18})
	bad[i+3] = 17
	if _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("mismatched v3 enctypes: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	good := recorded(t)
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":           {nil, ErrVersion},
		"version 0x502":   {[]byte{5, 2}, ErrVersion},
		"truncated":       {good[:len(good)-1], ErrMalformed},
		"header past end": {[]byte{5, 4, 0, 8, 0, 1}, ErrMalformed},
		"huge header":     {[]byte{5, 4, 0xff, 0xff}, ErrTooLarge},
		"too large":       {append([]byte{5, 4}, make([]byte, MaxFileSize)...), ErrTooLarge},
		"17 components":   {append([]byte{5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 17}, make([]byte, 100)...), ErrMalformed},
		"huge string":     {[]byte{5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, ErrMalformed},
	} {
		if _, err := Parse(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestWriteFileMode(t *testing.T) {
	c, err := Parse(recorded(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cc")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	got, err := Load(path)
	if err != nil || len(got.Credentials) != len(c.Credentials) {
		t.Fatalf("%v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(recorded(f))
	f.Add([]byte{5, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			return
		}
		if c.Version == Version4 && !bytes.Equal(out, b) {
			t.Fatalf("a version 4 cache is not written back as read")
		}
		again, err := Parse(out)
		if err != nil || len(again.Credentials) != len(c.Credentials) {
			t.Fatalf("our own cache does not parse back: %v", err)
		}
	})
}
