// Package earlysig holds `cliser serve`'s signals from as early in the
// process as Go allows. Until a signal is caught, Go's default for SIGHUP
// and SIGTERM ends the process at once, with no final write of the
// registry, and a supervisor may well send one in a start's first
// milliseconds. A package's variables are set once the packages it
// imports are; this one imports only os/signal and syscall, so it is set
// a few packages after them (about 9 ms into a start here), where package
// main's were set after every package's init (about 21 ms).
package earlysig

import (
	"os"
	"os/signal"
	"syscall"
)

var serve = catch(os.Args)

// Serve is the channel of the signals caught at start for `cliser serve`
// (SIGHUP, SIGINT, SIGTERM), nil for any other subcommand, which keeps
// Go's defaults. Safe from any goroutine.
func Serve() chan os.Signal { return serve }

func catch(args []string) chan os.Signal {
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
	return Catch()
}

// Catch starts catching SIGHUP, SIGINT and SIGTERM on a new channel.
func Catch() chan os.Signal {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	return ch
}
