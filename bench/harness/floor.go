package harness

import (
	"context"
	"fmt"
	"math"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/freeport"
)

// KindFloor is bin/floor-server (bench/floor), a subprocess: bare gnet
// with cliser's engine settings doing the least the protocol needs. What
// cliser spends beyond it is cliser's own.
const KindFloor = "floor"

// The floor targets (issue 17): cliser within these multiples of the floor.
const (
	floorHandshakeCPU = 1.2 // CPU per handshake
	floorRSSPerClient = 1.3 // RSS per idle registered client
	floorIdleCPU      = 1.3 // server CPU, every client idle at the top
)

// handshakeCPU is a server's CPU per handshake in µs: the bursts on the
// emptied server when they ran, else the stages' ramps.
func handshakeCPU(r *Result) (us float64, where string) {
	if r.Burst.PerCPU > 0 {
		return 1e6 / r.Burst.PerCPU, "bursts"
	}
	if r.HandshakesPerCPU > 0 {
		return 1e6 / r.HandshakesPerCPU, "stages"
	}
	return math.NaN(), ""
}

// floorTargets judges cliser against the floor of the same run.
func (rep *Report) floorTargets() []Target {
	c, f := rep.Results[KindCliser], rep.Results[KindFloor]
	if c == nil || f == nil {
		return nil
	}
	var out []Target
	// judge judges the ratio v; NaN: not measured.
	judge := func(goal string, v, limit float64, figures string) {
		t := Target{Goal: goal, Reached: "n/a", Figures: figures}
		if !math.IsNaN(v) {
			t.Reached = map[bool]string{true: "yes", false: "no"}[v <= limit]
			t.Figures = fmt.Sprintf("%.2f× the floor: %s", v, figures)
		}
		out = append(out, t)
	}
	cu, where := handshakeCPU(c)
	fu, _ := handshakeCPU(f)
	cpu, rounds := cpuRatio(c, f)
	judge(fmt.Sprintf("CPU per handshake ≤ %.1f× the floor's", floorHandshakeCPU), cpu, floorHandshakeCPU,
		fmt.Sprintf("%scliser %.1f µs, floor %.1f µs (%s); stages: cliser %.1f µs, floor %.1f µs",
			wrap(rounds, "", "; "), cu, fu, where, perCPU(c.HandshakesPerCPU), perCPU(f.HandshakesPerCPU)))
	explain(out, func() string { return cpuWhy(KindCliser, c, KindFloor, f) })
	judge(fmt.Sprintf("RSS per idle registered client ≤ %.1f× the floor's", floorRSSPerClient), ratioOf(c.RSSPerClient, f.RSSPerClient), floorRSSPerClient,
		fmt.Sprintf("cliser %s, floor %s (least-squares slopes; end points alone %s and %s)",
			bytesStr(c.RSSPerClient), bytesStr(f.RSSPerClient), bytesStr(c.RSSPerClientEnds), bytesStr(f.RSSPerClientEnds)))
	explain(out, func() string { return heapWhy(c, f, KindCliser, KindFloor) })
	idle, held := holdRatio(c, f, holdCPU, ratioOf(c.Idle.CPUPercent, f.Idle.CPUPercent))
	judge(fmt.Sprintf("Server CPU, %d clients idle at a %s keep-alive, ≤ %.1f× the floor's", c.Idle.Clients, rep.Settings.KeepAlive, floorIdleCPU),
		idle, floorIdleCPU,
		fmt.Sprintf("%scliser %.1f%%, floor %.1f%% of a core over %.0fs; per keep-alive answered (the load keeps up with neither when the machine is busy) %.1f µs and %.1f µs, %.2f×",
			wrap(held, "", "; the stage hold: "), c.Idle.CPUPercent, f.Idle.CPUPercent, c.Idle.Seconds, idleCPUPerKeepAlive(c), idleCPUPerKeepAlive(f), idleCPUPerKeepAlive(c)/idleCPUPerKeepAlive(f)))
	explain(out, func() string { return idleWhy(named{KindCliser, c}, named{KindFloor, f}) })
	out = append(out, rttBesideFloor(c, f))
	explain(out, func() string { return rttWhy(c, f, rep.Machine.Cores) })
	return append(out, rep.eventsTargets()...)
}

