// Package client is the Go client of the cliser protocol (version 1, see
// docs/protocol.md): the bundled agent, the tests and third-party programs
// use it. It speaks the wire only through package protocol, and one state
// machine (session.go) holds the client's rules for both engines, Conn and
// Fleet (Run is built on Conn):
//
//   - Dial returns a *Conn: one registered session. It sends the pipelined
//     handshake ("110 <password>" and "120 <id>" in one write, without
//     waiting for the prompts; one round trip), then answers every
//     "100 <token>" with the same token and a "130 shutdown" with "130 ok"
//     on one reader goroutine per connection (no writer goroutine).
//   - Run keeps a session alive: it redials with exponential backoff and
//     full jitter, waits long after "auth failed", never fights back
//     quickly after "replaced", and returns after an acked shutdown. It
//     can read the password and the TLS config again before each attempt
//     (ReadPassword, ReadTLS: a rotated secret or a renewed CA without a
//     restart) and cut a wait short (TryNow).
//     This is what `cliser agent` runs.
//   - Fleet runs thousands of sessions in one process on gnet's client
//     event loops, with no goroutine per session, and reports every step
//     with its receive time. It does not reconnect.
//
// How a session ends is an error value: a *ClosedError for the server's
// "190 <reason>" (errors.Is(err, ErrReplaced), IsReason, ReasonOf) and for
// an acked shutdown (ErrShutdown); ErrClosed after a local Close; a
// *ServerError (errors.Is(err, ErrBadServer)) when the server sent
// something this client cannot accept (malformed or overlong lines, noise,
// a line out of place), after which the client closes; ErrConnLost when
// the connection ended without a 190.
//
// Which engine for many sessions in one process (a simulator, a load
// test): Fleet. (cliser's own benchmark keeps an engine of its own,
// bench/load, that reports every misbehaviour and answers a burst of
// keep-alives in one pass; docs/performance.md says why.) Measured with
// the server in another process (BenchmarkFleetMemory,
// BenchmarkConnMemory; Go heap plus stacks after GC, 2000-5000 idle
// registered sessions, linux/amd64): a Fleet
// session costs about 750 bytes and no goroutine; a Conn about 4.7 KB and
// one goroutine. Fleet also reports the receive time of every keep-alive,
// 140 and 130, so a load generator computes handshake latency
// (Registered's time minus Session.DialStart) and keep-alive gaps without
// an extra clock. Use Conn when a program wants one session and plain
// blocking code; use Run when it wants that session kept up.
//
// Concurrency: every exported method of Conn, Fleet and Session says it is
// safe from any goroutine; Dial, Run, NewFleet, IsReason, ReasonOf and
// Config.Validate are safe for concurrent use; callbacks say on which
// goroutine they run.
//
// Secrets: the password is never logged nor put in an error; keep-alive
// tokens are not logged either.
package client
