//go:build !linux

package main

import "os"

// isTerminal is false where this program cannot switch the terminal's echo off: the
// password is then read from standard input like any other line.
func isTerminal(f *os.File) bool { return false }

func withoutEcho(f *os.File, read func() (string, error)) (string, error) { return read() }
