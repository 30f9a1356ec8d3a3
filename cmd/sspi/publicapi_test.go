package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCLIUsesPublicAPI: the CLI is the library's first user, so it may import only what
// every user can. Its tests may use internal/testpeers; the program itself imports nothing
// under internal/.
func TestCLIUsesPublicAPI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(p, "/internal/") || strings.HasSuffix(p, "/internal") {
				t.Errorf("%s imports %s, which users of the library cannot import", path, p)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d files: is the test running in cmd/sspi?", checked)
	}
}
