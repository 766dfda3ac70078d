package reactor

import (
	"context"
	"sync/atomic"

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
// "queued" is not "on the wire". It queues one task per
// event loop rather than one per client, so a broadcast to tens of
// thousands costs a handful of wake-ups. Safe from any goroutine; it returns
// once every loop has run its task, or once the engine has stopped: gnet
// drops the tasks still queued on a loop that stops, so waiting for those
// alone could wait forever. A loop that stopped first sent nothing and is
// not counted.
func (srv *Server) ShutdownAll(text string) int {
	var sent atomic.Int64
	loops := srv.loopList()
	// The last task to finish closes ran; no goroutine waits on a task
	// that may never run.
	var pending atomic.Int64
	pending.Store(int64(len(loops)))
	ran := make(chan struct{})
	finished := func() {
		if pending.Add(-1) == 0 {
			close(ran)
		}
	}
	if len(loops) == 0 {
		return 0
	}
	for _, lp := range loops {
		err := lp.el.Execute(srv.ctx, gnet.RunnableFunc(func(context.Context) error {
			defer finished()
			lp.wheel.each(func(s *session) {
				if s.shutdown(text) {
					sent.Add(1)
				}
			})
			return nil
		}))
		if err != nil { // the engine is stopping: nothing to send on this loop
			finished()
		}
	}
	select {
	case <-ran:
	case <-srv.stopped:
	}
	return int(sent.Load())
}
