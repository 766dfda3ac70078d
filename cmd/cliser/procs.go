package main

import (
	"os"
	"runtime"
)

// tuneProcs gives the Go scheduler one P more than it would have by
// default, unless the operator chose with GOMAXPROCS. Each gnet event loop
// (one per CPU) holds its P while it waits in epoll_wait; with no P left
// idle, the runtime's sysmon takes a waiting loop's P away to run the
// ticker, the flusher or the GC, a thread hand-off and a futex wake-up
// each time, and keeps polling every 20 µs. With one P spare it leaves the
// loops alone. Measured on 5,000 idle clients at a 1 s keep-alive
// (docs/performance-journal.md, session 5): CPU per keep-alive 0.79×. A
// second spare P was measured for the event log's bursts (session 25) and
// not taken: fewer
// Ps retaken, but more idle threads woken (futex +0.06 a handshake) and
// no CPU gained. It returns the value in force, for the log.
func tuneProcs() int {
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok && v != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := defaultProcs + 1
	runtime.GOMAXPROCS(n)
	return n
}

// defaultProcs is the runtime's own choice (the CPUs, or the container's
// CPU limit), read before tuneProcs changes it: serving twice in one
// process (the tests) must not add a P each time.
var defaultProcs = runtime.GOMAXPROCS(0)
