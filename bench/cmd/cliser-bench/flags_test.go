package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
)

// The common flags give the mode's settings with each flag set in its
// place; no flag keeps the mode's own.
func TestCommonFlagsMakeTheSettings(t *testing.T) {
	settings := func(args ...string) harness.Settings {
		t.Helper()
		fs, c := commonFlagSet("run")
		require.NoError(t, fs.Parse(args))
		s, err := c.settings()
		require.NoError(t, err)
		return s
	}
	assert.Equal(t, harness.Quick(), settings())
	assert.Equal(t, harness.Full(), settings("--mode", "full"))

	want := harness.Full()
	want.Mode, want.Stages = "custom", []int{10, 20, 40}
	want.Rate, want.Concurrency, want.KeepAlive = 0, 7, 3*time.Second
	want.Hold, want.ProbeHold, want.Probes, want.PerWorker = 0, 2*time.Second, 0, 300
	want.InprocTick, want.Burst, want.Settle = 5*time.Millisecond, 0, 0
	want.BurstRounds, want.HoldRounds, want.RoundHold, want.RoundProbeHold = 36, 9, time.Second, 0
	want.ServerCPUs, want.LoadCPUs = "0", "0"
	assert.Equal(t, want, settings("--mode", "full", "--stages", "10, 20,40", "--rate", "0", "--concurrency", "7",
		"--keepalive-interval", "3s", "--hold", "0s", "--probe-hold", "2s", "--probes", "0", "--per-process", "300",
		"--inproc-tick", "5ms", "--burst", "0", "--settle", "0s", "--burst-rounds", "36", "--hold-rounds", "9",
		"--hold-round", "1s", "--hold-round-probes", "0s", "--server-cpus", "0", "--load-cpus", "0"))
}

// Each flag's mistake names the flag and what it wants.
func TestCommonFlagsMistakes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--stages", "10,x"}, `--stages "10,x": want ascending positive counts`},
		{[]string{"--stages", "0"}, `--stages "0": want ascending positive counts`},
		{[]string{"--stages", "10,10"}, `--stages "10,10": want ascending positive counts`},
		{[]string{"--burst-rounds", "37", "--stages", "x"}, `--stages "x": want ascending positive counts`},
		{[]string{"--hold-rounds", "10", "--burst-rounds", "0"}, "--hold-rounds 10: want 0 to 9"},
		{[]string{"--hold-rounds", "10", "--burst-rounds", "-2"}, "--burst-rounds -2: want 1 to 36"},
		{[]string{"--hold-rounds", "10", "--server-cpus", "x"}, "--hold-rounds 10: want 0 to 9"},
	} {
		fs, c := commonFlagSet("run")
		require.NoError(t, fs.Parse(tc.args))
		_, err := c.settings()
		assert.EqualError(t, err, tc.want, tc.args)
	}
}
