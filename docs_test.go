package sspi_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gosspi/sspi/internal/testpeers"
	"time"
)

// TestExamplesUsePublicAPI: an Example is code users copy, so it may use only what they
// can import. Every Example function in the tree must live in an external _test package
// (no unexported names) and import nothing under internal/.
func TestExamplesUsePublicAPI(t *testing.T) {
	fset := token.NewFileSet()
	examples := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		var names []string
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
				names = append(names, fn.Name.Name)
			}
		}
		if len(names) == 0 {
			return nil
		}
		examples += len(names)
		if !strings.HasSuffix(f.Name.Name, "_test") {
			t.Errorf("%s: %v in package %s, not an external _test package: an Example must not use unexported names", path, names, f.Name.Name)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(p, "/internal/") || strings.HasSuffix(p, "/internal") {
				t.Errorf("%s: %v import %s, which users cannot import", path, names, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if examples < 5 {
		t.Fatalf("found only %d Example functions: is the walk looking in the right place?", examples)
	}
}

// TestREADMEGoSnippets keeps the README's Go honest: every ```go block must be a whole
// program (package main, its imports, func main) whose main is, comment for comment, the
// body of an Example in this directory (which go test compiles, runs and checks), and
// whose imports are exactly the packages that body uses. So the README's program
// compiles and does what the Example's Output says.
func TestREADMEGoSnippets(t *testing.T) {
	blocks := markdownBlocks(t, "README.md", "go")
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	examples := exampleBodies(t)
	for i, b := range blocks {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "README.md", b.text, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("README.md:%d: go block %d does not parse as a Go file: %v", b.line, i, err)
			continue
		}
		var main *ast.FuncDecl
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				if fn.Name.Name != "main" || main != nil {
					t.Errorf("README.md:%d: a snippet has exactly one function, main; found %s", b.line, fn.Name.Name)
				}
				main = fn
			}
		}
		if f.Name.Name != "main" || main == nil {
			t.Errorf("README.md:%d: go block %d is not a package main with func main", b.line, i)
			continue
		}
		body := funcBodyText(b.text, fset, main)
		ex, ok := examples[body]
		if !ok {
			t.Errorf("README.md:%d: main's body is not the body of any Example in this directory; make it one (with // Output:) and copy it here:\n%s", b.line, body)
			continue
		}
		imports := map[string]bool{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imports[name] = true
		}
		used := map[string]bool{}
		ast.Inspect(main.Body, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && ex.imports[id.Name] {
					used[id.Name] = true
				}
			}
			return true
		})
		for name := range used {
			if !imports[name] {
				t.Errorf("README.md:%d: the program uses %s but does not import it", b.line, name)
			}
		}
		for name := range imports {
			if !used[name] {
				t.Errorf("README.md:%d: the program imports %s but does not use it", b.line, name)
			}
		}
	}
}

// mdBlock is one fenced code block of a Markdown file.
type mdBlock struct {
	line int // of the opening fence
	text string
}

// markdownBlocks returns the fenced blocks of file whose info string is lang.
func markdownBlocks(t *testing.T, file, lang string) []mdBlock {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []mdBlock
	var cur *mdBlock
	var b strings.Builder
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			if strings.TrimSpace(strings.TrimPrefix(line, "```")) == lang {
				cur = &mdBlock{line: i + 1}
				b.Reset()
			} else {
				cur = &mdBlock{line: -1} // another language: skip to its end
			}
		case cur != nil && strings.HasPrefix(line, "```"):
			if cur.line > 0 {
				cur.text = b.String()
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if cur != nil {
		t.Fatalf("%s: a code block is not closed", file)
	}
	return out
}

// example is an Example function of this directory's tests.
type example struct {
	name    string
	imports map[string]bool // the names its file imports under
	output  string          // what its "// Output:" comment says it prints
}

// exampleBodies maps the source text of every Example's body, up to its "// Output:"
// comment, to the Example.
func exampleBodies(t *testing.T) map[string]example {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]example{}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		imports := map[string]bool{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imports[name] = true
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fn.Name.Name, "Example") && fn.Body != nil {
				out[funcBodyText(string(src), fset, fn)] = example{fn.Name.Name, imports, exampleOutput(string(src), fset, fn)}
			}
		}
	}
	return out
}

