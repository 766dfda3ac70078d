//go:build cpuprofile

package main

// A CPU profile of the server over a window a benchmark chooses, in a
// build for benchmarks only (go build -tags cpuprofile; make build writes
// bin/cliser-prof): CLISER_CPUPROFILE=FILE and SIGUSR2 (internal/cpuprofile).
// The release binary has neither the variable nor the signal (Go's
// runtime takes SIGUSR2 there and does nothing).

import "github.com/cliser/cliser/internal/cpuprofile"

func init() { cpuprofile.Install() }
