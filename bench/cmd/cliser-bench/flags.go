package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// common are the flags of compare and run.
type common struct {
	mode        string
	stages      string
	rate        float64
	concurrency int
	keepAlive   time.Duration
	hold        time.Duration
	probeHold   time.Duration
	probes      int
	perWorker   int
	settle      time.Duration
	cliserBin   string
	baselineBin string
	floorBin    string
	workDir     string
	inProcess   bool
	inprocTick  time.Duration
	burst       int
	burstRounds int
	holdRounds  int
	roundHold   time.Duration
	roundProbes time.Duration
	serverCPUs  string
	loadCPUs    string
}

// commonFlagSet is a flag set named name with the common flags in it.
func commonFlagSet(name string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := &common{}
	c.register(fs)
	return fs, c
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.mode, "mode", "quick", "quick (a few minutes, up to 5k clients) or full (up to 19k clients)")
	fs.StringVar(&c.stages, "stages", "", "client counts to ramp to, comma-separated (default: the mode's)")
	fs.Float64Var(&c.rate, "rate", -1, "new connections a second during a ramp; 0 = as fast as the load goes (default: the mode's)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "handshakes in flight per load process (default: the mode's)")
	fs.DurationVar(&c.keepAlive, "keepalive-interval", 0, "the servers' keep-alive interval (default: the mode's, 1s)")
	fs.DurationVar(&c.hold, "hold", -1, "idle keep-alive phase at the top (default: the mode's)")
	fs.DurationVar(&c.probeHold, "probe-hold", -1, "probe phase (default: the mode's)")
	fs.IntVar(&c.probes, "probes", -1, "clients that measure the keep-alive RTT (default: the mode's)")
	fs.IntVar(&c.perWorker, "per-process", 0, "clients per load process (default 9500: the open-files limit is 20000)")
	fs.DurationVar(&c.settle, "settle", -1, "wait at each plateau before its RSS is read (default: the mode's)")
	fs.StringVar(&c.cliserBin, "cliser-bin", "bin/cliser", "the cliser binary (run as `cliser serve`)")
	fs.StringVar(&c.baselineBin, "baseline-bin", "bin/baseline-bench-server", "the baseline server binary")
	fs.StringVar(&c.floorBin, "floor-bin", "bin/floor-server", "the floor server binary (bare gnet, bench/floor)")
	fs.StringVar(&c.workDir, "work-dir", "", "where servers keep data and logs (default: a temporary directory)")
	fs.DurationVar(&c.inprocTick, "inproc-tick", 0, "the in-process reactor's timing-wheel tick (reactor.WithTick); 0 keeps its default")
	fs.IntVar(&c.burst, "burst", -1, "clients in the handshake burst on the empty server before the stages; 0 skips it (default: the mode's)")
	fs.IntVar(&c.burstRounds, "burst-rounds", 0, fmt.Sprintf("measured burst rounds a server, 1-%d (default: the mode's)", harness.MaxBurstRounds))
	fs.IntVar(&c.holdRounds, "hold-rounds", -1, fmt.Sprintf("interleaved keep-alive hold rounds after the bursts (compare), 0-%d; 0 skips them (default: the mode's)", harness.MaxHoldRounds))
	fs.DurationVar(&c.roundHold, "hold-round", -1, "each hold round's hold (default: the mode's)")
	fs.DurationVar(&c.roundProbes, "hold-round-probes", -1, "each hold round's probe window after its hold, --probes probing (cliser and its variants); 0 skips it (default: the mode's)")
	fs.BoolVar(&c.inProcess, "in-process-load", false, "run the load in this process instead of load processes (small runs only)")
	fs.StringVar(&c.serverCPUs, "server-cpus", "", "run every server subprocess on these CPUs (e.g. 0; GOMAXPROCS and its event loops follow); default: all")
	fs.StringVar(&c.loadCPUs, "load-cpus", "", "run the load processes on these CPUs (e.g. 1); default: all")
}

// usageError is a flag's mistake: main exits 2 for it.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// parse parses args into the flags and returns the settings they make and
// the environment to run in; cleanup removes a temporary work directory
// (call it on an error too).
func (c *common) parse(fs *flag.FlagSet, args []string) (harness.Settings, harness.Env, func(), error) {
	none := func() {}
	if err := fs.Parse(args); err != nil {
		return harness.Settings{}, harness.Env{}, none, err
	}
	set, err := c.settings()
	if err != nil {
		return set, harness.Env{}, none, usageError{err}
	}
	env, cleanup, err := c.env()
	return set, env, cleanup, err
}

// reportFlags are the flags of soak and cluster: the binary they run, where
// the report goes and where the load runs.
type reportFlags struct {
	cliserBin, outDir string
	inProcess         bool
}

func (f *reportFlags) register(fs *flag.FlagSet, inProcessUsage string) {
	fs.StringVar(&f.cliserBin, "cliser-bin", "bin/cliser", "the cliser binary (run as `cliser serve`)")
	fs.StringVar(&f.outDir, "out-dir", "bench/results", "where the report goes")
	fs.BoolVar(&f.inProcess, "in-process-load", false, inProcessUsage)
}

func (f *reportFlags) env() (harness.Env, func(), error) {
	return (&common{cliserBin: f.cliserBin, inProcess: f.inProcess}).env()
}

// settings are the mode's, with each flag that was set in its place.
func (c *common) settings() (harness.Settings, error) {
	s, err := modeSettings(c.mode)
	if err != nil {
		return s, err
	}
	if c.stages != "" {
		if s.Stages, err = parseStages(c.stages); err != nil {
			return s, err
		}
		s.Mode = "custom"
	}
	c.overrideLoad(&s)
	if err := c.rounds(&s); err != nil {
		return s, err
	}
	return s, c.pinning(&s)
}

// modeSettings are --mode's settings.
func modeSettings(mode string) (harness.Settings, error) {
	switch mode {
	case "quick":
		return harness.Quick(), nil
	case "full":
		return harness.Full(), nil
	}
	return harness.Settings{}, fmt.Errorf("--mode %q: want quick or full", mode)
}

// parseStages reads --stages: ascending positive client counts.
func parseStages(stages string) ([]int, error) {
	var out []int
	prev := 0
	for _, f := range strings.Split(stages, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= prev {
			return nil, fmt.Errorf("--stages %q: want ascending positive counts", stages)
		}
		out, prev = append(out, n), n
	}
	return out, nil
}

// overrideLoad puts in s the load's and the phases' flags that were set;
// the others keep the mode's.
func (c *common) overrideLoad(s *harness.Settings) {
	if c.rate >= 0 {
		s.Rate = c.rate
	}
	if c.concurrency > 0 {
		s.Concurrency = c.concurrency
	}
	if c.keepAlive > 0 {
		s.KeepAlive = c.keepAlive
	}
	if c.hold >= 0 {
		s.Hold = c.hold
	}
	if c.probeHold >= 0 {
		s.ProbeHold = c.probeHold
	}
	if c.probes >= 0 {
		s.Probes = c.probes
	}
	if c.perWorker > 0 {
		s.PerWorker = c.perWorker
	}
	s.InprocTick = c.inprocTick
	if c.burst >= 0 {
		s.Burst = c.burst
	}
	if c.settle >= 0 {
		s.Settle = c.settle
	}
}

// rounds checks --burst-rounds and --hold-rounds and puts them, and
// --hold-round and --hold-round-probes, in s.
func (c *common) rounds(s *harness.Settings) error {
	if c.burstRounds != 0 {
		if c.burstRounds < 1 || c.burstRounds > harness.MaxBurstRounds {
			return fmt.Errorf("--burst-rounds %d: want 1 to %d", c.burstRounds, harness.MaxBurstRounds)
		}
		s.BurstRounds = c.burstRounds
	}
	if c.holdRounds >= 0 {
		if c.holdRounds > harness.MaxHoldRounds {
			return fmt.Errorf("--hold-rounds %d: want 0 to %d", c.holdRounds, harness.MaxHoldRounds)
		}
		s.HoldRounds = c.holdRounds
	}
	if c.roundHold >= 0 {
		s.RoundHold = c.roundHold
	}
	if c.roundProbes >= 0 {
		s.RoundProbeHold = c.roundProbes
	}
	return nil
}

// pinning checks --server-cpus and --load-cpus and puts them, written as
// CPU lists, in s.
func (c *common) pinning(s *harness.Settings) error {
	for _, f := range []struct {
		name, val string
		dst       *string
	}{{"--server-cpus", c.serverCPUs, &s.ServerCPUs}, {"--load-cpus", c.loadCPUs, &s.LoadCPUs}} {
		cpus, err := harness.ParseCPUList(f.val)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := harness.CheckCPUs(f.name, cpus); err != nil {
			return err
		}
		*f.dst = cpus.String()
	}
	if s.LoadCPUs != "" && c.inProcess {
		return fmt.Errorf("--load-cpus pins load processes: drop --in-process-load")
	}
	return nil
}

func (c *common) env() (harness.Env, func(), error) {
	env := harness.Env{CliserBin: c.cliserBin, BaselineBin: c.baselineBin, FloorBin: c.floorBin, Progress: os.Stderr}
	cleanup := func() {}
	if c.workDir == "" {
		dir, err := os.MkdirTemp("", "cliser-bench-")
		if err != nil {
			return env, cleanup, err
		}
		c.workDir, cleanup = dir, func() { _ = os.RemoveAll(dir) }
	}
	env.WorkDir = c.workDir
	if !c.inProcess {
		exe, err := os.Executable()
		if err != nil {
			return env, cleanup, err
		}
		env.WorkerExe = exe
	}
	for _, bin := range []*string{&env.CliserBin, &env.BaselineBin, &env.FloorBin} {
		if abs, err := filepath.Abs(*bin); err == nil && *bin != "" {
			*bin = abs
		}
	}
	return env, cleanup, nil
}
