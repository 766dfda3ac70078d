package main

import (
	"os"
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

// clusterOnlyGiven names the flags of cluster mode alone (--cluster-*)
// that fs has set: by the command line, the environment or the config
// file (applyLayers sets those as flags too); a default is none. On a
// single node they were ignored without a word (audit).
func clusterOnlyGiven(fs *pflag.FlagSet) []string {
	var given []string
	fs.Visit(func(f *pflag.Flag) {
		if strings.HasPrefix(f.Name, "cluster-") {
			given = append(given, "--"+f.Name)
		}
	})
	return given
}
