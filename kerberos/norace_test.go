//go:build !race

package kerberos

const raceEnabled = false
