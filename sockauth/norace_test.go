//go:build !race

package sockauth

const raceEnabled = false
