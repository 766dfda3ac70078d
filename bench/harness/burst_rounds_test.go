package harness

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// Rounds 2k and 2k+1 run the list rotated by k, the second reversed.
func TestRoundOrderRotatesAndReverses(t *testing.T) {
	kinds := []string{"a", "b", "c"}
	assert.Equal(t, []string{"a", "b", "c"}, RoundOrder(kinds, 0))
	assert.Equal(t, []string{"c", "b", "a"}, RoundOrder(kinds, 1))
	assert.Equal(t, []string{"b", "c", "a"}, RoundOrder(kinds, 2))
	assert.Equal(t, []string{"a", "c", "b"}, RoundOrder(kinds, 3))
	assert.Equal(t, []string{"a", "b", "c"}, RoundOrder(kinds, 6))
	assert.Equal(t, []string{"a", "b", "c"}, kinds, "the list itself is left as it was")
	assert.Empty(t, RoundOrder([]string(nil), 1))
}

// Over 2n rounds every server runs in every position twice, and every
// two rounds each pair runs in both orders: a pair's ratio is not taken
// with one of them first more often (rotation alone ran cliser before the
// floor in 2 of 5 rounds of the full run, cliser+events before cliser in
// 1 of 5).
func TestRoundOrderBalancesPositionsAndPairs(t *testing.T) {
	for n := 2; n <= 5; n++ {
		kinds := []string{"cliser", "cliser+events", "cliser+identity+events", "floor", "baseline"}[:n]
		positions := map[string]map[int]int{}
		for r := range 2 * n {
			for i, k := range RoundOrder(kinds, r) {
				if positions[k] == nil {
					positions[k] = map[int]int{}
				}
				positions[k][i]++
			}
		}
		for _, k := range kinds {
			for i := range n {
				assert.Equal(t, 2, positions[k][i], "%d servers: %s at position %d", n, k, i)
			}
		}
		for r := 0; r < 24; r += 2 {
			first, second := RoundOrder(kinds, r), RoundOrder(kinds, r+1)
			for _, a := range kinds {
				for _, b := range kinds {
					if a != b {
						assert.NotEqual(t, before(first, a, b), before(second, a, b), "%d servers, rounds %d and %d: %s and %s in one order", n, r+1, r+2, a, b)
					}
				}
			}
		}
	}
}

// before says whether a runs before b in order.
func before(order []string, a, b string) bool { return slices.Index(order, a) < slices.Index(order, b) }

func TestMedian(t *testing.T) {
	assert.InDelta(t, 2.0, Median([]float64{3, 1, 2}), 1e-12)
	assert.InDelta(t, 2.5, Median([]float64{4, 1, 3, 2}), 1e-12, "the mean of the two middle values")
	assert.True(t, math.IsNaN(Median(nil)))
}

// burstResult is a server whose rounds of 1,000 handshakes took us[i] µs
// of CPU each, with their sums as the totals.
func burstResult(kind string, us ...float64) *Result {
	r := &Result{Server: kind}
	for i, u := range us {
		br := BurstRound{Round: i + 1, Handshakes: 1000, ServerCPU: u * 1000 / 1e6}
		r.Burst.Rounds = append(r.Burst.Rounds, br)
		r.Burst.Handshakes += br.Handshakes
		r.Burst.ServerCPU += br.ServerCPU
	}
	r.Burst.PerCPU = float64(r.Burst.Handshakes) / r.Burst.ServerCPU
	return r
}

