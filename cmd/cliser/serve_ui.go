package main

import (
	"github.com/spf13/pflag"
)

// addUIFlags adds --ui, the dashboard on the admin listener (package ui).
func addUIFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.BoolVar(&cfg.ui, "ui", true, "serve the dashboard at /ui/ on the admin listener (GET / redirects there)")
}
