package reactor

import (
	"context"
	"sync"
	"sync/atomic"

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

// ShutdownAll sends "130 shutdown[ <text>]" to every registered client that
// has no order pending, and returns how many it sent. It queues one task per
// event loop rather than one per client, so a broadcast to tens of
// thousands costs a handful of wake-ups. Safe from any goroutine; it returns
// once every loop has sent.
func (srv *Server) ShutdownAll(text string) int {
	var sent atomic.Int64
	var wg sync.WaitGroup
	for _, lp := range srv.loopList() {
		wg.Add(1)
		err := lp.el.Execute(srv.ctx, gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			lp.wheel.each(func(s *session) {
				if s.state == registered && !s.shutdownPending {
					s.shutdown(text)
					sent.Add(1)
				}
			})
			return nil
		}))
		if err != nil { // the engine is stopping: nothing to send on this loop
			wg.Done()
		}
	}
	wg.Wait()
	return int(sent.Load())
}
