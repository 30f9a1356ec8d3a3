//go:build !race

package krbcrypto

const raceEnabled = false
