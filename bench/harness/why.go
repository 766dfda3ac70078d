package harness

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cliser/cliser/internal/cpuprofile"
)

// Why a target is missed, said from the run's own data (issue 17: "where
// a target stays out of reach, the report says why with the profile that
// shows it"): CPU by owner from the profiled bursts, the hold's runqueue
// waits, the heap's slope beside the RSS's, the cores the load shares.

// explain sets the last target's Why when it was missed.
func explain(out []Target, why func() string) {
	if t := &out[len(out)-1]; t.Reached == "no" {
		t.Why = why()
	}
}

// cpuWhy says where a's extra CPU a handshake goes beside b's, owner by
// owner, from their profiled bursts: each owner's share of its profile
// times the server's measured CPU a handshake.
func cpuWhy(an string, a *Result, bn string, b *Result) string {
	ua, _ := handshakeCPU(a)
	ub, _ := handshakeCPU(b)
	head := fmt.Sprintf("%s %.1f µs, %s %.1f µs a handshake (%+.1f µs)", an, ua, bn, ub, ua-ub)
	for _, r := range []struct {
		name string
		res  *Result
	}{{an, a}, {bn, b}} {
		if r.res.ProfiledBurst.Owners == nil {
			return head + "; no burst profile of " + r.name + ": " + cmp.Or(r.res.ProfiledBurst.Missing, "the run profiled none")
		}
	}
	type delta struct {
		owner         string
		us, noise, of float64
	}
	var ds []delta
	for _, o := range unionOwners(a, b) {
		x, sx := ownerUS(a, o, ua)
		y, sy := ownerUS(b, o, ub)
		ds = append(ds, delta{o, x - y, 2 * math.Hypot(sx, sy), x})
	}
	slices.SortStableFunc(ds, func(x, y delta) int { return cmp.Compare(y.us, x.us) }) // ties in the report's order
	var more, less []string
	named := 0.0
	for _, d := range ds {
		if math.Abs(d.us) < max(d.noise, 0.5) {
			continue // within the profiles' sampling noise
		}
		item := fmt.Sprintf("%s %+.1f ± %.1f µs", d.owner, d.us, d.noise)
		if d.us > 0 && len(more) < 5 {
			more = append(more, fmt.Sprintf("%s (%.1f)", item, d.of))
		} else if d.us < 0 {
			less = append(less, item)
		} else {
			continue
		}
		named += d.us
	}
	pa := perHandshake(a.ProfiledBurst.ServerCPU, a.ProfiledBurst.Handshakes)
	pb := perHandshake(b.ProfiledBurst.ServerCPU, b.ProfiledBurst.Handshakes)
	s := fmt.Sprintf("%s; in the profiled bursts themselves %.1f µs and %.1f µs (%+.1f µs); by owner (%d and %d samples; ± two standard errors; shares of the measured µs; %s's in brackets): %s",
		head, pa, pb, pa-pb, a.ProfiledBurst.Owners.Samples, b.ProfiledBurst.Owners.Samples, an, orNone(more))
	if len(less) > 0 {
		s += "; less: " + strings.Join(less, ", ")
	}
	return s + fmt.Sprintf("; these owners make %+.1f µs of the %+.1f µs, the rest is spread among owners each within its noise", named, ua-ub)
}

// ownerUS is an owner's µs a handshake in r's profiled bursts (its share
// of the samples × the measured µs) and its standard error, √(p(1−p)/n)
// of a share p of n samples.
func ownerUS(r *Result, owner string, us float64) (v, stderr float64) {
	b := r.ProfiledBurst.Owners
	p := b.Percent[owner] / 100
	return p * us, us * math.Sqrt(p*(1-p)/float64(max(b.Samples, 1)))
}

func unionOwners(rs ...*Result) []string {
	seen := map[string]bool{}
	for _, r := range rs {
		for o := range r.ProfiledBurst.Owners.Percent {
			seen[o] = true
		}
	}
	b := &Breakdown{Percent: map[string]float64{}}
	for o := range seen {
		b.Percent[o] = 1
	}
	return b.Owners()
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no owner spends more beyond the sampling noise"
	}
	return strings.Join(s, ", ")
}

