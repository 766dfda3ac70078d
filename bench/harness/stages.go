package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// rampStage ramps to target, then lets the plateau settle and reads it.
func (r *runner) rampStage(ctx context.Context, target int, prevIdle float64, profile string) (Stage, error) {
	st := Stage{Target: target}
	before, err := r.fleet.Counts()
	if err != nil {
		return st, err
	}
	p0, err := sampleProc(r.srv.PID())
	if err != nil {
		return st, err
	}
	l0 := sampleAll(r.fleet.PIDs())
	stopProfile := r.startProfile(profile)
	done := make(chan error, 1)
	go func() { done <- r.fleet.Ramp(ctx, target, r.set.Rate) }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-tick.C:
			r.sample(fmt.Sprintf("ramp to %d", target), before)
		}
	}
	stopProfile()
	if err != nil {
		return st, fmt.Errorf("ramp to %d: %w", target, err)
	}
	p1, err := sampleProc(r.srv.PID())
	if err != nil {
		return st, err
	}
	st.RampLoadCPU = (sampleAll(r.fleet.PIDs()).CPU - l0.CPU).Seconds()
	after, err := r.fleet.Counts()
	if err != nil {
		return st, err
	}
	st.RampSeconds = p1.At.Sub(p0.At).Seconds()
	st.Handshakes = after.Handshakes - before.Handshakes
	st.RampCPU = max((p1.CPU-p0.CPU).Seconds()-prevIdle*st.RampSeconds, 0)
	r.say("ramp to %d: %d handshakes in %.2fs (%.0f/s), server CPU %.2fs, load CPU %.2fs, errors %d",
		target, st.Handshakes, st.RampSeconds, float64(st.Handshakes)/st.RampSeconds, st.RampCPU, st.RampLoadCPU, after.ErrorTotal())
	err = r.settlePlateau(ctx, &st, p1)
	return st, err
}

// settlePlateau lets the plateau st reached settle and reads it: RSS,
// heap, and the server's CPU since p1, the ramp's end.
func (r *runner) settlePlateau(ctx context.Context, st *Stage, p1 procSample) error {
	if err := r.wait(ctx, r.set.Settle); err != nil {
		return err
	}
	// The first stage's probes move to their slots at their first keep-alive.
	if err := r.untilProbesSettled(ctx, r.fleet, int64(st.Target), fmt.Sprintf("plateau %d", st.Target)); err != nil {
		return err
	}
	p2, err := sampleProc(r.srv.PID())
	if err != nil {
		return err
	}
	now, err := r.fleet.Counts()
	if err != nil {
		return err
	}
	st.Registered, st.RSS, st.Threads = now.Registered, p2.RSS, p2.Threads
	h := r.heap(ctx)
	st.HeapInuse, st.HeapIdleKept, st.HeapGoal = h.inuse, h.idleKept, h.goal
	st.IdleCPU = 100 * (p2.CPU - p1.CPU).Seconds() / p2.At.Sub(p1.At).Seconds()
	r.say("plateau %d: registered %d, rss %s, heap in use %s, idle not returned %s, goal %s, cpu %.1f%%, threads %d",
		st.Target, st.Registered, mib(st.RSS), mib(st.HeapInuse), mib(st.HeapIdleKept), mib(st.HeapGoal), st.IdleCPU, st.Threads)
	if st.Registered != int64(st.Target) {
		r.problem("plateau %d: only %d clients registered", st.Target, st.Registered)
	}
	return nil
}

// sample adds an RSS point and prints progress.
func (r *runner) sample(what string, since load.Stats) {
	s, err := r.fleet.Counts()
	if err != nil {
		return
	}
	p, err := sampleProc(r.srv.PID())
	if err != nil {
		return
	}
	r.res.Series = append(r.res.Series, Point{Seconds: p.At.Sub(r.t0).Seconds(), Registered: s.Registered, RSS: p.RSS})
	r.say("%-16s registered %6d  handshakes +%d  errors %d  rss %s", what, s.Registered, s.Handshakes-since.Handshakes, s.ErrorTotal(), mib(p.RSS))
}

// wait lets d pass, sampling the RSS series every half second.
func (r *runner) wait(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(left, 500*time.Millisecond)):
		}
		s, err := r.fleet.Counts()
		if err != nil {
			return err
		}
		if p, err := sampleProc(r.srv.PID()); err == nil {
			r.res.Series = append(r.res.Series, Point{Seconds: p.At.Sub(r.t0).Seconds(), Registered: s.Registered, RSS: p.RSS})
		}
	}
}

// slope is the RSS per client between the first plateau of at least 2000
// clients (or the first) and the top: a least-squares fit over those
// plateaus, which one plateau's garbage-collection timing moves less than
// the two end points alone.
func (r *runner) slope() { r.res.FitSlope() }