// rttBesideFloor judges issue 17's RTT target on the subprocess's own
// clock (its /metrics buckets; 2 ms and 10 ms are bounds, so exactly) and
// shows the floor's tail, read the same way in the same run: where the
// floor misses it too, the tail is the machine's.
func rttBesideFloor(c, f *Result) Target {
	t := Target{Goal: fmt.Sprintf("Keep-alive RTT p99 ≤ 2 ms, p999 ≤ 10 ms at %d clients (server clock, histogram bounds), beside the floor's", c.Idle.Clients), Reached: "n/a"}
	if c.ServerRTT == nil || f.ServerRTT == nil || c.ServerRTT.Count == 0 || f.ServerRTT.Count == 0 {
		t.Figures = "a server kept no RTT histogram"
		return t
	}
	met := func(p *Percentiles) bool { return p.P99 >= 0 && p.P99 <= 2 && p.P999 >= 0 && p.P999 <= 10 }
	t.Reached = map[bool]string{true: "yes", false: "no"}[met(c.ServerRTT)]
	t.Figures = fmt.Sprintf("cliser p99 ≤ %s, p999 ≤ %s; floor p99 ≤ %s, p999 ≤ %s", num(c.ServerRTT.P99, "ms"), num(c.ServerRTT.P999, "ms"),
		num(f.ServerRTT.P99, "ms"), num(f.ServerRTT.P999, "ms"))
	if !met(f.ServerRTT) {
		t.Figures += ": the floor misses it too, so on this machine at this load the tail is the machine's"
	}
	return t
}

// variantsJudged are the cliser variants judged against cliser with both
// off: at most 10% more on each floor figure (issue 17).
var variantsJudged = []struct{ kind, with string }{
	{KindCliserEvents, "With the event log and a webhook on"},
	{KindCliserTrust, "With a credential per client and the event log and a webhook on"},
}

// eventsTargets judges each variant the run has against cliser.
func (rep *Report) eventsTargets() []Target {
	off := rep.Results[KindCliser]
	var out []Target
	for _, v := range variantsJudged {
		if on := rep.Results[v.kind]; off != nil && on != nil {
			out = append(out, variantTargets(v.with, v.kind, on, off, rep.credentialRSS(on))...)
		}
	}
	return out
}

// credentialRSS is the memory per enrolled client ID of a run with
// credentials (CredentialMemory; its start RSS is weighed against
// cliser+events', else cliser's); nil for a run without.
func (rep *Report) credentialRSS(on *Result) *CredentialMemory {
	if on.Credentials == 0 {
		return nil
	}
	ref := rep.Results[KindCliserEvents]
	if ref == nil {
		ref = rep.Results[KindCliser]
	}
	var refStart int64
	if ref != nil {
		refStart = ref.StartRSS
	}
	m := NewCredentialMemory(on.Credentials, on.CredentialBytes, on.StartRSS, refStart)
	return &m
}