// Each burst CPU target is judged on the median of the rounds' ratios, not
// on the ratio of the sums: one round the machine spoilt for one server
// moves the sums past the bound, and the median not, and the other way
// round.
func TestBurstCPUTargetsJudgeTheMedianOfTheRoundsRatios(t *testing.T) {
	for _, tc := range []struct {
		name          string
		a, b          []float64 // the rounds' µs of the ratio's two servers
		reached, note string
	}{
		{"one spoilt round: the sums miss, the median meets", []float64{50, 50, 50, 120}, []float64{46, 46, 46, 46}, "yes",
			"median of 4 rounds' ratios, 1.09–2.61×; the sums' 1.47×"},
		{"one lucky round: the sums meet, the median misses", []float64{60, 60, 60, 10}, []float64{46, 46, 46, 46}, "no",
			"median of 4 rounds' ratios, 0.22–1.30×; the sums' 1.03×"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// cliser ÷ floor ≤ 1.2×, cliser+events ÷ cliser ≤ 1.1×: a's
			// rounds are the numerator's, b's the denominator's.
			floor := floorTargetsOf(t, map[string]*Result{KindCliser: burstResult(KindCliser, tc.a...), KindFloor: burstResult(KindFloor, tc.b...)})
			assert.Equal(t, tc.reached, floor.Reached, floor.Figures)
			assert.Contains(t, floor.Figures, tc.note)

			on, off := burstResult(KindCliserEvents, tc.a...), burstResult(KindCliser, tc.b...)
			events := variantTargets("With the event log and a webhook on", KindCliserEvents, on, off, nil)[0]
			assert.Equal(t, "With the event log and a webhook on: CPU per handshake within 10% of off", events.Goal)
			assert.Equal(t, tc.reached, events.Reached, events.Figures)
			assert.Contains(t, events.Figures, tc.note)

			// cliser ≥ 2× the baseline's handshakes per CPU second: the
			// baseline's µs ÷ cliser's ≥ 2. The baseline's rounds are a's
			// × 2/1.2, cliser's b's: met where a ÷ b ≥ 1.2, so where
			// cliser ÷ floor misses.
			base := burstResult(KindBaseline, scaled(tc.a, 2/1.2)...)
			rep := &Report{Settings: Full(), Results: map[string]*Result{KindCliser: burstResult(KindCliser, tc.b...), KindBaseline: base}}
			per := targetNamed(t, rep.Targets(), goalOf("handshakes_per_cpu_vs_baseline").Text)
			want := map[string]string{"yes": "no", "no": "yes"}[tc.reached]
			assert.Equal(t, want, per.Reached, per.Figures)
			assert.Contains(t, per.Figures, "median of 4 rounds' ratios")
		})
	}
}

func scaled(v []float64, k float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}

func floorTargetsOf(t *testing.T, results map[string]*Result) Target {
	t.Helper()
	return targetNamed(t, (&Report{Settings: Full(), Results: results}).floorTargets(), "CPU per handshake ≤ 1.2× the floor's")
}

func targetNamed(t *testing.T, ts []Target, goal string) Target {
	t.Helper()
	for _, tg := range ts {
		if tg.Goal == goal {
			return tg
		}
	}
	require.Failf(t, "no such target", "%q among %v", goal, ts)
	return Target{}
}

// Without rounds (a report from before them) the sums are judged, as
// before, and the figures say nothing of rounds.
func TestBurstCPUTargetWithoutRoundsJudgesTheSums(t *testing.T) {
	c, f := burstResult(KindCliser, 50, 68), burstResult(KindFloor, 50, 50)
	c.Burst.Rounds, f.Burst.Rounds = nil, nil
	tg := floorTargetsOf(t, map[string]*Result{KindCliser: c, KindFloor: f})
	assert.Equal(t, "yes", tg.Reached, tg.Figures)
	assert.True(t, strings.HasPrefix(tg.Figures, "1.18× the floor: cliser 59.0 µs"), tg.Figures)
}

