package main

import (
	"path/filepath"
	"strings"
)

// selfCommand is how the user can run this program again, for the commands its hints
// print: the path it was started by when that has a directory in it ("./sspi"), the go
// run command when it runs from go run's build cache (where no one can find it again),
// and its bare name when the shell found it on PATH.
func selfCommand(arg0 string) string {
	switch {
	case arg0 == "":
		return "sspi"
	case filepath.Base(filepath.Dir(arg0)) == "exe" && strings.Contains(filepath.ToSlash(arg0), "/go-build"):
		return "go run github.com/gosspi/sspi/cmd/sspi"
	case !strings.ContainsRune(arg0, filepath.Separator) && !strings.ContainsRune(arg0, '/'):
		return arg0
	case strings.Trim(arg0, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "":
		return arg0
	}
	return "'" + strings.ReplaceAll(arg0, "'", `'\''`) + "'"
}
