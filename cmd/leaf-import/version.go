package main

import (
	"runtime/debug"
	"strings"
)

// version is what this build says it is: set with -ldflags "-X main.version=..." by make, else
// read from the build information Go stamps into every binary (the module version for `go
// install …@v1.2.3`, the VCS revision for a plain `go build` in a checkout).
var version = ""

func init() {
	if version == "" {
		version = buildVersion(debug.ReadBuildInfo())
	}
}

// buildVersion names a build from its build information: the module version when it is a
// release, else "devel" with the VCS revision (and "-dirty" for uncommitted changes).
func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "dev"
	}
	v := info.Main.Version
	if v != "" && v != "(devel)" && !strings.Contains(v, "+dirty") && !strings.HasPrefix(v, "v0.0.0-") {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		if v != "" && v != "(devel)" {
			return v
		}
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return "devel-" + rev
}
