// Package floor is the benchmark's floor: the least a server on gnet/v2
// must do to run cliser's wire protocol for a fleet of idle clients, so
// that the harness can say how much of what cliser spends is cliser's own.
//
// It runs gnet with the settings of cliser's reactor (multicore, one loop
// per CPU, a listener per loop with SO_REUSEPORT, SO_REUSEADDR, gnet's
// ticker driving a task on every loop at the tick the reactor would
// choose), sends "110 password", reads the answer, sends "120 id", reads
// it, sends "140 connected 1", then every keep-alive interval "100
// <token>" and reads the echo. Lines are cut and encoded by package
// protocol, so it speaks exactly cliser's bytes. It also answers what the
// harness's load does: a duplicate echo (the probe method) gets "190
// protocol error", and a broadcast "130 shutdown <text>" is closed on its
// "130 ok".
//
// It has no registry, no logs, no store, no metrics, no per-IP guard and
// no identity, with one exception kept for the comparison: it times each
// keep-alive from its send to its echo, as cliser does, and counts it in
// a loop-local array over cliser's histogram bounds (rtt.go: a clock read
// per send and per echo, a few compares and an increment, no lock), which
// floor-server serves with --metrics-listen. Every client gets sid 1 (PROTOCOL.md wants sids unique; the
// floor is not a server to run, only to measure against). Timeouts are
// kept, coarsely: a handshake or keep-alive that outlives its timeout is
// closed within a keep-alive interval of it.
package floor
