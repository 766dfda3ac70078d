package reactor

import (
	"context"

	"github.com/panjf2000/gnet/v2"

	"github.com/cliser/cliser/protocol"
)

// The registry.Conn methods: the only way into a session from another
// goroutine. Each queues a closure on the session's loop with Execute (safe
// from any goroutine) and returns at once; the closure checks that the
// session is still the connection's (gnet drops the context when it
// releases a conn), so a command that arrives late does nothing.

// Shutdown sends "130 shutdown[ <text>]"; the client's "130 ok" closes it.
// Safe to call from any goroutine.
func (s *session) Shutdown(text string) error {
	return s.onLoop(func() { s.shutdown(text) })
}

// Close sends "190 <reason>" and closes. Safe to call from any goroutine.
func (s *session) Close(r protocol.Reason) error {
	return s.onLoop(func() { s.fail(r) })
}

func (s *session) onLoop(f func()) error {
	return s.conn.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if s.conn.Context() == s && s.state < closing {
			f()
		}
		return nil
	}))
}