// The report's table gives each round's µs and ratios, in the order the
// round ran, and the medians the targets are judged on.
func TestBurstRoundsTable(t *testing.T) {
	rep := &Report{Settings: Full(), Results: map[string]*Result{
		KindCliser: burstResult(KindCliser, 50, 60, 55), KindFloor: burstResult(KindFloor, 40, 50, 50),
		KindCliserEvents: burstResult(KindCliserEvents, 55, 60, 66),
		KindInproc:       burstResult(KindInproc, 1, 1, 1),
	}, BurstOrder: roundOrders([]string{KindCliser, KindCliserEvents, KindFloor}, 3)}
	md := sectionOf(t, rep, (*Report).burstRoundsMarkdown, "## Burst rounds, interleaved")
	hasLines(t, md,
		"| round | order | cliser | cliser+events | floor | cliser ÷ floor | cliser+events ÷ cliser |\n",
		"| 1 | cliser, cliser+events, floor | 50.0 µs | 55.0 µs | 40.0 µs | 1.25× | 1.10× |\n",
		"| 2 | floor, cliser+events, cliser | 60.0 µs | 60.0 µs | 50.0 µs | 1.20× | 1.00× |\n",
		"| median (95% interval; range) | | | | | **1.20×** (–; 1.10–1.25×) | **1.10×** (–; 1.00–1.20×) |\n",
		"| sums | | 55.0 µs | 60.3 µs | 46.7 µs | 1.18× | 1.10× |\n",
	)
	assert.NotContains(t, md, KindInproc, "the in-process server's rounds were not interleaved")
}

// sectionOf is the section write makes of rep, which must open with
// heading and stand in the whole report.
func sectionOf(t *testing.T, rep *Report, write func(*Report, *bytes.Buffer), heading string) string {
	t.Helper()
	var b, full bytes.Buffer
	write(rep, &b)
	require.NoError(t, rep.Markdown(&full))
	assert.True(t, strings.HasPrefix(b.String(), "\n"+heading+"\n"), b.String())
	assert.Contains(t, full.String(), b.String())
	return b.String()
}

// hasLines fails unless md holds each of lines.
func hasLines(t *testing.T, md string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		assert.Contains(t, md, l)
	}
}

// roundOrders are n rounds' orders of kinds.
func roundOrders(kinds []string, n int) [][]string {
	var out [][]string
	for r := range n {
		out = append(out, RoundOrder(kinds, r))
	}
	return out
}

// roundsRan checks every server of every round in orders: it ran without
// error or problem, round (from 0) checks its round and gives its start,
// and each started after the one the order puts before it.
func roundsRan(t *testing.T, orders [][]string, results map[string]*Result, what string, round func(res *Result, i int) time.Time) {
	t.Helper()
	var starts []time.Time
	for i, order := range orders {
		for _, k := range order {
			res := results[k]
			assert.Empty(t, res.Problems, k)
			assert.Empty(t, res.Errors, k)
			starts = append(starts, round(res, i))
		}
	}
	for i := 1; i < len(starts); i++ {
		assert.True(t, starts[i].After(starts[i-1]), "%s %d started before the one the order puts before it", what, i+1)
	}
}

// Two subprocess servers run whole, each kept up after its shutdown; then
// their bursts alternate, each pair in both orders every two rounds.
func TestRunInterleavedAlternatesTheBursts(t *testing.T) {
	set := tiny()
	set.BurstRounds = 3
	kinds := []string{KindFloor, KindCliser}
	run, err := RunInterleaved(runCtx(t), kinds, set, Env{WorkDir: t.TempDir(), FloorBin: testkit.FloorBinary(t), CliserBin: testkit.Binary(t)})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{KindFloor, KindCliser}, {KindCliser, KindFloor}, {KindCliser, KindFloor}}, run.Order)
	roundsRan(t, run.Order, run.Results, "burst", func(res *Result, i int) time.Time {
		require.Len(t, res.Burst.Rounds, 3, res.Server)
		br := res.Burst.Rounds[i]
		assert.Equal(t, i+1, br.Round)
		assert.EqualValues(t, 30, br.Handshakes)
		assert.Positive(t, br.ServerCPU)
		return br.At
	})
	for _, k := range kinds {
		res := run.Results[k]
		assert.EqualValues(t, 50, res.Shutdown.Acked, k)
		assert.EqualValues(t, 90, res.Burst.Handshakes, "%s: the sums of the rounds", k)
		assert.EqualValues(t, 90, res.Burst.Latency.Count, k)
		assert.Positive(t, res.Burst.PerCPU, k)
		require.NotNil(t, res.Burst.Alloc, k)
		assert.EqualValues(t, 90, res.Burst.Alloc.Handshakes, k)
	}
}

