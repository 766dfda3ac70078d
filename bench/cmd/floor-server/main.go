// Command floor-server runs the benchmark's floor (package bench/floor)
// the way the harness runs baseline-bench-server: the password comes from
// CLISER_PASSWORD, the first stdout line is "listening on HOST:PORT", and
// SIGUSR1 sends "130 shutdown bench" to every registered client and prints
// "shutdown sent N". SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cliser/cliser/bench/floor"
	"github.com/cliser/cliser/reactor"
)

// ShutdownText is the operator text of the harness's broadcast.
const ShutdownText = "bench"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	err := run(ctx, os.Args[1:], os.Stdout, usr1)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "floor-server:", err)
		os.Exit(exitCode(err))
	}
}

// errUsage marks a mistake in the command line or environment (exit 2).
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// run serves until ctx ends; each value on trigger broadcasts a shutdown.
func run(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) error {
	fs := flag.NewFlagSet("floor-server", flag.ContinueOnError)
	cfg := floor.Config{}
	fs.StringVar(&cfg.Addr, "listen", "127.0.0.1:0", "the protocol's TCP address")
	fs.DurationVar(&cfg.KeepAlive, "keepalive-interval", reactor.DefaultKeepInterval, "time between keep-alives to a registered client")
	fs.DurationVar(&cfg.KeepAliveTimeout, "keepalive-timeout", reactor.DefaultKeepTimeout, "how long a client has to echo a keep-alive")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", reactor.DefaultHandshakeTimeout, "how long a new connection has for password and ID")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	cfg.Password = []byte(os.Getenv("CLISER_PASSWORD"))
	if len(cfg.Password) == 0 {
		return fmt.Errorf("%w: no password: set CLISER_PASSWORD (a password is never a flag)", errUsage)
	}
	srv, err := floor.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "listening on %s\n", srv.Addr())
	for err == nil && ctx.Err() == nil {
		select {
		case <-trigger:
			_, err = fmt.Fprintf(stdout, "shutdown sent %d\n", srv.ShutdownAll(ShutdownText))
		case <-ctx.Done():
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, srv.Stop(sctx))
}
