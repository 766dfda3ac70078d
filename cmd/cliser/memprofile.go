//go:build cpuprofile

package main

// A heap profile and the runtime's memory statistics of the server at a
// moment a benchmark chooses, in the benchmark build only (go build -tags
// cpuprofile): with CLISER_MEMPROFILE=PREFIX set, each SIGUSR1 writes
// PREFIX-N.heap (the heap profile as of the last collection) and
// PREFIX-N.txt (runtime.MemStats and /proc/self/smaps_rollup), N counting
// from 1. No collection is forced: what is measured is what the server
// holds.

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func init() {
	prefix := os.Getenv("CLISER_MEMPROFILE")
	if prefix == "" {
		return
	}
	runtime.MemProfileRate = 4096 // the default 512 KB sees a few samples of the per-client slope
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for n := 1; ; n++ {
			<-sig
			if err := writeMemProfile(fmt.Sprintf("%s-%d", prefix, n)); err != nil {
				fmt.Fprintln(os.Stderr, "memprofile:", err)
			}
		}
	}()
}

func writeMemProfile(base string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rollup, _ := os.ReadFile("/proc/self/smaps_rollup")
	txt := fmt.Sprintf("HeapAlloc %d\nHeapInuse %d\nHeapIdle %d\nHeapReleased %d\nRetained %d\nHeapSys %d\nStackInuse %d\nMSpanInuse %d\nGCSys %d\nOtherSys %d\nSys %d\nNextGC %d\nNumGC %d\nTotalAlloc %d\nMallocs %d\n\n%s",
		ms.HeapAlloc, ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.HeapIdle-ms.HeapReleased, ms.HeapSys,
		ms.StackInuse, ms.MSpanInuse, ms.GCSys, ms.OtherSys, ms.Sys, ms.NextGC, ms.NumGC, ms.TotalAlloc, ms.Mallocs, rollup)
	// Then the live heap: what a collection leaves.
	runtime.GC() // after the figures above, so that they are what the server held
	runtime.ReadMemStats(&ms)
	txt += fmt.Sprintf("\nafter GC: HeapAlloc %d HeapInuse %d\n", ms.HeapAlloc, ms.HeapInuse)
	if err := os.WriteFile(base+".txt", []byte(txt), 0o644); err != nil {
		return err
	}
	f, err := os.Create(base + ".heap")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
