package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cliser/cliser/internal/earlysig"
)

// routeSignals ends stopping at the first SIGINT or SIGTERM, and hurry at
// a second one, which cuts the drain short; it hands each SIGHUP to hup
// (one waits there; more meanwhile are one reload). The caller calls stop
// when done.
func routeSignals(parent context.Context) (stopping, hurry context.Context, hup <-chan os.Signal, stop func()) {
	sig := earlysig.Serve() // caught at start (internal/earlysig)
	if sig == nil {         // serve run in-process, as the tests do
		sig = earlysig.Catch()
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
