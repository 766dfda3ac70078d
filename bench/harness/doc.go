// Package harness runs the benchmark: it starts a server (cliser's `serve`
// or the design-note baseline, each as its own process, or cliser's reactor
// inside this process for the server-clock RTT and a CPU profile), drives a
// fleet of load clients against it through ramp stages, an idle keep-alive
// hold, a probe phase and a shutdown broadcast, samples the server's RSS and
// CPU time from /proc, and writes the results as JSON, a Markdown report
// with a chart, and Go benchmark lines for benchstat.
//
// The fleet is split over worker processes (this binary's `worker`
// subcommand, spoken to over stdin/stdout with net/rpc) because one process
// may hold at most 20000 open files: the server needs one per client, and so
// do the clients.
package harness