// rttWhy gives the hold's runqueue waits of the run whose RTT was judged
// and, when there is one, the floor's tail read the same way.
func rttWhy(r, floor *Result, cores int) string {
	s := fmt.Sprintf("in the hold the server's threads waited for a CPU %.1f%% of the time and the load's %.1f%% (runqueue waits summed over threads: ready to run, no CPU free on %d shared cores)",
		r.Idle.ServerWaitPercent, r.Idle.LoadWaitPercent, cores)
	if floor == nil || floor.ServerRTT == nil || floor.ServerRTT.Count == 0 {
		return s
	}
	s += fmt.Sprintf("; the floor, p99 ≤ %s and p999 ≤ %s with runqueue waits of %.1f%% and %.1f%%", num(floor.ServerRTT.P99, "ms"), num(floor.ServerRTT.P999, "ms"),
		floor.Idle.ServerWaitPercent, floor.Idle.LoadWaitPercent)
	if floor.ServerRTT.P99 > 2 || floor.ServerRTT.P999 > 10 || floor.ServerRTT.P99 < 0 || floor.ServerRTT.P999 < 0 {
		return s + ", misses it too"
	}
	return s + ", meets it: the tail is cliser's own"
}

// rttWaitsWhy sets a variant's hold runqueue waits beside cliser's.
func rttWaitsWhy(kind string, on, off *Result) string {
	s := fmt.Sprintf("runqueue waits in the hold (summed over threads, %% of the hold): %s's server %.1f%%, load %.1f%%; %s's server %.1f%%, load %.1f%%",
		kind, on.Idle.ServerWaitPercent, on.Idle.LoadWaitPercent, KindCliser, off.Idle.ServerWaitPercent, off.Idle.LoadWaitPercent)
	if len(on.HoldRounds) == 0 || len(off.HoldRounds) == 0 {
		return s
	}
	srv := func(h HoldRound) float64 { return h.Idle.ServerWaitPercent }
	ld := func(h HoldRound) float64 { return h.Idle.LoadWaitPercent }
	return s + fmt.Sprintf("; in the hold rounds, the median round's: %s's server %.1f%%, load %.1f%%; %s's server %.1f%%, load %.1f%%",
		kind, holdMedian(on, srv), holdMedian(on, ld), KindCliser, holdMedian(off, srv), holdMedian(off, ld))
}

// heapWhy sets the RSS slope beside the heap in use's: what grows with
// the clients is heap, or RSS the heap does not account for (its headroom
// not returned to the OS, stacks, the runtime's own).
func heapWhy(on, off *Result, onName, offName string) string {
	split := func(r *Result) string {
		if r.HeapPerClient == 0 {
			return fmt.Sprintf("RSS %s a client, no heap figure (the server serves no %s)", bytesStr(r.RSSPerClient), metricHeapInuse)
		}
		return fmt.Sprintf("RSS %s a client = heap in use %s + %s beyond the heap (of it %s freed and not yet returned)", bytesStr(r.RSSPerClient),
			bytesStr(r.HeapPerClient), bytesStr(r.RSSPerClient-r.HeapPerClient), bytesStr(r.HeapIdleKeptPerClient))
	}
	s := onName + ": " + split(on)
	if off == nil {
		return s + " (least-squares slopes over the plateaus)"
	}
	s += "; " + offName + ": " + split(off)
	if on.HeapPerClient != 0 && off.HeapPerClient != 0 {
		dh := on.HeapPerClient - off.HeapPerClient
		s += fmt.Sprintf("; of the %+.0f B, %+.0f B is heap in use (data and garbage) and %+.0f B beyond it (headroom)", on.RSSPerClient-off.RSSPerClient, dh, on.RSSPerClient-off.RSSPerClient-dh)
	}
	return s
}

// rateWhy: the load and the server share the cores, so their CPU a
// handshake bounds the wall-clock rate.
func rateWhy(c *Result, cores int) string {
	srv, _ := handshakeCPU(c)
	ld := perHandshake(c.Burst.LoadCPU, c.Burst.Handshakes)
	if math.IsNaN(srv) || math.IsNaN(ld) {
		return "no burst figures"
	}
	return fmt.Sprintf("server %.1f µs + load %.1f µs of CPU a handshake on %d shared cores: at most %.0f/s were every core busy with nothing else",
		srv, ld, cores, float64(cores)*1e6/(srv+ld))
}

