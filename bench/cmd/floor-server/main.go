// Command floor-server runs the benchmark's floor (package bench/floor)
// the way the harness runs baseline-bench-server (package
// bench/benchserver): the password comes from CLISER_PASSWORD, the first
// stdout line is "listening on HOST:PORT", and SIGUSR1 sends "130 shutdown
// bench" to every registered client and prints "shutdown sent N". SIGINT
// or SIGTERM stops it. With --metrics-listen ADDR it serves its keep-alive
// RTT histogram at http://ADDR/metrics, the one figure it keeps (see
// package floor), beside the Go runtime's (its heap in use).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/bench/floor"
	"github.com/cliser/cliser/reactor"
)

func main() { benchserver.Main("floor-server", run) }

// run serves until ctx ends; each value on trigger broadcasts a shutdown.
func run(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) (err error) {
	fs := flag.NewFlagSet("floor-server", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-listen", "", "serve the keep-alive RTT histogram and the Go runtime's figures at http://ADDR/metrics (default: off)")
	f, password, err := benchserver.ParseFlags(fs, args,
		benchserver.Flags{Listen: "127.0.0.1:0", KeepAlive: reactor.DefaultKeepInterval,
			KeepAliveTimeout: reactor.DefaultKeepTimeout, HandshakeTimeout: reactor.DefaultHandshakeTimeout})
	if err != nil {
		return err
	}
	srv, err := floor.New(floor.Config{Addr: f.Listen, Password: password, KeepAlive: f.KeepAlive,
		KeepAliveTimeout: f.KeepAliveTimeout, HandshakeTimeout: f.HandshakeTimeout})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		stop, err := serveMetrics(*metricsAddr, srv)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	return benchserver.Serve(ctx, srv, stdout, trigger)
}
