package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/internal/testkit"
)

// The subcommands from their flags to their report files: each against
// real `cliser serve` processes at small N (no timing is asserted).

// Every subcommand answers a flag it cannot use with what to fix, before
// it starts anything.
func TestSubcommandsRejectBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(context.Context, []string) error
		args []string
		want string
	}{
		{"run", runOne, []string{"--stages", "10,5"}, "ascending"},
		{"compare", compare, []string{"--mode", "slow"}, `--mode "slow": want quick or full`},
		{"run", runOne, []string{"--server-cpus", "1-0"}, `--server-cpus: "1-0": range 1-0 runs backwards`},
		{"run", runOne, []string{"--load-cpus", "one"}, `--load-cpus: "one" is not a CPU number`},
		{"floor", floorRounds, []string{"--server-cpus", "1023"}, "--server-cpus 1023: CPU 1023 is not one this process may use"},
		{"run", runOne, []string{"--load-cpus", "0", "--in-process-load"}, "--load-cpus pins load processes: drop --in-process-load"},
		{"compare", compare, []string{"--server-cpus", "0"}, "the in-process server runs in the harness: add --inproc=false"},
		{"floor", floorRounds, []string{"--rounds", "0"}, "--rounds must be positive"},
		{"compare", compare, []string{"--burst-rounds", "37"}, "--burst-rounds 37: want 1 to 36"},
		{"run", runOne, []string{"--burst-rounds", "-1"}, "--burst-rounds -1: want 1 to 36"},
		{"compare", compare, []string{"--hold-rounds", "10"}, "--hold-rounds 10: want 0 to 9"},
		{"floor", floorRounds, []string{"--hold-rounds", "2"}, "--hold-rounds 2: a floor round holds its servers once, interleaved (0 or 1)"},
		{"cluster", cluster, []string{"--nodes", "1"}, "--nodes >= 2"},
		{"cluster", cluster, []string{"--clients-per-node", "0"}, "--clients-per-node >= 1"},
		{"cluster", cluster, []string{"--load-nice", "20"}, "--load-nice between 1 and 19"},
		{"cluster", cluster, []string{"--load-nice", "5", "--in-process-load"}, "not --in-process-load"},
		{"soak", soak, []string{"--clients", "1"}, "--clients >= 2"},
		{"soak", soak, []string{"--duration", "0s"}, "--duration > 0"},
		{"soak", soak, []string{"--features", "events,bogus"}, `--features: unknown feature "bogus"`},
		{"soak", soak, []string{"--features", "webhook"}, "--features: webhook needs events"},
		{"identity", identityBench, []string{"--clients", "0"}, "--clients and --rounds must be positive"},
		{"identity", identityBench, []string{"--rounds", "0"}, "--clients and --rounds must be positive"},
		{"webhook", webhookBench, []string{"--rounds", "0"}, "--clients and --rounds must be positive"},
		{"webhook", webhookBench, []string{"--modes", "on"}, "--modes must include off"},
		{"webhook", webhookBench, []string{"--modes", "off,loud"}, `"loud" is not off, log or on`},
		{"replay", replayBench, []string{"--streams", "0"}, "--streams >= 1"},
		{"replay", replayBench, []string{"--window", "0s"}, "--window > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(context.Background(), tc.args)
			assert.ErrorContains(t, err, tc.want, tc.args)
			if tc.name != "cluster" && tc.name != "soak" && tc.name != "identity" && tc.name != "webhook" && tc.args[0] != "--rounds" {
				assert.ErrorAs(t, err, new(usageError), "a flag's mistake exits 2: %v", tc.args)
			}
		})
	}
}

// `cliser-bench identity` end to end at small N: both modes register
// every client against a real `cliser serve`, and the report and its
// figures are written.
func TestIdentityWritesTheReport(t *testing.T) {
	rs, md := runRoundBench[identityRound](t, identityBench)
	for i, mode := range []string{"shared", "secrets"} {
		assert.Equal(t, mode, rs[i].Mode)
		assert.EqualValues(t, 20, rs[i].Registered, mode)
		assert.Zero(t, rs[i].Errors, mode)
		assert.Positive(t, rs[i].RatePerSec, mode) // not the CPU: in ticks, 20 handshakes may read none
	}
	assert.Contains(t, md, "| server CPU per handshake |")
}

// `cliser-bench webhook` end to end at small N: with the log and the
// webhook on, the receiver verifies every event of the storm; the log's
// size is measured.
func TestWebhookWritesTheReport(t *testing.T) {
	rs, md := runRoundBench[webhookRound](t, webhookBench)
	assert.Equal(t, "off", rs[0].Mode)
	assert.Zero(t, rs[0].Events, "off writes no log")
	on := rs[1]
	assert.Equal(t, "on", on.Mode)
	assert.EqualValues(t, 20, on.Registered)
	assert.EqualValues(t, 60, on.Events, "connect, disconnect, connect again")
	assert.Equal(t, on.Events, on.Delivered)
	assert.Positive(t, on.LogBytes)
	assert.Positive(t, on.Requests)
	assert.InDelta(t, float64(on.LogAlloc)/float64(on.Events), on.BytesPerEvt, 1e-9)
	for _, r := range rs {
		stormFigures(t, r)
	}
	assert.Contains(t, md, "| median |")
}

