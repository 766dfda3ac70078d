package main

import (
	"testing"

	"github.com/cliser/cliser/bench/benchserver/benchservertest"
)

func TestFloorServerHarnessContract(t *testing.T) {
	benchservertest.CheckContract(t, run, "--keepalive-interval", "1h")
}

func TestFloorServerUsageMistakesExit2(t *testing.T) {
	benchservertest.CheckUsageMistakes(t, run)
}
