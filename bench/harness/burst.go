package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// The bursts measure handshakes alone, after the shutdown has emptied the
// server: BurstRounds times, a fleet of its own opens Burst clients as
// fast as it can, then closes them and lets the server settle. A round is
// kept short of a keep-alive interval, so no keep-alive falls due during
// it and there is nothing to subtract; its clients have the stages'
// client-ids, so the registry gains no records. Running them last keeps
// the heap they grow out of the RSS figures.

// burstsDue says whether the server gets bursts: they are set, and the
// shutdown emptied a server that had clients.
func (r *runner) burstsDue() bool { return r.set.Burst > 0 && r.res.Shutdown.Registered > 0 }

// MaxBurstRounds is the most measured bursts a server can get: each dials
// from addresses of its own (burstSource), in the nine 127.N/16 after its
// kind's sourceNet, burstBlocks blocks of each.
const MaxBurstRounds = burstNets * burstBlocks

const (
	burstNets   = 9 // the /16s between a kind's sourceNet and the next kind's
	burstBlocks = 4
)

// burstSource is where measured burst round (from 0) of kind dials from:
// rounds 1-9 from the first block of the nine nets after the kind's
// sourceNet (as before there were more), the next nine from the second.
func burstSource(kind string, round int) source {
	return source{net: sourceNet[kind] + 1 + round%burstNets, block: round / burstNets}
}

// burstRounds is how many measured bursts a server gets.
func burstRounds(set Settings) int { return max(set.BurstRounds, 1) }

// openBursts lets the shutdown's closes settle for settle and starts the
// bursts' allocation window.
func (r *runner) openBursts(ctx context.Context, settle time.Duration) error {
	if err := r.wait(ctx, settle); err != nil {
		return err
	}
	r.burstAlloc = r.allocWindow(ctx, "bursts")
	return nil
}

// closeBursts makes the bursts' totals: sums over the rounds.
func (r *runner) closeBursts() {
	b := &r.res.Burst
	b.Alloc = r.burstAlloc(b.Handshakes)
	b.Latency = percentilesOf(r.burstLat.Handshake)
	if b.Seconds > 0 {
		b.Rate = float64(b.Handshakes) / b.Seconds
	}
	if b.ServerCPU > 0 {
		b.PerCPU = float64(b.Handshakes) / b.ServerCPU
	}
	r.say("bursts: %d handshakes in %.2fs (%.0f/s), server CPU %.3fs (%.3fs after the last handshakes; %.1f µs each, %.0f per CPU-s), load CPU %.3fs (%.1f µs each), p99 %.1fms",
		b.Handshakes, b.Seconds, b.Rate, b.ServerCPU, b.TailCPU, 1e6*b.ServerCPU/max(float64(b.Handshakes), 1), b.PerCPU,
		b.LoadCPU, 1e6*b.LoadCPU/max(float64(b.Handshakes), 1), b.Latency.P99)
}

// burst runs measured round round (from 0) and adds it to the totals and
// the rounds.
func (r *runner) burst(ctx context.Context, round int) error {
	var profile func() func()
	if round == 0 {
		profile = func() func() { return r.startProfile("ramp") }
	}
	r.roomFor(fmt.Sprintf("%s burst %d", r.kind, round+1), r.set.Burst)
	br, err := r.measureBurst(ctx, burstSource(r.kind, round), profile, nil)
	if err != nil {
		return err
	}
	r.burstLat.Merge(load.Stats{Handshake: br.st.Handshake})
	b := &r.res.Burst
	b.Handshakes += br.st.Handshakes
	b.Seconds += br.secs
	b.ServerCPU += br.cpu
	b.TailCPU += br.tail
	b.LoadCPU += br.loadCPU
	b.Rounds = append(b.Rounds, BurstRound{Round: round + 1, At: br.at, Handshakes: br.st.Handshakes, Seconds: br.secs,
		ServerCPU: br.cpu, TailCPU: br.tail, LoadCPU: br.loadCPU, KeepAlives: br.st.KeepAlives, Counters: br.counters})
	r.addRoundErrors("burst", br.st.Errors)
	if br.st.Handshakes != int64(r.set.Burst) {
		r.problem("burst %d: %d of %d handshakes", round+1, br.st.Handshakes, r.set.Burst)
	}
	if inWindow(br.st.FirstKeepAlive, br.end) {
		r.problem("burst %d: its clients answered keep-alives from %s into its window (%d by the figures' read): keep-alive CPU is in its figures",
			round+1, time.Unix(0, br.st.FirstKeepAlive).Sub(br.at).Round(time.Millisecond), br.st.KeepAlives)
	}
	if br.secs >= r.set.KeepAlive.Seconds() {
		r.problem("burst %d took %.2fs, a keep-alive interval or more: keep-alive CPU is in its figures", round+1, br.secs)
	}
	r.say("burst %d: %d handshakes in %.2fs, server CPU %.3fs (%.3fs of it in the %.2fs after the last handshake, net of the idle %.1f%%); %s",
		round+1, br.st.Handshakes, br.secs, br.cpu, br.tail, br.tailSecs, 100*br.idle, br.counters.perHandshakeNote(br.st.Handshakes))
	return nil
}

