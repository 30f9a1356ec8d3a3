package wiretext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestName(t *testing.T) {
	long := strings.Repeat("/", 32<<10)
	for _, tc := range []struct {
		in, want string
	}{
		{"host/localhost@EXAMPLE.COM", "host/localhost@EXAMPLE.COM"},
		{"", ""},
		{"bad\nname", `"bad\nname"`},
		{"quote\"d", `"quote\"d"`},
		{`EXAMPLE\alice`, `EXAMPLE\alice`},
		{"\xff", `"\xff"`},
		{long, `"` + long[:MaxName] + `"…(+32640 bytes)`},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%.20q) = %.200q, want %.200q", tc.in, got, tc.want)
		}
	}
}

func TestCutKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 100) // 2 bytes each
	for max := 0; max < 20; max++ {
		c := Cut(s, max)
		if len(c) > max || !utf8.ValidString(c) || len(c) < max-1 {
			t.Errorf("Cut(%d) = %q", max, c)
		}
	}
	if got := Bound(strings.Repeat("x", 600), MaxCause); len(got) > MaxCause+24 || !strings.HasSuffix(got, "…(+88 bytes)") {
		t.Errorf("Bound: %d bytes, ends %q", len(got), got[len(got)-20:])
	}
	if got := Quote(strings.Repeat("\x00", 1000), 10); len(got) > 4*10+24+2 {
		t.Errorf("Quote of NULs: %d bytes: %s", len(got), got)
	}
}
