// Command baseline-server runs the benchmark's baseline: cliser's protocol
// served by a manager goroutine with a reader and a writer goroutine per
// connection (package bench/baseline). A harness starts it with
// --listen 127.0.0.1:0 and reads the first line of stdout,
// "listening on HOST:PORT", to learn the port.
//
// The password comes from the environment (CLISER_PASSWORD), never a flag,
// as for `cliser serve`. SIGINT or SIGTERM stops it gracefully: every client
// gets "190 server shutting down".
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

// stopTimeout bounds the graceful stop after a signal.
const stopTimeout = 10 * time.Second

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then stops gracefully. The first line it
// writes to stdout is "listening on HOST:PORT".
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("baseline-server", flag.ContinueOnError)
	listen := fs.String("listen", ":7070", "the protocol's TCP address")
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

	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return srv.Stop(stopCtx)
}
