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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cliser/cliser/bench/baseline"
	"github.com/cliser/cliser/registry"
)

const stopTimeout = 10 * time.Second

// ShutdownText is the operator text of the harness's broadcast.
const ShutdownText = "bench"

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	err := run(ctx, os.Args[1:], os.Stdout, usr1)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline-bench-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. Each value on trigger broadcasts a shutdown.
func run(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) error {
	fs := flag.NewFlagSet("baseline-bench-server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "the protocol's TCP address")
	kaInterval := fs.Duration("keepalive-interval", baseline.DefaultKeepAliveInterval, "time between keep-alives to a registered client")
	kaTimeout := fs.Duration("keepalive-timeout", baseline.DefaultKeepAliveTimeout, "how long a client has to answer a keep-alive")
	hsTimeout := fs.Duration("handshake-timeout", baseline.DefaultHandshakeTimeout, "how long a new connection has to give password and ID")
	maxClients := fs.Int("max-clients", 65535, "registered clients at once (sid is 16 bits)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	password := os.Getenv("CLISER_PASSWORD")
	if password == "" {
		return errors.New("no password: set CLISER_PASSWORD (a password is never a flag)")
	}
	reg := registry.New(registry.WithMaxClients(*maxClients))
	srv := baseline.New(reg, baseline.Config{
		Addr:              *listen,
		Passwords:         [][]byte{[]byte(password)},
		KeepAliveInterval: *kaInterval,
		KeepAliveTimeout:  *kaTimeout,
		HandshakeTimeout:  *hsTimeout,
	})
	if err := srv.Start(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", srv.Addr()); err != nil {
		_ = srv.Stop(context.Background())
		return err
	}
	for ctx.Err() == nil {
		select {
		case <-trigger:
			n := srv.ShutdownAll(ShutdownText)
			if _, err := fmt.Fprintf(stdout, "shutdown sent %d\n", n); err != nil {
				return errors.Join(err, srv.Stop(context.Background()))
			}
		case <-ctx.Done():
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return srv.Stop(stopCtx)
}
