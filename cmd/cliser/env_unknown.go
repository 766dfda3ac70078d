package main

import (
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// envOnly are the CLISER_ variables read besides serve's and agent's
// flags: the secrets (never flags), the operator CLI's --admin, what the
// agent hands its --on-shutdown command, the profiling build's, and the
// host side of deploy/compose.yaml.
var envOnly = []string{
	"CLISER_PASSWORD", "CLISER_ADMIN_TOKEN", "CLISER_WEBHOOK_SECRET", "CLISER_ADMIN",
	"CLISER_SHUTDOWN_REASON", "CLISER_CPUPROFILE", "CLISER_MEMPROFILE",
	"CLISER_IMAGE", "CLISER_PUBLISH", "CLISER_PUBLISH_ADMIN",
}

// warnUnknownEnv names, once at start, the CLISER_ variables no command
// of this binary reads: a misspelt setting (CLISER_KEEPALIVE_INTERVALL)
// would otherwise be ignored without a word, where the same key in the
// config file exits 2. Only a warning: one environment file often serves
// the server, the agent and the CLI, and each knows the others' names.
// Names only, never values: a value may be a secret.
func warnUnknownEnv(log *zap.Logger) {
	if names := unknownEnv(os.Environ()); len(names) > 0 {
		log.Warn("environment: no cliser setting has these names, so they are ignored (misspelt? the settings: cliser serve --help, cliser agent --help)",
			zap.Strings("variables", names))
	}
}

// unknownEnv lists the CLISER_ names of environ that are neither a flag
// of serve or agent nor in envOnly, each with the known name nearest to
// it when one is close: "CLISER_KEEPALIVE_INTERVALL (CLISER_KEEPALIVE_INTERVAL?)".
func unknownEnv(environ []string) []string {
	known := knownEnv()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CLISER_") || known[name] {
			continue
		}
		if near := nearest(name, len("CLISER_"), known); near != "" {
			name += " (" + near + "?)"
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// knownEnv is every CLISER_ name read: the flags of the two commands
// that take their flags from the environment (applyLayers), and envOnly.
// The operator CLI's other flags (CLISER_OUTPUT) are not read.
func knownEnv() map[string]bool {
	known := map[string]bool{}
	for _, n := range envOnly {
		known[n] = true
	}
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "serve" || c.Name() == "agent" {
			c.Flags().VisitAll(func(f *pflag.Flag) { known[envName(f.Name)] = true })
		}
	}
	return known
}

// nearest is the known name within 2 edits of name, and within a third
// of the length of what follows its prefix (CLISER_ of a variable, none
// of a config file's key), the closest (the first in order on a tie), or
// "": further off, a suggestion is a guess.
func nearest(name string, prefix int, known map[string]bool) string {
	best, bestD := "", 3
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if 3*bestD > len(name)-prefix {
		return ""
	}
	return best
}

// editDistance is Levenshtein's distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
