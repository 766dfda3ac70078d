// Command cliser-bench is cliser's benchmark harness (package bench/harness).
//
//	cliser-bench compare --mode quick|full   run cliser and the baseline under the same load, write the report
//	cliser-bench run --server KIND           one server, a table and JSON on stdout
//	cliser-bench report --from FILE.json     render a run's report again
//	cliser-bench soak --clients N --duration T   clients under churn, every feature on; RSS, goroutines, fds, events.db, webhook lag must stay flat
//	cliser-bench cluster --clients-per-node N   a 3-node cluster on embedded NATS: registration rate, visibility, routing
//	cliser-bench floor --rounds N            cliser, the floor, cliser+events and cliser+identity+events in alternating rounds: the floor ratios
//	cliser-bench identity --clients N         handshake CPU and rate: a secret per client vs the shared password
//	cliser-bench webhook --clients N          a reconnect storm with the event log and a webhook vs both off
//	cliser-bench worker                      a load process (the harness starts these itself)
//
// make bench and make bench-full call compare, make soak calls soak; see docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cliser/cliser/bench/harness"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "worker":
		harness.ServeWorker(stdio{})
		return
	case "compare":
		err = compare(ctx, os.Args[2:])
	case "run":
		err = runOne(ctx, os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	case "soak":
		err = soak(ctx, os.Args[2:])
	case "cluster":
		err = cluster(ctx, os.Args[2:])
	case "floor":
		err = floorRounds(ctx, os.Args[2:])
	case "identity":
		err = identityBench(ctx, os.Args[2:])
	case "webhook":
		err = webhookBench(ctx, os.Args[2:])
	case "replay":
		err = replayBench(ctx, os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cliser-bench:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  cliser-bench compare [--mode quick|full] [flags]   cliser and the baseline, one after the other; writes the report
  cliser-bench run --server cliser|baseline|cliser-inproc [flags]
  cliser-bench report --from bench/results/DATE.json   render a run's report again
  cliser-bench soak [--clients N] [--duration T] [--churn-rate OPS] [--features all|none|F,...]   clients under churn; writes bench/results/DATE-soak.md
  cliser-bench cluster [--clients-per-node N]       3 cluster nodes on embedded NATS; writes bench/results/DATE-cluster[-NxM].md
  cliser-bench floor [--rounds N] [--servers K,...] [flags]   cliser, the floor, cliser+events and cliser+identity+events in alternating rounds; writes bench/results/DATE-floor-rounds.md
  cliser-bench identity [--clients N] [--rounds R] [--out FILE.md]   a secret per client vs the shared password: handshake CPU and rate
  cliser-bench webhook [--clients N] [--rounds R] [--out FILE.md]    a reconnect storm, event log and webhook on vs off: CPU, catch-up, bytes/event
  cliser-bench replay [--clients N] [--streams S] [--before-bin B] [--out FILE.md]   keep-alive RTT while event streams replay the log, against quiet
  cliser-bench worker                                 (internal) one load process, driven over stdin/stdout
Run "cliser-bench compare -h" for the flags.
`)
}

// stdio is this process's stdin and stdout as one connection.
type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error                { return os.Stdin.Close() }
