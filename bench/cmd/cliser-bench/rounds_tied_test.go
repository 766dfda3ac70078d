package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

const (
	tiedServeEnv = "CLISER_BENCH_TIED_SERVE"
	tiedBinEnv   = "CLISER_BENCH_TIED_BIN"
	tiedDirEnv   = "CLISER_BENCH_TIED_DIR"
)

// tiedServe is TestRoundServersDieWithTheBench's bench: a round's cliser
// serve.
func tiedServe() {
	testkit.TiedChild(func() ([]int, error) {
		cmd, _, _, err := startServe(context.Background(), os.Getenv(tiedBinEnv), os.Getenv(tiedDirEnv), nil, nil)
		if err != nil {
			return nil, err
		}
		return []int{cmd.Process.Pid}, nil
	})
}

// A round's server dies with the bench, however the bench ends: one
// left serving would load the next round and the machine after it.
func TestRoundServersDieWithTheBench(t *testing.T) {
	bin, dir, _ := endToEnd(t, time.Minute)
	t.Setenv(tiedBinEnv, bin)
	t.Setenv(tiedDirEnv, dir)
	testkit.TiedChildren(t, tiedServeEnv)
}
