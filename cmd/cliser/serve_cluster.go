package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// defaultNodeID is the host name (a pod's name on Kubernetes), or "" when
// it can not be read.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h)
}

// flagsGiven names the flags among names that fs has set: by the command
// line, the environment or the config file (applyLayers sets those as
// flags too); a default is none. A setting of a mode that is off (the
// cluster's, a webhook's) was ignored without a word (audit).
func flagsGiven(fs *pflag.FlagSet, names ...string) []string {
	var given []string
	fs.Visit(func(f *pflag.Flag) {
		if slices.Contains(names, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	return given
}
