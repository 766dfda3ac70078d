package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A whole run against the floor as make bench starts it: bin/floor-server
// a subprocess, every phase (stages, hold, probes, the SIGUSR1 broadcast,
// bursts) with no error and no problem.
func TestRunAgainstTheFloorServer(t *testing.T) {
	res, err := Run(runCtx(t), KindFloor, tiny(), Env{WorkDir: t.TempDir(), FloorBin: testkit.FloorBinary(t)})
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	assert.Empty(t, res.Errors)
	assert.EqualValues(t, 50, res.Handshakes)
	assert.EqualValues(t, 60, res.Burst.Handshakes)
	assert.Positive(t, res.Idle.KeepAlives)
	assert.Positive(t, res.ProbeRTT.Count, "the floor answers the probes' duplicate echo with 190 protocol error")
	require.NotNil(t, res.ServerRTT, "the floor serves its RTT histogram (--metrics-listen)")
	assert.Positive(t, res.ServerRTT.Count, "the hold's keep-alives, timed on the floor's clock")
	assert.True(t, res.ServerRTT.UpperBound, "read from the histogram's bounds, as cliser's")
	for _, st := range res.Stages {
		assert.Positive(t, st.HeapInuse, "the floor serves the Go collector's heap in use (--metrics-listen)")
		assert.Positive(t, st.HeapGoal, "and its heap goal")
		assert.GreaterOrEqual(t, st.HeapIdleKept, int64(0), "and its heap freed and not yet returned")
	}
	assert.Equal(t, 50, res.Shutdown.Sent)
	assert.EqualValues(t, 50, res.Shutdown.Acked)
	assert.EqualValues(t, 50, res.Shutdown.Closed)
	require.NotNil(t, res.Burst.Alloc, "the floor's Go collector counts the bursts' allocations")
	assert.EqualValues(t, 60, res.Burst.Alloc.Handshakes)
	assert.Positive(t, res.Burst.Alloc.BytesPerHandshake)
}

func floorReport() *Report {
	stages := func(rss ...int64) []Stage {
		var out []Stage
		for i, n := range []int{2000, 5000, 10000} {
			out = append(out, Stage{Target: n, Registered: int64(n), RSS: rss[i]})
		}
		return out
	}
	c := &Result{Server: KindCliser, Clients: 10000, Stages: stages(20e6, 23e6, 28e6),
		Burst: Burst{Handshakes: 100, PerCPU: 20000}, HandshakesPerCPU: 25000, Idle: Idle{Clients: 10000, CPUPercent: 26, Seconds: 30}}
	f := &Result{Server: KindFloor, Clients: 10000, Stages: stages(10e6, 12.4e6, 16.4e6),
		Burst: Burst{Handshakes: 100, PerCPU: 25000}, HandshakesPerCPU: 30000, Idle: Idle{Clients: 10000, CPUPercent: 20, Seconds: 30}}
	b := &Result{Server: KindBaseline, Clients: 10000, Stages: stages(40e6, 90e6, 170e6)}
	rep := &Report{Settings: Full(), Results: map[string]*Result{KindCliser: c, KindFloor: f, KindBaseline: b}}
	for _, r := range rep.Results {
		r.FitSlope()
	}
	return rep
}

// cliser ÷ floor is judged against issue 17's limits and shown beside
// cliser ÷ baseline.
func TestFloorTargetsAndRatios(t *testing.T) {
	rep := floorReport()
	got := map[string]Target{}
	for _, tg := range rep.floorTargets() {
		got[tg.Goal[:strings.Index(tg.Goal, " ≤")]] = tg
	}
	require.Len(t, got, 4)
	assert.Equal(t, "n/a", got["Keep-alive RTT p99"].Reached, "no RTT histograms in this report")
	hs := got["CPU per handshake"]
	assert.Equal(t, "no", hs.Reached, "50 µs against 40 µs is 1.25×")
	assert.Contains(t, hs.Figures, "1.25× the floor")
	rss := got["RSS per idle registered client"]
	assert.Equal(t, "yes", rss.Reached, "1000 B against 800 B: %s", rss.Figures)
	idle := got["Server CPU, 10000 clients idle at a 1s keep-alive,"]
	assert.Equal(t, "yes", idle.Reached, "26% against 20% is 1.30×")

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	assert.Contains(t, md.String(), "| metric | cliser | floor | baseline | cliser ÷ floor | cliser ÷ baseline |")
	assert.Contains(t, md.String(), "| burst: server CPU per handshake | 50.0 µs | 40.0 µs | – | 1.25× | – |")
}

