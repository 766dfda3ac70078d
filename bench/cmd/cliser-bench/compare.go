package main

import (
	"context"
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

// compare runs every server under the same load, one after the other, the
// subprocesses' bursts interleaved (harness.RunInterleaved), and writes
// bench/results/<date>[-mode].{md,png,json,txt}.
func compare(ctx context.Context, args []string) error {
	fs, c := commonFlagSet("compare")
	outDir := fs.String("out-dir", "bench/results", "where the report goes")
	withFloor := fs.Bool("floor", true, "also run the floor (bin/floor-server: bare gnet, the least the protocol needs) and report cliser ÷ floor")
	withEvents := fs.Bool("events", true, "also run cliser with its event log on and a webhook to a local sink (cliser+events) and report it against cliser with the log off")
	withTrust := fs.Bool("identity", true, "also run cliser+events with a credential per client, each answering its own secret (cliser+identity+events), and report it against cliser with both off")
	inproc := fs.Bool("inproc", true, "also run cliser's reactor in this process: server-clock RTT and CPU profiles")
	tickExp := fs.Duration("tick-experiment", 0, "also run the in-process reactor with this timing-wheel tick (reactor.WithTick), to show its effect on keep-alive bursts; 0: no such run")
	micro := fs.Bool("micro", true, "run the codec and registry micro-benchmarks (needs the go tool and the source tree)")
	set, env, cleanup, err := c.parse(fs, args)
	defer cleanup()
	if err != nil {
		return err
	}
	if set.ServerCPUs != "" && *inproc { // say so before the other servers' runs, not after
		return usageError{fmt.Errorf("--server-cpus pins server subprocesses; the in-process server runs in the harness: add --inproc=false")}
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	name := start.UTC().Format("2006-01-02")
	if set.Mode != "full" {
		name += "-" + set.Mode
	}
	base := filepath.Join(*outDir, name)

	rep := &harness.Report{Date: start, Machine: harness.ThisMachine(), GoVersion: runtime.Version(),
		Commit: gitCommit(), Settings: set, Results: map[string]*harness.Result{}}
	kinds := []string{harness.KindCliser, harness.KindBaseline}
	if *withFloor {
		kinds = []string{harness.KindCliser, harness.KindFloor, harness.KindBaseline}
	}
	if *withTrust { // next to cliser, the run it is compared with
		kinds = slices.Insert(kinds, 1, harness.KindCliserTrust)
	}
	if *withEvents {
		kinds = slices.Insert(kinds, 1, harness.KindCliserEvents)
	}
	env.BurstProfilePrefix = base
	env.RoomFor = waitForConntrack
	run, err := harness.RunInterleaved(ctx, kinds, set, env)
	maps.Copy(rep.Results, run.Results)
	rep.BurstOrder, rep.HoldOrder = run.Order, run.HoldOrder
	if err != nil {
		return err
	}
	if *inproc { // in the harness's own process: its bursts run in a row, after the others stopped
		env.ProfilePrefix = base + "-cliser"
		fmt.Fprintf(os.Stderr, "== %s: stages %v, keep-alive %s\n", harness.KindInproc, set.Stages, set.KeepAlive)
		res, err := harness.Run(ctx, harness.KindInproc, set, env)
		if res != nil {
			rep.Results[harness.KindInproc] = res
		}
		if err != nil {
			return fmt.Errorf("%s: %w", harness.KindInproc, err)
		}
	}
	if *tickExp > 0 && *inproc {
		exp := set
		exp.InprocTick = *tickExp
		expEnv := env
		expEnv.ProfilePrefix, expEnv.BurstProfilePrefix = "", ""
		name := fmt.Sprintf("%s tick=%s", harness.KindInproc, *tickExp)
		fmt.Fprintf(os.Stderr, "== %s: the in-process reactor with its wheel ticking every %s\n", name, *tickExp)
		res, err := harness.Run(ctx, harness.KindInproc, exp, expEnv)
		if res != nil {
			res.Server = name
			rep.Results[name] = res
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if *micro {
		rep.Micro = microBenchmarks(ctx)
	}
	if r := rep.Results[harness.KindInproc]; r != nil {
		rep.ProfileTop = profileTops(r.Profiles)
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Chart = filepath.Base(base + ".png")
	if err := writeFile(base+".png", rep.DrawChart); err != nil {
		return err
	}
	if err := writeFile(base+".json", rep.WriteJSON); err != nil {
		return err
	}
	if err := writeFile(base+".txt", rep.BenchLines); err != nil {
		return err
	}
	if err := writeFile(base+".md", rep.Markdown); err != nil {
		return err
	}
	_ = rep.BenchLines(os.Stdout)
	fmt.Fprintf(os.Stderr, "report: %s.md (chart %s.png, data %s.json, benchstat lines %s.txt)\n", base, base, base, base)
	for _, t := range rep.Targets() {
		fmt.Fprintf(os.Stderr, "  [%-3s] %s: %s\n", t.Reached, t.Goal, t.Figures)
		if t.Why != "" {
			fmt.Fprintf(os.Stderr, "        why: %s\n", t.Why)
		}
	}
	return runFailed(rep)
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
