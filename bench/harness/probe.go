package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// probe measures the keep-alive round trip with the probe method (the
// probe phase), then waits for every probe to be registered again.
func (r *runner) probe(ctx context.Context) error {
	if r.set.Probes <= 0 || r.set.ProbeHold <= 0 {
		return nil
	}
	r.say("probe: %d probes for %s", r.set.Probes, r.set.ProbeHold)
	p, phases, err := r.probeWindow(ctx, r.fleet, r.set.ProbeHold, int64(r.res.Clients), r.wait, "probe")
	if err != nil {
		return err
	}
	r.res.ProbeRTT, r.res.ProbePhases = p, phases
	r.say("probe: keep-alive RTT p50 %.3fms p99 %.3fms p999 %.3fms max %.3fms (%d samples%s)", p.P50, p.P99, p.P999, p.Max, p.Count, phaseText(phases, r.set.KeepAlive))
	return nil
}

// probeWindow turns fl's probes on for hold (spent in wait), off again,
// and waits, at most 15 s, until no probe's measurement is pending and
// want clients are registered; it returns the round trips the probes
// measured in between, and their samples by phase of the keep-alive
// interval (load.Stats.ProbePhases). A problem of the run names what.
func (r *runner) probeWindow(ctx context.Context, fl fleet, hold time.Duration, want int64, wait func(context.Context, time.Duration) error, what string) (Percentiles, []int64, error) {
	before, err := fl.Stats()
	if err != nil {
		return Percentiles{}, nil, err
	}
	if err := fl.SetProbing(true); err != nil {
		return Percentiles{}, nil, err
	}
	if err := wait(ctx, hold); err != nil {
		return Percentiles{}, nil, err
	}
	if err := fl.SetProbing(false); err != nil {
		return Percentiles{}, nil, err
	}
	if err := r.untilProbesSettled(ctx, fl, want, what); err != nil {
		return Percentiles{}, nil, err
	}
	after, err := fl.Stats()
	if err != nil {
		return Percentiles{}, nil, err
	}
	phases := make([]int64, load.PhaseBins)
	for i := range phases {
		phases[i] = after.ProbePhases[i] - before.ProbePhases[i]
	}
	return percentilesOf(load.Since(before.ProbeRTT, after.ProbeRTT)), phases, nil
}

// phaseText says how spread over the keep-alive cycle a window's samples
// fell (bench/load/spread.go).
func phaseText(phases []int64, interval time.Duration) string {
	hit, fullest := phaseSpread(phases)
	if hit == 0 {
		return ""
	}
	return fmt.Sprintf(", at %d of %d moments (%s) of the keep-alive cycle, the fullest %.0f%%",
		hit, len(phases), interval/time.Duration(len(phases)), 100*fullest)
}

// phaseSpread is how many parts of the interval phases has samples in,
// and the fullest part's share of them.
func phaseSpread(phases []int64) (hit int, fullest float64) {
	var total, most int64
	for _, n := range phases {
		total += n
		most = max(most, n)
		if n > 0 {
			hit++
		}
	}
	if total == 0 {
		return 0, 0
	}
	return hit, float64(most) / float64(total)
}

// untilProbesSettled waits, at most 15 s, until none of fl's probes is
// pending or before its first keep-alive (where it may realign: leave and
// come back, so a count read just then came up short) and want clients
// are registered; past the bound it is a problem
// of the run. It stops at once when the clients that failed make up the
// rest: a failed client does not come back, so waiting cannot fill it.
func (r *runner) untilProbesSettled(ctx context.Context, fl fleet, want int64, what string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		after, err := fl.Counts()
		if err != nil {
			return err
		}
		settled := after.ProbesPending == 0 && after.ProbesFresh == 0
		if settled && after.Registered >= want {
			return nil
		}
		if failed := after.ErrorTotal(); settled && after.Registered+failed >= want {
			r.problem("%s: %d of %d registered; %d clients failed (see the errors)", what, after.Registered, want, failed)
			return nil
		}
		if time.Now().After(deadline) {
			r.problem("%s: %d probes still pending, %d before their first keep-alive, %d of %d registered after 15s", what, after.ProbesPending, after.ProbesFresh, after.Registered, want)
			return nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}