// A server kept up for the rounds is stopped while the others are
// measured, and continued for its own bursts.
func TestFreezeStopsTheServer(t *testing.T) {
	srv, _ := startTestServer(t, KindCliser, 0)
	r := &runner{kind: KindCliser, srv: srv, fleet: multiFleet{}}
	require.NoError(t, r.freeze())
	waitState(t, srv.PID(), func(s byte) bool { return s == 'T' }, "stopped")
	require.NoError(t, r.thaw())
	waitState(t, srv.PID(), func(s byte) bool { return s != 'T' }, "running again")

	in := &runner{kind: KindInproc, srv: &inprocServer{}, fleet: multiFleet{}}
	assert.ErrorContains(t, in.freeze(), "no process of its own")
	_, err := RunInterleaved(runCtx(t), []string{KindInproc}, tiny(), Env{WorkDir: t.TempDir()})
	assert.ErrorContains(t, err, "cannot be stopped beside the others")
}

// waitState polls /proc/PID/stat's state until ok says yes.
func waitState(t *testing.T, pid int, ok func(byte) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		require.NoError(t, err)
		i := bytes.LastIndexByte(b, ')')
		if ok(b[i+2]) {
			return
		}
		require.True(t, time.Now().Before(deadline), "process %d not %s: state %c", pid, what, b[i+2])
		time.Sleep(10 * time.Millisecond)
	}
}

// The interval is the k-th smallest and k-th largest round, k the largest
// that keeps the median inside with 95% or more (binomial, p = ½): for six
// rounds the range (96.9%), none below six (five rounds' range covers
// 93.8%).
func TestMedianInterval(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{6, 1}, {10, 2}, {16, 4}, {20, 6}, {24, 7}, {30, 10}, {36, 12}} {
		v := make([]float64, tc.n)
		for i := range v {
			v[i] = float64(tc.n - i) // descending: the interval sorts
		}
		lo, hi := MedianInterval(v)
		assert.Equal(t, float64(tc.k), lo, "n=%d", tc.n)
		assert.Equal(t, float64(tc.n-tc.k+1), hi, "n=%d", tc.n)
		assert.Equal(t, float64(tc.n), v[0], "n=%d: v itself is left as it was", tc.n)
	}
	for _, n := range []int{0, 1, 5} {
		lo, hi := MedianInterval(make([]float64, n))
		assert.True(t, math.IsNaN(lo) && math.IsNaN(hi), "n=%d", n)
	}
}

// From six rounds a burst target's figures and the table give the 95%
// interval beside the median; the range stays.
func TestBurstTargetsGiveTheMediansInterval(t *testing.T) {
	a := []float64{50, 52, 54, 56, 58, 60, 62, 64, 66, 68}
	b := []float64{50, 50, 50, 50, 50, 50, 50, 50, 50, 50}
	floor := floorTargetsOf(t, map[string]*Result{KindCliser: burstResult(KindCliser, a...), KindFloor: burstResult(KindFloor, b...)})
	assert.Contains(t, floor.Figures, "median of 10 rounds' ratios, 95% interval 1.04–1.32×, range 1.00–1.36×; the sums' 1.18×")

	rep := &Report{Settings: Full(), Results: map[string]*Result{KindCliser: burstResult(KindCliser, a...), KindFloor: burstResult(KindFloor, b...)},
		BurstOrder: roundOrders([]string{KindCliser, KindFloor}, len(a))}
	md := sectionOf(t, rep, (*Report).burstRoundsMarkdown, "## Burst rounds, interleaved")
	hasLines(t, md, "| median (95% interval; range) | | | | **1.18×** (1.04–1.32×; 1.00–1.36×) |\n")
}

