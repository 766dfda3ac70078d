package main

import (
	"testing"

	"github.com/cliser/cliser/bench/benchtest"
)

func TestFloorServerHarnessContract(t *testing.T) {
	benchtest.CheckContract(t, run, "--keepalive-interval", "1h")
}

func TestFloorServerUsageMistakesExit2(t *testing.T) {
	benchtest.CheckUsageMistakes(t, run)
}