func TestChartHasOnePointPerPlateauAndWholeNumbers(t *testing.T) {
	rep := floorReport()
	xys := plateauXYs(rep.Results[KindFloor])
	require.Len(t, xys, 3)
	assert.InDelta(t, 10000, xys[2].X, 0)
	for _, tk := range (intTicks{}).Ticks(0, 19000) {
		assert.NotContains(t, tk.Label, ".", "tick %v", tk.Value)
	}
	var png bytes.Buffer
	require.NoError(t, rep.DrawChart(&png))
	assert.True(t, bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")))
}

// The event log's cost is judged on the same run: on against off, 10%.
func TestEventsTargetsCompareOnWithOff(t *testing.T) {
	rep := floorReport()
	on := *rep.Results[KindCliser]
	on.Server = KindCliserEvents
	on.Burst.PerCPU = 18000 // 55.6 µs against 50 µs: +11%
	rep.Results[KindCliserEvents] = &on
	got := rep.eventsTargets()
	require.Len(t, got, 6)
	assert.Equal(t, "no", got[0].Reached, got[0].Figures)
	assert.Contains(t, got[0].Figures, "+11.1%")
	assert.Equal(t, "yes", got[2].Reached, "the same idle CPU")

	// The credentials variant is judged against the same off run.
	trust := on
	trust.Server = KindCliserTrust
	trust.Burst.PerCPU = 19000 // 52.6 µs: +5.3%
	trust.ServerRTT = &Percentiles{Count: 10, P99: 2.5, P999: 10, UpperBound: true}
	rep.Results[KindCliser].ServerRTT = &Percentiles{Count: 10, P99: 2, P999: 10, UpperBound: true}
	trust.Credentials, trust.StartRSS = 10000, 30e6
	rep.Results[KindCliserEvents].StartRSS = 20e6
	rep.Results[KindCliserTrust] = &trust
	got = rep.eventsTargets()
	require.Len(t, got, 13)
	assert.Equal(t, "With a credential per client and the event log and a webhook on: RSS per idle client, its credential included (1000 B each, held from the start) within 10% of off", got[8].Goal)
	assert.Equal(t, "no", got[8].Reached, got[8].Figures)
	got = append(got[:8], got[9:]...)
	assert.Equal(t, "With a credential per client and the event log and a webhook on: CPU per handshake within 10% of off", got[6].Goal)
	assert.Equal(t, "yes", got[6].Reached, got[6].Figures)
	assert.Equal(t, "no", got[9].Reached, "RTT p99 2.5 against 2 ms: %s", got[9].Figures)
	assert.Equal(t, "yes", got[10].Reached, got[10].Figures)
}

// The credentials are judged on the process's own count when it was read
// (37 B each: met), and the start RSSes' difference is shown beside it,
// not judged (1000 B each: it would miss); a run without the count (a
// cliser before the gauge) is judged on the difference and says so.
func TestCredentialsJudgedOnTheProcessCount(t *testing.T) {
	rep := floorReport()
	trust, ref := *rep.Results[KindCliser], *rep.Results[KindCliser]
	trust.Server, ref.Server = KindCliserTrust, KindCliserEvents
	trust.Credentials, trust.StartRSS, trust.CredentialBytes = 10000, 30e6, 370000
	ref.StartRSS = 20e6
	rep.Results[KindCliserEvents], rep.Results[KindCliserTrust] = &ref, &trust
	const with = "With a credential per client and the event log and a webhook on: RSS per idle client, its credential included "
	got := targetNamed(t, rep.eventsTargets(), with+"(37 B each, held from the start) within 10% of off")
	assert.Equal(t, "yes", got.Reached, got.Figures)
	assert.Equal(t, "+3.7%: on 1.01 KiB, off 1000 B; the credential: 37 B a credential, the process's own count: its credential table's resident bytes at the plateau; "+
		"the start RSS above cliser+events', per ID, 1000 B (two processes' start-ups: not judged)", got.Figures)

	trust.CredentialBytes = 0
	got = targetNamed(t, rep.eventsTargets(), with+"(1000 B each, held from the start) within 10% of off")
	assert.Equal(t, "no", got.Reached, got.Figures)
	assert.Contains(t, got.Figures, "1000 B a credential, the start RSS above cliser+events' (no resident-bytes gauge)")
	assert.NotContains(t, got.Figures, "not judged")
}

// cliser+events is `cliser serve` with its event log on and a webhook to
// the harness's sink: a registration reaches the sink.
func TestCliserEventsPostsToTheSink(t *testing.T) {
	srv, _ := startTestServer(t, KindCliserEvents, 0)
	c := testkit.Dial(t, srv.Addr())
	c.Register("pw", "dev-1")
	sink := srv.(*cliserEvents).sink
	deadline := time.Now().Add(20 * time.Second)
	for sink.requests.Load() == 0 {
		require.True(t, time.Now().Before(deadline), "no webhook request within 20s")
		time.Sleep(20 * time.Millisecond)
	}
}

// Each run starts an empty cliser: the records a run left in the work dir
// are not the next run's (they made its RSS slope meaningless).
func TestEachRunStartsAnEmptyCliser(t *testing.T) {
	o := testServerOptions(t, 0)
	first, err := startServer(runCtx(t), KindCliser, o)
	require.NoError(t, err)
	testkit.Dial(t, first.Addr()).Register("pw", "dev-1")
	require.NoError(t, stopServer(first))

	next, err := startServer(runCtx(t), KindCliser, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = stopServer(next) })
	list, err := next.(*cliserProc).admin.List(runCtx(t), "", "", 10, "")
	require.NoError(t, err)
	assert.Empty(t, list.Clients, "the last run's records")
}

