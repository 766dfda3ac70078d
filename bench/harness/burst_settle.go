package harness

import (
	"context"
	"fmt"
	"time"
)

// After a burst's clients close, the server handles the closes and what
// they owe (cliser's write-behind, the event log's disconnects and their
// webhook posts); the next burst must find all of that done. A fixed
// Settle (3 s) did it, and was ~3 s of each burst's ~4.1 s (the committed
// session 16 run's bursts, start to start), so more bursts cost a run
// 4.1 s each. settleBurst waits instead until it is done: the server back
// at its idle rate (the tail's measure: no poll tailBusy above it) for
// tailQuiet, none of its sockets from the burst's net still open
// (tcp_table.go), none of its writes owed (owed.go). settleMost,
// the fixed wait it replaces, bounds it; past the bound the run has a
// problem.

// settleMost bounds a burst's settle.
const settleMost = 3 * time.Second

// settleBurst waits until the server has settled after the burst from src
// closed; idle is the server's rate before the burst.
func (r *runner) settleBurst(ctx context.Context, src source, idle float64) error {
	start := time.Now()
	prev, err := sampleProc(r.srv.PID())
	if err != nil {
		return err
	}
	quietFrom := prev.At
	for {
		if err := sleepCtx(ctx, tailPoll); err != nil {
			return err
		}
		s, err := sampleProc(r.srv.PID())
		if err != nil {
			return err
		}
		if rate(prev, s) > idle+tailBusy {
			quietFrom = s.At
		}
		prev = s
		if s.At.Sub(quietFrom) >= tailQuiet && r.burstLeft(ctx, src) == "" {
			return nil
		}
		if time.Since(start) >= settleMost {
			r.problem("a burst from 127.%d/16: the server had not settled %s after its closes (%s)", src.net, settleMost, r.settleWhy(ctx, src, s.At.Sub(quietFrom)))
			return nil
		}
	}
}

// burstLeft says what the burst from src left on the server: its sockets
// still open or its writes still owed; "" for nothing.
func (r *runner) burstLeft(ctx context.Context, src source) string {
	n, err := serverSocketsFrom(r.srv.Addr(), src.net)
	switch {
	case err != nil:
		return fmt.Sprintf("reading its sockets: %v", err)
	case n > 0:
		return fmt.Sprintf("%d of its sockets open", n)
	}
	url := goMetricsOf(r.srv)
	if url == "" {
		return ""
	}
	switch owed, err := backlog(ctx, url); {
	case err != nil:
		return fmt.Sprintf("reading its backlog: %v", err)
	case owed > 0:
		return fmt.Sprintf("%.0f writes owed", owed)
	}
	return ""
}

// settleWhy is why a settle ran to its bound.
func (r *runner) settleWhy(ctx context.Context, src source, quiet time.Duration) string {
	if quiet < tailQuiet {
		return fmt.Sprintf("quiet for %s of %s", quiet.Round(time.Millisecond), tailQuiet)
	}
	return r.burstLeft(ctx, src)
}
