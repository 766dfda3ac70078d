package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// Settings are the load's shape; the same for every server of a run.
type Settings struct {
	Mode             string        `json:"mode"`
	Stages           []int         `json:"stages"`      // client counts to ramp to, ascending
	Rate             float64       `json:"rate_per_s"`  // new connections a second in a ramp; 0: as fast as the fleet goes
	Concurrency      int           `json:"concurrency"` // handshakes in flight per load process
	KeepAlive        time.Duration `json:"keepalive_interval"`
	KeepAliveTimeout time.Duration `json:"keepalive_timeout"`
	HandshakeTimeout time.Duration `json:"handshake_timeout"`
	Settle           time.Duration `json:"settle"`     // each plateau, before its RSS is read
	Hold             time.Duration `json:"hold"`       // the idle keep-alive phase at the top
	ProbeHold        time.Duration `json:"probe_hold"` // the probe phase
	Probes           int           `json:"probes"`
	PerWorker        int           `json:"clients_per_load_process"`
	SourceIPs        int           `json:"source_ips_per_load_process"`
	ShutdownWait     time.Duration `json:"shutdown_wait"`         // bound on the broadcast's acks
	InprocTick       time.Duration `json:"inproc_tick,omitempty"` // the in-process reactor's wheel tick; 0: its default
	Transport        string        `json:"load_transport"`        // load.TransportEpoll
	// LoopsPerWorker is each load process's epoll loops: 1, so that the
	// load's threads do not outnumber the cores more than they must.
	LoopsPerWorker int `json:"loops_per_load_process"`
	// Burst is how many clients each handshake burst opens on the emptied
	// server after the shutdown (then closes); 0 skips the bursts.
	Burst       int `json:"burst"`
	BurstRounds int `json:"burst_rounds"`
	// HoldRounds is how many interleaved keep-alive holds of the top
	// stage's size each server gets after the bursts (RunInterleaved,
	// hold_rounds.go), each RoundHold long; 0 skips them.
	HoldRounds int           `json:"hold_rounds,omitempty"`
	RoundHold  time.Duration `json:"hold_round,omitempty"`
	// RoundProbeHold is each hold round's probe window, after its hold
	// (hold_rounds_probe.go): Probes of its fleet probing; 0 skips it.
	RoundProbeHold time.Duration `json:"hold_round_probes,omitempty"`
	// ProfileRounds is how many bursts run after the measured ones under
	// the server's CPU profile (Env.BurstProfilePrefix): four gave 173-269
	// samples a server at 200 Hz in a quick run, 130-260 in a full one;
	// each round takes ~1.5 s (the burst, its tail and its settle:
	// burst_settle.go), or its room in connection tracking (roomFor).
	ProfileRounds int `json:"profile_rounds,omitempty"`
	// ServerCPUs and LoadCPUs pin the server subprocess and the load
	// processes to CPU lists ("0", "1-3"; empty: not pinned), every server
	// alike; GOMAXPROCS and the servers' event loops follow (pin.go).
	ServerCPUs string `json:"server_cpus,omitempty"`
	LoadCPUs   string `json:"load_cpus,omitempty"`
	Password   string `json:"-"`
}

// Quick and Full are the two standard shapes (make bench, make bench-full).
func Quick() Settings {
	return Settings{Mode: "quick", Stages: []int{1000, 2000, 5000}, Concurrency: 128,
		KeepAlive: time.Second, KeepAliveTimeout: 5 * time.Second, HandshakeTimeout: 10 * time.Second,
		Settle: 3 * time.Second, Hold: 10 * time.Second, ProbeHold: 10 * time.Second, Probes: 100,
		PerWorker: 9500, SourceIPs: 4, LoopsPerWorker: 1, Burst: 4000, BurstRounds: 6, ProfileRounds: 4, ShutdownWait: 15 * time.Second, Password: "bench-password",
		HoldRounds: 2, RoundHold: 8 * time.Second, RoundProbeHold: 2 * time.Second,
		Transport: load.TransportEpoll}
}

