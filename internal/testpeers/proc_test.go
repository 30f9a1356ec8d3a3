package testpeers

import (
	"os/exec"
	"testing"
	"time"
)

// TestLineProcLastLine: a peer that answers with one line and exits at once (the C
// drivers' "ERROR ..." then exit 1) must have that line read, every time. It was lost now
// and then when os/exec's Wait closed the stdout pipe before the reader got to it.
func TestLineProcLastLine(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for i := range 300 {
		p, err := startLineProc("last-line", exec.Command(sh, "-c", "read x; echo ERROR $x; exit 1"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		line, err := p.exchange("bye")
		if err != nil || line != "ERROR bye" {
			t.Fatalf("run %d: %q, %v", i, line, err)
		}
		p.close() // its exit status 1 is the point
	}
}
