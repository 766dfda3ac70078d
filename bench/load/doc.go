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
// Shape: one goroutine per connection with blocking reads. The Go runtime
// parks idle ones in its netpoller, so an idle client costs a goroutine stack
// and a 1 KiB read buffer; that is cheap enough for the ~10k connections one
// process holds under the 20000 open-files limit, and it keeps each client's
// logic a straight line.
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
// so the reconnect churn is a small fraction of the load.
package load