// Full is the 19,000-client shape. Its bursts are 24 interleaved rounds
// of 4,000 (session 17; six before, four of 5,000 before session 14): a
// single run's six ratios spread 0.83-1.55×, and on a loaded machine the
// median of 24 had a 95% interval 0.20-0.26 wide against six's 0.16-0.56.
// A burst settles in ~1.5 s where it waited 4.1 s (burst_settle.go), and
// the kernel's connection tracking (roomFor) bounds their pace to ~2 s:
// the 24 cost a quiet full run ~190 s more than the six (1,150 s against
// 958 s). A 4,000 burst (0.26-0.39 s quiet) leaves the window more of the
// 0.85 s before the burst's first keep-alives. Its eight
// profiled bursts double the owner table's samples. Its hold rounds are
// eight of 8 s (four from session 15 to 20): a round of four servers
// takes ~40 s on the quiet machine, and the four rounds' RTT ratios
// spread 0.56-2.86× in session 20's run, so their median crossed the
// 1.10× line from run to run; eight give it a 95% interval (the range
// of the eight) for ~2.7 min more.
func Full() Settings {
	s := Quick()
	s.BurstRounds = 24
	s.ProfileRounds = 8
	s.HoldRounds = 8
	s.Mode = "full"
	s.Stages = []int{2000, 5000, 10000, 15000, 19000}
	s.Hold, s.ProbeHold, s.Probes = 30*time.Second, 30*time.Second, 300
	return s
}

// Env is where the run finds its programs and puts its files.
type Env struct {
	CliserBin   string
	BaselineBin string
	FloorBin    string
	// WorkerExe is the program run as `WorkerExe worker` for each load
	// process; empty runs one fleet inside this process (tests, small N).
	WorkerExe string
	WorkDir   string
	Progress  io.Writer
	// External, when set, is loaded instead of a server of the kind.
	External *External
	// ProfilePrefix, for the in-process server, writes CPU profiles of the
	// top ramp and of the hold to PREFIX-ramp.pprof and PREFIX-hold.pprof.
	ProfilePrefix string
	// BurstProfilePrefix, for a subprocess server, writes the CPU profile
	// of Settings.ProfileRounds more bursts after the measured ones, merged,
	// to PREFIX-<kind>-burst.pprof
	// (burst_profile.go).
	BurstProfilePrefix string
	// RoomFor, when set, waits until the machine has room for need more
	// connections (the kernel's connection tracking), before a fleet the
	// hold rounds open; what names it.
	RoomFor func(what string, need int)
}

// sourceNet gives each server kind its own 127.N.0.0/16 to dial from, so
// that one run's closed sockets never collide with the next run's.
var sourceNet = map[string]int{KindCliser: 10, KindBaseline: 20, KindInproc: 30, KindFloor: 40, KindCliserEvents: 50, KindCliserTrust: 60}

// source is where a fleet dials from: its w-th load process from
// 127.net.(blockWorkers·block + w + 1).1 and the SourceIPs after it. A
// fleet's addresses are its own so that its sockets never meet an earlier
// fleet's in TIME_WAIT (the client's side, 60 s) or in the kernel's
// connection tracking (120 s): a burst dialled again from the addresses of
// one a few seconds before would find them still there.
type source struct{ net, block int }

// blockWorkers is the most load processes a fleet can have: a block's
// share of the third octet.
const blockWorkers = 16

// netOf is a fleet that dials from the whole of 127.net/16's first block.
func netOf(net int) source { return source{net: net} }

// ip is the k-th source address of the fleet's w-th load process.
func (s source) ip(w, k int) string {
	return fmt.Sprintf("127.%d.%d.%d", s.net, blockWorkers*s.block+w+1, k+1)
}

