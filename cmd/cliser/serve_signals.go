package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// serveSignals holds `cliser serve`'s signals from the moment this package
// starts, before flags, the config file and the logger: until a signal is
// caught, Go's default for SIGHUP and SIGTERM ends the process at once,
// with no final write of the registry, and a supervisor may well send one
// in a start's first milliseconds. Nil for every other subcommand, which
// keeps the default.
var serveSignals = catchServeSignals(os.Args)

func catchServeSignals(args []string) chan os.Signal {
	if len(args) < 2 || args[1] != "serve" {
		return nil
	}
	// A write to a stderr pipe whose reader went away (a log shipper that
	// restarts, `| head`) raised SIGPIPE, and Go's default for it on fds 1
	// and 2 ended the process at once: every client dropped, no drain, no
	// last write. Ignored, the write fails instead, and the log's sink
	// counts it and /readyz says so (internal/logsink). serve starts no
	// child that would inherit it.
	signal.Ignore(syscall.SIGPIPE)
	return catchSignals()
}

func catchSignals() chan os.Signal {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	return ch
}

// routeSignals ends stopping at the first SIGINT or SIGTERM, and hurry at
// a second one, which cuts the drain short; it hands each SIGHUP to hup
// (one waits there; more meanwhile are one reload). The caller calls stop
// when done.
func routeSignals(parent context.Context) (stopping, hurry context.Context, hup <-chan os.Signal, stop func()) {
	sig := serveSignals
	if sig == nil { // serve run in-process, as the tests do
		sig = catchSignals()
	}
	stopping, cancel := context.WithCancel(parent)
	hurry, hurried := context.WithCancel(context.WithoutCancel(parent))
	reload := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sig:
				switch {
				case s == syscall.SIGHUP:
					select {
					case reload <- s:
					default:
					}
				case stopping.Err() == nil:
					cancel()
				default:
					hurried()
					return
				}
			}
		}
	}()
	return stopping, hurry, reload, func() { signal.Stop(sig); close(done); cancel(); hurried() }
}
