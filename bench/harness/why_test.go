package harness

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// floorReportProfiled is floorReport with the two servers' profiled bursts
// and heap slopes: cliser 50 µs a handshake, the floor 40 µs.
func floorReportProfiled() *Report {
	rep := floorReport()
	c, f := rep.Results[KindCliser], rep.Results[KindFloor]
	c.ProfiledBurst = ProfiledBurst{Profile: "c.pprof", Handshakes: 10000, ServerCPU: 0.51, Owners: &Breakdown{Samples: 500, CPU: 0.5,
		Percent: map[string]float64{"syscalls: write": 40, "gnet": 20, "cliser: registry": 20, ownerGC: 20}}}
	f.ProfiledBurst = ProfiledBurst{Profile: "f.pprof", Handshakes: 10000, ServerCPU: 0.41, Owners: &Breakdown{Samples: 400, CPU: 0.4,
		Percent: map[string]float64{"syscalls: write": 50, "gnet": 25, "floor": 25}}}
	c.HeapPerClient = 400
	return rep
}

func byGoal(ts []Target) map[string]Target {
	out := map[string]Target{}
	for _, t := range ts {
		out[t.Goal] = t
	}
	return out
}

// A missed target carries its reason from the profiles; a met one none.
func TestMissedTargetsSayWhyAndMetOnesDoNot(t *testing.T) {
	rep := floorReportProfiled()
	got := byGoal(rep.Targets())
	hs := got["CPU per handshake ≤ 1.2× the floor's"]
	require.Equal(t, "no", hs.Reached)
	// cliser: registry 20% of 50 = 10 µs, GC 10 µs; write 20 µs against 20 µs; gnet 10 against 10; floor's own 10 µs less.
	assert.Contains(t, hs.Why, "cliser 50.0 µs, floor 40.0 µs a handshake (+10.0 µs)")
	assert.Contains(t, hs.Why, "; in the profiled bursts themselves 51.0 µs and 41.0 µs (+10.0 µs); by owner (500 and 400 samples; ± two standard errors; shares of the measured µs; cliser's in brackets): runtime: GC +10.0 ± 1.8 µs (10.0), cliser: registry +10.0 ± 1.8 µs (10.0)")
	assert.Contains(t, hs.Why, "less: floor -10.0 ± 1.7 µs; these owners make +10.0 µs of the +10.0 µs")
	assert.NotContains(t, hs.Why, "syscalls: write", "the same µs on both sides is no reason")
	for goal, tg := range got {
		if tg.Reached != "no" {
			assert.Empty(t, tg.Why, goal)
		}
	}

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	s := md.String()
	assert.Contains(t, s, "## Why the missed targets are missed\n\n")
	assert.Contains(t, s, "- **CPU per handshake ≤ 1.2× the floor's**: cliser 50.0 µs")
	assert.NotContains(t, s, "- **RSS per idle registered client ≤ 1.3× the floor's**", "met: no reason line")
	assert.Contains(t, s, "| owner | cliser | floor |")
	assert.Contains(t, s, "| cliser: registry | 20.0% · 10.0 µs | 0.0% · 0.0 µs |")
	assert.Contains(t, s, "| profile file | c.pprof | f.pprof |")
	assert.Contains(t, s, "| profile: samples, their CPU (% of the profiled bursts' measured CPU) | 500, 0.50s (98%) | 400, 0.40s (98%) |")
	assert.Contains(t, s, "| profiled burst: CPU a handshake (the profiler's cost beside the above) | 51.0 µs | 41.0 µs |")
}

// A difference within the profiles' sampling noise is not given as a
// reason: 20% of 10 samples is 10 ± 12.6 µs.
func TestCPUWhyLeavesOutNoise(t *testing.T) {
	rep := floorReportProfiled()
	rep.Results[KindCliser].ProfiledBurst.Owners.Samples = 10
	rep.Results[KindFloor].ProfiledBurst.Owners.Samples = 10
	hs := byGoal(rep.Targets())["CPU per handshake ≤ 1.2× the floor's"]
	assert.Contains(t, hs.Why, "(10 and 10 samples; ± two standard errors; shares of the measured µs; cliser's in brackets): no owner spends more beyond the sampling noise")
	assert.NotContains(t, hs.Why, "less:")
}

// Without a profile the reason says which is missing, and why.
func TestCPUWhyWithoutAProfileSaysSo(t *testing.T) {
	rep := floorReportProfiled()
	rep.Results[KindFloor].ProfiledBurst = ProfiledBurst{Missing: "bin/x is not built with -tags cpuprofile"}
	hs := byGoal(rep.Targets())["CPU per handshake ≤ 1.2× the floor's"]
	assert.Contains(t, hs.Why, "no burst profile of floor: bin/x is not built with -tags cpuprofile")
}

