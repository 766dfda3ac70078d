package main

import (
	"testing"

	"github.com/cliser/cliser/bench/benchtest"
)

func TestTriggerBroadcastsShutdown(t *testing.T) {
	benchtest.CheckContract(t, run, "--listen", "127.0.0.1:0", "--keepalive-interval", "1h")
}

// Like the floor's and cliser's, a usage mistake exits 2.
func TestBaselineServerUsageMistakesExit2(t *testing.T) {
	benchtest.CheckUsageMistakes(t, run)
}