// roomFor waits, when the run says how (Env.RoomFor), until the machine
// has room for need more connections. A burst's 4,000 stay in the
// kernel's connection tracking 120 s after they closed, and bursts that
// follow each other every ~1.5 s would fill its 262,144 entries in about
// 80 s and have their SYNs dropped: so each burst waits for its room, and
// that, not the burst, sets the pace of a long run of them.
func (r *runner) roomFor(what string, need int) {
	if r.env.RoomFor != nil {
		r.env.RoomFor(what, need)
	}
}

// addRoundErrors adds a burst's or a hold round's fleet's errors to the
// run's, under what.
func (r *runner) addRoundErrors(what string, errs map[string]int64) {
	for k, v := range errs {
		if r.roundErrors == nil {
			r.roundErrors = map[string]int64{}
		}
		r.roundErrors[what+": "+k] += v
	}
}

// burstMeasures is one burst's measures, as measureBurst takes them
// (BurstRound is what the result keeps of them).
type burstMeasures struct {
	at                    time.Time // the ramp's start
	end                   time.Time // the tail's end: the figures' last sample
	st                    load.Stats
	secs, cpu, tail, idle float64
	tailSecs, loadCPU     float64
	counters              BurstCounters
}

// inWindow says whether unixNS, a load's time (0: never), is before end.
func inWindow(unixNS int64, end time.Time) bool {
	return unixNS != 0 && unixNS < end.UnixNano()
}

// measureBurst opens Burst clients from src as fast as the load goes,
// follows the server's tail, closes them and lets the server settle.
// ramp, when set, brackets the ramp alone (the in-process profile);
// window, the ramp and the tail (the subprocess's profiled burst).
func (r *runner) measureBurst(ctx context.Context, src source, ramp, window func() func()) (burstMeasures, error) {
	var br burstMeasures
	endGC := r.gcWindow(ctx)
	fl, _, err := r.startFleet(ctx, r.set.Burst, 0, src)
	if err != nil {
		return br, fmt.Errorf("burst: %w", err)
	}
	closed := false
	closeFleet := func() {
		if closed {
			return
		}
		closed = true
		closeCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := fl.Close(closeCtx); err != nil {
			r.problem("burst: closing its load: %v", err)
		}
	}
	defer closeFleet()
	if br.idle, err = idleRate(ctx, r.srv.PID()); err != nil {
		return br, err
	}
	stopWindow := startIf(window)
	defer stopWindow()
	endCounters := counterWindow(r.srv.PID(), fl.PIDs())
	p0, err := sampleProc(r.srv.PID())
	if err != nil {
		return br, err
	}
	l0 := sampleAll(fl.PIDs())
	stopRamp := startIf(ramp)
	rampErr := fl.Ramp(ctx, r.set.Burst, 0)
	stopRamp()
	p1, err := sampleProc(r.srv.PID())
	if err != nil {
		return br, err
	}
	l1 := sampleAll(fl.PIDs())
	tl, err := followTail(ctx, r.srv.PID(), p1, br.idle, p0.At.Add(r.set.KeepAlive-tailMargin))
	if err != nil {
		return br, err
	}
	br.counters = endCounters()
	stopWindow()
	endGC(&br.counters)
	if br.st, err = fl.Stats(); err != nil {
		return br, err
	}
	if rampErr != nil {
		return br, fmt.Errorf("burst: %w", rampErr)
	}
	br.at, br.secs = p0.At, p1.At.Sub(p0.At).Seconds()
	br.cpu = (p1.CPU - p0.CPU).Seconds() + tl.cpu
	br.tail, br.tailSecs, br.end = tl.cpu, tl.last.At.Sub(p1.At).Seconds(), tl.last.At
	br.loadCPU = (l1.CPU - l0.CPU).Seconds()
	closeFleet()
	return br, r.settleBurst(ctx, src, br.idle)
}

// startIf calls start when there is one; the stop it returns may be
// called more than once.
func startIf(start func() func()) func() {
	if start == nil {
		return func() {}
	}
	stop, done := start(), false
	return func() {
		if !done {
			done = true
			stop()
		}
	}
}