// `cliser-bench replay` end to end at small N: the log is filled, the
// clients held, and both windows read keep-alives from the server's
// histogram while the streams replay the whole log at least once each.
func TestReplayWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	out := filepath.Join(dir, "report.md")
	require.NoError(t, replayBench(ctx, []string{"--cliser-bin", bin, "--clients", "20", "--streams", "2", "--events", "200",
		"--window", "1500ms", "--rounds", "1", "--concurrency", "8", "--out", out}))
	var rs []replayRound
	readJSON(t, filepath.Join(dir, "report.json"), &rs)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.Equal(t, "this", r.Mode)
	assert.EqualValues(t, 220, r.Events, "100 connects, 100 disconnects, 20 held")
	assert.GreaterOrEqual(t, r.Replayed, int64(2*220), "each stream replays the log at least once")
	assert.Positive(t, r.QuietN, "keep-alives answered in the quiet window")
	assert.Positive(t, r.ReplayN, "keep-alives answered while replaying")
	assert.GreaterOrEqual(t, r.ReplayWall, 1500*time.Millisecond)
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| this | 1 | 220 |")
	assert.Contains(t, string(md), "replaying ÷ quiet")
}

// stormFigures checks a webhook round's storm: its place, its clients all
// registered again, and the server's CPU over it, in all and per handshake.
func stormFigures(t *testing.T, r webhookRound) {
	t.Helper()
	assert.Equal(t, 1, r.Round, r.Mode)
	assert.Equal(t, 20, r.Clients, r.Mode)
	assert.EqualValues(t, 20, r.Registered, r.Mode)
	assert.Zero(t, r.Errors, r.Mode)
	assert.Positive(t, r.StormWall, r.Mode)
	assert.Equal(t, r.ServerCPU/20, r.CPUPerHS, r.Mode)
	assert.InDelta(t, int64(r.CPUPerHS), int64(r.UserPerHS+r.SysPerHS), 1, "%s: user and system", r.Mode)
}