// Run benchmarks one server: every phase, its bursts in a row. The error
// is for a run that could not be made; what went wrong under load is in
// the result (Errors, Problems). RunInterleaved runs several servers with
// their bursts interleaved.
func Run(ctx context.Context, kind string, set Settings, env Env) (*Result, error) {
	r, err := start(ctx, kind, set, env)
	if err != nil {
		return nil, err
	}
	runErr := r.run(ctx)
	if runErr == nil && r.burstsDue() {
		runErr = r.openBursts(ctx, r.set.Settle)
		for round := 0; runErr == nil && round < burstRounds(set); round++ {
			runErr = r.burst(ctx, round)
		}
		if runErr == nil {
			r.closeBursts()
		}
	}
	return r.finish(ctx, runErr)
}

// start starts the server and the stages' load.
func start(ctx context.Context, kind string, set Settings, env Env) (*runner, error) {
	if len(set.Stages) == 0 {
		return nil, errors.New("no stages")
	}
	top := set.Stages[len(set.Stages)-1]
	if env.Progress == nil {
		env.Progress = io.Discard
	}
	pin, err := set.pinning(kind, env)
	if err != nil {
		return nil, err
	}
	credentials := max(top, set.Burst) // the bursts reuse the stages' client IDs
	profile, noProfile := burstProfile(kind, env)
	srv, err := startServer(ctx, kind, ServerOptions{CPUs: pin.server, CPUProfile: profile,
		Password: set.Password, KeepAlive: set.KeepAlive, KeepAliveTimeout: set.KeepAliveTimeout,
		HandshakeTimeout: set.HandshakeTimeout, CliserBin: env.CliserBin, BaselineBin: env.BaselineBin, FloorBin: env.FloorBin,
		WorkDir: env.WorkDir, External: env.External, HeapSampling: heapSampling(env), Tick: set.InprocTick,
		Credentials: credentials,
	})
	if err != nil {
		return nil, err
	}
	r := &runner{kind: kind, set: set, env: env, srv: srv, res: &Result{Server: kind, Clients: top}, t0: time.Now(),
		credentials: credentials, pin: pin, profile: profile}
	r.res.ProfiledBurst.Missing = noProfile
	if p, err := sampleProc(srv.PID()); err == nil {
		r.res.StartRSS = p.RSS
	}
	fl, workers, err := r.startFleet(ctx, top, set.Probes, netOf(sourceNet[kind]))
	if err != nil {
		return nil, errors.Join(err, stopServer(srv))
	}
	r.fleet, r.res.Workers = fl, workers
	return r, nil
}

// finish runs the profiled bursts (when runErr is nil), closes the load and
// stops the server.
func (r *runner) finish(ctx context.Context, runErr error) (*Result, error) {
	if runErr == nil && r.profile != "" {
		runErr = r.profiledBurst(ctx, r.profile)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if st, err := r.fleet.Counts(); err == nil {
		r.res.Errors = st.Errors
	}
	for k, v := range r.roundErrors {
		if r.res.Errors == nil {
			r.res.Errors = map[string]int64{}
		}
		r.res.Errors[k] += v
	}
	if err := r.fleet.Close(closeCtx); err != nil {
		r.problem("closing the load: %v", err)
	}
	r.noteVariant()
	if err := stopServer(r.srv); err != nil {
		r.problem("stopping the server: %v", err)
	}
	return r.res, runErr
}

func stopServer(srv server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Stop(ctx)
}

type runner struct {
	roundErrors map[string]int64                   // the bursts' and hold rounds' fleets', named "burst: ..." and "hold round: ..."
	burstLat    load.Stats                         // the measured bursts' latencies, merged
	burstAlloc  func(handshakes int64) *AllocCount // ends the bursts' allocation window
	profile     string                             // the profiled bursts' file; "": none
	credentials int                                // client IDs enrolled (KindCliserTrust)
	pin         pins
	kind        string
	set         Settings
	env         Env
	srv         server
	fleet       fleet
	res         *Result
	t0          time.Time
}

func (r *runner) problem(format string, args ...any) {
	r.res.Problems = append(r.res.Problems, fmt.Sprintf(format, args...))
}

func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.env.Progress, "%-13s "+format+"\n", append([]any{r.kind}, args...)...)
}

