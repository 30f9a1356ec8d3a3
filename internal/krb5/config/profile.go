package krbconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Bounds on what the parser accepts. krb5.conf files are small; these only stop a hostile or
// broken file (or an include loop) from costing unbounded memory or time.
const (
	// MaxFileSize bounds one file.
	MaxFileSize = 1 << 20
	// MaxFiles bounds the files read through KRB5_CONFIG, include and includedir together.
	MaxFiles = 256
	// MaxIncludeDepth bounds nested includes (MIT sets none; a loop would never end).
	MaxIncludeDepth = 16
	// MaxNesting bounds nested { } subsections.
	MaxNesting = 16
	// MaxRelations bounds the tag = value lines of all files together.
	MaxRelations = 1 << 16
)

// node is a section or subsection of the profile tree: its relations in file order.
// Several nodes of one name may exist (a section repeated, or one per file); lookups visit
// them all, as MIT's profile iterator does.
type node struct {
	name     string
	final    bool // "[name]*" or "name = { ... }*": later files do not add to it
	children []*node
	values   []relation
}

type relation struct {
	tag, value string
	final      bool
}

// file is one top-level file with everything it included merged into its tree (MIT parses
// an included file into the including file's tree).
type file struct {
	path string
	root *node
}

// parser reads MIT profile syntax (profile library, prof_parse.c's rules): "[section]"
// lines, "tag = value" relations, "tag = {" ... "}" subsections, comments on lines
// starting with '#' or ';', a trailing '*' marking a section final, and the top-level
// directives "include FILE", "includedir DIR" and "module" (ignored).
type parser struct {
	files     int
	relations int
	readFile  func(string) ([]byte, error)
	readDir   func(string) ([]string, error)
}

func (p *parser) load(path string, depth int, root *node) error {
	if depth > MaxIncludeDepth {
		return fmt.Errorf("krbconf: %s: includes nested deeper than %d", path, MaxIncludeDepth)
	}
	if p.files++; p.files > MaxFiles {
		return fmt.Errorf("krbconf: more than %d files through include and includedir", MaxFiles)
	}
	b, err := p.readFile(path)
	if err != nil {
		return err
	}
	if len(b) > MaxFileSize {
		return fmt.Errorf("krbconf: %s is larger than %d bytes", path, MaxFileSize)
	}
	return p.parse(path, string(b), depth, root)
}

type parseState struct {
	section *node   // current [section], nil before the first
	stack   []*node // open subsections
}

func (p *parser) parse(path, text string, depth int, root *node) error {
	var st parseState
	for lineNo := 1; text != ""; lineNo++ {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSuffix(line, "\r")
		if err := p.line(path, line, depth, root, &st); err != nil {
			return fmt.Errorf("krbconf: %s:%d: %w", path, lineNo, err)
		}
	}
	if len(st.stack) > 0 {
		return fmt.Errorf("krbconf: %s: %d subsection(s) not closed with }", path, len(st.stack))
	}
	return nil
}

func (p *parser) line(path, raw string, depth int, root *node, st *parseState) error {
	line := strings.TrimSpace(raw)
	switch {
	case line == "" || line[0] == '#' || line[0] == ';':
		return nil
	case len(st.stack) == 0 && isDirective(raw, "include"):
		return p.include(strings.TrimSpace(raw[len("include"):]), depth, root)
	case len(st.stack) == 0 && isDirective(raw, "includedir"):
		return p.includeDir(strings.TrimSpace(raw[len("includedir"):]), depth, root)
	case len(st.stack) == 0 && isDirective(raw, "module"):
		return nil // plugin modules: nothing here loads them
	case line[0] == '[':
		if len(st.stack) > 0 {
			return errors.New("section header inside { }")
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return errors.New("section header without ]")
		}
		name := line[1:end]
		rest := strings.TrimSpace(line[end+1:])
		if name == "" || (rest != "" && rest != "*") {
			return errors.New("malformed section header")
		}
		st.section = &node{name: name, final: rest == "*"}
		root.children = append(root.children, st.section)
		return nil
	case line[0] == '}':
		if len(st.stack) == 0 {
			return errors.New("} without an open subsection")
		}
		rest := strings.TrimSpace(line[1:])
		if rest != "" && rest != "*" {
			return errors.New("text after }")
		}
		st.stack[len(st.stack)-1].final = rest == "*"
		st.stack = st.stack[:len(st.stack)-1]
		return nil
	}
	if st.section == nil {
		return errors.New("relation before the first [section]")
	}
	return p.relation(line, st)
}

