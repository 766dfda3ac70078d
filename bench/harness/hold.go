package harness

import (
	"context"

	"github.com/cliser/cliser/bench/load"
)

// hold keeps every client idle at the top for Hold, probes off.
func (r *runner) hold(ctx context.Context) error {
	_ = r.fleet.SetProbing(false)
	e0, err := r.holdStart(ctx, r.fleet)
	if err != nil {
		return err
	}
	r.notePinning()
	// The window holds one /metrics scrape of the server's own, at its start.
	allocEnd := r.markWindow(ctx, "hold")
	stopProfile := r.startProfile("hold")
	r.say("hold: %d clients idle for %s (keep-alive every %s)%s", e0.st.Registered, r.set.Hold, r.set.KeepAlive, r.pinnedText())
	err = r.wait(ctx, r.set.Hold)
	stopProfile()
	if err != nil {
		return err
	}
	allocs, allocOK := allocEnd()
	e1, err := r.holdEnd(ctx, r.fleet)
	if err != nil {
		return err
	}
	r.writeHeapProfile()
	r.res.Idle, r.res.ServerRTT, r.res.ServerRTTMethod = r.holdFigures(e0, e1)
	if allocOK {
		r.res.Idle.Alloc = holdAlloc(allocs, r.res.Idle.KeepAlives)
	}
	r.res.KeepAliveGap = percentilesOf(load.Since(e0.st.KeepAliveGap, e1.st.KeepAliveGap))
	secs := r.res.Idle.Seconds
	r.say("hold: cpu %.1f%% of a core, %d keep-alives (%.0f/s), rss %s, gap p50 %.1fms p99 %.1fms; load %.1f%% cpu %s; others %.1f%% cpu; loadavg %s; runqueue wait server %.1f%%, load %.1f%%",
		r.res.Idle.CPUPercent, r.res.Idle.KeepAlives, float64(r.res.Idle.KeepAlives)/secs, mib(r.res.Idle.RSS),
		r.res.KeepAliveGap.P50, r.res.KeepAliveGap.P99, r.res.Idle.LoadCPUPercent, mib(r.res.Idle.LoadRSS),
		r.res.Idle.OthersCPUPercent, r.res.Idle.LoadAvg, r.res.Idle.ServerWaitPercent, r.res.Idle.LoadWaitPercent)
	if a := r.res.Idle.Alloc; a != nil {
		r.say("hold: the server allocated %.0f KB (%.1f B a keep-alive) and ran %.0f GC cycles", a.Bytes/1000, a.BytesPerKeepAlive, a.GCCycles)
	}
	if r.res.ServerRTT != nil {
		r.say("hold: server-clock keep-alive RTT p50 %.3fms p99 %.3fms p999 %.3fms max %.3fms (%d)",
			r.res.ServerRTT.P50, r.res.ServerRTT.P99, r.res.ServerRTT.P999, r.res.ServerRTT.Max, r.res.ServerRTT.Count)
	}
	return nil
}
