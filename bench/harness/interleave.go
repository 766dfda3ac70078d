package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// A whole server run takes minutes, and over minutes the machine drifts by
// more than the burst CPU targets judge: in eight quiet session 13 runs
// cliser's CPU a handshake spread 48-71 µs and the floor's 40-52 µs, and
// the load's CPU for the same keep-alive work was 36.0% beside cliser and
// 42.3% beside cliser+events in one report. So RunInterleaved keeps every
// server up, emptied (and stopped: freeze.go), after its shutdown, and
// runs the measured bursts in rounds across the servers: each round
// bursts every server once, seconds apart, and the burst CPU targets are
// judged on the median over rounds of each round's ratio
// (burst_rounds.go).

// Interleaved is what RunInterleaved made: each server's result and the
// order each burst round and each hold round ran the servers in.
type Interleaved struct {
	Results   map[string]*Result
	Order     [][]string
	HoldOrder [][]string
}

// RunInterleaved runs each of kinds, one after the other, through its
// stages, hold, probes and shutdown, keeping each up but stopped
// (freeze.go) once its closes settled; then BurstRounds rounds of bursts,
// round r in RoundOrder(kinds, r), each server continued for its own;
// then HoldRounds rounds of keep-alive holds the same way
// (hold_rounds.go); then each server's profiled bursts and its stop. Each server gets a
// work directory of its own under env.WorkDir, as they are up side by
// side. The error is for a run that could not be made; the results made
// so far come with it.
func RunInterleaved(ctx context.Context, kinds []string, set Settings, env Env) (Interleaved, error) {
	out := Interleaved{Results: map[string]*Result{}}
	if env.Progress == nil {
		env.Progress = io.Discard
	}
	var up []*runner
	err := func() error {
		for _, k := range kinds {
			fmt.Fprintf(env.Progress, "== %s: stages %v, keep-alive %s; its %d bursts of %d interleaved with the others'\n",
				k, set.Stages, set.KeepAlive, burstRounds(set), set.Burst)
			r, err := startIn(ctx, k, set, env)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			up = append(up, r)
			out.Results[k] = r.res
			if err := r.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			// The shutdown's closes settle, as before the bursts they did.
			if err := r.wait(ctx, set.Settle); err != nil {
				return err
			}
			if err := r.freeze(); err != nil {
				return err
			}
		}
		var err error
		if out.Order, err = interleaveBursts(ctx, up); err != nil {
			return err
		}
		out.HoldOrder, err = interleaveHolds(ctx, up)
		return err
	}()
	for _, r := range up {
		if terr := r.thaw(); terr != nil {
			r.problem("continuing the server: %v", terr)
		}
		if _, ferr := r.finish(ctx, err); ferr != nil && err == nil {
			err = fmt.Errorf("%s: %w", r.kind, ferr)
		}
	}
	return out, err
}

// startIn starts kind in a work directory of its own under env.WorkDir.
func startIn(ctx context.Context, kind string, set Settings, env Env) (*runner, error) {
	if kind == KindInproc {
		return nil, fmt.Errorf("%s runs in the harness's own process, which cannot be stopped beside the others: run it alone (Run)", kind)
	}
	env.WorkDir = filepath.Join(env.WorkDir, kind)
	if err := os.MkdirAll(env.WorkDir, 0o755); err != nil {
		return nil, err
	}
	return start(ctx, kind, set, env)
}

// thawSettle is how long a server continued for its allocation count's
// first read runs first: what it catches up on (its timers; a GC the
// runtime forces after two minutes without one) is then not counted.
const thawSettle = time.Second

// interleaveBursts runs the burst rounds across the servers that are due
// bursts, every one stopped but the one bursting, and returns each
// round's order.
func interleaveBursts(ctx context.Context, up []*runner) ([][]string, error) {
	due := dueOf(up, (*runner).burstsDue)
	if len(due) == 0 {
		return nil, nil
	}
	if err := eachThawed(due, func(r *runner) error { return r.openBursts(ctx, thawSettle) }); err != nil {
		return nil, err
	}
	orders, err := rounds(due, burstRounds(due[0].set), "burst round", func(r *runner, round int) error { return r.burst(ctx, round) })
	if err != nil {
		return orders, err
	}
	return orders, eachThawed(due, func(r *runner) error { r.closeBursts(); return nil })
}

// interleaveHolds runs the hold rounds (hold_rounds.go) across the
// servers due them, as interleaveBursts the bursts.
func interleaveHolds(ctx context.Context, up []*runner) ([][]string, error) {
	due := dueOf(up, (*runner).holdsDue)
	if len(due) == 0 {
		return nil, nil
	}
	return rounds(due, due[0].set.HoldRounds, "hold round", func(r *runner, round int) error { return r.holdRound(ctx, round) })
}

// dueOf are the runners of up that due says yes to.
func dueOf(up []*runner, due func(*runner) bool) []*runner {
	var out []*runner
	for _, r := range up {
		if due(r) {
			out = append(out, r)
		}
	}
	return out
}

// rounds runs n rounds of f across rs, round r in RoundOrder(rs, r), each
// server continued for its own turn alone; it returns each round's order.
func rounds(rs []*runner, n int, what string, f func(r *runner, round int) error) ([][]string, error) {
	var orders [][]string
	for round := range n {
		var names []string
		err := eachThawed(RoundOrder(rs, round), func(r *runner) error {
			fmt.Fprintf(r.env.Progress, "== %s %d: %s\n", what, round+1, r.kind)
			names = append(names, r.kind)
			return f(r, round)
		})
		orders = append(orders, names)
		if err != nil {
			return orders, err
		}
	}
	return orders, nil
}

// eachThawed runs f on each of rs continued, and stops it again.
func eachThawed(rs []*runner, f func(r *runner) error) error {
	for _, r := range rs {
		if err := errors.Join(r.thaw(), f(r)); err != nil {
			return fmt.Errorf("%s: %w", r.kind, err)
		}
		if err := r.freeze(); err != nil {
			return err
		}
	}
	return nil
}

// RoundOrder is the order of round r (from 0): rounds 2k and 2k+1 run the
// list rotated by k, the second of them reversed. Over 2n rounds of n
// servers each runs in every position alike, so a drift of the machine
// across a round falls on each alike (a round's order moved the variants'
// ratios by about the 10% they are judged against: session 10), and every
// two rounds each pair of servers runs in both orders. Rotation alone ran
// a pair d apart in the list in one order in n-d of n rounds (cliser
// before the floor in 2 of 5, cliser+events before cliser in 1 of 5), and
// the earlier of a pair cost more (session 23,
// docs/performance-journal.md): its ratio's median carried that.
func RoundOrder[T any](list []T, r int) []T {
	if len(list) == 0 {
		return nil
	}
	k := (r / 2) % len(list)
	out := append(slices.Clone(list[k:]), list[:k]...)
	if r%2 == 1 {
		slices.Reverse(out)
	}
	return out
}