// funcBodyText returns the text between fn's braces, cut at an "// Output:" comment,
// without leading and trailing blank lines.
func funcBodyText(src string, fset *token.FileSet, fn *ast.FuncDecl) string {
	body := src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
	if i := strings.Index(body, "// Output:"); i >= 0 {
		body = body[:i]
	}
	if i := strings.Index(body, "// Unordered output:"); i >= 0 {
		body = body[:i]
	}
	return strings.Trim(body, "\n\t ")
}

// exampleOutput returns the text of fn's "// Output:" comment, one line per comment line.
func exampleOutput(src string, fset *token.FileSet, fn *ast.FuncDecl) string {
	body := src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
	i := strings.Index(body, "// Output:")
	if i < 0 {
		return ""
	}
	var b strings.Builder
	first, rest, _ := strings.Cut(body[i+len("// Output:"):], "\n")
	if first = strings.TrimSpace(first); first != "" {
		b.WriteString(first + "\n")
	}
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		b.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), " ") + "\n")
	}
	return b.String()
}

// TestREADMEGoProgramsRun builds and runs every Go program of the README as a user would,
// in a module of its own that requires this one through a replace directive, and checks
// that it prints what its Example's Output says. It needs the go command and the module
// cache (no network: GOPROXY=off), and is skipped with -short.
func TestREADMEGoProgramsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	// The program's module says the same go version as this one, so that the module graph
	// is pruned the same way and go.sum covers it.
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(mod)
	examples := exampleBodies(t)
	for i, b := range markdownBlocks(t, "README.md", "go") {
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			dir := t.TempDir()
			gomod := fmt.Sprintf("module readmeprogram%d\n\n%s\n\nrequire github.com/gosspi/sspi v0.0.0\n\nreplace github.com/gosspi/sspi => %s\n", i, goLine, root)
			for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(b.text)} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goCmd, "run", ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go run of README.md:%d's program: %v\n%s", b.line, err, out)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "main.go", b.text, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "main" {
					if ex, ok := examples[funcBodyText(b.text, fset, fn)]; ok && string(out) != ex.output {
						t.Errorf("README.md:%d's program printed:\n%s\n%s says it prints:\n%s", b.line, out, ex.name, ex.output)
					}
				}
			}
		})
	}
}