// isDirective reports whether a line is "name<space>..." starting in the first column, as
// MIT requires of include and includedir.
func isDirective(line, name string) bool {
	return strings.HasPrefix(line, name) && len(line) > len(name) && (line[len(name)] == ' ' || line[len(name)] == '\t')
}

func (p *parser) relation(line string, st *parseState) error {
	eq := strings.IndexByte(line, '=')
	if eq <= 0 {
		return errors.New("line is neither a section, a relation (tag = value) nor a comment")
	}
	tag := strings.TrimSpace(line[:eq])
	value := strings.TrimSpace(line[eq+1:])
	if tag == "" || strings.ContainsAny(tag, " \t") {
		return errors.New("malformed tag")
	}
	if p.relations++; p.relations > MaxRelations {
		return fmt.Errorf("more than %d relations", MaxRelations)
	}
	parent := st.section
	if n := len(st.stack); n > 0 {
		parent = st.stack[n-1]
	}
	if value == "{" {
		if len(st.stack) >= MaxNesting {
			return fmt.Errorf("subsections nested deeper than %d", MaxNesting)
		}
		sub := &node{name: tag}
		parent.children = append(parent.children, sub)
		st.stack = append(st.stack, sub)
		return nil
	}
	final := false
	if strings.HasSuffix(tag, "*") { // "tag* = value" is MIT's final relation
		tag, final = strings.TrimSuffix(tag, "*"), true
	}
	if value != "" && value[0] == '"' {
		v, err := unquote(value)
		if err != nil {
			return err
		}
		value = v
	}
	parent.values = append(parent.values, relation{tag: tag, value: value, final: final})
	return nil
}

// unquote reads a double-quoted value with MIT's escapes (\n \t \b \\ \"); text after the
// closing quote is ignored, as MIT does.
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("quoted value without a closing quote")
}

func (p *parser) include(path string, depth int, root *node) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("include %q: the path must be absolute", truncate(path))
	}
	return p.load(path, depth+1, root)
}

// includeDir reads, in name order, the files of dir whose names are made only of letters,
// digits, '-' and '_', or end in ".conf" (MIT's rule, which skips editor backups and
// package manager leftovers); names starting with '.' never count.
func (p *parser) includeDir(dir string, depth int, root *node) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("includedir %q: the path must be absolute", truncate(dir))
	}
	names, err := p.readDir(dir)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		if !includable(n) {
			continue
		}
		if err := p.load(filepath.Join(dir, n), depth+1, root); err != nil {
			return err
		}
	}
	return nil
}

func includable(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	if strings.HasSuffix(name, ".conf") {
		return true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func osReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(ents) > MaxFiles {
		ents = ents[:MaxFiles+1]
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func osReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, MaxFileSize+1)
	n := 0
	for n < len(b) {
		m, err := f.Read(b[n:])
		n += m
		if err != nil {
			break
		}
	}
	return b[:n], nil
}

// truncate bounds text copied from a file into an error.
func truncate(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// lookup calls fn for every relation at path (section, subsection..., tag) in file order,
// honouring final marks: once a final node or relation is found in one file, later files
// are not consulted. fn returns false to stop.
func lookup(files []file, path []string, fn func(string) bool) {
	for _, f := range files {
		stop := false
		if !visit(f.root, path, func(v string, final bool) bool {
			if final {
				stop = true
			}
			return fn(v)
		}, &stop) || stop {
			return
		}
	}
}

// visit walks n's children along path; stop is set (and the walk ends at the end of this
// file) when a final node was crossed.
func visit(n *node, path []string, fn func(string, bool) bool, stop *bool) bool {
	if len(path) == 1 {
		for _, r := range n.values {
			if r.tag == path[0] && !fn(r.value, r.final) {
				return false
			}
		}
		return true
	}
	for _, c := range n.children {
		if c.name != path[0] {
			continue
		}
		if c.final {
			*stop = true
		}
		if !visit(c, path[1:], fn, stop) {
			return false
		}
	}
	return true
}

// subsections returns the names of the subsections of section (the realms of [realms]), in
// order, each once.
func subsections(files []file, section string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range files {
		for _, s := range f.root.children {
			if s.name != section {
				continue
			}
			for _, c := range s.children {
				if !seen[c.name] {
					seen[c.name] = true
					out = append(out, c.name)
				}
			}
		}
	}
	return out
}

// relations returns the tag = value pairs directly in section, in order, first value of a
// tag winning (as a single-valued lookup would).
func relations(files []file, section string) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, f := range files {
		for _, s := range f.root.children {
			if s.name != section {
				continue
			}
			for _, r := range s.values {
				if !seen[r.tag] {
					seen[r.tag] = true
					out = append(out, [2]string{r.tag, r.value})
				}
			}
		}
	}
	return out
}
