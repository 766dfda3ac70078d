// Package load is the benchmark's load generator: a fleet of protocol
// clients that a harness ramps up at a chosen rate, keeps idle (answering
// keep-alives) and orders down (acking 130), while it counts what happened
// and how long it took.
//
// Why its own engine and not client.Conn: a benchmark client must never hide
// a server's misbehaviour (it reports every unexpected line, close and error
// by kind instead of retrying), must cost little per connection so that one
// process can hold ~10k of them, and must measure the keep-alive round trip
// of a server it cannot look inside (see Probe below). It speaks the codec of
// package protocol, like the server.
//
// An epoll transport serves the connections: a few loops (one per core)
// read every socket and answer in place: an idle client costs a socket and
// a small struct, a keep-alive costs one read and one write and wakes no
// goroutine, so a synchronized burst of keep-alives is answered in one
// pass. Connects are blocking syscalls in short dial goroutines (on
// loopback the kernel completes them inside the call). The protocol logic
// is session.go. Why not client.Fleet on gnet's client: measured in
// docs/performance.md ("Why the load keeps its own epoll loop").
//
// Keep-alive RTT, measured the same way for every server (the probe method):
// a keep-alive travels server -> client -> server, so only the server sees its
// round trip. A probe client therefore answers a keep-alive with its echo
// followed at once by a second, identical echo. Every conforming server
// processes the echo (the keep-alive path: parse, check the token, touch the
// registry, reschedule) and then meets a 100 reply with no keep-alive
// outstanding, which PROTOCOL.md answers with "190 protocol error". The time
// from the probe receiving "100 <token>" to it receiving that 190 is the
// server's turnaround on the keep-alive path plus two loopback hops; it
// replaces the server's send hop (which the server's own clock would include)
// with the 190's send hop. The probe then reconnects under the same client-id
// and measures again at its next keep-alive. Only a few clients are probes,
// so the reconnect churn is a small fraction of the load. With
// Config.KeepAlive the probes keep their keep-alives spread over the
// interval (spread.go), so that their samples stand for every moment of
// the keep-alive cycle.
package load
