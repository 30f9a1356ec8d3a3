package sspi

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// sdkConst is one constant of the hand-written tables: its Go name, the SDK name its
// trailing comment gives, and the value of its literal.
type sdkConst struct {
	goName, sdkName string
	value           uint64
	pos             string
}

// tableConsts parses a Go file and returns every constant whose trailing comment
// starts with an SDK name (RPCIDNTLM's is RPC_C_AUTHN_WINNT). Constants without one (aliases such as ErrNoSPM) are skipped.
func tableConsts(t *testing.T, file string) []sdkConst {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []sdkConst
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Comment == nil || len(vs.Names) != 1 || len(vs.Values) != 1 {
				continue
			}
			sdk, _, _ := strings.Cut(strings.TrimSpace(vs.Comment.Text()), " ")
			sdk = strings.TrimSuffix(sdk, ":")
			if !isSDKName(sdk) {
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.INT {
				t.Errorf("%s: %s is not an integer literal", fset.Position(vs.Pos()), vs.Names[0].Name)
				continue
			}
			v, err := strconv.ParseUint(lit.Value, 0, 64)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(vs.Pos()), err)
			}
			out = append(out, sdkConst{vs.Names[0].Name, sdk, v, fset.Position(vs.Pos()).String()})
		}
	}
	return out
}

func isSDKName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// specConsts reads testdata/sspi-constants.txt: "NAME VALUE SOURCE" lines.
func specConsts(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := os.Open("testdata/sspi-constants.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("testdata/sspi-constants.txt:%d: want NAME VALUE SOURCE", n)
		}
		v, err := strconv.ParseUint(fields[1], 0, 64)
		if err != nil {
			t.Fatalf("testdata/sspi-constants.txt:%d: %v", n, err)
		}
		if _, dup := out[fields[0]]; dup && fields[0] != "SECBUFFER_VERSION" {
			t.Fatalf("testdata/sspi-constants.txt:%d: %s twice", n, fields[0])
		}
		out[fields[0]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// specOnly are the names of testdata/sspi-constants.txt that the tables leave out on
// purpose.
var specOnly = map[string]bool{
	"SECBUFFER_VERSION":                      true, // SecBufferDesc.ulVersion: a []Buffer has none
	"SECPKG_ATTR_NEGO_INFO_FLAG_NO_KERBEROS": true, // NegotiationInfo flags this Negotiate never reports
	"SECPKG_ATTR_NEGO_INFO_FLAG_NO_NTLM":     true,
	"RPC_C_AUTHN_NONE":                       true, // RPC ids of no security package
	"RPC_C_AUTHN_DCE_PRIVATE":                true,
	"RPC_C_AUTHN_DCE_PUBLIC":                 true,
	"RPC_C_AUTHN_DEC_PUBLIC":                 true,
	"RPC_C_AUTHN_DPA":                        true,
	"RPC_C_AUTHN_MSN":                        true,
	"RPC_C_AUTHN_MQ":                         true,
	"RPC_C_AUTHN_DEFAULT":                    true,
}

// TestConstantsMatchSpec checks the hand-written status and flag tables against the SDK
// values in testdata/sspi-constants.txt, both ways: every constant of the tables has the
// value the headers give its SDK name, and every name of the list is declared (or is
// listed in specOnly), so a typo in a hex digit or a dropped line fails here.
func TestConstantsMatchSpec(t *testing.T) {
	spec := specConsts(t)
	if len(spec) < 300 {
		t.Fatalf("only %d constants in testdata/sspi-constants.txt", len(spec))
	}
	declared := map[string]bool{}
	n := 0
	for _, file := range []string{"status_table.go", "flags_table.go", "flags.go"} {
		for _, c := range tableConsts(t, file) {
			n++
			declared[c.sdkName] = true
			want, ok := spec[c.sdkName]
			switch {
			case !ok:
				t.Errorf("%s: %s says it is %s, which testdata/sspi-constants.txt does not list", c.pos, c.goName, c.sdkName)
			case want != c.value:
				t.Errorf("%s: %s (%s) = %#x, the SDK says %#x", c.pos, c.goName, c.sdkName, c.value, want)
			}
		}
	}
	if n < 300 {
		t.Fatalf("only %d constants found in the tables", n)
	}
	for name := range spec {
		if !declared[name] && !specOnly[name] {
			t.Errorf("%s is in testdata/sspi-constants.txt but not declared in the tables", name)
		}
	}
	// String must give the SDK name the table's comment gives.
	for _, c := range tableConsts(t, "status_table.go") {
		if got := Status(c.value).String(); got != c.sdkName {
			t.Errorf("%s.String() = %q, want %q", c.goName, got, c.sdkName)
		}
	}
}