// TestREADMEServiceByHand runs the README's "The service, by hand" section as a user would
// paste it into a shell, from the checkout's root: its first block (build, account, our
// server and client) always, its second (MIT's gss-client with gss-ntlmssp against our
// server) when those peers are installed, and its third (Schannel with a certificate
// made by openssl, our client and s_client) when OpenSSL is; SSPI_INTEROP=require makes them mandatory. The
// shell runs in the environment every peer gets (testpeers.Environ: no winbindd, an
// offline krb5.conf, no inherited tickets or users file) plus what the go command needs.
func TestREADMEServiceByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI with the go command")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	blocks := markdownSection(t, "README.md", "## The service, by hand", "sh")
	if len(blocks) != 3 {
		t.Fatalf("want 3 sh blocks in \"The service, by hand\", found %d", len(blocks))
	}
	// go needs its caches (a fresh HOME would start them empty) and must not reach a proxy.
	out, err := exec.Command(goCmd, "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	goenv := strings.Fields(string(out))
	if len(goenv) != 3 {
		t.Fatalf("go env: %q", out)
	}
	env := testpeers.Environ(t, testpeers.NTLMEnv{},
		"GOCACHE="+goenv[0], "GOMODCACHE="+goenv[1], "GOPATH="+goenv[2],
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	scratch := t.TempDir()
	env = append(env, "TMPDIR="+scratch) // where the section's mktemp -d lands

	// The README's port is 2000, sspi serve's default, which other programs on a shared
	// machine may hold: each run takes a free port instead, and tries again when another
	// process took it between the look and the bind.
	freePort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		return port
	}
	runOnce := func(t *testing.T, text string) (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bash, "-e", "-c", text)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		// A server left in the background by a failed command still holds the output pipe:
		// stop waiting for it soon after bash ends, and end the whole process group.
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.CombinedOutput()
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if ctx.Err() != nil {
			t.Fatalf("timed out; output:\n%s", out)
		}
		if err != nil && strings.Contains(string(out), "address already in use") {
			return string(out), false
		}
		if err != nil {
			t.Fatalf("the section's commands failed: %v\n%s", err, out)
		}
		return string(out), true
	}
	run := func(t *testing.T, b mdBlock, prefix, suffix string) string {
		t.Helper()
		if !strings.Contains(b.text, "127.0.0.1:2000") {
			t.Fatalf("README.md:%d: the block no longer uses port 2000; update this test", b.line)
		}
		for attempt := 0; ; attempt++ {
			out, ok := runOnce(t, prefix+strings.ReplaceAll(b.text, "2000", freePort())+suffix)
			if ok {
				return out
			}
			if attempt == 2 {
				t.Fatalf("the port was taken three times:\n%s", out)
			}
		}
	}
	// The first block cds into its scratch directory; the second runs there, so record it.
	cwdFile := filepath.Join(scratch, "cwd")
	out1 := run(t, blocks[0], "", "\npwd > "+cwdFile+"\n")
	for _, want := range []string{
		"added EXAMPLE\\alice to users.ntlm",
		"client:      EXAMPLE\\alice",
		`echo:        "hello" (verified)`,
		"status:      SEC_E_OK",
		"identity=EXAMPLE\\alice", // the server's log line
	} {
		if !strings.Contains(out1, want) {
			t.Errorf("first block: no %q in its output:\n%s", want, out1)
		}
	}
	t.Run("gss-client", func(t *testing.T) {
		testpeers.RequireGSSSample(t)
		testpeers.RequireGSSNTLMSSP(t)
		dir, err := os.ReadFile(cwdFile)
		if err != nil {
			t.Fatal(err)
		}
		out2 := run(t, blocks[1], "cd "+strings.TrimSpace(string(dir))+"\n", "")
		if !strings.Contains(out2, "framing=gss package=NTLM identity=EXAMPLE\\alice") || !strings.Contains(out2, "status=SEC_E_OK") {
			t.Errorf("second block: the server did not log gss-client's logon:\n%s", out2)
		}
	})
	t.Run("schannel", func(t *testing.T) {
		testpeers.RequireOpenSSL(t)
		dir, err := os.ReadFile(cwdFile)
		if err != nil {
			t.Fatal(err)
		}
		// openssl s_client's input is empty here: it connects, checks, and says goodbye.
		out3 := run(t, blocks[2], "cd "+strings.TrimSpace(string(dir))+"\n", "")
		for _, want := range []string{
			"mutual:      the server's certificate is valid for 127.0.0.1",
			`echo:        "hello" (verified)`,
			"Verify return code: 0 (ok)", // s_client
			"framing=tls package=Schannel",
		} {
			if !strings.Contains(out3, want) {
				t.Errorf("third block: no %q in its output:\n%s", want, out3)
			}
		}
	})
}

// markdownSection returns the fenced blocks in lang of the section under heading (up to the
// next heading of the same level).
func markdownSection(t *testing.T, file, heading, lang string) []mdBlock {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	start, end := -1, len(lines)
	level := heading[:strings.IndexByte(heading, ' ')+1]
	for i, l := range lines {
		switch {
		case start < 0 && l == heading:
			start = i + 1
		case start >= 0 && strings.HasPrefix(l, level):
			end = i + 1
		}
		if end < len(lines) {
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s has no %q section", file, heading)
	}
	var out []mdBlock
	for _, b := range markdownBlocks(t, file, lang) {
		if b.line > start && b.line < end {
			out = append(out, b)
		}
	}
	return out
}
