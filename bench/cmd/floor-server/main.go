// Command floor-server runs the benchmark's floor (package bench/floor)
// the way the harness runs baseline-bench-server (package
// bench/benchserver): the password comes from CLISER_PASSWORD, the first
// stdout line is "listening on HOST:PORT", and SIGUSR1 sends "130 shutdown
// bench" to every registered client and prints "shutdown sent N". SIGINT
// or SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/bench/floor"
	"github.com/cliser/cliser/reactor"
)

func main() { benchserver.Main("floor-server", run) }

// run serves until ctx ends; each value on trigger broadcasts a shutdown.
func run(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) error {
	fs := flag.NewFlagSet("floor-server", flag.ContinueOnError)
	cfg := floor.Config{}
	fs.StringVar(&cfg.Addr, "listen", "127.0.0.1:0", "the protocol's TCP address")
	fs.DurationVar(&cfg.KeepAlive, "keepalive-interval", reactor.DefaultKeepInterval, "time between keep-alives to a registered client")
	fs.DurationVar(&cfg.KeepAliveTimeout, "keepalive-timeout", reactor.DefaultKeepTimeout, "how long a client has to echo a keep-alive")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", reactor.DefaultHandshakeTimeout, "how long a new connection has for password and ID")
	password, err := benchserver.Parse(fs, args)
	if err != nil {
		return err
	}
	cfg.Password = password
	srv, err := floor.New(cfg)
	if err != nil {
		return err
	}
	return benchserver.Serve(ctx, srv, stdout, trigger)
}
