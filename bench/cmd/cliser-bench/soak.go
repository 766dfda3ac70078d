package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// soak holds clients under churn for a while and judges whether the
// server's RSS, goroutines and open fds stay flat; it writes
// <out-dir>/<date>-soak.{md,json} and fails when the soak does.
func soak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	s := harness.DefaultSoak()
	fs.IntVar(&s.Clients, "clients", s.Clients, "clients held connected")
	fs.DurationVar(&s.Duration, "duration", s.Duration, "how long the churn runs")
	fs.Float64Var(&s.ChurnRate, "churn-rate", s.ChurnRate, "churn operations a second: reconnects, takeovers and brand-new ids, a third each")
	fs.IntVar(&s.Pool, "pool", 0, "of the clients, how many the churn reconnects and takes over (default: a tenth, at most 500)")
	fs.DurationVar(&s.SampleEvery, "sample-every", s.SampleEvery, "how often the server is sampled")
	fs.DurationVar(&s.Load.KeepAlive, "keepalive-interval", s.Load.KeepAlive, "the server's keep-alive interval")
	fs.IntVar(&s.Load.PerWorker, "per-process", s.Load.PerWorker, "steady clients per load process")
	fs.DurationVar(&s.Retention, "retention", s.Retention, "the server's --retention; 0 keeps its default (30 days: every brand-new id is a record kept, by design)")
	features := fs.String("features", "all", "what the server runs with: all, none (the 2026-11-25 soaks' server: no event log, no flapping control), or some of "+
		strings.Join(harness.AllSoakFeatures, ",")+" (events: the event log; webhook: a receiver here; identity: a credential per client; flapping: its control at the server's defaults)")
	fs.IntVar(&s.EventRetention, "event-retention", s.EventRetention, "the server's --event-retention with the events feature: small, so that the log reaches its steady state within the soak")
	warmup := fs.Duration("warmup", 70*time.Second, "left out of the judgement (at most 60% of --duration): the registry's first checkpoint (a minute) and prune come in it")
	var out reportFlags
	out.register(fs, "run the steady clients in this process instead of load processes (small runs only)")
	err := fs.Parse(args)
	if err != nil {
		return err
	}
	if s.Clients < 2 || s.Duration <= 0 || s.ChurnRate < 0 {
		return errors.New("soak: want --clients >= 2, --duration > 0, --churn-rate >= 0")
	}
	if s.Features, err = harness.ParseSoakFeatures(*features); err != nil {
		return err
	}
	s.Limits = harness.DefaultSoakLimits(s.Clients)
	s.Limits.WarmupFraction = min(warmup.Seconds()/s.Duration.Seconds(), 0.6)
	env, cleanup, err := out.env()
	defer cleanup()
	if err != nil {
		return err
	}
	res, err := harness.Soak(ctx, s, env)
	if err != nil {
		return err
	}
	base, err := writeReport(out.outDir, res.Started.Format("2006-01-02")+"-soak", res.WriteJSON, res.Markdown)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s.md and %s.json\n", base, base)
	if !res.OK() {
		var why []string
		why = append(why, res.Verdict.Reasons...)
		if res.Lost > 0 {
			why = append(why, fmt.Sprintf("%d clients lost", res.Lost))
		}
		for k, v := range res.Errors {
			why = append(why, fmt.Sprintf("%d × %s", v, k))
		}
		why = append(why, res.Problems...)
		return fmt.Errorf("soak failed:\n  %s", strings.Join(why, "\n  "))
	}
	return nil
}
