// Package benchserver is the contract between the benchmark harness and
// the comparison servers it runs as subprocesses (baseline-bench-server,
// floor-server): the password comes from CLISER_PASSWORD, the first stdout
// line is "listening on HOST:PORT", SIGUSR1 sends "130 shutdown bench" to
// every registered client and prints "shutdown sent N", SIGINT or SIGTERM
// stops the server, usage mistakes exit 2, and CLISER_CPUPROFILE with
// SIGUSR2 profiles a window (internal/cpuprofile), as cliser's benchmark
// build does.
package benchserver

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

	"github.com/cliser/cliser/internal/cpuprofile"
)

// ShutdownText is the operator text of the harness's broadcast.
const ShutdownText = "bench"

// ErrUsage marks a mistake in the command line or environment (exit 2).
var ErrUsage = errors.New("usage")

// Server is what the harness drives.
type Server interface {
	Start() error
	Addr() string
	ShutdownAll(text string) int
	Stop(ctx context.Context) error
}

// RunFunc serves until ctx ends; each value on trigger broadcasts a
// shutdown.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer, trigger <-chan os.Signal) error

// Main runs run with the process's arguments, stdout and signals, and
// exits as the contract says.
func Main(name string, run RunFunc) {
	cpuprofile.Install()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	err := run(ctx, os.Args[1:], os.Stdout, usr1)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(ExitCode(err))
	}
}

// ExitCode is 2 for a usage mistake, else 1.
func ExitCode(err error) int {
	if errors.Is(err, ErrUsage) {
		return 2
	}
	return 1
}

// Parse parses args into fs, which takes no positional arguments, and
// reads the password; a mistake in either is an ErrUsage.
func Parse(fs *flag.FlagSet, args []string) (password []byte, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	password = []byte(os.Getenv("CLISER_PASSWORD"))
	if len(password) == 0 {
		return nil, fmt.Errorf("%w: no password: set CLISER_PASSWORD (a password is never a flag)", ErrUsage)
	}
	return password, nil
}

// stopTimeout bounds the server's graceful stop.
const stopTimeout = 10 * time.Second

// Serve starts srv, prints its address, answers each value on trigger with
// a shutdown broadcast, and stops srv once ctx ends or stdout fails.
func Serve(ctx context.Context, srv Server, stdout io.Writer, trigger <-chan os.Signal) error {
	if err := srv.Start(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "listening on %s\n", srv.Addr())
	for err == nil && ctx.Err() == nil {
		select {
		case <-trigger:
			_, err = fmt.Fprintf(stdout, "shutdown sent %d\n", srv.ShutdownAll(ShutdownText))
		case <-ctx.Done():
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return errors.Join(err, srv.Stop(sctx))
}