// idleWhy splits idle CPU into keep-alives answered a second × CPU each,
// for each server given: whether a server spends more a keep-alive or
// answers more of them. The hold is not profiled.
func idleWhy(runs ...named) string {
	var parts, rounds []string
	for _, n := range runs {
		parts = append(parts, fmt.Sprintf("%s answered %.0f keep-alives a second at %s of CPU each", n.name,
			float64(n.r.Idle.KeepAlives)/n.r.Idle.Seconds, num(idleCPUPerKeepAlive(n.r), "µs")))
		if len(n.r.HoldRounds) > 0 {
			rounds = append(rounds, fmt.Sprintf("%s %.0f a second at %s", n.name,
				holdMedian(n.r, func(h HoldRound) float64 { return float64(h.Idle.KeepAlives) / h.Idle.Seconds }),
				num(holdMedian(n.r, func(h HoldRound) float64 { return h.Idle.cpuPerKeepAlive() }), "µs")))
		}
	}
	s := strings.Join(parts, "; ")
	if len(rounds) == len(runs) {
		s += "; in the hold rounds, the median round's: " + strings.Join(rounds, ", ")
	}
	return s + " (the hold is not profiled)"
}

// holdMedian is the median over r's hold rounds of f.
func holdMedian(r *Result, f holdMeasure) float64 {
	v := make([]float64, 0, len(r.HoldRounds))
	for _, h := range r.HoldRounds {
		v = append(v, f(h))
	}
	return Median(v)
}

// named is a result with its server's name.
type named struct {
	name string
	r    *Result
}

// unexplained is the Why of a missed target nothing in the run explains.
const unexplained = "the run records nothing that explains it"

// whyMarkdown writes the missed targets' reasons and the profiled bursts'
// owners.
func (rep *Report) whyMarkdown(b *bytes.Buffer, targets []Target) {
	var missed []Target
	for _, t := range targets {
		if t.Reached == "no" {
			missed = append(missed, t)
		}
	}
	if len(missed) > 0 {
		b.WriteString("\n## Why the missed targets are missed\n\n")
		for _, t := range missed {
			fmt.Fprintf(b, "- **%s**: %s.\n", t.Goal, cmp.Or(t.Why, unexplained))
		}
	}
	rep.ownersTable(b)
}

// ownersTable is each server's profiled burst by owner: % of its samples
// and µs a handshake (the share × the server's measured CPU a handshake).
func (rep *Report) ownersTable(b *bytes.Buffer) {
	var kinds []string
	var with []*Result
	for _, k := range rep.kinds() {
		if r := rep.Results[k]; r.ProfiledBurst.Owners != nil {
			kinds, with = append(kinds, k), append(with, r)
		}
	}
	if len(kinds) == 0 {
		return
	}
	b.WriteString("\n## Where a burst's CPU goes, by owner\n\n")
	fmt.Fprintf(b, "%d more bursts after each server's measured ones, each under its own CPU profile at %d Hz (their figures are not in the measured ones): each owner's share of the profiles' samples, and that share of the server's measured CPU a handshake. System calls are named by their wrapper (the floor makes the same ones); the runtime's work is GC's (assists included), the scavenger's, the scheduler's or other; the rest is the package that did it (an allocation is its caller's).\n\n",
		max(rep.Settings.ProfileRounds, 1), cpuprofile.Hz)
	fmt.Fprintf(b, "| owner | %s |\n|%s\n", strings.Join(kinds, " | "), strings.Repeat(" --- |", len(kinds)+1))
	for _, o := range unionOwners(with...) {
		fmt.Fprintf(b, "| %s |", o)
		for _, r := range with {
			us, _ := handshakeCPU(r)
			p := r.ProfiledBurst.Owners.Percent[o]
			fmt.Fprintf(b, " %.1f%% · %.1f µs |", p, p*us/100)
		}
		b.WriteString("\n")
	}
	row := func(name string, f func(r *Result) string) {
		fmt.Fprintf(b, "| %s |", name)
		for _, r := range with {
			fmt.Fprintf(b, " %s |", f(r))
		}
		b.WriteString("\n")
	}
	row("measured CPU a handshake", func(r *Result) string { us, _ := handshakeCPU(r); return num(us, "µs") })
	row("profiled burst: CPU a handshake (the profiler's cost beside the above)", func(r *Result) string {
		return num(perHandshake(r.ProfiledBurst.ServerCPU, r.ProfiledBurst.Handshakes), "µs")
	})
	row("profile: samples, their CPU (% of the profiled bursts' measured CPU)", func(r *Result) string {
		pb := r.ProfiledBurst
		return fmt.Sprintf("%d, %.2fs (%.0f%%)", pb.Owners.Samples, pb.Owners.CPU, 100*pb.Owners.CPU/pb.ServerCPU)
	})
	row("profile file", func(r *Result) string { return r.ProfiledBurst.Profile })
	for _, k := range rep.kinds() {
		if m := rep.Results[k].ProfiledBurst.Missing; m != "" {
			fmt.Fprintf(b, "\nNo burst profile of %s: %s.\n", k, m)
		}
	}
}
