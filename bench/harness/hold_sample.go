package harness

import (
	"context"
	"errors"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// holdSample is what the hold reads at its start and its end: the server,
// the load processes, the machine's busy time, and the scheduler's times
// of server and load (their runqueue wait is what the hold reports).
type holdSample struct {
	srv, load           procSample
	machine             time.Duration
	srvSched, loadSched SchedTime
}

func (r *runner) sampleHold(fl fleet) (holdSample, error) {
	p, err := sampleProc(r.srv.PID())
	if err != nil {
		return holdSample{}, err
	}
	return holdSample{srv: p, load: sampleAll(fl.PIDs()), machine: busyOrZero(),
		srvSched: schedOfPIDs([]int{r.srv.PID()}), loadSched: schedOfPIDs(fl.PIDs())}, nil
}

// holdEdge is a hold's start or end: the samples, the load's counts and
// the server's own RTT record. Every keep-alive hold, the stage's and the
// rounds' (hold_rounds.go), is measured between two of them.
type holdEdge struct {
	s      holdSample
	st     load.Stats
	rtt    serverRTT
	rttErr error
}

// holdStart reads a hold's start: the server's RTT scrape before the CPU
// sample, so that the scrape's CPU is not in the window.
func (r *runner) holdStart(ctx context.Context, fl fleet) (e holdEdge, err error) {
	if e.st, err = fl.Stats(); err != nil {
		return e, err
	}
	e.rtt, e.rttErr = r.srv.RTT(ctx)
	e.s, err = r.sampleHold(fl)
	return e, err
}

// holdEnd reads a hold's end: the CPU sample first, then the counts and
// the RTT scrape.
func (r *runner) holdEnd(ctx context.Context, fl fleet) (e holdEdge, err error) {
	if e.s, err = r.sampleHold(fl); err != nil {
		return e, err
	}
	if e.st, err = fl.Stats(); err != nil {
		return e, err
	}
	e.rtt, e.rttErr = r.srv.RTT(ctx)
	return e, nil
}

// holdFigures is what a hold measured between a and b: the server's CPU,
// the keep-alives answered, the load's and the others' CPU, the runqueue
// waits, and the server-clock RTT over the window (nil when the server
// keeps none, with a problem noted when it could not be read).
func (r *runner) holdFigures(a, b holdEdge) (Idle, *Percentiles, string) {
	secs := b.s.srv.At.Sub(a.s.srv.At).Seconds()
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / secs }
	idle := Idle{Clients: b.st.Registered, Seconds: secs, CPUPercent: pct(b.s.srv.CPU - a.s.srv.CPU),
		KeepAlives: b.st.KeepAlives - a.st.KeepAlives, RSS: b.s.srv.RSS,
		LoadCPUPercent: pct(b.s.load.CPU - a.s.load.CPU), LoadRSS: b.s.load.RSS, LoadAvg: loadAvg(),
		ServerWaitPercent: pct(b.s.srvSched.Wait - a.s.srvSched.Wait), LoadWaitPercent: pct(b.s.loadSched.Wait - a.s.loadSched.Wait)}
	if a.s.machine > 0 && b.s.machine > 0 {
		idle.OthersCPUPercent = max(pct(b.s.machine-a.s.machine)-idle.CPUPercent-idle.LoadCPUPercent, 0)
	}
	switch {
	case a.rttErr != nil || b.rttErr != nil:
		r.problem("server RTT: %v", errors.Join(a.rttErr, b.rttErr))
	case b.rtt.Hist != nil:
		p := percentilesOf(load.Since(a.rtt.Hist, b.rtt.Hist))
		return idle, &p, "server clock, in-process observer (HdrHistogram)"
	case b.rtt.Buckets != nil:
		p := percentilesOfBuckets(b.rtt.Buckets.since(a.rtt.Buckets))
		return idle, &p, "server clock, /metrics histogram buckets (upper bounds)"
	}
	return idle, nil, ""
}
