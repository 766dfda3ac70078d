package harness

import (
	"context"
	"fmt"
	"math"
	"time"
)

// The hold targets (idle CPU, keep-alive RTT) compared single holds of two
// servers minutes apart, and over minutes the machine drifts by more than
// they judge: session 14 counted the same work per keep-alive in the
// cliser variants' holds and found their server CPU tracking the load's
// CPU in the same hold (r = 0.95), while events ÷ cliser's RTT p99 went
// 0.50–1.82× in single pairs. So, after the burst rounds, RunInterleaved
// holds every server again in rounds, as the bursts: round r continues
// each server in RoundOrder, connects a fleet of the top stage's size (the
// stages' client IDs, so the credentials hold), lets it settle, holds it
// RoundHold measuring what the stage hold measures, closes it and waits
// for the server to see every close, then stops the server again.

// MaxHoldRounds is the most hold rounds a server can get: each dials from
// a 127.N/16 of its own (holdNet).
const MaxHoldRounds = 9

// HoldRound is one server's keep-alive hold in one interleaved round.
type HoldRound struct {
	Round     int          `json:"round"` // from 1
	At        time.Time    `json:"at"`    // the hold's start
	Idle      Idle         `json:"idle"`
	ServerRTT *Percentiles `json:"server_rtt_ms,omitempty"`
	// ProbeRTT is the probe method's, in the window after the hold
	// (hold_rounds_probe.go); nil for a server not due it.
	ProbeRTT *Percentiles `json:"probe_rtt_ms,omitempty"`
	// ProbePhases counts its samples by phase of the keep-alive interval
	// (load.Stats.ProbePhases).
	ProbePhases []int64 `json:"probe_phases,omitempty"`
}

// holdsDue says whether the server gets hold rounds: they are set, it had
// clients, and it keeps a server-clock RTT or is judged on its idle CPU
// (the baseline has neither target, so it sits them out).
func (r *runner) holdsDue() bool {
	return r.set.HoldRounds > 0 && r.set.RoundHold > 0 && r.res.Shutdown.Registered > 0 && r.kind != KindBaseline
}

// holdNet is the 127.N/16 hold round round (from 0) of kind dials from:
// past every kind's stage and burst nets (10–69).
func holdNet(kind string, round int) int { return 100 + sourceNet[kind] + round }

