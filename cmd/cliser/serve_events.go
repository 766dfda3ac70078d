package main

import (
	"github.com/spf13/pflag"

	"github.com/cliser/cliser/events"
)

func addEventFlags(f *pflag.FlagSet, cfg *serveConfig) {
	decimalVar(f, &cfg.eventRetention, "event-retention", events.DefaultRetention,
		"events the event log keeps (older ones are deleted); 0 turns the event log off")
}

func (cfg *serveConfig) validateEvents() error {
	if cfg.eventRetention < 0 {
		return configErrorf("--event-retention must be 0 (off) or a number of events, got %d", cfg.eventRetention)
	}
	return nil
}
