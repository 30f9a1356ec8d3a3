package kerberos

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

var fixedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return fixedTime }
