package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/cliser/cliser/bench/load"
)

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
