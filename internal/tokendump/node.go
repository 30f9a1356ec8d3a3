package tokendump

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits on what a dump may produce, whatever the input.
const (
	// MaxInput is the largest token Decode looks at (the largest any gosspi package
	// accepts is 1 MiB, a Kerberos message).
	MaxInput = 1 << 20
	maxDepth = 8
	// maxValue bounds the length of one printed value, in bytes.
	maxValue = 512
	// maxHexBytes bounds how many bytes of a binary value are shown in hex.
	maxHexBytes = 64
	// maxFields bounds the fields of a whole tree.
	maxFields = 4096
)

// Node is one decoded structure: a token, a message or a part of one.
type Node struct {
	// Type names what was decoded ("NTLM CHALLENGE", "Kerberos AP-REQ").
	Type string `json:"type"`
	// Fields are the structure's fields, in wire order.
	Fields []Field `json:"fields,omitempty"`
	// Error says where and why decoding stopped, when it did.
	Error string `json:"error,omitempty"`
}

// Field is one named value of a Node: text, a nested Node, or both.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	Node  *Node  `json:"node,omitempty"`
}

// budget is shared by every node of one Decode: the fields still allowed.
type budget struct{ fields int }

// builder adds fields to a node within the budget.
type builder struct {
	n     *Node
	b     *budget
	depth int
	opts  *Options
	// ticket is set below a ticket's decrypted part, for the PAC in it.
	ticket *ticketContext
}

func (d *builder) add(name, value string) {
	if d.b.fields <= 0 {
		if d.b.fields == 0 {
			d.n.Fields = append(d.n.Fields, Field{Name: "...", Value: "output limit reached"})
			d.b.fields--
		}
		return
	}
	d.b.fields--
	d.n.Fields = append(d.n.Fields, Field{Name: name, Value: clip(value)})
}

func (d *builder) addf(name, format string, args ...any) { d.add(name, fmt.Sprintf(format, args...)) }

// addHex adds a binary value: its size and its first bytes in hex.
func (d *builder) addHex(name string, b []byte) { d.add(name, hexValue(b)) }

// child adds a field holding a nested node of type typ and returns its builder.
func (d *builder) child(name, typ string) *builder {
	n := &Node{Type: clip(typ)}
	if d.b.fields > 0 {
		d.b.fields--
		d.n.Fields = append(d.n.Fields, Field{Name: name, Node: n})
	}
	return &builder{n: n, b: d.b, depth: d.depth + 1, opts: d.opts, ticket: d.ticket}
}

// fail records where decoding stopped; the first reason is kept.
func (d *builder) fail(format string, args ...any) {
	if d.n.Error == "" {
		d.n.Error = clip(fmt.Sprintf(format, args...))
	}
}

func hexValue(b []byte) string {
	if len(b) == 0 {
		return "(0 bytes)"
	}
	if len(b) <= maxHexBytes {
		return fmt.Sprintf("(%d bytes) %s", len(b), hex.EncodeToString(b))
	}
	return fmt.Sprintf("(%d bytes) %s...", len(b), hex.EncodeToString(b[:maxHexBytes]))
}

// clip bounds s and makes it printable: invalid UTF-8 and control characters are
// escaped, so a hostile name cannot rewrite the terminal or forge output lines.
func clip(s string) string {
	var sb strings.Builder
	for i, r := range s {
		if sb.Len() >= maxValue {
			fmt.Fprintf(&sb, "... (%d bytes)", len(s))
			break
		}
		switch {
		case r == utf8.RuneError && isInvalid(s[i:]):
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func isInvalid(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return r == utf8.RuneError && size <= 1
}

// WriteText prints n as an indented tree.
func (n *Node) WriteText(w io.Writer) error {
	var sb strings.Builder
	n.text(&sb, 0)
	_, err := io.WriteString(w, sb.String())
	return err
}

func (n *Node) text(sb *strings.Builder, indent int) {
	pad := strings.Repeat("  ", indent)
	sb.WriteString(pad + n.Type + "\n")
	for _, f := range n.Fields {
		sb.WriteString(pad + "  " + f.Name + ":")
		if f.Value != "" {
			sb.WriteString(" " + f.Value)
		}
		sb.WriteString("\n")
		if f.Node != nil {
			f.Node.text(sb, indent+2)
		}
	}
	if n.Error != "" {
		sb.WriteString(pad + "  ! stopped: " + n.Error + "\n")
	}
}

// WriteJSON prints n as indented JSON.
func (n *Node) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(n)
}

// names formats the set bits of v with their names (bit value to name), unknown bits
// in hex, as "0x... (A | B)".
func names(v uint64, table []bitName) string {
	var parts []string
	rest := v
	for _, b := range table {
		if v&b.bit != 0 && rest&b.bit != 0 {
			parts = append(parts, b.name)
			rest &^= b.bit
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", rest))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("0x%08x", v)
	}
	return fmt.Sprintf("0x%08x (%s)", v, strings.Join(parts, " | "))
}

type bitName struct {
	bit  uint64
	name string
}
