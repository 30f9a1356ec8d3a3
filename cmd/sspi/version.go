package main

import (
	"runtime/debug"
	"strings"
)

// readBuildInfo is debug.ReadBuildInfo, nil without build information.
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// versionLine is what --version prints: the module's version, the VCS revision and time
// the binary was built from (with "+dirty" for uncommitted changes), and the Go version.
// A binary built by "go build" in a checkout has the revision and "(devel)" as its
// version; one installed with "go install module@version" has the version and no
// revision.
func versionLine(bi *debug.BuildInfo) string {
	if bi == nil {
		return "sspi (no build information)"
	}
	path, version := bi.Main.Path, bi.Main.Version
	if path == "" {
		path = bi.Path
	}
	if version == "" {
		version = "(devel)"
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	var b strings.Builder
	b.WriteString("sspi " + version + " (" + path)
	if rev != "" {
		b.WriteString(", revision " + rev)
		if dirty {
			b.WriteString("+dirty")
		}
		if when != "" {
			b.WriteString(" of " + when)
		}
	}
	b.WriteString(", " + bi.GoVersion + ")")
	return b.String()
}
