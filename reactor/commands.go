package reactor

import (
	"context"

	"github.com/panjf2000/gnet/v2"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The registry.Conn methods: the only way into a session from another
// goroutine. Each queues a closure on the session's loop with Execute (safe
// from any goroutine) and returns at once; the closure checks that the
// session is still the connection's (gnet drops the context when it
// releases a conn), so a command that arrives late does nothing.

// Shutdown sends "130 shutdown[ <text>]"; the client's "130 ok" closes it.
// Safe to call from any goroutine.
func (s *session) Shutdown(text string) error {
	return s.onLoop(func() { _ = s.shutdown(text) })
}

// Close sends "190 <reason>" and closes. Safe to call from any goroutine.
func (s *session) Close(r protocol.Reason) error {
	return s.onLoop(func() { s.fail(r) })
}

var _ registry.Seer = (*session)(nil)

// LastSeen implements registry.Seer: the last correct keep-alive echo, so
// the keep-alive path takes no registry lock. Safe from any goroutine.
func (s *session) LastSeen() int64 { return s.seen.Load() }

func (s *session) onLoop(f func()) error {
	return s.conn.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if s.conn.Context() == s && s.state < acked {
			f()
		}
		return nil
	}))
}

// ShutdownAll queues "130 shutdown[ <text>]" on every registered client that
// has no order pending, and returns on how many it queued it: the line is in
// the connection's outbound buffer, which gnet flushes after the task, so
// "queued" is not "on the wire". Safe from any goroutine; it returns once
// every loop has run its task or the engine has stopped (onEveryLoop). A
// loop that stopped first sent nothing and is not counted.
func (srv *Server) ShutdownAll(text string) int {
	return srv.onEveryLoop(func(lp *loop) int {
		sent := 0
		lp.wheel.each(func(s *session) {
			if s.shutdown(text) {
				sent++
			}
		})
		return sent
	})
}