// A variant's RSS slope beside cliser's: heap in use and beyond the heap.
func TestVariantRSSWhySplitsHeapAndHeadroom(t *testing.T) {
	rep := floorReportProfiled()
	c := rep.Results[KindCliser]
	on := *c
	on.Server, on.RSSPerClient, on.HeapPerClient, on.HeapIdleKeptPerClient = KindCliserEvents, 1.2*c.RSSPerClient, 450, 70
	rep.Results[KindCliserEvents] = &on
	got := byGoal(rep.Targets())
	rss := got["With the event log and a webhook on: RSS per idle client within 10% of off"]
	require.Equal(t, "no", rss.Reached)
	d := on.RSSPerClient - c.RSSPerClient
	assert.Contains(t, rss.Why, "cliser+events: RSS "+bytesStr(on.RSSPerClient)+" a client = heap in use 450 B")
	assert.Contains(t, rss.Why, "+50 B is heap in use")
	assert.Contains(t, rss.Why, "(of it 70 B freed and not yet returned)")
	assert.True(t, strings.Contains(rss.Why, "beyond it (headroom)"), rss.Why)
	assert.Positive(t, d)
}

// Idle CPU: keep-alives answered a second and CPU each, beside cliser's.
func TestIdleWhySplitsRateAndCost(t *testing.T) {
	rep := floorReportProfiled()
	c := rep.Results[KindCliser]
	c.Idle.KeepAlives = 300000 // 10000 a second over 30 s: 26 µs each at 26% of a core
	on := *c
	on.Server, on.Idle.CPUPercent = KindCliserEvents, 1.2*c.Idle.CPUPercent
	rep.Results[KindCliserEvents] = &on
	idle := byGoal(rep.Targets())["With the event log and a webhook on: idle server CPU within 10% of off"]
	require.Equal(t, "no", idle.Reached)
	assert.Equal(t, "cliser+events answered 10000 keep-alives a second at 31.2 µs of CPU each; cliser answered 10000 keep-alives a second at 26.0 µs of CPU each (the hold is not profiled)", idle.Why)
}

// The wall-clock rate's bound: server and load CPU on the shared cores.
func TestRateWhyIsTheCoresBound(t *testing.T) {
	r := &Result{Burst: Burst{Handshakes: 1000, PerCPU: 20000, LoadCPU: 0.05}}
	assert.Equal(t, "server 50.0 µs + load 50.0 µs of CPU a handshake on 2 shared cores: at most 20000/s were every core busy with nothing else", rateWhy(r, 2))
}

// A missed shutdown says what the server and the load ran and waited for
// up to the last ack, the floor's beside it; a run without the account
// says nothing explains it.
func TestShutdownWhyIsTheSchedulersAccount(t *testing.T) {
	c := &Result{Shutdown: Shutdown{LastAck: 613.7, ToAcks: &ShutdownSched{SeenMS: 620,
		Server: SchedTime{Run: 300 * time.Millisecond, Wait: 250 * time.Millisecond},
		Load:   SchedTime{Run: 800 * time.Millisecond, Wait: 400 * time.Millisecond}}}}
	f := &Result{Shutdown: Shutdown{LastAck: 346.7, ToAcks: &ShutdownSched{SeenMS: 350,
		Server: SchedTime{Run: 200 * time.Millisecond}, Load: SchedTime{Run: 500 * time.Millisecond, Wait: 100 * time.Millisecond}}}}
	assert.Equal(t, "cliser: last 130 ok at 613.7 ms, every ack seen at 620.0 ms (2 cores: 1240 ms of CPU in that window); in it the server ran 300 ms and waited 250 ms for a CPU, the load processes ran 800 ms and waited 400 ms; "+
		"floor: last 130 ok at 346.7 ms, every ack seen at 350.0 ms (2 cores: 700 ms of CPU in that window); in it the server ran 200 ms and waited 0 ms for a CPU, the load processes ran 500 ms and waited 100 ms",
		shutdownWhy(c, f, 2))
	assert.Equal(t, unexplained, shutdownWhy(&Result{}, f, 2))
	c.Shutdown.LastAck = 700
	rep := &Report{Machine: Machine{Cores: 2}, Results: map[string]*Result{KindCliser: c}}
	c.Shutdown.Registered, c.Shutdown.Acked = 10, 10
	sd := byGoal(rep.Targets())["Shutdown broadcast to 10 clients: every 130 ok back within 500 ms"]
	require.Equal(t, "no", sd.Reached)
	assert.Contains(t, sd.Why, "cliser: last 130 ok at 700.0 ms")
}
