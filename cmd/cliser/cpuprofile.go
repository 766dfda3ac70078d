//go:build cpuprofile

package main

// A CPU profile of the server over a window a benchmark chooses, in a
// build for benchmarks only (go build -tags cpuprofile): with
// CLISER_CPUPROFILE=FILE set, SIGUSR1 starts profiling to FILE and SIGUSR2
// stops it and closes the file. The release binary has neither the
// variable nor the signals (SIGUSR1 would end it).

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("CLISER_CPUPROFILE")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sig {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path); err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "cpuprofile:", err)
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				_ = f.Close()
				f = nil
				fmt.Fprintln(os.Stderr, "cpuprofile: written to", path)
			}
		}
	}()
}
