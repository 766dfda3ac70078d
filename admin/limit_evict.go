package admin

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/mono"
)

// MetricAdminEvicted counts the connections a full admin listener closed
// because they waited for a request (idle keep-alives, unfinished
// headers), for a body's rest or for their peer to read, while a new
// connection waited for room.
const MetricAdminEvicted = "cliser_admin_connections_evicted_total"

// evictAfter is how long a connection must have waited for a request
// before it may be closed to make room: the connections of a burst, their
// headers on the way, are not closed for each other, nor a keep-alive
// between two calls of a dashboard.
const evictAfter = time.Second

// A connection that only waits for a request costs its peer nothing to
// hold: one /healthz and an idle keep-alive kept a slot for the 2-minute
// idle timeout, so 256 of them, two requests a second, held the whole
// listener with no token and /healthz went unanswered (a liveness probe
// restarting a healthy server, its fleet dropped). So a new connection
// past the cap closes the one that has waited longest for a request, new
// or idle; one that is being served (a request, a stream) is not closed
// for it while its answer goes out, unless it waits for its peer to send
// the rest of the body (readingBody). HTTP lets a server close an idle
// connection at any time, and clients retry on a new one.
//
// Nor does a peer that does not read its answers: a write blocked on a
// peer that has not read for evictAfter waits as an idle connection does,
// and is closed the same way. Before, thousands of /healthz pipelined on a
// connection, its answers never read, kept it being served for the
// 30-second write timeout, and 256 such connections a half-minute, no
// token needed, kept /healthz unanswered (audit).

// makeRoom returns once the listener has a slot for the connection just
// accepted: at once when it has, else once the connection that has waited
// longest for a request has waited evictAfter and is closed, or one
// closes by itself. False: the listener was closed meanwhile. Accept's
// goroutine only.
func (l *capped) makeRoom() bool {
	for l.n.Load() >= l.max {
		wait := l.waiting.evictOldest(time.Now())
		if wait == 0 {
			continue // closed: its slot is free
		}
		t := time.NewTimer(wait)
		select {
		case <-l.freed:
		case <-t.C:
		case <-l.done:
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}

// waiting is the set of open connections, with the time each began to
// wait for a request (zero while one is served). Safe for concurrent use.
type waiting struct {
	mu      sync.Mutex
	since   map[*cappedConn]time.Time
	evicted prometheus.Counter
}

func newWaiting() *waiting {
	return &waiting{since: make(map[*cappedConn]time.Time),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricAdminEvicted,
			Help: "Connections waiting for a request (idle, or headers unfinished), for the rest of a body, or for their peer to read an answer, that the full admin listener closed to make room."}),
	}
}

// connState is the http.Server's ConnState hook: a connection waits for a
// request from its accept, and again after each answer (idle), until its
// request's headers are in.
func (w *waiting) connState(c net.Conn, st http.ConnState) {
	cc, ok := c.(*cappedConn)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch st {
	case http.StateNew, http.StateIdle:
		w.since[cc] = time.Now()
	case http.StateActive:
		w.since[cc] = time.Time{} // served: evicted only if its peer stops reading (waitedSince)
	default:
		delete(w.since, cc)
	}
}

// waitedSince is when c began to wait: for a request, or, while it is
// served, for its peer to take the bytes of a write that is still blocked
// or to send the rest of a body a handler reads. False: it is served, and
// stuck on neither.
func waitedSince(c *cappedConn, t time.Time) (time.Time, bool) {
	if !t.IsZero() {
		return t, true
	}
	if ns := c.writing.Load(); ns != 0 {
		return mono.Time(ns), true
	}
	if ns := c.reading.Load(); ns != 0 {
		return mono.Time(ns), true
	}
	return time.Time{}, false
}

// connKey holds a request's *cappedConn in its context (withConn).
type connKey struct{}

// withConn is the http.Server's ConnContext: it lets a handler mark its
// connection while it reads a body (readingBody).
func withConn(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*cappedConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// readingBody marks r's connection as waiting for its peer until the
// returned func is called. A body that stops coming is a peer that sends
// nothing, as unfinished headers are: 260 POSTs whose bodies stopped
// after a byte held every slot, no token needed, and /healthz went
// unanswered for the 30-second read timeout (audit).
func readingBody(r *http.Request) (done func()) {
	cc, _ := r.Context().Value(connKey{}).(*cappedConn)
	if cc == nil {
		return func() {}
	}
	cc.reading.Store(mono.Now())
	return func() { cc.reading.Store(0) }
}

// evictOldest closes the connection that has waited longest
// (waitedSince), if it has waited evictAfter, and says 0; else how long
// until one may be closed (evictAfter when none waits: a check again,
// unless one closes first).
func (w *waiting) evictOldest(now time.Time) time.Duration {
	w.mu.Lock()
	var oldest *cappedConn
	var at time.Time
	for c, t := range w.since {
		t, ok := waitedSince(c, t)
		if ok && (oldest == nil || t.Before(at)) {
			oldest, at = c, t
		}
	}
	if oldest == nil || now.Sub(at) < evictAfter {
		w.mu.Unlock()
		if oldest == nil {
			return evictAfter
		}
		return evictAfter - now.Sub(at)
	}
	delete(w.since, oldest)
	w.mu.Unlock()
	w.evicted.Inc()
	_ = oldest.Close()
	return 0
}
