package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// compareFlags are compare's own flags, beside the common ones: where the
// report goes and which servers and extras run.
type compareFlags struct {
	outDir                          string
	floor, events, identity, inproc bool
	micro                           bool
	tick                            time.Duration
}

func (f *compareFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.outDir, "out-dir", "bench/results", "where the report goes")
	fs.BoolVar(&f.floor, "floor", true, "also run the floor (bin/floor-server: bare gnet, the least the protocol needs) and report cliser ÷ floor")
	fs.BoolVar(&f.events, "events", true, "also run cliser with its event log on and a webhook to a local sink (cliser+events) and report it against cliser with the log off")
	fs.BoolVar(&f.identity, "identity", true, "also run cliser+events with a credential per client, each answering its own secret (cliser+identity+events), and report it against cliser with both off")
	fs.BoolVar(&f.inproc, "inproc", true, "also run cliser's reactor in this process: server-clock RTT and CPU profiles")
	fs.DurationVar(&f.tick, "tick-experiment", 0, "also run the in-process reactor with this timing-wheel tick (reactor.WithTick), to show its effect on keep-alive bursts; 0: no such run")
	fs.BoolVar(&f.micro, "micro", true, "run the codec and registry micro-benchmarks (needs the go tool and the source tree)")
}

// compare runs every server under the same load, one after the other, the
// subprocesses' bursts interleaved (harness.RunInterleaved), and writes
// bench/results/<date>[-mode].{md,png,json,txt}.
func compare(ctx context.Context, args []string) error {
	fs, c := commonFlagSet("compare")
	var f compareFlags
	f.register(fs)
	set, env, cleanup, err := c.parse(fs, args)
	defer cleanup()
	if err != nil {
		return err
	}
	if set.ServerCPUs != "" && f.inproc { // say so before the other servers' runs, not after
		return usageError{fmt.Errorf("--server-cpus pins server subprocesses; the in-process server runs in the harness: add --inproc=false")}
	}
	if err := os.MkdirAll(f.outDir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	base := filepath.Join(f.outDir, compareReportName(start, set.Mode))
	rep := &harness.Report{Date: start, Machine: harness.ThisMachine(), GoVersion: runtime.Version(),
		Commit: gitCommit(), Settings: set, Results: map[string]*harness.Result{}}
	env.BurstProfilePrefix, env.RoomFor = base, waitForConntrack
	if err := f.runServers(ctx, rep, env, base); err != nil {
		return err
	}
	if f.micro {
		rep.Micro = microBenchmarks(ctx)
	}
	if r := rep.Results[harness.KindInproc]; r != nil {
		rep.ProfileTop = profileTops(r.Profiles)
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := writeReportFiles(base, rep); err != nil {
		return err
	}
	_ = rep.BenchLines(os.Stdout)
	fmt.Fprintf(os.Stderr, "report: %s.md (chart %s.png, data %s.json, benchstat lines %s.txt)\n", base, base, base, base)
	sayTargets(rep)
	return runFailed(rep)
}

// compareReportName is a compare report's name: the day, and the mode unless
// full, so that a quick run never overwrites the full one.
func compareReportName(start time.Time, mode string) string {
	name := start.UTC().Format("2006-01-02")
	if mode != "full" {
		name += "-" + mode
	}
	return name
}

// kinds are the subprocess servers in the order compare runs them: each of
// cliser's variants next to cliser, the run it is compared with.
func (f compareFlags) kinds() []string {
	kinds := []string{harness.KindCliser, harness.KindBaseline}
	if f.floor {
		kinds = []string{harness.KindCliser, harness.KindFloor, harness.KindBaseline}
	}
	if f.identity {
		kinds = slices.Insert(kinds, 1, harness.KindCliserTrust)
	}
	if f.events {
		kinds = slices.Insert(kinds, 1, harness.KindCliserEvents)
	}
	return kinds
}

// runServers runs the subprocess servers, interleaved, then the
// in-process ones in a row: they run in the harness's own process, after
// the others stopped. Each run's result goes in rep, its error or not.
func (f compareFlags) runServers(ctx context.Context, rep *harness.Report, env harness.Env, base string) error {
	run, err := harness.RunInterleaved(ctx, f.kinds(), rep.Settings, env)
	maps.Copy(rep.Results, run.Results)
	rep.BurstOrder, rep.HoldOrder = run.Order, run.HoldOrder
	if err != nil || !f.inproc {
		return err
	}
	set := rep.Settings
	env.ProfilePrefix = base + "-cliser"
	fmt.Fprintf(os.Stderr, "== %s: stages %v, keep-alive %s\n", harness.KindInproc, set.Stages, set.KeepAlive)
	if err := runInproc(ctx, rep, harness.KindInproc, set, env); err != nil || f.tick <= 0 {
		return err
	}
	set.InprocTick = f.tick
	env.ProfilePrefix, env.BurstProfilePrefix = "", "" // not over the run's profiles, the ones reported
	name := fmt.Sprintf("%s tick=%s", harness.KindInproc, f.tick)
	fmt.Fprintf(os.Stderr, "== %s: the in-process reactor with its wheel ticking every %s\n", name, f.tick)
	return runInproc(ctx, rep, name, set, env)
}

// runInproc runs cliser's reactor in this process and puts its result in
// rep under name.
func runInproc(ctx context.Context, rep *harness.Report, name string, set harness.Settings, env harness.Env) error {
	res, err := harness.Run(ctx, harness.KindInproc, set, env)
	if res != nil {
		res.Server = name
		rep.Results[name] = res
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// sayTargets prints each target's verdict and figures on stderr, and why
// where the report says.
func sayTargets(rep *harness.Report) {
	for _, t := range rep.Targets() {
		fmt.Fprintf(os.Stderr, "  [%-3s] %s: %s\n", t.Reached, t.Goal, t.Figures)
		if t.Why != "" {
			fmt.Fprintf(os.Stderr, "        why: %s\n", t.Why)
		}
	}
}

// microBenchmarks runs the codec's and the registry's testing.B benchmarks;
// they are not repeated here, only reported next to the load figures.
func microBenchmarks(ctx context.Context) string {
	if _, err := os.Stat("protocol/bench_test.go"); err != nil {
		return ""
	}
	fmt.Fprintln(os.Stderr, "== micro-benchmarks: go test -bench . -benchmem ./protocol/ ./registry/")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "300ms", "./protocol/", "./registry/").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go test -bench failed: %v\n%s", err, out)
	}
	return string(out)
}

func profileTops(paths []string) map[string]string {
	out := map[string]string{}
	exe, _ := os.Executable()
	for _, p := range paths {
		b, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount", "30", exe, p).CombinedOutput()
		if err != nil {
			b = append([]byte(fmt.Sprintf("go tool pprof failed: %v\n", err)), b...)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

func gitCommit() string {
	b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
