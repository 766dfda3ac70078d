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
	"flag"
	"fmt"
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
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("baseline-server", flag.ContinueOnError)
	listen := fs.String("listen", ":7070", "the protocol's TCP address")
	kaInterval := fs.Duration("keepalive-interval", baseline.DefaultKeepAliveInterval, "time between keep-alives to a registered client")
	kaTimeout := fs.Duration("keepalive-timeout", baseline.DefaultKeepAliveTimeout, "how long a client has to answer a keep-alive")
	hsTimeout := fs.Duration("handshake-timeout", baseline.DefaultHandshakeTimeout, "how long a new connection has to give password and ID")
	maxClients := fs.Int("max-clients", 65535, "registered clients at once (sid is 16 bits)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password := os.Getenv("CLISER_PASSWORD")
	if password == "" {
		return fmt.Errorf("no password: set CLISER_PASSWORD")
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
	fmt.Printf("listening on %s\n", srv.Addr())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return srv.Stop(ctx)
}
