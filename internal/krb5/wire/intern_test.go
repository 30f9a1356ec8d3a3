package wire

import (
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

func nameList(t *testing.T, comps ...string) []byte {
	t.Helper()
	var e encoder
	r := e.open(tagSequence)
	for _, c := range comps {
		e.str("t", "c", c)
	}
	e.close(r)
	if e.err != nil {
		t.Fatal(e.err)
	}
	s := cryptobyte.String(e.b)
	var list cryptobyte.String
	s.ReadASN1(&list, tagSequence)
	return list
}

// TestInternName: a decoded name comes back from the table with the same components;
// a slot holding another name (as after a hash collision) is never taken for this one.
func TestInternName(t *testing.T) {
	n1 := PrincipalName{Type: 2, Components: []string{"host", "intern.example"}}
	var e encoder
	e.principalName(&n1)
	if e.err != nil {
		t.Fatal(e.err)
	}
	var a, b PrincipalName
	for _, p := range []*PrincipalName{&a, &b} {
		s := cryptobyte.String(e.b)
		if err := parsePrincipalName(&s, p); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Equal(n1) || !b.Equal(n1) || &a.Components[0] != &b.Components[0] {
		t.Fatalf("second decoding not from the table: %v %v", a, b)
	}
	if cap(a.Components) != len(a.Components) {
		t.Fatal("shared components have spare capacity: an append would write into the table")
	}
	list := nameList(t, "host", "intern.example")
	if got := internedName(list); len(got) != 2 || got[1] != "intern.example" {
		t.Fatalf("the table does not hold the name decoded twice: %v", got)
	}
	// A slot holding another name, as after a hash collision, never answers for this one.
	for _, other := range [][]string{{"host", "other.example"}, {"host"}, {"host", "intern.example", "x"}} {
		internSlot(list, true).Store(&internEntry{s: string(nameList(t, other...)), comps: other})
		if got := internedName(list); got != nil {
			t.Fatalf("a slot holding %v answered: %v", other, got)
		}
	}
	// Nor does a realm's entry (no components) in a name's slot.
	internSlot(list, true).Store(&internEntry{s: string(list)})
	if got := internedName(list); got != nil {
		t.Fatalf("a realm entry answered: %v", got)
	}
	if got := internString([]byte("REALM.EXAMPLE")); got != "REALM.EXAMPLE" || internString([]byte("REALM.EXAMPLE")) != got {
		t.Fatal("realm not interned as itself")
	}
}

// TestInternAllocs: decoding a ticket seen before allocates no strings.
func TestInternAllocs(t *testing.T) {
	tk := Ticket{Realm: "ALLOC.EXAMPLE", SName: PrincipalName{Type: 2, Components: []string{"host", "alloc.example"}},
		EncPart: EncryptedData{EType: 18, Cipher: make([]byte, 64)}}
	der, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Ticket
	if err := got.Unmarshal(der); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { got.Unmarshal(der) }); n != 0 {
		t.Errorf("decoding a known ticket: %v allocations, want 0", n)
	}
	if got.Realm != tk.Realm || !got.SName.Equal(tk.SName) {
		t.Fatalf("decoded %v", got)
	}
}
