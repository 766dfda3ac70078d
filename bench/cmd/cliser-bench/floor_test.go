package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/internal/testkit"
)

// Each ratio compares the servers of one round, and the median is marked.
func TestFloorRoundsRatiosPerRound(t *testing.T) {
	var all []roundResult
	for round, hs := range []float64{50, 60, 40} {
		all = append(all,
			roundResult{Round: round + 1, Server: harness.KindCliser, HandshakeUS: hs, RSSPerClient: 1000, IdleCPU: 30},
			roundResult{Round: round + 1, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25},
			roundResult{Round: round + 1, Server: harness.KindCliserEvents, HandshakeUS: hs * 1.05, RSSPerClient: 1100, IdleCPU: 30})
	}
	md := floorRoundsMarkdown(all, harness.Quick(), time.Time{})
	assert.Contains(t, md, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 1.25×, 1.50×, 1.00× (**1.25×**) | 1.25×, 1.25×, 1.25× (**1.25×**) | 1.20×, 1.20×, 1.20× (**1.20×**) |")
	assert.Contains(t, md, "| cliser+events ÷ cliser (target ≤ 1.10×) | 1.05×, 1.05×, 1.05× (**1.05×**) | 1.10×, 1.10×, 1.10× (**1.10×**) | 1.00×, 1.00×, 1.00× (**1.00×**) |")

	assert.Contains(t, md, "round 1 runs, one after the other, cliser (event log off, the shared password), the floor (bin/floor-server) and cliser+events (event log and a webhook on), round 2 in reverse, and rounds 3 and 4 the same from one server further along that list")
	assert.NotContains(t, md, "cliser+identity+events", "the header names only the servers that ran")

	// Two rounds: the median is their mean, not the larger one.
	md = floorRoundsMarkdown(all[:6], harness.Quick(), time.Time{})
	assert.Contains(t, md, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 1.25×, 1.50× (**1.38×**) |")
}

// A round without bursts has no CPU per handshake: its report is still
// written, the figure null (encoding NaN failed and the report was lost).
func TestFloorRoundsReportWithoutBursts(t *testing.T) {
	var buf strings.Builder
	rounds := jsonRounds([]roundResult{{Round: 1, Server: harness.KindFloor, HandshakeUS: math.NaN()}})
	require.NoError(t, harness.WriteJSON(&buf, rounds))
	assert.Contains(t, buf.String(), `"burst_cpu_us_per_handshake": null`)
}

// The per-client-credentials variant has its row against cliser, and the
// RTT of every server is shown and judged on the server clock: where the
// floor misses the RTT target too, the report says it is the machine.
func TestFloorRoundsShowTheTrustVariantAndTheRTTs(t *testing.T) {
	rtt := func(p99, p999 float64) *harness.Percentiles {
		return &harness.Percentiles{Count: 1000, P50: 0.5, P99: p99, P999: p999, UpperBound: true}
	}
	all := []roundResult{
		{Round: 1, Server: harness.KindCliser, HandshakeUS: 50, RSSPerClient: 1000, IdleCPU: 30, RTT: rtt(2.5, 10)},
		{Round: 1, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25, RTT: rtt(3, 12.5)},
		{Round: 1, Server: harness.KindCliserTrust, HandshakeUS: 60, RSSPerClient: 1200, IdleCPU: 33, RTT: rtt(2.5, 12.5),
			StartRSS: 30 << 20, Credentials: 19000, CredentialBytes: 19000 * 37},
		{Round: 1, Server: harness.KindCliserEvents, HandshakeUS: 60, RSSPerClient: 1200, IdleCPU: 33, RTT: rtt(2.5, 12.5), StartRSS: 20 << 20},
		{Round: 2, Server: harness.KindCliser, HandshakeUS: 50, RSSPerClient: 1000, IdleCPU: 30, RTT: rtt(2, 6)},
		{Round: 2, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25, RTT: rtt(1.5, 5)},
		{Round: 2, Server: harness.KindCliserTrust, HandshakeUS: 50, RSSPerClient: 1000, IdleCPU: 30, RTT: rtt(2, 6)},
	}
	md := floorRoundsMarkdown(all, harness.Quick(), time.Time{})
	assert.Contains(t, md, "| 1 | floor | 40.0 µs | 800 B | 25.0% | 0.5 / 3 / 12.5 ms |")
	assert.Contains(t, md, "| cliser+identity+events ÷ cliser (target ≤ 1.10×) | 1.20×, 1.00× (**1.10×**) | 1.20×, 1.00× (**1.10×**) | 1.10×, 1.00× (**1.05×**) | 1.00×, 1.00× (**1.00×**) | 1.25×, 1.00× (**1.12×**) |")
	assert.Contains(t, md, "| cliser+events ÷ cliser (target ≤ 1.10×) | 1.20× (**1.20×**) |", "round 2 did not run it")
	assert.Contains(t, md, "- round 1: 19000 credentials, started at 30.0 MiB (cliser+events's start 20.0 MiB); 37 B a credential, the process's own count: its credential table's resident bytes at the plateau; "+
		"the start RSS above cliser+events', per ID, 552 B (two processes' start-ups: not judged). Counted per client, 1237 B against cliser's 1000 B: **1.24×**.", "judged on the server's own count, the start RSSes' difference beside")
	assert.Contains(t, md, "- round 1: cliser p99 ≤ 2.5 ms, p999 ≤ 10 ms: **missed**; the floor p99 ≤ 3 ms, p999 ≤ 12.5 ms: missed — the floor misses the target too")
	assert.Contains(t, md, "- round 2: cliser p99 ≤ 2 ms, p999 ≤ 6 ms: **met**; the floor p99 ≤ 1.5 ms, p999 ≤ 5 ms: met.")
}

func TestFloorRoundsServersFlag(t *testing.T) {
	_, err := floorServers("floor,cliser+events")
	assert.ErrorContains(t, err, "--servers must include cliser")
	_, err = floorServers("cliser,cliser+tls")
	assert.ErrorContains(t, err, `"cliser+tls" is not one of cliser, floor, cliser+events, cliser+identity+events`)
	kinds, err := floorServers("cliser,cliser+identity+events")
	require.NoError(t, err)
	assert.Equal(t, []string{harness.KindCliser, harness.KindCliserTrust}, kinds)
}

// With --server-cpus and --load-cpus a round runs each server unpinned and
// then pinned: both RTTs are judged, the ratios stay the unpinned runs'.
func TestFloorRoundsReportPinnedBesideUnpinned(t *testing.T) {
	set := harness.Quick()
	set.ServerCPUs, set.LoadCPUs = "0", "1"
	runs := pinnedAndNot(set)
	require.Len(t, runs, 2)
	assert.Empty(t, runs[0].ServerCPUs+runs[0].LoadCPUs, "unpinned first")
	assert.Equal(t, set.Burst, runs[0].Burst)
	assert.Equal(t, "0", runs[1].ServerCPUs)
	assert.Zero(t, runs[1].Burst, "the pinned run is for the hold")
	assert.Len(t, pinnedAndNot(harness.Quick()), 1)

	rtt := func(p99, p999 float64) *harness.Percentiles {
		return &harness.Percentiles{Count: 1000, P50: 0.5, P99: p99, P999: p999, UpperBound: true}
	}
	pin := pinNote(runs[1])
	all := []roundResult{
		{Round: 1, Server: harness.KindCliser, HandshakeUS: 50, RSSPerClient: 1000, IdleCPU: 30, RTT: rtt(4, 12.5), ServerWait: 20, LoadWait: 30},
		{Round: 1, Server: harness.KindCliser, HandshakeUS: math.NaN(), RSSPerClient: 900, IdleCPU: 28, RTT: rtt(1.75, 6), Pinned: pin, ServerWait: 1.5, LoadWait: 2},
		{Round: 1, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25, RTT: rtt(10, 25)},
		{Round: 1, Server: harness.KindFloor, HandshakeUS: math.NaN(), RSSPerClient: 800, IdleCPU: 25, RTT: rtt(3, 8), Pinned: pin},
	}
	md := floorRoundsMarkdown(all, set, time.Time{})
	assert.Contains(t, md, "also ran a second time (pinned: server CPUs 0, load CPUs 1)")
	assert.Contains(t, md, "| 1 | cliser | 50.0 µs | 1000 B | 30.0% | 0.5 / 4 / 12.5 ms | 0% | 0 | 20.0% / 30.0% |")
	assert.Contains(t, md, "| 1 | cliser (pinned: server CPUs 0, load CPUs 1) | – | 900 B | 28.0% | 0.5 / 1.75 / 6 ms | 0% | 0 | 1.5% / 2.0% |")
	assert.Contains(t, md, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 1.25× (**1.25×**) | 1.25× (**1.25×**) | 1.20× (**1.20×**) |", "the unpinned runs")
	assert.Contains(t, md, "- round 1: cliser p99 ≤ 4 ms, p999 ≤ 12.5 ms: **missed**; the floor p99 ≤ 10 ms")
	assert.Contains(t, md, "  - the same round (pinned: server CPUs 0, load CPUs 1): cliser p99 ≤ 1.75 ms, p999 ≤ 6 ms: **met**; the floor p99 ≤ 3 ms, p999 ≤ 8 ms: missed")
}

// Each run's allocations per handshake, and the hold's GC cycles and bytes
// a keep-alive, are shown beside the others', "–" for a count the server
// did not serve; no table when none did.
func TestFloorRoundsShowTheAllocationsPerHandshake(t *testing.T) {
	all := []roundResult{
		{Round: 1, Server: harness.KindCliser, HandshakeUS: 50, RSSPerClient: 1000, IdleCPU: 30,
			BurstAlloc:  &harness.AllocCount{BytesPerHandshake: 1003.6, GCPer1000: 0.35},
			StagesAlloc: &harness.AllocCount{BytesPerHandshake: 1210, GCPer1000: 0.4},
			HoldAlloc:   &harness.HoldAlloc{GCCycles: 1, BytesPerKeepAlive: 17.24}},
		{Round: 1, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25,
			BurstAlloc: &harness.AllocCount{BytesPerHandshake: 728, GCPer1000: 0.1}},
	}
	md := floorRoundsMarkdown(all, harness.Quick(), time.Time{})
	assert.Contains(t, md, "| 1 | cliser | 1004 B / 1210 B | 0.35 / 0.40 | 1 / 17.2 B |")
	assert.Contains(t, md, "| 1 | floor | 728 B / – | 0.10 / – | – |")

	all[0].BurstAlloc, all[0].StagesAlloc, all[1].BurstAlloc = nil, nil, nil
	assert.NotContains(t, floorRoundsMarkdown(all, harness.Quick(), time.Time{}), "bytes allocated per handshake")
}

// `cliser-bench floor` end to end at small N: each round is one
// interleaved run of its servers, the order rotated, and a round's idle
// figures are its interleaved hold's.
func TestFloorRoundsInterleaveEachRound(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 3*time.Minute)
	require.NoError(t, floorRounds(ctx, []string{"--cliser-bin", bin, "--floor-bin", testkit.FloorBinary(t), "--in-process-load",
		"--servers", "cliser,floor", "--rounds", "2", "--stages", "20,50", "--concurrency", "16", "--keepalive-interval", "200ms",
		"--settle", "100ms", "--hold", "500ms", "--probe-hold", "0", "--probes", "0", "--burst", "30", "--burst-rounds", "1",
		"--out-dir", dir, "--work-dir", t.TempDir()}))
	files, err := filepath.Glob(filepath.Join(dir, "*-floor-rounds.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	var rep struct {
		Rounds []map[string]any `json:"rounds"`
	}
	readJSON(t, files[0], &rep)
	var got []string
	for _, r := range rep.Rounds {
		got = append(got, fmt.Sprintf("%v %v", r["round"], r["server"]))
		assert.Equal(t, "interleaved hold", r["idle_from"], r)
		assert.EqualValues(t, 50, r["idle_clients"], r)
		assert.Positive(t, r["idle_cpu_percent"], r)
		assert.NotNil(t, r["burst_cpu_us_per_handshake"], r)
		assert.EqualValues(t, 0, r["errors"], r)
		bursts, _ := r["burst_rounds"].([]any)
		require.Len(t, bursts, 1, "the round's burst, whole")
		assert.Contains(t, bursts[0], "counters", "what moved with its CPU")
	}
	assert.Equal(t, []string{"1 cliser", "1 floor", "2 floor", "2 cliser"}, got)
}

// RTT bounds print to the microsecond, not as their float sums.
func TestFloorRoundsPrintBoundsToTheMicrosecond(t *testing.T) {
	assert.Equal(t, "2.91", num(2.9099999999999997))
	assert.Equal(t, "13.1", num(13.100000000000001))
	assert.Equal(t, "0.002", num(0.0015))
	assert.Equal(t, "–", num(math.NaN()))
	// the rounds' table prints its RTT cells the same way
	r := roundResult{RTT: &harness.Percentiles{Count: 1, P50: 0.5519999999999999, P99: 2.2300000000000004, P999: 13.799999999999999}}
	assert.Equal(t, "0.552 / 2.23 / 13.8 ms", rttCell(r))
}

// A round's bursts are paired burst by burst, as compare pairs its rounds:
// the median of their ratios, its 95% interval from six bursts on, the
// range; the JSON keeps each burst's figure.
func TestFloorRoundsGiveTheBurstsMedian(t *testing.T) {
	cliser := []float64{50, 52, 54, 56, 58, 60, 62, 64, 66, 68}
	floor := []float64{50, 50, 50, 50, 50, 50, 50, 50, 50, 50}
	all := []roundResult{
		{Round: 1, Server: harness.KindCliser, HandshakeUS: 59, BurstRoundsUS: cliser},
		{Round: 1, Server: harness.KindFloor, HandshakeUS: 50, BurstRoundsUS: floor},
		{Round: 1, Server: harness.KindCliserEvents, HandshakeUS: 59, BurstRoundsUS: cliser[:4]},
	}
	md := floorRoundsMarkdown(all, harness.Quick(), time.Time{})
	assert.Contains(t, md, "| 1 | cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 10 | **1.18×** | 1.04–1.32× | 1.00–1.36× |\n")
	assert.Contains(t, md, "| 1 | cliser+events ÷ cliser (target ≤ 1.10×) | 4 | **1.00×** | – | 1.00–1.00× |\n", "four bursts: no interval")

	var buf strings.Builder
	require.NoError(t, harness.WriteJSON(&buf, jsonRounds(all[:1])))
	assert.Contains(t, buf.String(), `"burst_rounds_cpu_us": [`)
}