// Every measured burst of every kind dials from addresses no other burst,
// stage, hold round or profiled burst of any kind dials from, so that none
// meets another's closed sockets, all MaxBurstRounds of them.
func TestBurstSourcesAreTheirOwn(t *testing.T) {
	set := Full()
	workers := (set.Burst + set.PerWorker - 1) / set.PerWorker
	stageWorkers := (set.Stages[len(set.Stages)-1] + set.PerWorker - 1) / set.PerWorker
	owner := map[string]string{}
	claim := func(src source, n int, what string) {
		for w := range n {
			for k := range set.SourceIPs {
				ip := src.ip(w, k)
				if prev, ok := owner[ip]; ok {
					t.Fatalf("%s dials from %s, as %s does", what, ip, prev)
				}
				owner[ip] = what
				_, err := netip.ParseAddr(ip)
				require.NoError(t, err, what)
			}
		}
	}
	for kind := range sourceNet {
		claim(netOf(sourceNet[kind]), stageWorkers, kind+" stages")
		for round := range MaxBurstRounds {
			claim(burstSource(kind, round), workers, fmt.Sprintf("%s burst %d", kind, round+1))
		}
		for round := range MaxBurstRounds {
			claim(profileSource(kind, round), workers, fmt.Sprintf("%s profiled burst %d", kind, round+1))
		}
		for round := range MaxHoldRounds {
			claim(netOf(holdNet(kind, round)), stageWorkers, fmt.Sprintf("%s hold round %d", kind, round+1))
		}
	}
	assert.Len(t, owner, len(sourceNet)*((1+MaxHoldRounds)*stageWorkers+2*MaxBurstRounds*workers)*set.SourceIPs)
	assert.GreaterOrEqual(t, MaxBurstRounds, Full().BurstRounds)
}

// Past nine rounds the bursts dial from the second block of the nine nets.
// Each waits for its room in connection tracking first, and returns only
// once the server is settled: none of the burst's sockets still open on
// it. Its clients close before their first keep-alive.
func TestBurstsPastNineRoundsSettleAndKeepNoKeepAlive(t *testing.T) {
	for _, kind := range []string{KindFloor, KindCliser} {
		t.Run(kind, func(t *testing.T) {
			o := testServerOptions(t, 0)
			o.KeepAlive, o.FloorBin = time.Second, testkit.FloorBinary(t)
			srv, err := startServer(runCtx(t), kind, o)
			require.NoError(t, err)
			t.Cleanup(func() { _ = stopServer(srv) })
			set := tiny()
			set.KeepAlive, set.Password = o.KeepAlive, o.Password
			rooms := map[string]int{}
			env := Env{Progress: io.Discard, RoomFor: func(what string, need int) { rooms[what] = need }}
			r := &runner{kind: kind, set: set, env: env, srv: srv, res: &Result{Server: kind}, fleet: multiFleet{}}
			for round := range burstNets + 1 {
				require.NoError(t, r.burst(runCtx(t), round))
				n, err := serverSocketsFrom(srv.Addr(), burstSource(kind, round).net)
				require.NoError(t, err)
				assert.Zero(t, n, "burst %d: the server's sockets from its net when it returned", round+1)
				assert.Equal(t, set.Burst, rooms[fmt.Sprintf("%s burst %d", kind, round+1)], "burst %d waited for its room", round+1)
			}
			assert.Empty(t, r.res.Problems)
			require.Len(t, r.res.Burst.Rounds, burstNets+1)
			for _, br := range r.res.Burst.Rounds {
				assert.EqualValues(t, set.Burst, br.Handshakes, "burst %d", br.Round)
				assert.Zero(t, br.KeepAlives, "burst %d", br.Round)
				assert.Positive(t, br.Counters.VoluntarySwitches, "burst %d: the loops wait between handshakes", br.Round)
				require.NotNil(t, br.Counters.AllocBytes, "burst %d", br.Round)
				assert.Positive(t, *br.Counters.AllocBytes, "burst %d: its handshakes allocate", br.Round)
				require.NotNil(t, br.Counters.GCCycles, "burst %d", br.Round)
			}
		})
	}
}
