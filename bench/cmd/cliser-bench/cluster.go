package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// fullCluster is the shape of the run docs/cluster.md quotes: its report
// is <date>-cluster; every other shape names itself, so that a quick run
// (make bench-cluster) never overwrites the full one.
var fullCluster = struct{ nodes, perNode int }{3, 18000}

func reportName(started time.Time, s harness.ClusterSettings) string {
	name := started.Format("2006-01-02") + "-cluster"
	if s.Nodes != fullCluster.nodes || s.PerNode != fullCluster.perNode {
		name += fmt.Sprintf("-%dx%d", s.Nodes, s.PerNode)
	}
	if s.LoadNice != 0 { // a diagnostic: never the plain report's name
		name += fmt.Sprintf("-nice%d", s.LoadNice)
	}
	return name
}

// cluster runs N `cliser serve --cluster` nodes on an embedded NATS
// JetStream server, loads each, and measures the registration rate, how
// long a registration takes to be visible on every node, and how long a
// command routed through another node takes; it writes
// <out-dir>/<date>-cluster[-NxM].{md,json}.
func cluster(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	s := harness.DefaultCluster()
	fs.IntVar(&s.Nodes, "nodes", s.Nodes, "cluster nodes (cliser serve subprocesses)")
	fs.IntVar(&s.PerNode, "clients-per-node", s.PerNode, "load clients on each node (18000 for the full run)")
	fs.IntVar(&s.VisibilitySamples, "visibility-samples", s.VisibilitySamples, "fresh clients timed until visible on every node")
	fs.IntVar(&s.RoutingSamples, "routing-samples", s.RoutingSamples, "clients on the last node kicked through the first")
	fs.DurationVar(&s.Poll, "poll", s.Poll, "how often each node's API is asked during a visibility sample")
	fs.IntVar(&s.Load.PerWorker, "per-process", s.Load.PerWorker, "clients per load process")
	fs.IntVar(&s.Load.Concurrency, "concurrency", s.Load.Concurrency, "handshakes in flight per load process")
	fs.StringVar(&s.CPUProfile, "cpuprofile", "", "write this process's CPU profile (the embedded nats-server's work) from the ramp's start until every node settled to this file")
	fs.IntVar(&s.LoadNice, "load-nice", 0, "diagnostic, not for the committed figures: run the load processes at this nice value (1-19) to see whether the settle is bound by CPU shares")
	var out reportFlags
	out.register(fs, "run the load in this process instead of load processes (small runs only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if s.Nodes < 2 || s.PerNode < 1 || s.VisibilitySamples < 1 || s.RoutingSamples < 1 || s.Poll <= 0 {
		return errors.New("cluster: want --nodes >= 2, --clients-per-node >= 1, samples >= 1, --poll > 0")
	}
	if s.LoadNice < 0 || s.LoadNice > 19 || (s.LoadNice != 0 && out.inProcess) {
		return errors.New("cluster: want --load-nice between 1 and 19 (0: off), with load processes (not --in-process-load)")
	}
	env, cleanup, err := out.env()
	defer cleanup()
	if err != nil {
		return err
	}
	waitForConntrack("cluster", s.Nodes*s.PerNode+s.VisibilitySamples+s.RoutingSamples)
	t0 := time.Now()
	res, err := harness.Cluster(ctx, s, env)
	if err != nil {
		return err
	}
	base, err := writeReport(out.outDir, reportName(res.Started, s), res.WriteJSON, res.Markdown)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s.md and %s.json in %v\n", base, base, time.Since(t0).Round(time.Second))
	if !res.OK() {
		return fmt.Errorf("cluster run not clean: %d of %d registered, %d visibility and %d routing samples lost, errors %v, problems %v",
			res.Handshakes, res.Clients, res.VisibilityLost, res.RoutingLost, res.Errors, res.Problems)
	}
	return nil
}
