package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/internal/testkit"
)

// `cliser-bench compare` end to end at small N, every server of the
// default run and the tick experiment: the report's four files and the
// profiles under the run's name, every result under its kind, the burst
// order with cliser's variants next to it, and the in-process server's
// profile tops. No timing is asserted.
func TestCompareWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 4*time.Minute)
	name := time.Now().UTC().Format("2006-01-02") + "-custom"
	err := compare(ctx, []string{"--cliser-bin", bin, "--floor-bin", testkit.FloorBinary(t),
		"--baseline-bin", testkit.BaselineBinary(t), "--out-dir", dir, "--in-process-load", "--micro=false",
		"--tick-experiment", "50ms", "--stages", "20,50", "--concurrency", "16", "--keepalive-interval", "200ms",
		"--settle", "100ms", "--hold", "500ms", "--probe-hold", "500ms", "--probes", "5",
		"--burst", "30", "--burst-rounds", "2", "--hold-rounds", "0"})

	named := func(suffixes ...string) (out []string) {
		for _, suffix := range suffixes {
			out = append(out, name+suffix)
		}
		return out
	}
	inprocProfiles := named("-cliser-heap.pprof", "-cliser-hold.pprof", "-cliser-ramp.pprof", "-cliser-shutdown.pprof")
	files := append(named(".json", ".md", ".png", ".txt", "-baseline-burst.pprof", "-floor-burst.pprof"), inprocProfiles...)
	assert.ElementsMatch(t, files, fileNames(t, dir), "the report's files and the profiles, under the run's name")
	var rep harness.Report
	readJSON(t, filepath.Join(dir, name+".json"), &rep)
	// A loaded machine may give the tiny run a problem (a burst that did
	// not settle in 3 s): the report holds it, and compare fails with it.
	assert.Equal(t, fmt.Sprint(runFailed(&rep)), fmt.Sprint(err), "compare fails as its report's runs do")
	tick := harness.KindInproc + " tick=50ms"
	kinds := []string{harness.KindCliser, harness.KindCliserEvents, harness.KindCliserTrust, harness.KindFloor, harness.KindBaseline}
	assert.ElementsMatch(t, append(slices.Clone(kinds), harness.KindInproc, tick), slices.Collect(maps.Keys(rep.Results)))
	require.Len(t, rep.BurstOrder, 2)
	assert.Equal(t, kinds, rep.BurstOrder[0], "the first round runs the servers in compare's order")
	assert.Equal(t, tick, rep.Results[tick].Server)
	assert.Equal(t, "custom", rep.Settings.Mode)
	assert.Zero(t, rep.Settings.InprocTick, "the experiment's tick is its own run's, not the report's")
	assert.Equal(t, name+".png", rep.Chart)
	assert.Empty(t, rep.Micro, "--micro=false")
	assert.NotEmpty(t, rep.Commit)
	assert.Positive(t, rep.Seconds)
	assert.ElementsMatch(t, inprocProfiles, slices.Collect(maps.Keys(rep.ProfileTop)), "the in-process server's profiles")
	for file, top := range rep.ProfileTop {
		assert.NotContains(t, top, "go tool pprof failed", file)
	}
	md, err := os.ReadFile(filepath.Join(dir, name+".md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Targets")
	assert.Contains(t, string(md), "![RSS")
}

func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Each of cliser's variants runs next to cliser, the run it is compared
// with; the floor before the baseline.
func TestCompareKindsKeepCliserVariantsNextToIt(t *testing.T) {
	c, e, i, f, b := harness.KindCliser, harness.KindCliserEvents, harness.KindCliserTrust, harness.KindFloor, harness.KindBaseline
	for _, tc := range []struct {
		flags compareFlags
		want  []string
	}{
		{compareFlags{}, []string{c, b}},
		{compareFlags{floor: true}, []string{c, f, b}},
		{compareFlags{events: true}, []string{c, e, b}},
		{compareFlags{identity: true}, []string{c, i, b}},
		{compareFlags{floor: true, events: true, identity: true}, []string{c, e, i, f, b}},
	} {
		assert.Equal(t, tc.want, tc.flags.kinds(), "%+v", tc.flags)
	}
}

// A quick or custom run says its mode in its name; the full run keeps the
// plain day, in UTC.
func TestCompareReportName(t *testing.T) {
	late := time.Date(2026, 11, 25, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600))
	assert.Equal(t, "2026-11-26", compareReportName(late, "full"))
	assert.Equal(t, "2026-11-26-quick", compareReportName(late, "quick"))
	assert.Equal(t, "2026-11-26-custom", compareReportName(late, "custom"))
}
