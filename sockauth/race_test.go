//go:build race

package sockauth

// raceEnabled: the race detector makes sync.Pool drop items on purpose and allocates for
// its own bookkeeping, so allocation counts mean little under it.
const raceEnabled = true