// startFleet makes the load: worker processes of at most PerWorker
// clients each, or one fleet here.
func (r *runner) startFleet(ctx context.Context, top, probes int, src source) (fleet, int, error) {
	set := r.set
	base := load.Config{Addr: r.srv.Addr(), Password: set.Password, Concurrency: set.Concurrency,
		HandshakeTimeout: set.HandshakeTimeout, Transport: set.Transport, Loops: set.LoopsPerWorker, KeepAlive: set.KeepAlive}
	if r.kind == KindCliserTrust {
		base.IDPrefix, base.SecretKey = trustPrefix, trustKey
	}
	n := 1
	if r.env.WorkerExe != "" && set.PerWorker > 0 {
		n = (top + set.PerWorker - 1) / set.PerWorker
	}
	if n > blockWorkers {
		return nil, 0, fmt.Errorf("%d clients need %d load processes of %d: a fleet has at most %d", top, n, set.PerWorker, blockWorkers)
	}
	var fl multiFleet
	first := 0
	for i := range n {
		cfg := base
		cfg.FirstIndex = first
		cfg.Probes = share(probes, n, i)
		for k := range max(set.SourceIPs, 1) {
			cfg.SourceIPs = append(cfg.SourceIPs, src.ip(i, k))
		}
		first += share(top, n, i)
		f, err := r.newFleet(ctx, cfg)
		if err != nil {
			_ = fl.Close(ctx)
			return nil, 0, err
		}
		fl = append(fl, f)
	}
	if r.env.WorkerExe == "" {
		return fl, 0, nil
	}
	return fl, n, nil
}

func (r *runner) newFleet(_ context.Context, cfg load.Config) (fleet, error) {
	if r.env.WorkerExe == "" {
		e, err := load.New(cfg)
		if err != nil {
			return nil, err
		}
		return localFleet{e}, nil
	}
	cmd := exec.Command(r.env.WorkerExe, "worker")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startOn(cmd, r.pin.load); err != nil {
		return nil, fmt.Errorf("start load process: %w", err)
	}
	rw := &pipeRW{Reader: stdout, w: stdin, cmd: cmd}
	f, err := newRemoteFleet(rw, cfg, cmd.Process.Pid)
	if err != nil {
		_ = rw.Close()
		return nil, fmt.Errorf("load process: %w", err)
	}
	return f, nil
}

// pipeRW is a worker process's stdout and stdin as one connection; closing
// it closes stdin (the worker then exits) and reaps the process.
type pipeRW struct {
	io.Reader
	w   io.WriteCloser
	cmd *exec.Cmd
}

func (p *pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeRW) Close() error {
	err := p.w.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	return err
}

func (r *runner) run(ctx context.Context) error {
	var prevIdle float64 // server CPU seconds per second at the previous plateau
	var rampWall, rampCPU float64
	rampAlloc := r.allocWindow(ctx, "stages")
	for i, target := range r.set.Stages {
		profile := ""
		if i == len(r.set.Stages)-1 && r.set.Burst <= 0 {
			profile = "ramp"
		}
		st, err := r.rampStage(ctx, target, prevIdle, profile)
		if err != nil {
			return err
		}
		r.res.Stages = append(r.res.Stages, st)
		prevIdle = st.IdleCPU / 100
		rampWall += st.RampSeconds
		rampCPU += st.RampCPU
		r.res.Handshakes += st.Handshakes
	}
	r.noteCredentialBytes(ctx)
	r.res.RampAlloc = rampAlloc(r.res.Handshakes)
	if rampWall > 0 {
		r.res.HandshakeRate = float64(r.res.Handshakes) / rampWall
	}
	r.res.HandshakeCPU = rampCPU
	if rampCPU > 0 {
		r.res.HandshakesPerCPU = float64(r.res.Handshakes) / rampCPU
	}
	st, err := r.fleet.Stats()
	if err != nil {
		return err
	}
	r.res.Handshake = percentilesOf(st.Handshake)
	r.slope()
	if st.Registered == 0 {
		r.problem("no client registered; skipping the hold, the probes and the shutdown")
		return nil
	}
	if err := r.hold(ctx); err != nil {
		return err
	}
	if err := r.probe(ctx); err != nil {
		return err
	}
	return r.shutdown(ctx)
}

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