// The RTT target is judged on cliser's own clock, with the floor's tail
// beside it; a floor that misses it too makes the tail the machine's.
func TestRTTIsJudgedBesideTheFloor(t *testing.T) {
	c := &Result{Idle: Idle{Clients: 19000}, ServerRTT: &Percentiles{Count: 9, P99: 2.5, P999: 10}}
	f := &Result{ServerRTT: &Percentiles{Count: 9, P99: 3, P999: 12.5}}
	got := rttBesideFloor(c, f)
	assert.Equal(t, "no", got.Reached)
	assert.Equal(t, "cliser p99 ≤ 2.500 ms, p999 ≤ 10.000 ms; floor p99 ≤ 3.000 ms, p999 ≤ 12.500 ms: the floor misses it too, so on this machine at this load the tail is the machine's", got.Figures)
	c.ServerRTT.P99, f.ServerRTT.P99, f.ServerRTT.P999 = 2, 1.5, 5
	got = rttBesideFloor(c, f)
	assert.Equal(t, "yes", got.Reached)
	assert.NotContains(t, got.Figures, "machine")
}

// testServerOptions: a server of the harness on the test's binary, with
// creds credentials seeded.
func testServerOptions(t *testing.T, creds int) ServerOptions {
	return ServerOptions{Password: "pw", KeepAlive: time.Hour, KeepAliveTimeout: time.Second, HandshakeTimeout: 5 * time.Second,
		CliserBin: testkit.Binary(t), WorkDir: t.TempDir(), Credentials: creds}
}

// startTestServer starts a server of kind on testServerOptions, stopped
// when the test ends.
func startTestServer(t *testing.T, kind string, creds int) (server, ServerOptions) {
	o := testServerOptions(t, creds)
	srv, err := startServer(runCtx(t), kind, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = stopServer(srv) })
	return srv, o
}
