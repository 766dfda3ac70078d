package harness

import (
	"fmt"
	"strings"
)

// targetList is the report's targets in the order Targets judges them.
type targetList struct{ out []Target }

// add is a target with its verdict; known false means the run did not
// measure it.
func (l *targetList) add(text string, ok, known bool, figures string, args ...any) {
	t := Target{Goal: text, Figures: fmt.Sprintf(figures, args...), Reached: "n/a"}
	if known {
		t.Reached = map[bool]string{true: "yes", false: "no"}[ok]
	}
	l.out = append(l.out, t)
}

// judge judges v against goal id of targets.json.
func (l *targetList) judge(id string, v float64, known bool, figures string, args ...any) {
	g := goalOf(id)
	l.add(g.text(), g.met(v), known, figures, args...)
}

// explain gives the last target its reason, if it was missed.
func (l *targetList) explain(why func() string) { explain(l.out, why) }

// cliserTargets judges cliser's own figures, and beside the baseline's.
func (rep *Report) cliserTargets(l *targetList, c *Result) {
	b := rep.Results[KindBaseline]
	rssTargets(l, c, b)
	if b != nil {
		cpuVsBaselineTarget(l, c, b)
	}
	rateTarget(l, c, rep.Machine.Cores)
	rep.rttTargets(l, c)
	rep.tickTargets(l)
	l.judge("idle_cpu_percent", c.Idle.CPUPercent, c.Idle.Seconds > 0,
		"%.1f%% over %.0fs", c.Idle.CPUPercent, c.Idle.Seconds)
	l.explain(func() string { return idleWhy(named{KindCliser, c}) })
	rep.shutdownTarget(l, c)
}

// rssTargets judges cliser's memory per client, and beside the
// baseline's when b is not nil.
func rssTargets(l *targetList, c, b *Result) {
	cliserHeap := func() string { return heapWhy(c, nil, KindCliser, "") }
	l.judge("rss_per_client", c.RSSPerClient, c.SlopeTo > 0,
		"cliser %s/client (least-squares over the plateaus %d→%d clients; end points alone %s)",
		bytesStr(c.RSSPerClient), c.SlopeFrom, c.SlopeTo, bytesStr(c.RSSPerClientEnds))
	l.explain(cliserHeap)
	if b == nil {
		return
	}
	ratio := b.RSSPerClient / c.RSSPerClient
	l.judge("rss_vs_baseline", ratio, c.SlopeTo > 0 && b.SlopeTo > 0,
		"baseline %s/client: %.1f× (end points alone: %.1f×)", bytesStr(b.RSSPerClient), ratio, b.RSSPerClientEnds/c.RSSPerClientEnds)
	l.explain(cliserHeap)
}

// cpuVsBaselineTarget judges the baseline's CPU a handshake against
// cliser's: on the bursts when both ran them, else on the stages' ramps.
func cpuVsBaselineTarget(l *targetList, c, b *Result) {
	if c.Burst.Handshakes > 0 && b.Burst.Handshakes > 0 {
		v, rounds := cpuRatio(b, c) // the baseline's CPU a handshake ÷ cliser's
		l.judge("handshakes_per_cpu_vs_baseline", v, true,
			"%.2f×%s: %d handshakes in bursts on the emptied server: cliser %.0f (%.0f µs each), baseline %.0f (%.0f µs each): %.2f×; over the stages' ramps: %.0f vs %.0f, %.2f×",
			v, wrap(rounds, " (", ")"), c.Burst.Handshakes, c.Burst.PerCPU, 1e6/c.Burst.PerCPU, b.Burst.PerCPU, 1e6/b.Burst.PerCPU, c.Burst.PerCPU/b.Burst.PerCPU,
			c.HandshakesPerCPU, b.HandshakesPerCPU, c.HandshakesPerCPU/b.HandshakesPerCPU)
	} else {
		l.judge("handshakes_per_cpu_vs_baseline", c.HandshakesPerCPU/b.HandshakesPerCPU, b.HandshakesPerCPU > 0,
			"cliser %.0f, baseline %.0f: %.2f×", c.HandshakesPerCPU, b.HandshakesPerCPU, c.HandshakesPerCPU/b.HandshakesPerCPU)
	}
	l.explain(func() string { return cpuWhy(KindCliser, c, KindBaseline, b) })
}

