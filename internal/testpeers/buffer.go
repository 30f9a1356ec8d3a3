package testpeers

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// SyncBuffer is a bytes.Buffer that a child process or a server's logger may write while
// the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// JSONLines returns the lines written so far that are JSON objects (a slog.JSONHandler's
// records), skipping any other line.
func (b *SyncBuffer) JSONLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m != nil {
			out = append(out, m)
		}
	}
	return out
}
