package main

import (
	"github.com/spf13/pflag"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/ui"
)

// addUIFlags adds --ui, the dashboard on the admin listener (package ui).
func addUIFlags(f *pflag.FlagSet, cfg *serveConfig) {
	f.BoolVar(&cfg.ui, "ui", true, "serve the dashboard at /ui/ on the admin listener (GET / redirects there)")
}

// uiOptions are the admin options of --ui.
func (cfg *serveConfig) uiOptions() []admin.Option {
	if !cfg.ui {
		return nil
	}
	return []admin.Option{admin.WithUI(ui.Handler())}
}
