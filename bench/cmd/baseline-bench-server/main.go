// Command baseline-bench-server is the baseline server (package
// bench/baseline) as the benchmark harness runs it: the flags and the first
// stdout line ("listening on HOST:PORT") of bench/cmd/baseline-server, plus
// the one trigger the harness needs and the baseline has no API for: SIGUSR1
// sends "130 shutdown bench" to every registered client (baseline's
// ShutdownAll, the counterpart of cliser's POST /v1/shutdown) and prints
// "shutdown sent N" on stdout.
//
// It is a separate main so that bench/cmd/baseline-server stays the plain
// design-note server.
package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/cliser/cliser/bench/baseline"
	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/registry"
)

func main() { benchserver.Main("baseline-bench-server", run) }

// run serves until ctx ends. Each value on trigger broadcasts a shutdown.
func run(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) error {
	fs := flag.NewFlagSet("baseline-bench-server", flag.ContinueOnError)
	maxClients := fs.Int("max-clients", 65535, "registered clients at once (sid is 16 bits)")
	f, password, err := benchserver.ParseFlags(fs, args, benchserver.Flags{Listen: "127.0.0.1:0", KeepAlive: baseline.DefaultKeepAliveInterval,
		KeepAliveTimeout: baseline.DefaultKeepAliveTimeout, HandshakeTimeout: baseline.DefaultHandshakeTimeout})
	if err != nil {
		return err
	}
	reg := registry.New(registry.WithMaxClients(*maxClients))
	srv := baseline.New(reg, baseline.Config{
		Addr:              f.Listen,
		Passwords:         [][]byte{password},
		KeepAliveInterval: f.KeepAlive,
		KeepAliveTimeout:  f.KeepAliveTimeout,
		HandshakeTimeout:  f.HandshakeTimeout,
	})
	return benchserver.Serve(ctx, srv, stdout, trigger)
}