// rateTarget judges cliser's handshake rate: the bursts' or the stages',
// whichever is higher.
func rateTarget(l *targetList, c *Result, cores int) {
	rate, over := c.HandshakeRate, c.Handshakes
	if c.Burst.Rate > rate {
		rate, over = c.Burst.Rate, c.Burst.Handshakes
	}
	if c.Burst.Handshakes > 0 {
		l.judge("handshake_rate", rate, over > 0,
			"cliser %.0f/s over %d handshakes (bursts %.0f/s, stages %.0f/s; load and server share %d cores)", rate, over, c.Burst.Rate, c.HandshakeRate, cores)
	} else {
		l.judge("handshake_rate", rate, over > 0,
			"cliser %.0f/s over %d handshakes (load and server share %d cores)", rate, over, cores)
	}
	l.explain(func() string { return rateWhy(c, cores) })
}

// rttTargets judges the keep-alive RTT's tail: on the in-process run's
// server clock when there is one, else by the probe method.
func (rep *Report) rttTargets(l *targetList, c *Result) {
	rtt, method, rttRun := c.ProbeRTT, "probe method", c
	if in := rep.Results[KindInproc]; in != nil && in.ServerRTT != nil {
		rtt, method, rttRun = *in.ServerRTT, "server clock, in-process reactor", in
	}
	rttReason := func() string { return rttWhy(rttRun, rep.Results[KindFloor], rep.Machine.Cores) }
	p99 := goalOf("rtt_p99_ms")
	l.add(p99.text("clients", fmt.Sprint(c.Idle.Clients), "keepalive", rep.Settings.KeepAlive.String()), p99.met(rtt.P99), rtt.Count > 0,
		"p99 %.3f ms (%s; probe method p99 %.3f ms)", rtt.P99, method, c.ProbeRTT.P99)
	l.explain(rttReason)
	l.judge("rtt_p999_ms", rtt.P999, rtt.Count > 0,
		"p999 %.3f ms (%s; probe method p999 %.3f ms)", rtt.P999, method, c.ProbeRTT.P999)
	l.explain(rttReason)
}

// tickTargets judges each tick experiment's server-clock RTT against the
// RTT goals.
func (rep *Report) tickTargets(l *targetList) {
	p99, p999, g := goalOf("rtt_p99_ms"), goalOf("rtt_p999_ms"), goalOf("tick_experiment")
	for _, k := range rep.kinds() {
		if r := rep.Results[k]; strings.Contains(k, "tick=") && r.ServerRTT != nil {
			l.add(g.text("tick", strings.TrimPrefix(k, KindInproc+" ")),
				p99.met(r.ServerRTT.P99) && p999.met(r.ServerRTT.P999), r.ServerRTT.Count > 0,
				"server clock p99 %.3f ms, p999 %.3f ms; idle CPU %.1f%% (in-process, includes the harness)", r.ServerRTT.P99, r.ServerRTT.P999, r.Idle.CPUPercent)
			l.explain(func() string { return rttWhy(r, rep.Results[KindFloor], rep.Machine.Cores) })
		}
	}
}

// shutdownTarget judges the time to the last client's 130 ok.
func (rep *Report) shutdownTarget(l *targetList, c *Result) {
	sd := c.Shutdown
	g := goalOf("shutdown_last_ack_ms")
	l.add(g.text("clients", fmt.Sprint(sd.Registered)),
		sd.Acked == sd.Registered && sd.LastAck >= 0 && g.met(sd.LastAck), sd.Registered > 0,
		"%d of %d acked, last 130 ok at %.1f ms, last close at %.1f ms", sd.Acked, sd.Registered, sd.LastAck, sd.LastClose)
	l.explain(func() string { return shutdownWhy(c, rep.Results[KindFloor], rep.Machine.Cores) })
}

// parseAllocsTarget judges the protocol parser's allocations from the
// run's micro-benchmarks.
func (l *targetList) parseAllocsTarget(micro string) {
	if allocs, ok := parseAllocs(micro, "BenchmarkNextLineParse"); ok {
		l.judge("parse_allocs", float64(allocs), true, "BenchmarkNextLineParse: %d allocs/op", allocs)
	} else {
		l.judge("parse_allocs", 0, false, "micro-benchmarks not run (see protocol/bench_test.go)")
	}
}
