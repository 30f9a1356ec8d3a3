package httpauth

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    []Challenge
		err     error
	}{
		{"one bare scheme", []string{"Negotiate"}, []Challenge{{Scheme: "Negotiate"}}, nil},
		{"schemes in separate headers", []string{"Negotiate", "NTLM"},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}}, nil},
		{"schemes in one header", []string{"Negotiate, NTLM ,, Kerberos"},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}, {Scheme: "Kerberos"}}, nil},
		{"token with padding", []string{"Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg=="},
			[]Challenge{{Scheme: "Negotiate", Token68: "oRQwEqADCgEAoQsGCSqGSIb3EgECAg=="}}, nil},
		{"basic realm then negotiate token", []string{`Basic realm="a, \"b\"", charset=UTF-8, NTLM TlRMTVNTUAACAAAA`},
			[]Challenge{
				{Scheme: "Basic", Params: map[string]string{"realm": `a, "b"`, "charset": "UTF-8"}},
				{Scheme: "NTLM", Token68: "TlRMTVNTUAACAAAA"},
			}, nil},
		{"token68 then another scheme", []string{"NTLM abc=, Negotiate"},
			[]Challenge{{Scheme: "NTLM", Token68: "abc="}, {Scheme: "Negotiate"}}, nil},
		{"unterminated quote", []string{`Basic realm="x`}, nil, ErrMalformedHeader},
		{"garbage", []string{"Negotiate ???"}, nil, ErrMalformedHeader},
		{"param then junk", []string{"Digest a=b c"}, nil, ErrMalformedHeader},
		{"too long", []string{"Negotiate " + strings.Repeat("A", MaxHeaderLength)}, nil, ErrHeaderTooLong},
		{"too many", []string{strings.Repeat("NTLM, ", MaxChallenges+1)}, nil, ErrHeaderTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.headers {
				h.Add(HeaderWWWAuthenticate, v)
			}
			got, err := ParseChallenges(h, HeaderWWWAuthenticate)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		value  string
		scheme string
		token  []byte
		err    error
	}{
		{"Negotiate YWJj", "Negotiate", []byte("abc"), nil},
		{"ntlm   YWJjZA==", "ntlm", []byte("abcd"), nil},
		{"NTLM YWJjZA", "NTLM", []byte("abcd"), nil}, // unpadded
		{"Negotiate", "Negotiate", nil, nil},
		{"Negotiate YW*j", "", nil, ErrMalformedHeader},
		{"Negotiate YWJj YWJj", "", nil, ErrMalformedHeader},
		{"Negotiate YWJ=j", "", nil, ErrMalformedHeader},
		{"Negotiate Y", "", nil, ErrMalformedHeader},
		{"Negotiate ====", "", nil, ErrMalformedHeader},
		{"Digest realm=\"x\"", "", nil, ErrMalformedHeader},
		{"", "", nil, ErrMalformedHeader},
		{"Negotiate\x00YWJj", "", nil, ErrMalformedHeader},
		{"Negotiate " + strings.Repeat("A", MaxHeaderLength), "", nil, ErrHeaderTooLong},
	}
	for _, tt := range tests {
		scheme, token, err := ParseAuthorization(tt.value)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseAuthorization(%.40q) err = %v, want %v", tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || scheme != tt.scheme || !bytes.Equal(token, tt.token) {
			t.Errorf("ParseAuthorization(%q) = %q, %q, %v", tt.value, scheme, token, err)
		}
	}
}

func TestFormatHeaderRoundTrip(t *testing.T) {
	for _, tok := range [][]byte{nil, {0}, {1, 2}, bytes.Repeat([]byte{0xfb}, 1000)} {
		v := FormatHeader("NTLM", tok)
		scheme, got, err := ParseAuthorization(v)
		if err != nil || scheme != "NTLM" || !bytes.Equal(got, tok) {
			t.Fatalf("round trip of %d bytes: %q -> %q, %v", len(tok), v, got, err)
		}
		cs, err := ParseChallenges(oneHeader(v), HeaderWWWAuthenticate)
		if err != nil || len(cs) != 1 {
			t.Fatalf("challenge %q: %v %v", v, cs, err)
		}
		if got, _ := cs[0].Token(); !bytes.Equal(got, tok) {
			t.Fatalf("challenge token %q", got)
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"Negotiate", "NTLM TlRMTVNTUAABAAAA", `Basic realm="x", NTLM, Negotiate YWJj==`,
		`Digest a=b, c="d\"e"`, "Negotiate YWJj YWJj", ", ,NTLM,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseChallenges(oneHeader(s), HeaderWWWAuthenticate)
		if err == nil {
			if len(cs) > MaxChallenges {
				t.Fatalf("%d challenges", len(cs))
			}
			for _, c := range cs {
				if c.Scheme == "" || len(c.Params) > maxParams {
					t.Fatalf("bad challenge %+v", c)
				}
				c.Token()
			}
		} else if !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrHeaderTooLong) {
			t.Fatalf("unwrapped error %v", err)
		}
		scheme, tok, err := ParseAuthorization(s)
		if err == nil {
			// What parsed formats back to something that parses to the same.
			s2, tok2, err := ParseAuthorization(FormatHeader(scheme, tok))
			if err != nil || s2 != scheme || !bytes.Equal(tok, tok2) {
				t.Fatalf("reformat of %q: %q %q %v", s, s2, tok2, err)
			}
		} else if !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrHeaderTooLong) {
			t.Fatalf("unwrapped error %v", err)
		}
	})
}

func oneHeader(v string) http.Header {
	h := http.Header{}
	h.Set(HeaderWWWAuthenticate, v)
	return h
}