// runRoundBench runs a round-based bench with 20 clients for one round of
// its two default modes and returns its figures and its report, as read
// back from the files it wrote.
func runRoundBench[R any](t *testing.T, bench func(context.Context, []string) error) ([]R, string) {
	t.Helper()
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	out := filepath.Join(dir, "report.md")
	require.NoError(t, bench(ctx, []string{"--cliser-bin", bin, "--clients", "20", "--rounds", "1", "--concurrency", "8", "--out", out}))
	var rs []R
	readJSON(t, filepath.Join(dir, "report.json"), &rs)
	require.Len(t, rs, 2)
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	return rs, string(md)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

// The full run keeps the plain report name; a smaller one says its shape.
func TestClusterReportName(t *testing.T) {
	day := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	s := harness.DefaultCluster()
	s.PerNode = 18000
	assert.Equal(t, "2026-11-25-cluster", reportName(day, s), "the full run keeps the plain name")
	s.PerNode = 3000
	assert.Equal(t, "2026-11-25-cluster-3x3000", reportName(day, s))
	s.LoadNice = 10
	assert.Equal(t, "2026-11-25-cluster-3x3000-nice10", reportName(day, s), "a diagnostic run says so")
}

// `cliser-bench cluster` end to end at small N: three real `cliser serve
// --cluster` nodes on an embedded NATS JetStream server, 30 load clients
// each; every client and every sample is counted, and both report files
// are written. No timing is asserted.
func TestClusterWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 90*time.Second)
	err := cluster(ctx, []string{"--cliser-bin", bin, "--out-dir", dir, "--in-process-load",
		"--clients-per-node", "30", "--visibility-samples", "6", "--routing-samples", "4", "--poll", "5ms"})
	require.NoError(t, err)

	day := time.Now().UTC().Format("2006-01-02")
	var res harness.ClusterResult
	readJSON(t, filepath.Join(dir, day+"-cluster-3x30.json"), &res)
	assert.EqualValues(t, 90, res.Clients)
	assert.EqualValues(t, 90, res.Handshakes)
	assert.Positive(t, res.RegistrationRate)
	require.Len(t, res.Nodes, 3)
	for _, n := range res.Nodes {
		assert.EqualValues(t, 30, n.Registered, n.ID)
		assert.Positive(t, n.RSS, n.ID)
	}
	assert.EqualValues(t, 6, res.Visibility.Count)
	assert.EqualValues(t, 6, res.VisibilityLocal.Count)
	assert.Zero(t, res.VisibilityLost)
	assert.LessOrEqual(t, res.VisibilityLocal.P50, res.Visibility.P50, "every node includes the holding one")
	assert.EqualValues(t, 4, res.Routing.Count)
	assert.EqualValues(t, 4, res.RoutingAnswer.Count)
	assert.Zero(t, res.RoutingLost)
	assert.Empty(t, res.Errors)
	assert.Empty(t, res.Problems)
	clusterRunFigures(t, res)
	// Why the settle takes what it takes: schedstat of the harness (the
	// nats-server) and of every node, the nodes' publish-to-ack counts,
	// and a backlog timeline whose last point is the settled state.
	assert.Positive(t, res.CPU.NATS.Run)
	require.Len(t, res.CPU.Nodes, 3)
	for i, n := range res.Nodes {
		assert.Positive(t, res.CPU.Nodes[i].Run, n.ID)
		// A node writes its clients by slot (64 sids each): its 30 fit in
		// one slot, written at least once.
		assert.GreaterOrEqual(t, n.AckRamp.Count+n.AckSettle.Count, 1.0, n.ID)
	}
	require.NotEmpty(t, res.Backlog)
	last := res.Backlog[len(res.Backlog)-1]
	assert.False(t, last.Ramping)
	assert.EqualValues(t, 3*90, last.Mirrored, "every node's mirror shows every client")
	assert.GreaterOrEqual(t, last.Written, int64(3), "a slot write at least per node")

	md, err := os.ReadFile(filepath.Join(dir, day+"-cluster-3x30.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "registration rate")
	assert.Contains(t, string(md), "| n3 | 30 |")
	assert.Contains(t, string(md), "| the harness process (nats-server and the in-process load) |")
	assert.Contains(t, string(md), "| t | phase | unwritten |")
	assert.NotContains(t, string(md), "Diagnostic run")
}

// clusterRunFigures checks what a small cluster run reports beside its
// samples: its start, each node's address and threads, the ramp's
// histogram and the nats-server's work over ramp and settle.
func clusterRunFigures(t *testing.T, res harness.ClusterResult) {
	t.Helper()
	assert.WithinDuration(t, time.Now(), res.Started, 2*time.Minute)
	assert.Equal(t, 30, res.Settings.PerNode)
	assert.NotEmpty(t, res.LoadAvg)
	assert.Zero(t, res.Workers, "--in-process-load")
	for i, n := range res.Nodes {
		assert.Equal(t, fmt.Sprintf("n%d", i+1), n.ID)
		assert.NotEmpty(t, n.Addr, n.ID)
		assert.NotEmpty(t, n.Admin, n.ID)
		assert.Positive(t, n.Threads, n.ID)
	}
	assert.EqualValues(t, 90, res.Handshake.Count)
	assert.Positive(t, res.RampWall)
	assert.Positive(t, res.MirrorSettle)
	assert.Positive(t, res.NATS.InMsgs)
	assert.InDelta(t, float64(res.NATS.InMsgs)/90, res.NATS.InPerReg, 1e-9)
	assert.Positive(t, res.NATS.CPU)
}

// `cliser-bench soak` end to end at small N, every feature on (the
// default): the report files are written whatever the verdict, and a
// short soak has no unexpected error and loses no client (flatness over
// three seconds is not asserted: the warm-up of so short a run may still
// be growing).
func TestSoakWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	err := soak(ctx, []string{"--clients", "40", "--duration", "3s", "--churn-rate", "50", "--pool", "16",
		"--sample-every", "250ms", "--keepalive-interval", "200ms", "--in-process-load", "--event-retention", "100",
		"--cliser-bin", bin, "--out-dir", dir})
	if err != nil {
		assert.Contains(t, err.Error(), "soak failed")
		assert.NotContains(t, err.Error(), "×", "unexpected errors")
		assert.NotContains(t, err.Error(), "lost")
	}
	mds, _ := filepath.Glob(filepath.Join(dir, "*-soak.md"))
	jss, _ := filepath.Glob(filepath.Join(dir, "*-soak.json"))
	require.Len(t, mds, 1)
	require.Len(t, jss, 1)
	md, err := os.ReadFile(mds[0])
	require.NoError(t, err)
	assert.Contains(t, string(md), "**Verdict: ")
	assert.Contains(t, string(md), "clients connected | | | 40 of 40")
	assert.Contains(t, string(md), "Features (`--features events,webhook,identity,flapping`)")
}

// endToEnd skips under -short, else builds cliser and returns its path, a
// directory for the reports and a context that ends the run after timeout.
func endToEnd(t *testing.T, timeout time.Duration) (bin, dir string, ctx context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return testkit.Binary(t), t.TempDir(), ctx
}

// The hold rounds' probe window is the mode's unless a flag says, and 0
// skips it.
func TestHoldRoundProbesFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"--mode", "full"}, 2 * time.Second},
		{[]string{"--hold-round-probes", "3s"}, 3 * time.Second},
		{[]string{"--hold-round-probes", "0"}, 0},
	} {
		fs, c := commonFlagSet("compare")
		require.NoError(t, fs.Parse(tc.args))
		set, err := c.settings()
		require.NoError(t, err)
		assert.Equal(t, tc.want, set.RoundProbeHold, tc.args)
	}
}