func variantTargets(with, kind string, on, off *Result, cred *CredentialMemory) []Target {
	var out []Target
	rss := func() string { return heapWhy(on, off, kind, KindCliser) }
	rtt := func() string { return rttWaitsWhy(kind, on, off) }
	// judgeRatio judges the ratio v (NaN: not measured) against 10% more.
	judgeRatio := func(what string, v float64, figures string, why func() string) {
		t := Target{Goal: with + ": " + what + " within 10% of off", Reached: "n/a", Figures: figures}
		if !math.IsNaN(v) {
			t.Reached = map[bool]string{true: "yes", false: "no"}[v <= 1.1]
			t.Figures = fmt.Sprintf("%+.1f%%: %s", 100*(v-1), figures)
		}
		out = append(out, t)
		if why != nil {
			explain(out, why)
		}
	}
	judge := func(what string, a, b float64, unit string, why func() string) {
		judgeRatio(what, ratioOf(a, b), fmt.Sprintf("on %s, off %s", num(a, unit), num(b, unit)), why)
	}
	a, _ := handshakeCPU(on)
	b, _ := handshakeCPU(off)
	cpu, rounds := cpuRatio(on, off)
	judgeRatio("CPU per handshake", cpu, fmt.Sprintf("on %s, off %s%s", num(a, "µs"), num(b, "µs"), wrap(rounds, " (", ")")),
		func() string { return cpuWhy(kind, on, KindCliser, off) })
	judge("RSS per idle client", on.RSSPerClient, off.RSSPerClient, "B", rss)
	if cred != nil {
		perID, _ := cred.Judged()
		a, b := on.RSSPerClient+perID, off.RSSPerClient
		judgeRatio(fmt.Sprintf("RSS per idle client, its credential included (%.0f B each, held from the start)", perID),
			ratioOf(a, b), fmt.Sprintf("on %s, off %s; the credential: %s", num(a, "B"), num(b, "B"), cred), rss)
	}
	// judgeHold judges a hold figure: the median of the hold rounds'
	// ratios when they ran, else the stage hold's ratio (a ÷ b).
	judgeHold := func(what string, f holdMeasure, a, b float64, unit string, why func() string) {
		v, held := holdRatio(on, off, f, ratioOf(a, b))
		judgeRatio(what, v, fmt.Sprintf("%son %s, off %s", wrap(held, "", "; the stage hold: "), num(a, unit), num(b, unit)), why)
	}
	judgeHold("idle server CPU", holdCPU, on.Idle.CPUPercent, off.Idle.CPUPercent, "%", func() string { return idleWhy(named{kind, on}, named{KindCliser, off}) })
	for _, q := range []struct {
		name string
		at   func(Percentiles) float64
	}{{"p99", p99Of}, {"p999", p999Of}} {
		a, b := stageRTT(q.at)(on), stageRTT(q.at)(off)
		judgeHold("keep-alive RTT "+q.name+" (server clock, "+rttReading+")", holdRTT(q.at), a, b, "ms", rtt)
		if len(on.HoldRounds) > 0 && len(off.HoldRounds) > 0 { // what was judged: the rounds'
			a, b = holdMedian(on, holdRTT(q.at)), holdMedian(off, holdRTT(q.at))
		}
		if on.ServerRTT != nil && on.ServerRTT.UpperBound {
			out[len(out)-1].Figures += rttCoarse(a, b)
		}
	}
	v, figures := probeRatio(on, off)
	judgeRatio("keep-alive RTT p99 (probe method)", v, figures, rtt)
	return out
}

// idleCPUPerKeepAlive is the stage hold's server CPU per keep-alive the
// load answered, in µs.
func idleCPUPerKeepAlive(r *Result) float64 { return r.Idle.cpuPerKeepAlive() }

func perCPU(perSecond float64) float64 {
	if perSecond <= 0 {
		return math.NaN()
	}
	return 1e6 / perSecond
}

// ratioColumns are the comparison table's ratio columns: cliser ÷ each
// reference server the run has.
func (rep *Report) ratioColumns() []string {
	if rep.Results[KindCliser] == nil {
		return nil
	}
	var out []string
	for _, k := range []string{KindFloor, KindBaseline} {
		if rep.Results[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// floorProc is floor-server with its RTT histogram served on a port of its
// own (--metrics-listen): the floor's keep-alive RTT on its own clock, over
// cliser's bounds, read as cliser's /metrics is.
type floorProc struct {
	*baselineProc
	metrics string // http://ADDR/metrics
}

func startFloor(ctx context.Context, o ServerOptions) (*floorProc, error) {
	addr, err := freeport.Loopback()
	if err != nil {
		return nil, err
	}
	o.Args = append(o.Args, "--metrics-listen", addr)
	p, err := startSignalled(ctx, o.FloorBin, KindFloor, o)
	if err != nil {
		return nil, err
	}
	return &floorProc{baselineProc: p, metrics: "http://" + addr + "/metrics"}, nil
}

// goMetrics is the floor's page of the Go collector (--metrics-listen).
func (s *floorProc) goMetrics() string { return s.metrics }

func (s *floorProc) RTT(ctx context.Context) (serverRTT, error) {
	pg, err := scrapeProm(ctx, s.metrics)
	if err != nil {
		return serverRTT{}, err
	}
	h, err := pg.histogram(admin.MetricKeepAliveRTT)
	return serverRTT{Buckets: h}, err
}
