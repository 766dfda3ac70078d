// Package baseline is the benchmark's yardstick: cliser's wire protocol
// served the way the original design note builds it, with goroutines and
// mailboxes instead of gnet event loops.
//
//   - One manager goroutine owns every connection and all session state
//     (handshake step, outstanding keep-alive token, pending shutdown,
//     deadlines). It alone calls the registry, so registry.Register,
//     Disconnect and Touch run in the order the manager decides them.
//   - Per connection, a reader goroutine turns bytes into lines with the
//     shared codec (protocol.NextLine, protocol.Parse) and posts them to the
//     manager's mailbox; a writer goroutine drains the connection's own
//     mailbox through a bufio.Writer and flushes when the mailbox is empty,
//     so a burst of lines costs one write.
//   - Time comes from net.Conn read deadlines: the manager moves the
//     deadline (handshake timeout, next keep-alive, keep-alive timeout); a
//     reader whose Read times out posts that to the manager and waits for
//     the manager's verdict before it reads again.
//
// It speaks exactly the protocol of docs/protocol.md with the same limits,
// field rules and close reasons as the reactor, and it feeds the same
// registry, so the benchmark compares architectures, not feature sets.
//
// Goroutine safety: New and Start are called once, from one goroutine.
// Addr, ShutdownAll and Stop are safe from any goroutine. The registry.Conn
// handles the server registers are safe from any goroutine; they post the
// command to the manager and return.
package baseline