// shutdown orders every client down and times the acks and closes.
func (r *runner) shutdown(ctx context.Context) error {
	before, err := r.fleet.Counts()
	if err != nil {
		return err
	}
	sd := &r.res.Shutdown
	sd.Registered = before.Registered
	stopProfile := r.startProfile("shutdown")
	defer stopProfile()
	acks := r.startShutdownSched()
	t0 := time.Now()
	sd.Sent, err = r.srv.Shutdown(ctx)
	if err != nil {
		r.problem("shutdown order: %v", err)
		return nil
	}
	deadline := t0.Add(r.set.ShutdownWait)
	var after load.Stats
	for {
		after, err = r.fleet.Counts()
		if err != nil {
			return err
		}
		if sd.ToAcks == nil && after.ShutdownAcks-before.ShutdownAcks >= sd.Registered {
			sd.ToAcks = acks(t0)
		}
		closed := after.ClosedAfterAck - before.ClosedAfterAck
		failed := after.ErrorTotal() - before.ErrorTotal()
		if closed+failed >= sd.Registered || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	sd.Acked = after.ShutdownAcks - before.ShutdownAcks
	sd.Closed = after.ClosedAfterAck - before.ClosedAfterAck
	sd.FirstOrder = msSince(t0, after.FirstOrder)
	sd.LastAck = msSince(t0, after.LastAck)
	sd.LastClose = msSince(t0, after.LastClose)
	r.say("shutdown: sent %d, acked %d, closed %d of %d; last 130 ok at %.1fms, last close at %.1fms",
		sd.Sent, sd.Acked, sd.Closed, sd.Registered, sd.LastAck, sd.LastClose)
	if sd.Acked != sd.Registered || sd.Closed != sd.Registered {
		r.problem("shutdown: %d registered, %d acked, %d closed by the server", sd.Registered, sd.Acked, sd.Closed)
	}
	return nil
}

// startProfile writes a CPU profile of the in-process server while the
// returned function is not yet called.
func (r *runner) startProfile(name string) func() {
	if name == "" || r.kind != KindInproc || r.env.ProfilePrefix == "" {
		return func() {}
	}
	path := r.env.ProfilePrefix + "-" + name + ".pprof"
	stop, err := startCPUProfile(path)
	if err != nil {
		r.problem("profile: %v", err)
		return func() {}
	}
	return func() {
		stop()
		r.res.Profiles = append(r.res.Profiles, path)
	}
}

// writeHeapProfile writes the in-process server's live heap at the top
// (after a GC, so it is what the clients hold, not garbage).
func (r *runner) writeHeapProfile() {
	if r.kind != KindInproc || r.env.ProfilePrefix == "" {
		return
	}
	path := r.env.ProfilePrefix + "-heap.pprof"
	f, err := os.Create(path)
	if err != nil {
		r.problem("heap profile: %v", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		r.problem("heap profile: %v", err)
		return
	}
	r.res.Profiles = append(r.res.Profiles, path)
}

func heapSampling(env Env) int {
	if env.ProfilePrefix == "" {
		return 0
	}
	return 4096
}

func busyOrZero() time.Duration {
	d, err := machineBusy()
	if err != nil {
		return 0
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }
