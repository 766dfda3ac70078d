// Package reactor serves cliser's wire protocol on gnet event loops.
//
// Who owns what:
//
//   - A session (one TCP connection) belongs to its event loop. Its state —
//     handshake step, outstanding keep-alive token, deadline, pending
//     shutdown — is read and written only on that loop, so it has no lock.
//     Other goroutines reach it only through gnet's goroutine-safe calls
//     (EventLoop().Execute, Conn.Close): see commands.go.
//   - Each loop owns a timing wheel of its sessions (wheel.go). One ticker
//     (gnet's OnTick) asks every loop, through Execute, to advance its wheel;
//     the advance runs on the loop, sends due keep-alives and closes sessions
//     whose deadline passed. Each session sits in exactly one slot, so a tick
//     costs in proportion to the sessions that are due, not to all sessions,
//     and no session has a timer or goroutine of its own.
//   - The registry owns client records; sessions register and drop
//     themselves there and hand it themselves as registry.Conn, so the admin
//     API can command them without knowing about gnet.
//   - The per-IP guard (limits.go) is shared by the loops. A handshake's
//     admit and done take no lock: each loop holds its address's entry
//     (cip.go's peer) and counts with atomics; the map and its lock are for
//     a new address, a failed password and the ticker's prune.
//   - The codec (package protocol) owns every framing and field rule.
package reactor
