package main

import (
	"context"
	"os"

	"github.com/cliser/cliser/bench/harness"
)

// runOne benchmarks one server and prints its result as JSON; it fails
// when the load met errors.
func runOne(ctx context.Context, args []string) error {
	fs, c := commonFlagSet("run")
	kind := fs.String("server", harness.KindCliser, "cliser, cliser+events, cliser+identity+events, floor, baseline or cliser-inproc")
	profile := fs.String("profile", "", "for cliser-inproc: write CPU profiles to PREFIX-ramp.pprof and PREFIX-hold.pprof")
	addr := fs.String("addr", "", "load a server that is already running at HOST:PORT instead of starting one (no shutdown phase)")
	pid := fs.Int("server-pid", 0, "with --addr: the server's pid, for its RSS and CPU (default: this process, i.e. none)")
	set, env, cleanup, err := c.parse(fs, args)
	defer cleanup()
	if err != nil {
		return err
	}
	env.ProfilePrefix = *profile
	if *addr != "" {
		env.External = &harness.External{Addr: *addr, PID: *pid}
		if *pid == 0 {
			env.External.PID = os.Getpid()
		}
	}
	res, err := harness.Run(ctx, *kind, set, env)
	if res != nil {
		_ = harness.WriteJSON(os.Stdout, res)
	}
	if err != nil {
		return err
	}
	return runFailed(&harness.Report{Results: map[string]*harness.Result{*kind: res}})
}
