// Package cpuprofile is the benchmark harness's CPU profile of a server
// subprocess over a window it chooses: the server calls Install at its
// start; with CLISER_CPUPROFILE=FILE in its environment, each SIGUSR2
// toggles a CPU profile, written to FILE.part while it runs and renamed to
// FILE once complete. Start and Stop are the harness's side. SIGUSR2, not
// SIGUSR1: SIGUSR1 is the comparison servers' shutdown trigger
// (bench/benchserver) and CLISER_MEMPROFILE's in cliser's benchmark build.
package cpuprofile

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// Env names the file the profile goes to; Signal toggles it.
const (
	Env    = "CLISER_CPUPROFILE"
	Signal = syscall.SIGUSR2
)

// Hz is the sampling rate, twice pprof's 100 Hz: a 5,000-handshake burst
// holds only 0.3-0.4 s of a server's CPU. Not more: Linux checks a
// thread's CPU timer at its tick (CONFIG_HZ=250 here) and drops what
// expires in between; at 1 kHz a profile held 172 ms of samples of 645 ms
// of the server's measured CPU.
const Hz = 200

// Install starts the toggle when Env is set. A process that has not called
// it dies of Signal: the harness checks a binary before it signals
// (cliser's benchmark build has it, `go build -tags cpuprofile`).
func Install() {
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, Signal)
	go func() {
		var f *os.File
		for range sig {
			if f == nil {
				f = start(path)
				continue
			}
			pprof.StopCPUProfile()
			err := f.Close()
			if err == nil {
				err = os.Rename(path+".part", path)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "cpuprofile:", err)
			}
			f = nil
		}
	}()
}

// start creates path.part and profiles into it at Hz; nil (said on
// stderr) when it cannot.
func start(path string) *os.File {
	f, err := os.Create(path + ".part")
	if err == nil {
		// The rate set first holds and the profile's header says so;
		// StartCPUProfile's own 100 Hz is then refused, which the runtime
		// prints once on stderr ("cannot set cpu profile rate").
		runtime.SetCPUProfileRate(Hz)
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return nil
	}
	return f
}

// Start signals p to start profiling to path (its Env) and waits until it
// has, so that the profile covers what comes next: on a loaded machine a
// signal can wait seconds to be handled.
func Start(p *os.Process, path string) error {
	if err := p.Signal(Signal); err != nil {
		return err
	}
	return waitFor(path+".part", 30*time.Second)
}

// Stop signals p to end the profile and waits until path is complete.
func Stop(p *os.Process, path string) error {
	if err := p.Signal(Signal); err != nil {
		return err
	}
	return waitFor(path, 10*time.Second)
}

func waitFor(path string, within time.Duration) error {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	return fmt.Errorf("cpuprofile: no %s after %s: does the server call cpuprofile.Install (cliser: -tags cpuprofile)?", path, within)
}