// holdRound runs hold round round (from 0) on the continued server and
// adds it to the result.
func (r *runner) holdRound(ctx context.Context, round int) error {
	top := r.set.Stages[len(r.set.Stages)-1]
	r.roomFor(fmt.Sprintf("%s hold round %d", r.kind, round+1), top)
	fl, _, err := r.startFleet(ctx, top, r.roundProbes(), netOf(holdNet(r.kind, round)))
	if err != nil {
		return fmt.Errorf("hold round %d: %w", round+1, err)
	}
	hr, err := r.measureRound(ctx, fl, top, holdNet(r.kind, round))
	if st, cerr := fl.Counts(); cerr == nil {
		r.addRoundErrors("hold round", st.Errors)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if cerr := fl.Close(closeCtx); cerr != nil {
		r.problem("hold round %d: closing its load: %v", round+1, cerr)
	}
	if err != nil {
		return fmt.Errorf("hold round %d: %w", round+1, err)
	}
	hr.Round = round + 1
	r.res.HoldRounds = append(r.res.HoldRounds, hr)
	r.say("hold round %d: %d clients, cpu %.1f%% of a core, %d keep-alives (%.1f µs each); load %.1f%% cpu; runqueue wait server %.1f%%, load %.1f%%%s",
		hr.Round, hr.Idle.Clients, hr.Idle.CPUPercent, hr.Idle.KeepAlives, hr.Idle.cpuPerKeepAlive(),
		hr.Idle.LoadCPUPercent, hr.Idle.ServerWaitPercent, hr.Idle.LoadWaitPercent, rttText(hr.ServerRTT)+probeText(hr.ProbeRTT))
	return r.untilClosed(ctx, round)
}

// measureRound ramps fl (dialling from 127.net/16) to top, lets it settle
// and holds it.
func (r *runner) measureRound(ctx context.Context, fl fleet, top, net int) (HoldRound, error) {
	var hr HoldRound
	if err := fl.Ramp(ctx, top, r.set.Rate); err != nil {
		return hr, err
	}
	// Keep-alives fall due an interval after each connect: two intervals
	// after the ramp every client has answered one (and every probe has
	// moved to its slot: bench/load/spread.go), and the ramp's writes
	// are waited for by their gauges (untilWritten).
	if err := sleepCtx(ctx, 2*r.set.KeepAlive); err != nil {
		return hr, err
	}
	if err := r.untilProbesSettled(ctx, fl, int64(top), "hold round's probes"); err != nil {
		return hr, err
	}
	r.untilWritten(ctx)
	e0, err := r.holdStart(ctx, fl)
	if err != nil {
		return hr, err
	}
	if e0.st.Registered != int64(top) {
		r.problem("hold round: %d of %d clients registered", e0.st.Registered, top)
	}
	hr.At = e0.s.srv.At
	if err := sleepCtx(ctx, r.set.RoundHold); err != nil {
		return hr, err
	}
	e1, err := r.holdEnd(ctx, fl)
	if err != nil {
		return hr, err
	}
	hr.Idle, hr.ServerRTT, _ = r.holdFigures(e0, e1)
	// What the wait for the closes counts must see the fleet first (a
	// client that reconnected may add its old socket, half-closed).
	if n, err := serverSocketsFrom(r.srv.Addr(), net); err != nil || n < top {
		r.problem("hold round: the server's sockets from 127.%d/16 read %d (%v), want %d: the wait for its closes cannot tell", net, n, err, top)
	}
	hr.ProbeRTT, hr.ProbePhases, err = r.roundProbeWindow(ctx, fl, top)
	return hr, err
}

// untilWritten waits, at most 10 s, until the server owes none of its
// connects' writes (owed.go), so that a hold measures keep-alives
// and not the ramp's events; past the bound it is a problem of the run.
func (r *runner) untilWritten(ctx context.Context) {
	url := goMetricsOf(r.srv)
	if url == "" {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		owed, err := backlog(ctx, url)
		if err != nil || owed == 0 {
			if err != nil {
				r.problem("hold round: reading the backlog: %v", err)
			}
			return
		}
		if time.Now().After(deadline) || sleepCtx(ctx, 50*time.Millisecond) != nil {
			r.problem("hold round: %.0f writes still owed after 10s", owed)
			return
		}
	}
}

// untilClosed waits, at most 20 s, until the server holds no socket from
// the round's source net open (tcp_table.go): it has seen every close.
func (r *runner) untilClosed(ctx context.Context, round int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := serverSocketsFrom(r.srv.Addr(), holdNet(r.kind, round))
		if err != nil {
			r.problem("hold round %d: reading the server's sockets: %v", round+1, err)
			return nil
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			r.problem("hold round %d: the server still holds %d of its clients' sockets 20s after its load closed", round+1, n)
			return nil
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// rttText is a round's server-clock RTT for the progress line.
func rttText(p *Percentiles) string {
	if p == nil {
		return ""
	}
	q := p.ForRatio()
	return fmt.Sprintf("; server-clock RTT p99 %.3fms p999 %.3fms (interpolated, %d)", q.P99, q.P999, p.Count)
}

// cpuPerKeepAlive is the hold's server CPU per keep-alive the load
// answered, in µs.
func (i Idle) cpuPerKeepAlive() float64 {
	if i.KeepAlives == 0 {
		return math.NaN()
	}
	return i.CPUPercent / 100 * i.Seconds * 1e6 / float64(i.KeepAlives)
}
